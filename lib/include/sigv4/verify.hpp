// SPDX-License-Identifier: Apache-2.0
// The server side of SigV4: checks a presigned URL or an Authorization header the way S3 does.
#pragma once

#include "sigv4/export.hpp"

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sigv4/credentials.hpp"
#include "sigv4/request.hpp"
#include "sigv4/result.hpp"
#include "sigv4/time.hpp"

namespace sigv4 {

/// What the server knows about an access key id.
struct known_key {
    secret_key secret;
    /// The session token the request must carry; empty for long-term keys.
    std::string session_token;
};

/// Finds the key for an access key id and lends it: the pointee must stay valid and unchanged
/// until verify() returns (no secret is copied per request). nullptr for an unknown id
/// (errc::invalid_access_key_id). Called on the verifying thread, once for a request that
/// verifies and possibly twice for one that is rejected (the direct path for presigned URLs looks
/// the key up, then steps aside, and the full verifier looks it up again to report the error): it
/// must give the same answer both times, be safe to call from every thread that verifies, and not
/// call back into sigv4.
using key_lookup = std::function<const known_key*(std::string_view access_key_id)>;

/// A request as the server received it.
struct received_request {
    std::string method;
    /// The raw request target, exactly as on the request line: "/bucket/my%20key?X-Amz-...".
    std::string target;
    std::vector<header> headers;
    /// Header auth: how to check the payload. kind::hash means "trust x-amz-content-sha256 as
    /// the hash to sign with" (a streaming server checks the body against it afterwards);
    /// kind::body checks the body against x-amz-content-sha256 now (XAmzContentSHA256Mismatch).
    payload body = payload::from_hash({});
};

struct verify_options {
    std::string region;
    std::string service = "s3";
    /// Default: sigv4::now().
    std::optional<sys_seconds> now;
    /// S3 rules: no path normalization and single encoding. Off for generic services.
    bool s3 = true;
    /// Generic services only: remove dot segments and repeated slashes before signing (default:
    /// on, as most AWS services do; off for services that sign the path as sent).
    bool normalize_path = true;
    /// Whether X-Amz-Security-Token is part of the signature (session_token_mode::sign). When
    /// false, a presigned URL's token was appended after signing and is left out of the canonical
    /// query; it is still checked against the key's expected token.
    bool session_token_signed = true;
    /// Header auth: how far X-Amz-Date may be from now. Presigned URLs may be dated at most this
    /// far in the future (errc::request_not_yet_valid), and are otherwise bounded by X-Amz-Expires.
    std::chrono::seconds max_skew{900};
};

/// The facts a successful verification establishes.
struct verified_request {
    enum class auth { query, header };
    // User-provided, so that a result built in place is not zero-filled first.
    verified_request() noexcept {}

    auth kind = auth::query;
    std::string access_key_id;
    std::vector<std::string> signed_headers;  ///< lowercase, sorted
    sys_seconds signed_at;
    /// query: X-Amz-Date + X-Amz-Expires; header: signed_at + max_skew.
    sys_seconds expires_at;
    /// The decoded path ("/bucket/my key").
    std::string path;
    /// The request's query parameters without the X-Amz-* auth ones, decoded.
    std::vector<query_param> query;
    /// Header auth: the signed payload hash ("UNSIGNED-PAYLOAD" or hex).
    std::string payload_hash;
};

/// A failed verification. `canonical_request` and `string_to_sign` are what the server computed
/// (set once the request got that far), for debugging as S3's error XML shows them. They never
/// contain a secret.
struct verify_error {
    errc code{};
    std::string message;
    std::string canonical_request;
    std::string string_to_sign;
};

/// S3's error code for a verification errc ("SignatureDoesNotMatch", "AccessDenied", ...).
/// This and http_status are pure functions: thread-safe, no allocation.
[[nodiscard]] SIGV4_EXPORT std::string_view s3_error_code(errc code) noexcept;
/// S3's HTTP status for a verification errc (400 or 403).
[[nodiscard]] SIGV4_EXPORT int http_status(errc code) noexcept;

/// Thread safety of both verify() overloads: callable from any number of threads at once with the
/// same lookup and options (the lookup must then be thread-safe itself). Each thread caches, for
/// the last presigned URL's credential scope, a copy of the lent secret and the signing key derived
/// from it, and the last expected session token; plus the signing keys cache of sigv4::sign (see
/// sigv4/caches.hpp for how long, and clear_thread_caches() to drop them after a key rotation).
/// No verify() is noexcept: the full verifier allocates (messages, canonical request).

/// Verifies query or header authentication (chosen by the presence of X-Amz-Algorithm in the
/// query or of an Authorization header; both is an error, neither is errc::missing_security_header
/// with S3's "AccessDenied").
[[nodiscard]] SIGV4_EXPORT result<verified_request, verify_error> verify(
    const received_request& request, const key_lookup& keys, const verify_options& options);

/// The same, filling `verified` in place. A server that keeps one verified_request per thread and
/// passes it to every call reuses its strings' storage, so a good presigned request allocates
/// nothing. On failure `verified` holds no meaningful facts.
[[nodiscard]] SIGV4_EXPORT result<void, verify_error> verify(const received_request& request,
                                                             const key_lookup& keys,
                                                             const verify_options& options,
                                                             verified_request& verified);

}  // namespace sigv4
