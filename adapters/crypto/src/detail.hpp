// SPDX-License-Identifier: Apache-2.0
// Internals of presign::e2e shared by the content coding and the metadata record: HKDF-SHA-256
// for outputs of at most one block, and an AES-128-GCM context that keeps its key schedule.
#pragma once

#include <openssl/evp.h>

#include <array>
#include <cstdint>
#include <span>
#include <string_view>

#include "presign/e2e/secret.hpp"

namespace presign::e2e::detail {

/// First block of HKDF-SHA-256 (RFC 5869): T(1) = HMAC(HMAC(salt, ikm), info || 0x01), enough
/// for every output here (L <= 32). `info` includes any trailing NUL the format asks for.
[[nodiscard]] bool hkdf_sha256_block(std::span<const std::uint8_t> salt,
                                     std::span<const std::uint8_t> ikm, std::string_view info,
                                     std::array<std::uint8_t, 32>& out);

/// An EVP_CIPHER_CTX set up once with an AES-128-GCM key; each seal/open call only sets the
/// 12-byte nonce. Not thread-safe. Wipes itself (EVP_CIPHER_CTX_free cleanses) on destruction.
class gcm_context {
  public:
    gcm_context() = default;
    gcm_context(const gcm_context&) = delete;
    gcm_context& operator=(const gcm_context&) = delete;
    ~gcm_context();

    [[nodiscard]] bool init(std::span<const std::uint8_t, 16> key, bool encrypt);
    /// out receives in.size() bytes followed by the tag (16). `extra` (may be empty) is encrypted
    /// right after `in` (the record delimiter), so out needs in.size() + extra.size() + 16 bytes.
    [[nodiscard]] bool seal(std::span<const std::uint8_t, 12> nonce,
                            std::span<const std::uint8_t> in, std::span<const std::uint8_t> extra,
                            std::uint8_t* out);
    /// `in` is ciphertext followed by its 16-byte tag; out receives in.size() - 16 bytes, which
    /// the caller must discard when this returns false (tag mismatch).
    [[nodiscard]] bool open(std::span<const std::uint8_t, 12> nonce,
                            std::span<const std::uint8_t> in, std::uint8_t* out);

  private:
    EVP_CIPHER_CTX* ctx_ = nullptr;
};

/// A failed result with `code` and `message`.
[[nodiscard]] inline sigv4::unexpected<error> fail(errc code, std::string message) {
    return sigv4::unexpected<error>{error{code, std::move(message)}};
}

}  // namespace presign::e2e::detail
