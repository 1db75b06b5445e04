// SPDX-License-Identifier: Apache-2.0
#include <openssl/crypto.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <memory>

#include "detail/crypto.hpp"

namespace sigv4::detail {

hmac_sha256_key::~hmac_sha256_key() {
    wipe();
}

void hmac_sha256_key::wipe() noexcept {
    OPENSSL_cleanse(&inner_, sizeof inner_);
    OPENSSL_cleanse(&outer_, sizeof outer_);
}

void hmac_sha256_key::assign(const void* key, std::size_t size) noexcept {
    constexpr std::size_t block = SHA256_CBLOCK;
    unsigned char padded[block] = {};
    if (size > block) {
        SHA256_CTX ctx;
        SHA256_Init(&ctx);
        SHA256_Update(&ctx, key, size);
        SHA256_Final(padded, &ctx);
    } else {
        std::memcpy(padded, key, size);
    }
    unsigned char pad[block];
    for (std::size_t i = 0; i < block; ++i) pad[i] = static_cast<unsigned char>(padded[i] ^ 0x36);
    SHA256_Init(&inner_);
    SHA256_Update(&inner_, pad, block);
    for (std::size_t i = 0; i < block; ++i) pad[i] = static_cast<unsigned char>(padded[i] ^ 0x5c);
    SHA256_Init(&outer_);
    SHA256_Update(&outer_, pad, block);
    OPENSSL_cleanse(padded, sizeof padded);
    OPENSSL_cleanse(pad, sizeof pad);
}

void hmac_sha256_key::compute(const void* data, std::size_t size, unsigned char out[32],
                              SHA256_CTX& ctx) const noexcept {
    ctx = inner_;
    SHA256_Update(&ctx, data, size);
    unsigned char inner_digest[32];
    SHA256_Final(inner_digest, &ctx);
    ctx = outer_;
    SHA256_Update(&ctx, inner_digest, sizeof inner_digest);
    SHA256_Final(out, &ctx);
}

void hmac_sha256_key::mac(const void* data, std::size_t size,
                          unsigned char out[32]) const noexcept {
    SHA256_CTX ctx;
    compute(data, size, out, ctx);
    OPENSSL_cleanse(&ctx, sizeof ctx);
}

void hmac_sha256_key::published_mac(const void* data, std::size_t size,
                                    unsigned char out[32]) const noexcept {
    SHA256_CTX ctx;
    compute(data, size, out, ctx);
}

void hex32(const unsigned char in[32], char out[64]) noexcept {
#if defined(__SSE2__)
    // Two 16-byte halves: split nibbles, interleave high/low, map 0-9 to '0'.. and 10-15 to 'a'..
    const __m128i low_nibbles = _mm_set1_epi8(0x0f);
    const __m128i nine = _mm_set1_epi8(9);
    const __m128i zero_char = _mm_set1_epi8('0');
    const __m128i letter_gap = _mm_set1_epi8('a' - '0' - 10);
    auto to_hex = [&](__m128i nibbles) {
        __m128i letters = _mm_and_si128(_mm_cmpgt_epi8(nibbles, nine), letter_gap);
        return _mm_add_epi8(_mm_add_epi8(nibbles, zero_char), letters);
    };
    // Four 4-byte loads per half, not one 16-byte load: digests are written by SHA256_Final in
    // 4-byte stores, and a wider load right after them would stall on store forwarding.
    auto load_half = [](const unsigned char* at) {
        auto word = [at](int i) {
            std::uint32_t w;
            std::memcpy(&w, at + 4 * i, 4);
            return _mm_cvtsi32_si128(static_cast<int>(w));
        };
        return _mm_unpacklo_epi64(_mm_unpacklo_epi32(word(0), word(1)),
                                  _mm_unpacklo_epi32(word(2), word(3)));
    };
    for (int half = 0; half < 2; ++half) {
        __m128i bytes = load_half(in + 16 * half);
        __m128i high = _mm_and_si128(_mm_srli_epi16(bytes, 4), low_nibbles);
        __m128i low = _mm_and_si128(bytes, low_nibbles);
        _mm_storeu_si128(reinterpret_cast<__m128i*>(out + 32 * half),
                         to_hex(_mm_unpacklo_epi8(high, low)));
        _mm_storeu_si128(reinterpret_cast<__m128i*>(out + 32 * half + 16),
                         to_hex(_mm_unpackhi_epi8(high, low)));
    }
#else
    static constexpr auto pairs = [] {
        std::array<char, 512> table{};
        constexpr char digits[] = "0123456789abcdef";
        for (int i = 0; i < 256; ++i) {
            table[static_cast<std::size_t>(2 * i)] = digits[i >> 4];
            table[static_cast<std::size_t>(2 * i + 1)] = digits[i & 0xf];
        }
        return table;
    }();
    for (int i = 0; i < 32; ++i)
        std::memcpy(out + 2 * i, &pairs[static_cast<std::size_t>(in[i]) * 2], 2);
#endif
}

namespace {

struct cache_entry {
    secret_key secret;  // a copy, compared in constant time; wiped with the entry
    char scope_date[8] = {};
    std::string region;
    std::string service;
    hmac_sha256_key key;
    unsigned long long last_use = 0;
};

// A handful of entries covers every realistic mix of (credentials, day, region, service) that
// one thread signs with; the least recently used entry is replaced.
constexpr std::size_t cache_slots = 8;

struct signing_key_cache {
    std::array<std::unique_ptr<cache_entry>, cache_slots> slots;
    unsigned long long clock = 0;
};

void derive(cache_entry& entry) noexcept {
    unsigned char k[32];
    {
        unsigned char prefixed[4 + secret_key::max_size];
        std::memcpy(prefixed, "AWS4", 4);
        std::memcpy(prefixed + 4, entry.secret.data(), entry.secret.size());
        hmac_sha256_key date_key(prefixed, 4 + entry.secret.size());
        OPENSSL_cleanse(prefixed, sizeof prefixed);
        date_key.mac(entry.scope_date, sizeof entry.scope_date, k);
    }
    hmac_sha256_key step;
    step.assign(k, sizeof k);
    step.mac(entry.region.data(), entry.region.size(), k);
    step.assign(k, sizeof k);
    step.mac(entry.service.data(), entry.service.size(), k);
    step.assign(k, sizeof k);
    step.mac("aws4_request", 12, k);
    entry.key.assign(k, sizeof k);
    OPENSSL_cleanse(k, sizeof k);
}

signing_key_cache& thread_cache() noexcept {
    thread_local signing_key_cache cache;
    return cache;
}

}  // namespace

void clear_signing_key_cache() noexcept {
    // Each entry's destructor wipes its secret and derived key.
    for (auto& slot : thread_cache().slots) slot.reset();
}

bool signing_key_cache_holds(const secret_key& secret) noexcept {
    const auto& slots = thread_cache().slots;
    return std::any_of(slots.begin(), slots.end(),
                       [&](const auto& slot) { return slot && slot->secret.equals(secret); });
}

const hmac_sha256_key& signing_key(const secret_key& secret, std::string_view scope_date,
                                   std::string_view region, std::string_view service) {
    signing_key_cache& cache = thread_cache();
    ++cache.clock;
    for (auto& slot : cache.slots) {
        if (slot &&
            std::memcmp(slot->scope_date, scope_date.data(), sizeof slot->scope_date) == 0 &&
            slot->region == region && slot->service == service && slot->secret.equals(secret)) {
            slot->last_use = cache.clock;
            return slot->key;
        }
    }
    auto* victim = &cache.slots[0];
    for (auto& slot : cache.slots) {
        if (!slot) {
            victim = &slot;
            break;
        }
        if (slot->last_use < (*victim)->last_use) victim = &slot;
    }
    if (!*victim) *victim = std::make_unique<cache_entry>();
    cache_entry& e = **victim;
    e.secret = secret;
    std::memcpy(e.scope_date, scope_date.data(), sizeof e.scope_date);
    e.region.assign(region);
    e.service.assign(service);
    e.last_use = cache.clock;
    derive(e);
    return e.key;
}

}  // namespace sigv4::detail
