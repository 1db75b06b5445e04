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

#include "presign/token.hpp"

namespace presign::service {

/// Settings, normally read from the environment (names in brackets).
struct config {
    std::string bucket;                           // [BUCKET_NAME] required
    std::string key_prefix;                       // [KEY_PREFIX] e.g. "uploads/"
    std::chrono::seconds url_expires{300};        // [URL_EXPIRES] 1..604800
    std::uint64_t max_upload_bytes = 5ull << 30;  // [MAX_UPLOAD_BYTES] <= 5 TiB
    /// Sizes above this are uploaded in parts (a client may also ask for parts); a single PUT
    /// never exceeds 5 GiB whatever this says.     [MULTIPART_THRESHOLD] 0..5 GiB
    std::uint64_t multipart_threshold = 64ull << 20;
    std::vector<std::string> allowed_content_types;  // [ALLOWED_CONTENT_TYPES] "image/*,text/plain"
    std::vector<std::string> allowed_origins;        // [ALLOWED_ORIGINS] "https://a.example,..."
    bool allow_anonymous = false;                    // [ALLOW_ANONYMOUS] "true"
    sigv4::s3::endpoint endpoint;                    // [AWS_REGION] [S3_ENDPOINT] [S3_PATH_STYLE]
    std::chrono::seconds share_max{604800};          // [SHARE_MAX_SECONDS] 60..2592000 (30 days)
    /// The secret that authenticates the service's tokens (share links, multipart plans): 32..4096
    /// bytes of text, e.g. Secrets Manager's GenerateSecretString, and the previous one, accepted
    /// only when configured, during a rotation. Without it multipart uploads answer 503
    /// "multipart_disabled", POST /shares and /s/<token> 503 "shares_disabled".   [LINK_SECRET]
    /// [LINK_SECRET_PREVIOUS]
    std::optional<token::keyring> link_keys;

    /// Reads the settings through `getenv` (so tests can pass a map). A missing or invalid setting
    /// is an error whose message names the variable.
    [[nodiscard]] static sigv4::result<config> from_environment(
        const std::function<std::optional<std::string>(std::string_view)>& getenv);
};

/// A request as the service sees it, whatever the transport.
struct request {
    std::string method;                     // "POST", "GET", "OPTIONS"
    std::string path;                       // "/uploads", decoded, no query
    std::vector<sigv4::query_param> query;  // decoded, repeated names allowed
    std::vector<sigv4::header> headers;     // names compared case-insensitively
    std::string body;                       // already base64-decoded
    std::optional<std::string> identity;    // authenticated user id, if any
    std::string request_id;                 // for the log line
    /// Where the API is reachable from outside, "https://host[/stage]" without a trailing slash:
    /// share links are <base_url>/s/<token>. Empty: links are relative ("/s/<token>").
    std::string base_url;
};

/// What the service answers. Most routes answer JSON; the share-link route /s/<token> also answers
/// the recipient page (text/html), its script and style, and 302 redirects (Location, no body).
struct response {
    int status = 200;
    std::vector<sigv4::header> headers;  // Content-Type whenever there is a body
    std::string body;  // UTF-8 text: JSON, HTML, JS or CSS (empty for 204 and 302)
};

/// Supplies the signing credentials for each request (they may rotate).
using credentials_source = std::function<sigv4::result<sigv4::credentials>()>;

/// Receives one structured JSON log line per request (no trailing newline). The line holds the
/// request id, route, status, error code, key and duration; never a secret, a password or a URL,
/// and a share-link token only as token::log_label (the route reads "/s/<label>").
using log_sink = std::function<void(std::string_view line)>;

/// The default sink: writes the line and a newline to stdout in one write(2).
void log_to_stdout(std::string_view line) noexcept;

class service {
  public:
    /// Logs to stdout.
    service(config settings, credentials_source credentials);
    /// Logs through `sink` (an empty sink logs nothing).
    service(config settings, credentials_source credentials, log_sink sink);
    /// Never throws: every failure becomes a JSON error response {"error":{"code","message"}}.
    [[nodiscard]] response handle(const request& req) const noexcept;
    /// The error response for a request the transport could not translate (an undecodable body,
    /// a malformed event), with the same headers, CORS and log line as handle(). `code` is one of
    /// handle()'s error codes, e.g. "invalid_json".
    [[nodiscard]] response reject(const request& req, int status, std::string_view code,
                                  std::string_view message) const noexcept;
    [[nodiscard]] const config& settings() const noexcept { return settings_; }

