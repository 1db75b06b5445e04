// SPDX-License-Identifier: Apache-2.0
// HMAC-SHA256 with precomputed inner/outer states, and the cached SigV4 signing key.
#pragma once

#include <openssl/sha.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

#include "sigv4/credentials.hpp"
#include "sigv4/hash.hpp"

namespace sigv4::detail {

/// An HMAC-SHA256 key whose ipad/opad blocks are already compressed, so a MAC of a short message
/// costs only the message's blocks plus two final blocks.
class hmac_sha256_key {
public:
    hmac_sha256_key() noexcept = default;
    hmac_sha256_key(const void* key, std::size_t size) noexcept { assign(key, size); }
    hmac_sha256_key(const hmac_sha256_key&) = delete;
    hmac_sha256_key& operator=(const hmac_sha256_key&) = delete;
    ~hmac_sha256_key();

    void assign(const void* key, std::size_t size) noexcept;
    /// Copies another key's precomputed states.
    void assign(const hmac_sha256_key& other) noexcept {
        inner_ = other.inner_;
        outer_ = other.outer_;
    }
    /// Feeds `size` bytes into the inner hash, so that mac(m) becomes the MAC of (those bytes || m).
    /// A constant message head is then hashed once, not on every MAC.
    void absorb(const void* data, std::size_t size) noexcept { SHA256_Update(&inner_, data, size); }
    void mac(const void* data, std::size_t size, unsigned char out[32]) const noexcept;
    /// The MAC of a message whose MAC is published (a SigV4 signature). The hash state left on the
    /// stack then holds only that public MAC (SHA256_Final wipes its block buffer), so it is not
    /// wiped again.
    void published_mac(const void* data, std::size_t size, unsigned char out[32]) const noexcept;
    /// The MAC, leaving the final hash state (which holds it) in `state`: for a verifier, which
    /// wipes both only when the MAC turns out not to be the published one.
    void compute(const void* data, std::size_t size, unsigned char out[32], SHA256_CTX& state) const noexcept;
    sha256_digest mac(std::string_view data) const noexcept {
        sha256_digest out;
        mac(data.data(), data.size(), out.data());
        return out;
    }

private:
    SHA256_CTX inner_{};
    SHA256_CTX outer_{};
};

/// The SigV4 signing key for (secret, scope date, region, service), derived with four HMACs on
/// first use and then served from a small per-thread cache (no locks, wiped at thread exit).
/// The reference stays valid until the next call on the same thread.
const hmac_sha256_key& signing_key(const secret_key& secret, std::string_view scope_date,
                                   std::string_view region, std::string_view service) noexcept;

/// Lowercase hex of 32 bytes into out[64].
void hex32(const unsigned char in[32], char out[64]) noexcept;

/// Whether a and b (equal lengths) hold the same bytes, in time that depends only on the length:
/// 8 bytes a step without an early exit (CRYPTO_memcmp's byte loop costs several instructions a
/// byte). For secret keys and session tokens; signatures go through CRYPTO_memcmp.
inline bool constant_time_equals(const char* a, const char* b, std::size_t size) noexcept {
    std::uint64_t difference = 0;
    std::size_t i = 0;
    for (; i + 8 <= size; i += 8) {
        std::uint64_t x, y;
        std::memcpy(&x, a + i, 8);
        std::memcpy(&y, b + i, 8);
        difference |= x ^ y;
    }
    for (; i < size; ++i) difference |= static_cast<unsigned char>(a[i] ^ b[i]);
    return difference == 0;
}

}  // namespace sigv4::detail
