// SPDX-License-Identifier: Apache-2.0
// Signature Version 4: header signing (Authorization) and query-string presigning.
#pragma once

#include "sigv4/export.hpp"

#include <array>
#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sigv4/credentials.hpp"
#include "sigv4/request.hpp"
#include "sigv4/result.hpp"
#include "sigv4/time.hpp"

namespace sigv4 {

inline constexpr std::chrono::seconds default_expiry{300};
inline constexpr std::chrono::seconds max_expiry{604800};  // 7 days, S3's limit

/// Where the session token of temporary credentials goes.
enum class session_token_mode {
    sign,    ///< X-Amz-Security-Token is part of the canonical request (S3, most services)
    append,  ///< added after signing, unsigned (IoT, the suite's "omit_session_token")
};

struct SIGV4_EXPORT signing_options {
    std::string region;   ///< e.g. "us-east-1"; [a-z0-9-]+
    std::string service;  ///< e.g. "s3"; [a-z0-9-]+
    /// Signing time; default: now.
    std::optional<sys_seconds> signing_time;
    /// Presign only: lifetime of the URL, 1..604800 s (errc::invalid_expiry otherwise).
    std::chrono::seconds expires = default_expiry;
    /// Presign only: when the credentials expire before the URL would, shorten the URL's lifetime
    /// instead of failing with errc::credentials_expire_first.
    bool clamp_expiry = false;
    /// Remove "." and ".." segments and repeated slashes (on for most services, off for S3).
    bool normalize_path = true;
    /// URI-encode the path twice (on for most services, off for S3).
    bool double_encode_path = true;
    /// Header auth only: add x-amz-content-sha256 with the payload hash (S3 requires it).
    bool add_content_sha256_header = false;
    session_token_mode token_mode = session_token_mode::sign;
    /// Lowercase names of the headers to sign; empty means every header of the request. `host` is
    /// always signed.
    std::vector<std::string> signed_headers;
    /// Keep canonical request and string to sign in the result (costs two string copies).
    bool capture_artifacts = false;

    /// Defaults for a generic AWS service (normalized, double-encoded path).
    [[nodiscard]] static signing_options for_service(std::string region, std::string service);
    /// Defaults for S3: no normalization, single encoding, x-amz-content-sha256 on header auth.
    [[nodiscard]] static signing_options for_s3(std::string region);
};

/// A SigV4 signature: 64 lowercase hex digits, held inline (so presigning allocates only its URL).
class signature_hex {
  public:
    // Empty; the digit buffer is left unfilled (filling 64 bytes per presign is measurable).
    signature_hex() noexcept {}
    /// Keeps at most the first 64 characters of `digits`.
    explicit signature_hex(std::string_view digits) noexcept {
        size_ = digits.size() < digits_.size() ? digits.size() : digits_.size();
        std::char_traits<char>::copy(reinterpret_cast<char*>(digits_.data()), digits.data(), size_);
    }
    [[nodiscard]] std::string_view view() const noexcept {
        return {reinterpret_cast<const char*>(digits_.data()), size_};
    }
    operator std::string_view() const noexcept { return view(); }
    [[nodiscard]] std::string str() const { return std::string(view()); }
    [[nodiscard]] std::size_t size() const noexcept { return size_; }
    [[nodiscard]] bool empty() const noexcept { return size_ == 0; }
    friend bool operator==(const signature_hex& a, std::string_view b) noexcept {
        return a.view() == b;
    }

  private:
    std::array<unsigned char, 64> digits_;  // unsigned char: copying unfilled bytes is well defined
    std::size_t size_ = 0;
};

/// The intermediate artifacts, for debugging SignatureDoesNotMatch and for tests.
struct signing_artifacts {
    std::string canonical_request;  ///< empty unless signing_options::capture_artifacts
    std::string string_to_sign;     ///< empty unless signing_options::capture_artifacts
    signature_hex signature;        ///< 64 lowercase hex digits, always set
};

/// A presigned request: what a client (browser, curl) needs to perform it.
struct presigned_request {
    // User-provided, so that a result built in place is not zero-filled before its members are
    // constructed (measurable on the presign hot path).
    presigned_request() noexcept {}

    std::string method;
    /// The full URL, with the request's own query parameters first (in the given order), then
    /// X-Amz-Algorithm, -Credential, -Date, -SignedHeaders, -Expires, [-Security-Token],
    /// -Signature.
    std::string url;
    /// Headers the client must send with exactly these values for the signature to hold (every
    /// signed header except `host`, which the HTTP client sets from the URL).
    std::vector<header> headers;
    /// Where auth_query() starts in `url`.
    std::size_t auth_query_at = 0;
    /// Only the query parameters presigning added, encoded, in URL order ("X-Amz-Algorithm=..."):
    /// the tail of `url`.
    [[nodiscard]] std::string_view auth_query() const noexcept {
        return auth_query_at <= url.size() ? std::string_view(url).substr(auth_query_at)
                                           : std::string_view{};
    }
    sys_seconds signed_at;
    sys_seconds expires_at;
    std::chrono::seconds expires_in{};
    signing_artifacts artifacts{};
};

/// A header-signed request: the headers to add to the original request.
struct signed_request {
    /// In this order, when present: X-Amz-Security-Token, X-Amz-Date, x-amz-content-sha256,
    /// Authorization.
    std::vector<header> headers;
    sys_seconds signed_at;
    signing_artifacts artifacts{};
};

/// Thread safety of presign() and sign(): callable from any number of threads at once (with
/// credentials and options not modified meanwhile). Each thread keeps a cache of signing keys
/// derived from the secrets it signed with (see sigv4/caches.hpp: what, how long, and
/// clear_thread_caches() to drop them after a key rotation). Both allocate (the result's strings).

/// Query-string authentication (presigned URL).
/// Errors: errc::invalid_region/service/method/host/path/query/header_name/header_value/
/// payload_hash for malformed input, errc::invalid_expiry when expires is outside 1..604800,
/// errc::credentials_expired when the credentials are expired at the signing time, and
/// errc::credentials_expire_first when they expire before the URL would (unless clamp_expiry;
/// the message names both times).
[[nodiscard]] SIGV4_EXPORT result<presigned_request> presign(const credentials& creds,
                                                             const http_request& request,
                                                             const signing_options& options);

/// Authorization-header authentication. Errors as presign(), without the expiry ones (but
/// errc::credentials_expired still applies).
[[nodiscard]] SIGV4_EXPORT result<signed_request> sign(const credentials& creds,
                                                       const http_request& request,
                                                       const signing_options& options);

}  // namespace sigv4
