// SPDX-License-Identifier: Apache-2.0
// `presign serve`: the file-share API (the shared service) and the web page on one listener, the
// embedded S3-compatible store on another, in one process.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <presign/http/server.hpp>

namespace presign::serve {

struct serve_options {
    std::string host = "127.0.0.1";
    int port = 8080;     ///< API and page; 0 picks a free port
    int s3_port = 9000;  ///< embedded store; 0 picks a free port
    std::string data_dir = "presign-data";
    std::string bucket = "presign";
    /// Default: us-east-1 with the embedded store, the AWS configuration's region with --endpoint.
    std::optional<std::string> region;
    std::chrono::seconds expires{300};
    /// The longest lifetime a share link may have (SHARE_MAX_SECONDS): 60 s .. 30 days.
    std::chrono::seconds share_max{7 * 24 * 3600};
    std::uint64_t max_upload_bytes = 5ull << 30;
    /// Uploads above this size go in parts (the service's MULTIPART_THRESHOLD); nullopt: its
    /// default.
    std::optional<std::uint64_t> multipart_threshold;
    /// The embedded store aborts multipart uploads initiated longer ago than this (0: never).
    std::chrono::seconds abandoned_uploads_after{24 * 3600};
    std::vector<std::string> allowed_content_types;  ///< empty: any
    std::vector<std::string> allowed_origins;        ///< empty: the API's own origin
    /// With an endpoint, no embedded store: sign for that engine with the usual credential chain.
    std::string endpoint;
    bool path_style = false;
    std::optional<std::string> profile;
    /// How the start message tells the person to run presign (the real path unless it is on PATH),
    /// and a line on putting it on PATH (empty: none).
    std::string presign_command = "presign";
    std::string install_hint;
    /// With an issuer: callers sign in with that OpenID Connect provider and send
    /// "Authorization: Bearer <JWT>", validated as API Gateway's JWT authorizer does (identity =
    /// the token's sub). Empty: one local user, no sign-in. The first audience is the page's
    /// client id (GET /config.json).
    std::string oidc_issuer;
    std::vector<std::string> oidc_audiences;
    /// With an issuer whose discovery names no end_session_endpoint (Cognito): where the page's
    /// sign-out ends the provider's session (GET /config.json's "logoutEndpoint"). Empty: none.
    std::string oidc_logout_endpoint;
    /// Threads of the API listener (connections wait asynchronously; a request holds one only
    /// while the service signs).
    std::size_t api_threads = 2;
    /// Deadlines of both listeners' connections (request head, body progress, idle keep-alive).
    http::limits deadlines;
};

/// Exit codes beyond the CLI's own (0..7).
inline constexpr int exit_port_in_use = 8;

/// Runs until SIGINT or SIGTERM. Prints human lines and, once both ports listen, one line
/// "listening api=http://HOST:PORT s3=http://HOST:PORT" to stdout (flushed). Returns the exit code:
/// 0 after a clean shutdown, exit_port_in_use when a port is taken, 3 for a bad setting, 4 when
/// credentials are missing, 1 otherwise.
[[nodiscard]] int run_serve(const serve_options& options);

}  // namespace presign::serve
