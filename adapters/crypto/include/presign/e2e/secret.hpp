// SPDX-License-Identifier: Apache-2.0
// The per-file secret of end-to-end encrypted sharing, and the errors of presign::e2e.
// The format is described precisely in adapters/crypto/FORMAT.md.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include <sigv4/result.hpp>

namespace presign::e2e {

/// Every way encryption or decryption can fail. Each code is stable; tests assert exact codes.
enum class errc {
    invalid_secret = 1,   ///< not 16 bytes, or not strict unpadded base64url of 16 bytes
    invalid_record_size,  ///< rs outside min_record_size..max_record_size
    header_truncated,     ///< the input ends inside the header (salt, rs, idlen, keyid)
    record_tampered,      ///< a record does not authenticate: wrong secret, or changed bytes
    padding_invalid,      ///< a record holds no delimiter, or 0x02 before the end / 0x01 at it
    truncated,            ///< the input ends without a last record (delimiter 0x02)
    trailing_data,        ///< bytes follow the record marked last
    metadata_too_large,   ///< the metadata record would not fit the 255-byte keyid
    metadata_invalid,     ///< the keyid is not a metadata record this secret opens, or malformed
    size_mismatch,        ///< the plaintext's length differs from the size the metadata states
    crypto_failure,       ///< libcrypto reported an error (should not happen)
};

/// Short stable name of a code, e.g. "record_tampered".
[[nodiscard]] std::string_view to_string(errc code) noexcept;

/// A code and a message for people. Messages never contain a secret or plaintext.
struct error {
    errc code{};
    std::string message;
};

template <class T>
using result = sigv4::result<T, error>;

/// Size of the secret (RFC 8188's input keying material) in bytes.
inline constexpr std::size_t secret_size = 16;

/// A file's 16-byte secret. Held in a fixed buffer wiped with OPENSSL_cleanse on destruction.
/// Not thread-safe to mutate; const access from several threads is fine.
class secret {
  public:
    /// 16 random bytes from the operating system's generator (RAND_bytes).
    [[nodiscard]] static result<secret> generate();
    /// Exactly 16 bytes, else invalid_secret.
    [[nodiscard]] static result<secret> from_bytes(std::span<const std::uint8_t> bytes);
    /// Unpadded base64url (RFC 4648 §5) of exactly 16 bytes: 22 characters, the last one's
    /// unused bits zero. Anything else (padding, '+', '/', whitespace) is invalid_secret.
    [[nodiscard]] static result<secret> from_base64url(std::string_view text);

    secret(const secret& other) noexcept;
    secret& operator=(const secret& other) noexcept;
    ~secret();

    /// The 22-character unpadded base64url form (what share links carry after '#').
    [[nodiscard]] std::string to_base64url() const;
    [[nodiscard]] std::span<const std::uint8_t, secret_size> bytes() const noexcept {
        return std::span<const std::uint8_t, secret_size>(bytes_);
    }

  private:
    secret() noexcept = default;
    std::array<std::uint8_t, secret_size> bytes_{};
};

/// Unpadded base64url of any bytes; and its strict inverse (nullopt-like failure as false).
[[nodiscard]] std::string base64url_encode(std::span<const std::uint8_t> bytes);
/// Decodes strict unpadded base64url; false on any other character, a length of 4n+1, or
/// non-zero unused bits.
[[nodiscard]] bool base64url_decode(std::string_view text, std::string& out);

}  // namespace presign::e2e
