// SPDX-License-Identifier: Apache-2.0
// SHA-256 for payload hashes and checksums, without exposing OpenSSL in the public headers.
#pragma once

#include "sigv4/export.hpp"

#include <array>
#include <cstddef>
#include <string>
#include <string_view>

namespace sigv4 {

using sha256_digest = std::array<unsigned char, 32>;

/// Incremental SHA-256 (for streaming uploads). Not copyable across threads concurrently.
class SIGV4_EXPORT sha256 {
  public:
    sha256() noexcept;
    void update(const void* data, std::size_t size) noexcept;
    void update(std::string_view data) noexcept { update(data.data(), data.size()); }
    /// Finishes and returns the digest; the object is reset for reuse.
    [[nodiscard]] sha256_digest finish() noexcept;

  private:
    alignas(8) unsigned char state_[128];  // holds a SHA256_CTX (112 bytes on every platform)
};

/// One-shot SHA-256.
[[nodiscard]] SIGV4_EXPORT sha256_digest sha256_of(std::string_view data) noexcept;
/// Lowercase hex SHA-256, the form x-amz-content-sha256 and canonical requests use.
[[nodiscard]] SIGV4_EXPORT std::string sha256_hex(std::string_view data);
/// The SHA-256 of the empty string, hex.
inline constexpr std::string_view empty_payload_sha256 =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

}  // namespace sigv4
