// SPDX-License-Identifier: Apache-2.0
// The AWS credential provider chain, in the AWS CLI's order: environment, shared credentials
// file, credential_process, config file, container credentials, EC2 instance metadata (IMDSv2).
#pragma once

#include <chrono>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <sigv4/credentials.hpp>
#include <sigv4/result.hpp>

#include "presign/cli/aws_config.hpp"

namespace presign::cli {

/// Credentials and a short description of where they came from (never containing a secret).
struct sourced_credentials {
    sigv4::credentials credentials;
    std::string source;  ///< "environment", "shared credentials file", "credential_process", ...
};

struct chain_options;
/// What one provider found: credentials, nothing (the chain goes on), or an error (it stops).
using provider_result = config_result<std::optional<sourced_credentials>>;

/// Steps 5 and 6 of the chain (container credentials, then EC2 instance metadata). They need an
/// HTTP client, and loading one (cpp-httplib with OpenSSL, zlib, brotli) costs a one-shot command
/// more than signing does, so the chain takes them as a plug-in: fetch_network_credentials
/// (network_credentials.hpp) in-process, or a helper program.
using network_provider = provider_result (*)(const aws_config& config, const env_lookup& env,
                                             const chain_options& options);

struct chain_options {
    /// Connect and read timeout of the container and instance-metadata endpoints (botocore uses 1 s
    /// for IMDS; AWS_METADATA_SERVICE_TIMEOUT overrides it for IMDS).
    std::chrono::milliseconds network_timeout{1000};
    /// How long a credential_process may run before it is killed.
    std::chrono::milliseconds process_timeout{30000};
    /// Container and instance-metadata credentials; null skips both steps.
    network_provider network = nullptr;
};

/// Walks the chain for `config.profile` (steps 5 and 6 through `options.network`). The environment
/// provider is skipped when the profile was given with --profile (botocore does the same). Profiles
/// using role_arn, sso_* or web_identity_token_file need an HTTPS call to AWS and are refused with
/// a clear message. Errors are config_error::kind::credentials (or ::config for a malformed
/// setting).
[[nodiscard]] config_result<sourced_credentials> resolve_credentials(
    const aws_config& config, const env_lookup& env, const chain_options& options = {});

/// Credentials JSON as credential_process (`process_format`: "Version": 1, "SessionToken") or
/// the container and instance-metadata endpoints ("Token") return it; `source` names the provider
/// in messages and in the result.
[[nodiscard]] provider_result credentials_from_json(std::string_view source, std::string_view body,
                                                    bool process_format);

struct captured_output {
    std::string output;  ///< stdout, at most 1 MiB
    int status = 0;      ///< waitpid status
};
/// Runs `argv` (argv[0] looked up in PATH) with stdout captured and stderr discarded, killing it
/// after `timeout`. Errors are config_error::kind::credentials messages naming `what`.
[[nodiscard]] config_result<captured_output> run_captured(const std::vector<std::string>& argv,
                                                          std::chrono::milliseconds timeout,
                                                          std::string_view what);

/// "****************MPLE": the access key id as `aws configure list` shows it.
[[nodiscard]] std::string mask_access_key_id(std::string_view access_key_id);

/// A thread-safe, caching credentials source for long-running processes (`presign serve`):
/// resolves once, and again when the cached credentials expire within `refresh_margin`.
class credentials_provider {
  public:
    credentials_provider(aws_config config, env_lookup env, chain_options options = {},
                         std::chrono::seconds refresh_margin = std::chrono::seconds{300});

    /// The current credentials, or the chain's error. sigv4::errc has no "no credentials" code,
    /// so failures carry errc::empty_access_key_id and the chain's message.
    [[nodiscard]] sigv4::result<sigv4::credentials> get();
    /// As get(), with the source description and the exit-code class of a failure.
    [[nodiscard]] config_result<sourced_credentials> get_sourced();

  private:
    aws_config config_;
    env_lookup env_;
    chain_options options_;
    std::chrono::seconds refresh_margin_;
    std::mutex mutex_;
    std::optional<sourced_credentials> cached_;
};

}  // namespace presign::cli
