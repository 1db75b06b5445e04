// SPDX-License-Identifier: Apache-2.0
// result<T, E>: a value or an error, shaped like std::expected (C++23), usable from C++20.
#pragma once

#include "sigv4/export.hpp"

#include <cassert>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>

namespace sigv4 {

/// Every way the library can fail. Each code is stable; tests assert exact codes.
enum class errc {
    // Input to signing or presigning.
    empty_access_key_id = 1,  ///< the access key id is empty or contains illegal characters
    invalid_secret_key,       ///< the secret is empty or longer than secret_key::max_size
    invalid_session_token,    ///< the session token contains control characters
    invalid_region,           ///< region empty or not [a-z0-9-]
    invalid_service,          ///< service empty or not [a-z0-9-]
    invalid_method,           ///< HTTP method empty or not an RFC 9110 token
    invalid_host,             ///< host empty, or with characters no host can have
    invalid_path,             ///< path empty, not starting with '/', or containing control bytes
    invalid_query,            ///< query parameter name empty or a malformed percent escape
    invalid_header_name,   ///< header name empty or not an RFC 9110 token (e.g. contains a space)
    invalid_header_value,  ///< header value contains CR, LF or NUL
    invalid_payload_hash,  ///< a given payload hash is not 64 lowercase hex digits
    invalid_expiry,        ///< presign expiry outside 1..604800 seconds
    invalid_time,          ///< a time outside years 1970..9999, or unparsable
    credentials_expired,   ///< the credentials are already expired at the signing time
    credentials_expire_first,  ///< the credentials expire before the URL would (see clamp_expiry)
    // S3 helpers.
    invalid_bucket_name,  ///< not a valid S3 bucket name
    invalid_object_key,   ///< empty, longer than 1024 bytes, or not valid UTF-8
    invalid_endpoint,     ///< custom endpoint is not http(s)://host[:port][/]
    invalid_option,       ///< an S3 option is malformed (checksum not base64 SHA-256, bad SSE, ...)
    // Verification (server side), mapped onto S3's error codes by s3_error_code().
    authorization_query_parameters_error,  ///< 400 missing/repeated/malformed X-Amz-* parameter
    authorization_header_malformed,        ///< 400 malformed Authorization header or scope
    missing_security_header,               ///< 400 a required header (x-amz-date, host) is missing
    invalid_access_key_id,                 ///< 403 the access key id is unknown
    invalid_token,                         ///< 400 session token missing, unexpected or wrong
    signature_does_not_match,              ///< 403 the signature differs
    request_expired,                       ///< 403 AccessDenied: now >= X-Amz-Date + X-Amz-Expires
    request_not_yet_valid,                 ///< 403 AccessDenied: X-Amz-Date > 15 min in the future
    request_time_too_skewed,               ///< 403 header auth outside the 15-minute window
    content_sha256_mismatch,               ///< 400 XAmzContentSHA256Mismatch
    missing_content_sha256,  ///< 400 InvalidRequest: S3 header auth without x-amz-content-sha256
    headers_not_signed,      ///< 403 AccessDenied: x-amz-* headers present but not signed
    invalid_argument,        ///< 400 malformed request target or other input
    // Environment.
    crypto_failure,  ///< libcrypto reported an error (should not happen)
};

/// Short stable name of a code, e.g. "invalid_expiry".
[[nodiscard]] SIGV4_EXPORT std::string_view to_string(errc code) noexcept;

/// What went wrong: a code to branch on and a message for people. Never contains a secret.
struct error {
    errc code{};
    std::string message;
};

/// Wraps an error to construct a failed result: `return unexpected{error{...}}`.
template <class E>
class unexpected {
  public:
    explicit unexpected(E e) : error_(std::move(e)) {}
    [[nodiscard]] E& error() & noexcept { return error_; }
    [[nodiscard]] E&& error() && noexcept { return std::move(error_); }

  private:
    E error_;
};
template <class E>
unexpected(E) -> unexpected<E>;

/// Convenience: a failed result from a code and a message.
[[nodiscard]] inline unexpected<error> fail(errc code, std::string message) {
    return unexpected<error>{error{code, std::move(message)}};
}

/// A value of type T, or an error of type E. Accessing the wrong side is a precondition violation
/// (asserted in debug builds).
template <class T, class E = error>
class [[nodiscard]] result {
  public:
    using value_type = T;
    using error_type = E;

    template <class U = T, std::enable_if_t<std::is_constructible_v<T, U&&>, int> = 0>
    result(U&& value) : storage_(std::in_place_index<0>, std::forward<U>(value)) {}
    /// Constructs the value in place (as std::expected does).
    template <class... Args>
    explicit result(std::in_place_t, Args&&... args)
        : storage_(std::in_place_index<0>, std::forward<Args>(args)...) {}
    template <class G>
    result(unexpected<G> failure) : storage_(std::in_place_index<1>, std::move(failure).error()) {}

    [[nodiscard]] bool has_value() const noexcept { return storage_.index() == 0; }
    explicit operator bool() const noexcept { return has_value(); }

    [[nodiscard]] T& value() & { return check_value(), std::get<0>(storage_); }
    [[nodiscard]] const T& value() const& { return check_value(), std::get<0>(storage_); }
    [[nodiscard]] T&& value() && { return check_value(), std::get<0>(std::move(storage_)); }
    [[nodiscard]] const E& error() const& { return check_error(), std::get<1>(storage_); }
    [[nodiscard]] E&& error() && { return check_error(), std::get<1>(std::move(storage_)); }

    T& operator*() & { return value(); }
    const T& operator*() const& { return value(); }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }

  private:
    void check_value() const { assert(has_value() && "result holds an error"); }
    void check_error() const { assert(!has_value() && "result holds a value"); }
    std::variant<T, E> storage_;
};

/// result<void>: success, or an error.
template <class E>
class [[nodiscard]] result<void, E> {
  public:
    result() = default;
    template <class G>
    result(unexpected<G> failure) : error_(std::move(failure).error()), failed_(true) {}

    [[nodiscard]] bool has_value() const noexcept { return !failed_; }
    explicit operator bool() const noexcept { return has_value(); }
    [[nodiscard]] const E& error() const& { return error_; }

  private:
    E error_{};
    bool failed_ = false;
};

}  // namespace sigv4
