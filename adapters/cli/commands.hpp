// SPDX-License-Identifier: Apache-2.0
// The subcommands of `presign`: each takes its parsed options and returns an exit code, or throws
// cli_error (caught in main).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "presign/cli/aws_config.hpp"

namespace presign::cli {

/// Options every subcommand that needs configuration shares.
struct common_options {
    std::optional<std::string> profile;
    std::optional<std::string> region;
    std::optional<std::string> endpoint;
    bool path_style = false;
    bool verbose = false;
};

struct presign_options {
    common_options common;
    std::string method;  ///< GET, PUT, HEAD, DELETE
    std::string uri;
    std::string expires = "300";
    std::optional<std::string> file;  ///< put: the local file to upload (size, type, --curl)
    std::optional<std::string> content_type;
    std::optional<std::string> content_length;
    std::optional<std::string> checksum_sha256;
    std::optional<std::string> download_as;
    std::vector<std::string> headers;
    std::optional<std::string> sse;
    std::optional<std::string> sse_kms_key_id;
    std::optional<std::string> date;
    bool json = false;
    bool curl = false;
    bool clamp_expiry = false;
    bool from_stdin = false;
};

struct inspect_options {
    common_options common;
    std::string url;
    std::string method = "GET";
    std::vector<std::string> headers;
    std::optional<std::string> date;
    std::optional<std::string> s3_error_file;
    bool json = false;
};

[[nodiscard]] int run_presign(const presign_options& options);
[[nodiscard]] int run_verify(const inspect_options& options);
[[nodiscard]] int run_explain(const inspect_options& options);

}  // namespace presign::cli

#include "presign/cli/credential_chain.hpp"

namespace presign::cli {

/// Configuration and credentials resolved for one run.
struct run_context {
    aws_config config;
    sourced_credentials credentials;
};

/// Loads the configuration (and, when `need_credentials`, the credentials), throwing cli_error
/// with the class's exit code. With `verbose`, describes the choices on stderr (never a secret).
[[nodiscard]] run_context load_context(const common_options& options, bool need_credentials);

/// Resolves the credentials of a context loaded without them.
void load_credentials(run_context& context, const common_options& options);

/// Writes all of `data` to a file descriptor; throws cli_error(io) on failure.
void write_all(int fd, std::string_view data);

}  // namespace presign::cli
