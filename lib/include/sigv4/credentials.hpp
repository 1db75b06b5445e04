// SPDX-License-Identifier: Apache-2.0
// AWS credentials: access key id, secret key (wiped, never printable), session token, expiration.
#pragma once

#include "sigv4/export.hpp"

#include <array>
#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "sigv4/result.hpp"

namespace sigv4 {

/// A secret access key held in a fixed-size buffer that is wiped (OPENSSL_cleanse) on destruction
/// and on reassignment. It has no stream operator and no accessor returning std::string, so it
/// cannot end up in a log by accident.
class SIGV4_EXPORT secret_key {
  public:
    static constexpr std::size_t max_size = 128;

    secret_key() noexcept = default;
    /// Copies `secret`. Fails with errc::invalid_secret_key when empty or longer than max_size.
    [[nodiscard]] static result<secret_key> from(std::string_view secret);

    secret_key(const secret_key& other) noexcept;
    secret_key& operator=(const secret_key& other) noexcept;
    ~secret_key();

    [[nodiscard]] std::size_t size() const noexcept { return size_; }
    [[nodiscard]] bool empty() const noexcept { return size_ == 0; }
    /// The raw bytes, for the signing code and for constant-time comparison only.
    [[nodiscard]] const unsigned char* data() const noexcept { return bytes_.data(); }
    /// Equality in time that depends on neither secret: the sizes, then all max_size bytes of both
    /// buffers compared 8 bytes a step with no early exit (a word-wise loop behind an optimization
    /// barrier, as libsodium's crypto_verify does; not CRYPTO_memcmp, whose byte loop would cost
    /// the verifier several hundred instructions per request). Thread-safe; allocates nothing.
    [[nodiscard]] bool equals(const secret_key& other) const noexcept;

  private:
    std::array<unsigned char, max_size> bytes_{};
    std::size_t size_ = 0;
};

/// Credentials used to sign. `session_token` is empty for long-term keys. secret_key and
/// credentials are plain values: reading one object from several threads at once is safe,
/// modifying it while another thread reads it is not.
struct SIGV4_EXPORT credentials {
    std::string access_key_id;
    secret_key secret;
    std::string session_token;
    /// When temporary credentials stop working; absent for long-term keys.
    std::optional<std::chrono::sys_seconds> expiration;

    /// Validates and builds credentials. Errors: errc::empty_access_key_id (empty, or characters
    /// outside [A-Za-z0-9]), errc::invalid_secret_key, errc::invalid_session_token (control bytes).
    [[nodiscard]] static result<credentials> make(
        std::string_view access_key_id, std::string_view secret_access_key,
        std::string_view session_token = {},
        std::optional<std::chrono::sys_seconds> expiration = std::nullopt);
};

}  // namespace sigv4