  private:
    config settings_;
    credentials_source credentials_;
    log_sink log_;
};

// The policy pieces handle() uses, public so other adapters and tests apply the same rules.

/// The key prefix of a caller: KEY_PREFIX + "users/<sanitized id>/" with an identity,
/// KEY_PREFIX + "shared/" without one (whether anonymous callers are allowed is handle()'s call).
/// The mapping is injective (two different ids never share a prefix): bytes outside [A-Za-z0-9.@-]
/// become "_XX" with upper-case hex (and so does '_'), an id of dots only is fully escaped, and an
/// id whose escape exceeds 128 bytes becomes "_sha256-<lower-case hex of SHA-256(id)>", a spelling
/// the escape never produces ('_' followed by 's').
[[nodiscard]] std::string caller_prefix(const config& settings,
                                        const std::optional<std::string>& identity);

/// Checks a client-given key: non-empty, <= 1024 bytes of valid UTF-8, no control character (C0,
/// DEL, C1), no bidirectional control (Unicode Bidi_Control: U+061C, U+200E, U+200F,
/// U+202A..U+202E, U+2066..U+2069) or line/paragraph separator (U+2028, U+2029), no "." or ".."
/// segment, no leading '/'. Returns an explanation, or nullopt when valid.
[[nodiscard]] std::optional<std::string> key_problem(std::string_view key);

/// The file name of a client-given name: the part after the last '/' or '\\', without control
/// characters, bidirectional controls and line/paragraph separators (so "\u202Egnp.exe" cannot show
/// as "exe.png"), trimmed of spaces; nullopt when nothing usable remains, it is "." or "..", it is
/// not valid UTF-8, or it is longer than 255 bytes.
[[nodiscard]] std::optional<std::string> clean_file_name(std::string_view name);

/// A query string that cannot be decoded: every transport answers it with service::reject(request,
/// status, code, message), i.e. 400 {"error":{"code":"invalid_query","message":...}}.
struct query_error {
    static constexpr int status = 400;
    static constexpr std::string_view code = "invalid_query";
    std::string message;  ///< names the malformed escape, e.g. "'%zz'"
};

/// The one query decoder of every transport (`presign serve`, the Lambda's rawQueryString): the
/// raw query after '?' ("key=a+b%2Bc&x") split at '&' (empty parts skipped), each part at its first
/// '=' (none: an empty value), '+' decoded as a space and %XX as the byte XX, as
/// application/x-www-form-urlencoded (WHATWG URLSearchParams) and API Gateway's decoded
/// queryStringParameters do; so a literal '+' must be sent as %2B (encodeURIComponent does).
/// Repeated names stay repeated, in order. A '%' not followed by two hex digits is a query_error;
/// nothing is accepted raw.
[[nodiscard]] sigv4::result<std::vector<sigv4::query_param>, query_error> parse_query(
    std::string_view raw);

/// True when `content_type` ("type/subtype[; params]") matches one of `patterns` ("type/subtype",
/// "type/*", "*/*"; an empty list allows every syntactically valid type). Case-insensitive.
[[nodiscard]] bool content_type_allowed(std::string_view content_type,
                                        const std::vector<std::string>& patterns);

/// Appends `text` to `out` as a JSON string, quotes included: byte for byte what nlohmann::json's
/// dump() writes with error_handler_t::replace (invalid UTF-8 becomes U+FFFD). For adapters that
/// render the service's response into their own JSON envelope.
void append_json_string(std::string& out, std::string_view text);

}  // namespace presign::service
