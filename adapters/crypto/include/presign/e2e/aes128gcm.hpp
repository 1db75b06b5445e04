// SPDX-License-Identifier: Apache-2.0
// RFC 8188 "aes128gcm" content coding: a streaming encryptor and decryptor on libcrypto.
//
// Body = header || records. Header = salt (16) || rs (uint32, big endian) || idlen (1) || keyid.
// PRK = HMAC-SHA-256(salt, secret); CEK = first 16 bytes of HMAC-SHA-256(PRK, "Content-Encoding:
// aes128gcm" 0x00 0x01); NONCE = first 12 of HMAC-SHA-256(PRK, "Content-Encoding: nonce" 0x00
// 0x01). Record i (from 0) is AES-128-GCM(CEK, NONCE xor i as 96-bit big endian) over plaintext ||
// delimiter || zero padding, followed by its 16-byte tag; every record but the last is exactly rs
// bytes and has delimiter 0x01, the last has 0x02 and at most rs bytes. There is always a last
// record, so a body is never cut at a record boundary unnoticed.
//
// The encryptor writes no padding, so the body's size is a function of the plaintext's size and
// can be signed as Content-Length before a byte is encrypted (encrypted_size). The decryptor
// accepts any padding the RFC allows. Details and the metadata keyid: adapters/crypto/FORMAT.md.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "presign/e2e/secret.hpp"

namespace presign::e2e {

inline constexpr std::size_t salt_size = 16;
inline constexpr std::size_t tag_size = 16;
/// salt, rs and idlen: the header without its keyid.
inline constexpr std::size_t fixed_header_size = salt_size + 4 + 1;
/// What a record adds to its plaintext: the tag and the delimiter (no padding).
inline constexpr std::size_t record_overhead = tag_size + 1;
inline constexpr std::uint32_t default_record_size = 64 * 1024;
/// The RFC's minimum: one plaintext byte plus delimiter and tag.
inline constexpr std::uint32_t min_record_size = 18;
/// Our decoder's maximum (it buffers one record): larger rs values are refused with
/// invalid_record_size rather than allocated.
inline constexpr std::uint32_t max_record_size = 16 * 1024 * 1024;

using bytes = std::vector<std::uint8_t>;

/// The parsed header of a body.
struct header {
    std::array<std::uint8_t, salt_size> salt{};
    std::uint32_t record_size = default_record_size;
    bytes keyid;  ///< 0..255 bytes; presign stores the sealed file metadata here
};

/// The exact body size for `plaintext_size` bytes encrypted by `encryptor` with records of
/// `record_size` and a keyid of `keyid_size` bytes: fixed_header_size + keyid_size + plaintext_size
/// + record_overhead * max(1, ceil(plaintext_size / (record_size - 17))).
/// Errors: invalid_record_size; metadata_too_large when keyid_size > 255.
[[nodiscard]] result<std::uint64_t> encrypted_size(std::uint64_t plaintext_size,
                                                   std::uint32_t record_size = default_record_size,
                                                   std::size_t keyid_size = 0);

/// 16 random bytes for a header's salt (RAND_bytes).
[[nodiscard]] result<std::array<std::uint8_t, salt_size>> random_salt();

/// Encrypts one body as a stream. Feed the plaintext in pieces of any size with `update`, then call
/// `finish` once; each call appends ciphertext to `out` (the first call also the header). One
/// full record of plaintext stays buffered until the next byte or `finish` says whether it is the
/// last. Not thread-safe; movable, not copyable. The derived keys are wiped on destruction.
class encryptor {
  public:
    /// Errors: invalid_record_size, metadata_too_large (keyid over 255 bytes), crypto_failure.
    [[nodiscard]] static result<encryptor> make(const secret& key,
                                                const std::array<std::uint8_t, salt_size>& salt,
                                                std::span<const std::uint8_t> keyid = {},
                                                std::uint32_t record_size = default_record_size);
    encryptor(encryptor&&) noexcept;
    encryptor& operator=(encryptor&&) noexcept;
    ~encryptor();

    [[nodiscard]] result<void> update(std::span<const std::uint8_t> plaintext, bytes& out);
    /// Seals the last record. After it, update and finish fail with crypto_failure.
    [[nodiscard]] result<void> finish(bytes& out);

  private:
    struct state;
    explicit encryptor(std::unique_ptr<state> s) noexcept;
    std::unique_ptr<state> state_;
};

/// Decrypts one body as a stream: `update` with pieces of any size appends the plaintext of every
/// record known not to be the last; `finish` checks and appends the last record. Nothing is
/// appended for a record that fails, and the first failure is final (every later call repeats
/// it). The caller must discard all output unless finish succeeds. Not thread-safe; movable.
class decryptor {
  public:
    [[nodiscard]] static result<decryptor> make(const secret& key);
    decryptor(decryptor&&) noexcept;
    decryptor& operator=(decryptor&&) noexcept;
    ~decryptor();

    /// Errors: header_truncated is never returned here (more may come); invalid_record_size,
    /// record_tampered, padding_invalid, trailing_data, crypto_failure.
    [[nodiscard]] result<void> update(std::span<const std::uint8_t> ciphertext, bytes& out);
    /// Errors: header_truncated, truncated, record_tampered, padding_invalid, crypto_failure.
    [[nodiscard]] result<void> finish(bytes& out);

    /// The header, once update has seen all of it.
    [[nodiscard]] const std::optional<e2e::header>& parsed_header() const noexcept;

  private:
    struct state;
    explicit decryptor(std::unique_ptr<state> s) noexcept;
    std::unique_ptr<state> state_;
};

}  // namespace presign::e2e
