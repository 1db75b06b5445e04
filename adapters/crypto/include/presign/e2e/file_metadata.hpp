// SPDX-License-Identifier: Apache-2.0
// The encrypted metadata record (file name, media type, size) that presign stores in the keyid of
// an aes128gcm header, keyed from the file's secret and the header's salt:
//   T = HMAC-SHA-256(HMAC-SHA-256(salt, secret), "presign metadata v1" 0x00 0x01)
//   key = T[0..16), nonce = T[16..28)
//   keyid = AES-128-GCM(key, nonce, aad = empty)(plaintext) || tag (16)
//   plaintext = 0x01 (version) || size (uint64 big endian) || type length (1) || type || name
// The keyid holds at most 255 bytes, so type + name hold at most 255 - 16 - 10 = 229 bytes;
// fit_metadata shortens a longer name (keeping its extension) before sealing. Full description:
// adapters/crypto/FORMAT.md.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "presign/e2e/aes128gcm.hpp"
#include "presign/e2e/secret.hpp"

namespace presign::e2e {

/// Bytes of a sealed record beyond its type and name: version, size, type length, tag.
inline constexpr std::size_t metadata_overhead = 1 + 8 + 1 + tag_size;
inline constexpr std::size_t max_metadata_size = 255;
inline constexpr std::string_view default_media_type = "application/octet-stream";

struct file_metadata {
    std::string name;        ///< the file's name as the owner gave it (UTF-8, no path)
    std::string type;        ///< its media type, e.g. "image/png"
    std::uint64_t size = 0;  ///< the plaintext's length in bytes
};

/// The metadata shortened to fit the keyid: a media type over 100 bytes or with bytes outside
/// printable ASCII becomes application/octet-stream; a long name is cut at a UTF-8 character
/// boundary before its extension (an extension over 16 bytes is cut too); an empty name becomes
/// "file".
[[nodiscard]] file_metadata fit_metadata(file_metadata metadata);

/// Seals `metadata` for a body with header salt `salt`. Errors: metadata_too_large (call
/// fit_metadata first), crypto_failure.
[[nodiscard]] result<bytes> seal_metadata(const secret& key,
                                          const std::array<std::uint8_t, salt_size>& salt,
                                          const file_metadata& metadata);

/// Opens a keyid sealed by seal_metadata. Errors: metadata_invalid (does not authenticate under
/// this secret and salt, unknown version, lengths inconsistent, name empty).
[[nodiscard]] result<file_metadata> open_metadata(const secret& key,
                                                  const std::array<std::uint8_t, salt_size>& salt,
                                                  std::span<const std::uint8_t> keyid);

/// A name safe to create in a directory: the part after the last '/' or '\\', control
/// characters removed, "", "." and ".." replaced by "file".
[[nodiscard]] std::string safe_file_name(std::string_view name);

}  // namespace presign::e2e
