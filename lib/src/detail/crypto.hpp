// SPDX-License-Identifier: Apache-2.0
// HMAC-SHA256 with precomputed inner/outer states, and the cached SigV4 signing key.
#pragma once

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "sigv4/credentials.hpp"  // and sigv4/export.hpp: SIGV4_EXPORT for what the tests call
#include "sigv4/hash.hpp"

namespace sigv4::detail {

/// An HMAC-SHA256 key whose ipad/opad blocks are already compressed, so a MAC of a short message
/// costs only the message's blocks plus two final blocks.
class SIGV4_EXPORT hmac_sha256_key {
  public:
    hmac_sha256_key() noexcept = default;
    hmac_sha256_key(const void* key, std::size_t size) noexcept { assign(key, size); }
    hmac_sha256_key(const hmac_sha256_key&) = delete;
    hmac_sha256_key& operator=(const hmac_sha256_key&) = delete;
    ~hmac_sha256_key();
    /// Wipes both states (OPENSSL_cleanse); the key computes nothing meaningful until assigned
    /// again.
    void wipe() noexcept;

    void assign(const void* key, std::size_t size) noexcept;
    /// Copies another key's precomputed states.
    void assign(const hmac_sha256_key& other) noexcept {
        inner_ = other.inner_;
        outer_ = other.outer_;
    }
    /// Feeds `size` bytes into the inner hash, so that mac(m) becomes the MAC of (those bytes ||
    /// m). A constant message head is then hashed once, not on every MAC.
    void absorb(const void* data, std::size_t size) noexcept { SHA256_Update(&inner_, data, size); }
    void mac(const void* data, std::size_t size, unsigned char out[32]) const noexcept;
    /// The MAC of a message whose MAC is published (a SigV4 signature). The hash state left on the
    /// stack then holds only that public MAC (SHA256_Final wipes its block buffer), so it is not
    /// wiped again.
    void published_mac(const void* data, std::size_t size, unsigned char out[32]) const noexcept;
    /// The MAC, leaving the final hash state (which holds it) in `state`: for a verifier, which
    /// wipes both only when the MAC turns out not to be the published one.
    void compute(const void* data, std::size_t size, unsigned char out[32],
                 SHA256_CTX& state) const noexcept;
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
/// The reference stays valid until the next call on the same thread. Allocates on a miss (so not
/// noexcept).
SIGV4_EXPORT const hmac_sha256_key& signing_key(const secret_key& secret,
                                                std::string_view scope_date,
                                                std::string_view region, std::string_view service);

/// Wipes a string's bytes (OPENSSL_cleanse) and empties it; its storage is kept.
inline void wipe(std::string& text) noexcept {
    OPENSSL_cleanse(text.data(), text.size());
    text.clear();
}

/// Wipes this thread's signing-key cache (part of sigv4::clear_thread_caches).
void clear_signing_key_cache() noexcept;
/// Whether this thread's signing-key cache holds a key derived from `secret` (for tests).
[[nodiscard]] bool signing_key_cache_holds(const secret_key& secret) noexcept;

/// Lowercase hex of 32 bytes into out[64].
SIGV4_EXPORT void hex32(const unsigned char in[32], char out[64]) noexcept;

/// Hides `value` from the optimizer (libsodium's barrier, as in its crypto_verify_n): the compiler
/// can no longer reason about the accumulated difference, so it cannot turn the loop below into
/// one that stops at the first differing word.
inline void value_barrier(std::uint64_t& value) noexcept {
#if defined(__GNUC__) || defined(__clang__)
    __asm__("" : "+r"(value));
#else
    volatile std::uint64_t opaque = value;
    value = opaque;
#endif
}

/// Whether a and b (equal lengths) hold the same bytes, in time that depends only on the length:
/// 8 bytes a step, the accumulated difference passed through value_barrier at every step, no early
/// exit. Used instead of CRYPTO_memcmp, whose byte loop costs several instructions a byte, where
/// the verifier compares on every request: secret keys (the full 128-byte buffer) and session
/// tokens (hundreds of bytes). MACs and signatures go through CRYPTO_memcmp.
inline bool constant_time_equals(const char* a, const char* b, std::size_t size) noexcept {
    std::uint64_t difference = 0;
    std::size_t i = 0;
    for (; i + 8 <= size; i += 8) {
        std::uint64_t x, y;
        std::memcpy(&x, a + i, 8);
        std::memcpy(&y, b + i, 8);
        difference |= x ^ y;
        value_barrier(difference);
    }
    for (; i < size; ++i) {
        difference |= static_cast<unsigned char>(a[i] ^ b[i]);
        value_barrier(difference);
    }
    return difference == 0;
}

}  // namespace sigv4::detail
