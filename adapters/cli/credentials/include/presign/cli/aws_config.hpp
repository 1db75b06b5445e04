// SPDX-License-Identifier: Apache-2.0
// The AWS shared configuration as the AWS CLI (botocore) reads it: the INI dialect of
// ~/.aws/config and ~/.aws/credentials, profile selection, region, endpoint and addressing style.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <sigv4/result.hpp>
#include <sigv4/s3.hpp>

namespace presign::cli {

/// Why configuration or credentials could not be resolved; each kind is one exit-code class.
struct config_error {
    enum class kind {
        config,        ///< unknown profile, malformed file, bad value in a file or the environment
        credentials,   ///< no credentials, partial credentials, a failing provider
        invalid_input  ///< a bad value given on the command line (--region, --endpoint)
    };
    kind what = kind::config;
    std::string message;
};

template <class T>
using config_result = sigv4::result<T, config_error>;

/// One [section] of an INI file; keys are lowercased (as Python's configparser does).
struct ini_section {
    std::string name;
    std::vector<std::pair<std::string, std::string>> values;
    [[nodiscard]] const std::string* find(std::string_view key) const;
};

struct ini_document {
    std::vector<ini_section> sections;
    [[nodiscard]] const ini_section* find(std::string_view name) const;
};

/// Parses the configparser dialect botocore uses: `[section]`, `key = value` or `key: value`,
/// full-line `#`/`;` comments (no inline comments), indented continuation lines, and nested
/// values (`s3 =` followed by indented `key = value` lines). Errors (with the line number): text
/// before the first section, a line without `=`/`:`, an empty key, a duplicate section or key, a
/// nested line without `=`.
[[nodiscard]] sigv4::result<ini_document, std::string> parse_ini(std::string_view text);

/// The `key = value` pairs of a nested value ("\naddressing_style = path\n...").
[[nodiscard]] std::vector<std::pair<std::string, std::string>> parse_nested(std::string_view value);

/// Settings of one profile, keys lowercased.
using profile_settings = std::map<std::string, std::string, std::less<>>;

/// Looks up an environment variable (injectable for tests).
using env_lookup = std::function<std::optional<std::string>(std::string_view name)>;
/// The real process environment.
[[nodiscard]] env_lookup process_environment();

/// What the command line says; empty means "not given".
struct config_overrides {
    std::optional<std::string> profile;   ///< --profile
    std::optional<std::string> region;    ///< --region
    std::optional<std::string> endpoint;  ///< --endpoint
    bool path_style = false;              ///< --path-style
};

/// The resolved configuration. `*_source` fields say where a value came from, for --verbose.
struct aws_config {
    std::string profile = "default";
    std::string profile_source = "default";  ///< "--profile", "AWS_PROFILE" or "default"
    bool profile_explicit = false;           ///< given by --profile (this disables env credentials)
    std::string config_path;                 ///< AWS_CONFIG_FILE or ~/.aws/config
    std::string credentials_path;            ///< AWS_SHARED_CREDENTIALS_FILE or ~/.aws/credentials
    profile_settings config_file;            ///< the profile's section in the config file
    profile_settings credentials_file;       ///< the profile's section in the credentials file
    profile_settings merged;                 ///< both, the credentials file winning (as botocore)
    std::string region = "us-east-1";
    std::string region_source = "default";
    sigv4::s3::endpoint endpoint;  ///< region, custom url and addressing style
    std::string endpoint_source;   ///< empty when AWS's regional endpoint is used
    std::string addressing_source = "default";
};

/// Resolves profile, region, endpoint and addressing the way the AWS CLI does:
/// profile: --profile > AWS_PROFILE > AWS_DEFAULT_PROFILE > "default" (an explicitly named
/// profile must exist in one of the two files);
/// region: --region > AWS_REGION > AWS_DEFAULT_REGION > profile `region` > us-east-1;
/// endpoint: --endpoint > AWS_ENDPOINT_URL_S3 > AWS_ENDPOINT_URL > `[services x]` s3 endpoint_url
/// > profile `endpoint_url` (the configured ones are skipped when
/// AWS_IGNORE_CONFIGURED_ENDPOINT_URLS or `ignore_configured_endpoint_urls` is true); addressing:
/// --path-style > profile `s3 = addressing_style = path|virtual|auto`.
[[nodiscard]] config_result<aws_config> load_aws_config(const config_overrides& overrides,
                                                        const env_lookup& env);

/// Splits text into words as Python's shlex.split (POSIX mode) does, which botocore uses for
/// section names such as `profile "my name"` and for credential_process; nullopt on an
/// unterminated quote or a trailing backslash.
[[nodiscard]] std::optional<std::vector<std::string>> split_shell_words(std::string_view text);

/// True for "true"/"1"/"yes"/"on" in any case (how the SDKs read boolean settings).
[[nodiscard]] bool is_true_setting(std::string_view value) noexcept;

}  // namespace presign::cli
