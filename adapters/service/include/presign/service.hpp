// SPDX-License-Identifier: Apache-2.0
// The file-share service: routes, validation, JSON and CORS, independent of how a request arrived.
// Both the Lambda adapter and `presign serve` translate their transport into service::request and
// render service::response; neither re-implements anything here.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <sigv4/sigv4.hpp>

namespace presign::service {

/// Settings, normally read from the environment (names in brackets).
struct config {
    std::string bucket;                                   // [BUCKET_NAME] required
    std::string key_prefix;                               // [KEY_PREFIX] e.g. "uploads/"
    std::chrono::seconds url_expires{300};                // [URL_EXPIRES] 1..604800
    std::uint64_t max_upload_bytes = 5ull << 30;          // [MAX_UPLOAD_BYTES] <= 5 GiB
    std::vector<std::string> allowed_content_types;       // [ALLOWED_CONTENT_TYPES] "image/*,text/plain"
    std::vector<std::string> allowed_origins;             // [ALLOWED_ORIGINS] "https://a.example,..."
    bool allow_anonymous = false;                         // [ALLOW_ANONYMOUS] "true"
    sigv4::s3::endpoint endpoint;                         // [AWS_REGION] [S3_ENDPOINT] [S3_PATH_STYLE]

    /// Reads the settings through `getenv` (so tests can pass a map). A missing or invalid setting
    /// is an error whose message names the variable.
    [[nodiscard]] static sigv4::result<config> from_environment(
        const std::function<std::optional<std::string>(std::string_view)>& getenv);
};

/// A request as the service sees it, whatever the transport.
struct request {
    std::string method;                          // "POST", "GET", "OPTIONS"
    std::string path;                            // "/uploads", decoded, no query
    std::vector<sigv4::query_param> query;       // decoded, repeated names allowed
    std::vector<sigv4::header> headers;          // names compared case-insensitively
    std::string body;                            // already base64-decoded
    std::optional<std::string> identity;         // authenticated user id, if any
    std::string request_id;                      // for the log line
};

struct response {
    int status = 200;
    std::vector<sigv4::header> headers;  // always includes Content-Type: application/json
    std::string body;                    // JSON (empty for 204)
};

/// Supplies the signing credentials for each request (they may rotate).
using credentials_source = std::function<sigv4::result<sigv4::credentials>()>;

class service {
public:
    service(config settings, credentials_source credentials);
    /// Never throws: every failure becomes a JSON error response {"error":{"code","message"}}.
    [[nodiscard]] response handle(const request& req) const noexcept;
    [[nodiscard]] const config& settings() const noexcept { return settings_; }

private:
    config settings_;
    credentials_source credentials_;
};

}  // namespace presign::service
