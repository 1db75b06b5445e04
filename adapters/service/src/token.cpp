// SPDX-License-Identifier: Apache-2.0
// Capability tokens (see presign/token.hpp for the format and the contract).
#include "presign/token.hpp"

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include <algorithm>
#include <cstring>
#include <new>

#include <sigv4/encoding.hpp>
#include <sigv4/hash.hpp>

#include "random.hpp"

namespace presign::token {
namespace {

constexpr unsigned char format_version = 2;
constexpr unsigned char clear_payload_version = 1;  // opened, never sealed any more
constexpr std::size_t head_bytes = 15;              // version, purpose, key id, expiry, flags
constexpr std::size_t nonce_bytes = 16;
constexpr unsigned char nonce_domain = 0x00;
constexpr unsigned char keystream_domain = 0x01;
constexpr std::size_t salt_bytes = 16;
constexpr std::size_t lock_bytes = salt_bytes + 4 + 32;
constexpr std::size_t mac_bytes = 32;
constexpr unsigned char flag_password = 0x01;
constexpr unsigned char flag_encrypted = 0x02;
constexpr unsigned char known_flags = flag_password | flag_encrypted;
// A lock's iteration count is authenticated, so only the server picks it; this bounds the work a
// future misconfiguration could make one request cost.
constexpr std::uint32_t max_iterations = 10'000'000;

static_assert(sizeof(SHA256_CTX) <= 128 && alignof(SHA256_CTX) <= 16,
              "secret's state buffers are too small for SHA256_CTX");

const SHA256_CTX* state_of(const unsigned char* storage) noexcept {
    return std::launder(reinterpret_cast<const SHA256_CTX*>(storage));
}

void put_be(unsigned char* out, std::uint64_t value, std::size_t bytes) noexcept {
    for (std::size_t i = 0; i < bytes; ++i)
        out[i] = static_cast<unsigned char>(value >> (8 * (bytes - 1 - i)));
}

std::uint64_t get_be(const unsigned char* in, std::size_t bytes) noexcept {
    std::uint64_t value = 0;
    for (std::size_t i = 0; i < bytes; ++i) value = (value << 8) | in[i];
    return value;
}

constexpr char base64url_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

constexpr std::array<std::int8_t, 256> base64url_values = [] {
    std::array<std::int8_t, 256> table{};
    for (auto& v : table) v = -1;
    for (std::int8_t i = 0; i < 64; ++i)
        table[static_cast<unsigned char>(base64url_alphabet[i])] = i;
    return table;
}();

// HMAC-SHA256 keyed once (RFC 2104): the inner and outer states after the padded key block.
struct hmac_key {
    SHA256_CTX inner;
    SHA256_CTX outer;

    explicit hmac_key(std::span<const unsigned char> key) noexcept {
        std::array<unsigned char, SHA256_CBLOCK> block{};
        if (key.size() > block.size()) {
            SHA256_CTX hash;  // long keys are hashed first (not SHA256(): it goes through EVP)
            SHA256_Init(&hash);
            SHA256_Update(&hash, key.data(), key.size());
            SHA256_Final(block.data(), &hash);
            OPENSSL_cleanse(&hash, sizeof hash);
        } else {
            std::memcpy(block.data(), key.data(), key.size());
        }
        std::array<unsigned char, SHA256_CBLOCK> pad{};
        for (std::size_t i = 0; i < pad.size(); ++i)
            pad[i] = static_cast<unsigned char>(block[i] ^ 0x36);
        SHA256_Init(&inner);
        SHA256_Update(&inner, pad.data(), pad.size());
        for (std::size_t i = 0; i < pad.size(); ++i)
            pad[i] = static_cast<unsigned char>(block[i] ^ 0x5c);
        SHA256_Init(&outer);
        SHA256_Update(&outer, pad.data(), pad.size());
        OPENSSL_cleanse(pad.data(), pad.size());
        OPENSSL_cleanse(block.data(), block.size());
    }
    ~hmac_key() {
        OPENSSL_cleanse(&inner, sizeof inner);
        OPENSSL_cleanse(&outer, sizeof outer);
    }
    hmac_key(const hmac_key&) = delete;
    hmac_key& operator=(const hmac_key&) = delete;
};

// HMAC of the concatenated parts, from the precomputed states.
void hmac(const SHA256_CTX& inner, const SHA256_CTX& outer, std::span<const unsigned char> first,
          std::span<const unsigned char> second, unsigned char* out,
          std::span<const unsigned char> third = {}) noexcept {
    SHA256_CTX ctx = inner;
    SHA256_Update(&ctx, first.data(), first.size());
    if (!second.empty()) SHA256_Update(&ctx, second.data(), second.size());
    if (!third.empty()) SHA256_Update(&ctx, third.data(), third.size());
    SHA256_Final(out, &ctx);
    ctx = outer;
    SHA256_Update(&ctx, out, 32);
    SHA256_Final(out, &ctx);
    OPENSSL_cleanse(&ctx, sizeof ctx);
}

}  // namespace

// PBKDF2-HMAC-SHA256 (RFC 8018 §5.2) for one 32-byte block, on the SHA-256 primitive with the
// password's HMAC states computed once. libcrypto's PKCS5_PBKDF2_HMAC gives the same bytes (the
// unit test compares them) but goes through EVP and its provider machinery, which would pull
// OpenSSL's whole provider, config and socket code (getaddrinfo) into the static Lambda bootstrap.
std::array<unsigned char, 32> pbkdf2_sha256(std::string_view password,
                                            std::span<const unsigned char> salt,
                                            std::uint32_t iterations) noexcept {
    const hmac_key key({reinterpret_cast<const unsigned char*>(password.data()), password.size()});
    const std::array<unsigned char, 4> block_index{0, 0, 0, 1};
    std::array<unsigned char, 32> u{};
    hmac(key.inner, key.outer, salt, block_index, u.data());
    std::array<unsigned char, 32> out = u;
    for (std::uint32_t i = 1; i < iterations; ++i) {
        hmac(key.inner, key.outer, u, {}, u.data());
        for (std::size_t j = 0; j < out.size(); ++j) out[j] ^= u[j];
    }
    OPENSSL_cleanse(u.data(), u.size());
    return out;
}

namespace {

// The lock's tag: HMAC(secret, "password" || PBKDF2(password, salt, iterations)).
std::optional<std::array<unsigned char, 32>> password_tag(
    const secret& key, std::string_view password, std::span<const unsigned char, salt_bytes> salt,
    std::uint32_t iterations) {
    std::array<unsigned char, 8 + 32> message{};
    std::memcpy(message.data(), "password", 8);
    auto derived = pbkdf2_sha256(password, salt, iterations);
    std::memcpy(message.data() + 8, derived.data(), derived.size());
    OPENSSL_cleanse(derived.data(), derived.size());
    std::optional<std::array<unsigned char, 32>> tag = key.mac(message);
    OPENSSL_cleanse(message.data(), message.size());
    return tag;
}

}  // namespace

std::string_view to_string(errc code) noexcept {
    switch (code) {
        case errc::too_long:
            return "too_long";
        case errc::malformed:
            return "malformed";
        case errc::unknown_key:
            return "unknown_key";
        case errc::forged:
            return "forged";
        case errc::wrong_purpose:
            return "wrong_purpose";
        case errc::expired:
            return "expired";
        case errc::wrong_password:
            return "wrong_password";
        case errc::no_randomness:
            return "no_randomness";
    }
    return "unknown";
}

// ---- secret ------------------------------------------------------------------------------------

std::optional<secret> secret::from_bytes(std::span<const unsigned char> bytes) {
    if (bytes.size() != size) return std::nullopt;
    secret out;
    const hmac_key key(bytes);
    *new (out.inner_.data()) SHA256_CTX = key.inner;
    *new (out.outer_.data()) SHA256_CTX = key.outer;
    constexpr std::string_view label = "key id";
    auto id = out.mac({reinterpret_cast<const unsigned char*>(label.data()), label.size()});
    out.key_id_ = static_cast<std::uint32_t>(get_be(id.data(), 4));
    constexpr std::string_view payload_label = "token payload key";
    auto payload_key = out.mac(
        {reinterpret_cast<const unsigned char*>(payload_label.data()), payload_label.size()});
    const hmac_key payload(payload_key);
    OPENSSL_cleanse(payload_key.data(), payload_key.size());
    *new (out.payload_inner_.data()) SHA256_CTX = payload.inner;
    *new (out.payload_outer_.data()) SHA256_CTX = payload.outer;
    return out;
}

std::optional<secret> secret::from_text(std::string_view text) {
    if (text.size() < 32 || text.size() > 4096) return std::nullopt;
    sigv4::sha256 hash;
    constexpr std::string_view label = "presign token secret";
    hash.update(label.data(), label.size());
    hash.update(text.data(), text.size());
    auto bytes = hash.finish();
    auto out = from_bytes(bytes);
    OPENSSL_cleanse(bytes.data(), bytes.size());
    return out;
}

std::optional<std::string> secret::generate_text() {
    std::array<unsigned char, size> bytes{};
    if (!service::detail::fill_random(bytes.data(), bytes.size())) return std::nullopt;
    auto text = base64url_encode(bytes);
    OPENSSL_cleanse(bytes.data(), bytes.size());
    return text;
}

std::array<unsigned char, 32> secret::mac(std::span<const unsigned char> message) const noexcept {
    std::array<unsigned char, 32> out{};
    hmac(*state_of(inner_.data()), *state_of(outer_.data()), message, {}, out.data());
    return out;
}

std::array<unsigned char, 32> secret::payload_mac(
    unsigned char domain, std::span<const unsigned char> first,
    std::span<const unsigned char> second) const noexcept {
    std::array<unsigned char, 32> out{};
    hmac(*state_of(payload_inner_.data()), *state_of(payload_outer_.data()), {&domain, 1}, first,
         out.data(), second);
    return out;
}

secret& secret::operator=(const secret& other) {
    if (this != &other) {
        inner_ = other.inner_;
        outer_ = other.outer_;
        payload_inner_ = other.payload_inner_;
        payload_outer_ = other.payload_outer_;
        key_id_ = other.key_id_;
    }
    return *this;
}

secret::~secret() {
    wipe();
}

void secret::wipe() noexcept {
    OPENSSL_cleanse(inner_.data(), inner_.size());
    OPENSSL_cleanse(outer_.data(), outer_.size());
    OPENSSL_cleanse(payload_inner_.data(), payload_inner_.size());
    OPENSSL_cleanse(payload_outer_.data(), payload_outer_.size());
}

const secret* keyring::find(std::uint32_t key_id) const noexcept {
    if (current_.key_id() == key_id) return &current_;
    if (previous_ && previous_->key_id() == key_id) return &*previous_;
    return nullptr;
}

// ---- seal and open -----------------------------------------------------------------------------

namespace {

// XORs `data` in place with the payload keystream for `nonce` (its own inverse).
void apply_keystream(const secret& key, std::span<const unsigned char, nonce_bytes> nonce,
                     unsigned char* data, std::size_t size) noexcept {
    std::array<unsigned char, 4> counter{};
    for (std::size_t at = 0, block = 0; at < size; at += 32, ++block) {
        put_be(counter.data(), block, counter.size());
        auto stream = key.payload_mac(keystream_domain, nonce, counter);
        const std::size_t n = std::min<std::size_t>(32, size - at);
        for (std::size_t i = 0; i < n; ++i) data[at + i] ^= stream[i];
        OPENSSL_cleanse(stream.data(), stream.size());
    }
}

}  // namespace

sigv4::result<std::string, errc> seal(const keyring& keys, const contents& what) {
    const secret& key = keys.current();
    std::string bytes;
    bytes.reserve(head_bytes + lock_bytes + nonce_bytes + what.payload.size() + mac_bytes);
    bytes.resize(head_bytes);
    auto* head = reinterpret_cast<unsigned char*>(bytes.data());
    head[0] = format_version;
    head[1] = static_cast<unsigned char>(what.purpose);
    put_be(head + 2, key.key_id(), 4);
    put_be(head + 6, static_cast<std::uint64_t>(what.expires_at.time_since_epoch().count()), 8);
    head[14] = static_cast<unsigned char>((what.password ? flag_password : 0) |
                                          (what.encrypted ? flag_encrypted : 0));
    if (what.password) {
        std::array<unsigned char, salt_bytes> salt{};
        if (!service::detail::fill_random(salt.data(), salt.size()))
            return sigv4::unexpected(errc::no_randomness);
        auto tag = password_tag(key, *what.password, salt, password_iterations);
        if (!tag) return sigv4::unexpected(errc::no_randomness);
        std::array<unsigned char, 4> iterations{};
        put_be(iterations.data(), password_iterations, 4);
        bytes.append(reinterpret_cast<const char*>(salt.data()), salt.size());
        bytes.append(reinterpret_cast<const char*>(iterations.data()), iterations.size());
        bytes.append(reinterpret_cast<const char*>(tag->data()), tag->size());
    }
    // The synthetic nonce covers the header, the lock and the plaintext; then the payload goes in
    // encrypted, and the MAC covers what is written.
    auto nonce = key.payload_mac(
        nonce_domain, {reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size()},
        {reinterpret_cast<const unsigned char*>(what.payload.data()), what.payload.size()});
    bytes.append(reinterpret_cast<const char*>(nonce.data()), nonce_bytes);
    const std::size_t payload_at = bytes.size();
    bytes.append(what.payload);
    apply_keystream(key, std::span<const unsigned char, nonce_bytes>(nonce.data(), nonce_bytes),
                    reinterpret_cast<unsigned char*>(bytes.data() + payload_at),
                    what.payload.size());
    auto mac = key.mac({reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size()});
    bytes.append(reinterpret_cast<const char*>(mac.data()), mac.size());
    return base64url_encode({reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size()});
}

sigv4::result<opened, errc> open(const keyring& keys, std::string_view text, purpose expected,
                                 sigv4::sys_seconds now) {
    if (text.size() > max_token_chars) return sigv4::unexpected(errc::too_long);
    auto decoded = base64url_decode(text);
    if (!decoded || decoded->size() < head_bytes + mac_bytes)
        return sigv4::unexpected(errc::malformed);
    const auto* bytes = reinterpret_cast<const unsigned char*>(decoded->data());
    const std::size_t signed_size = decoded->size() - mac_bytes;
    if (bytes[0] != format_version && bytes[0] != clear_payload_version)
        return sigv4::unexpected(errc::malformed);
    const auto key_id = static_cast<std::uint32_t>(get_be(bytes + 2, 4));
    const secret* key = keys.find(key_id);
    if (key == nullptr) return sigv4::unexpected(errc::unknown_key);
    auto mac = key->mac({bytes, signed_size});
    if (CRYPTO_memcmp(mac.data(), bytes + signed_size, mac_bytes) != 0)
        return sigv4::unexpected(errc::forged);

    // Authentic from here on: whatever the fields say, the server wrote them.
    const unsigned char flags = bytes[14];
    if ((flags & ~known_flags) != 0) return sigv4::unexpected(errc::malformed);
    opened out;
    out.encrypted = (flags & flag_encrypted) != 0;
    out.purpose = static_cast<purpose>(bytes[1]);
    if (out.purpose != expected) return sigv4::unexpected(errc::wrong_purpose);
    out.expires_at =
        sigv4::sys_seconds(std::chrono::seconds(static_cast<std::int64_t>(get_be(bytes + 6, 8))));
    if (now >= out.expires_at) return sigv4::unexpected(errc::expired);
    std::size_t at = head_bytes;
    if ((flags & flag_password) != 0) {
        if (signed_size < at + lock_bytes) return sigv4::unexpected(errc::malformed);
        opened::lock lock;
        std::memcpy(lock.salt.data(), bytes + at, salt_bytes);
        lock.iterations = static_cast<std::uint32_t>(get_be(bytes + at + salt_bytes, 4));
        std::memcpy(lock.tag.data(), bytes + at + salt_bytes + 4, lock.tag.size());
        if (lock.iterations == 0 || lock.iterations > max_iterations)
            return sigv4::unexpected(errc::malformed);
        out.password_lock = lock;
        at += lock_bytes;
    }
    out.key_id = key_id;
    if (bytes[0] == clear_payload_version) {
        out.payload.assign(decoded->data() + at, signed_size - at);
        return out;
    }
    if (signed_size < at + nonce_bytes) return sigv4::unexpected(errc::malformed);
    const std::span<const unsigned char, nonce_bytes> nonce(bytes + at, nonce_bytes);
    at += nonce_bytes;
    out.payload.assign(decoded->data() + at, signed_size - at);
    apply_keystream(*key, nonce, reinterpret_cast<unsigned char*>(out.payload.data()),
                    out.payload.size());
    return out;
}

sigv4::result<void, errc> check_password(const keyring& keys, const opened& token,
                                         std::string_view password) {
    if (!token.password_lock) return {};
    const secret* key = keys.find(token.key_id);
    if (key == nullptr) return sigv4::unexpected(errc::unknown_key);
    const auto& lock = *token.password_lock;
    auto tag = password_tag(*key, password, lock.salt, lock.iterations);
    if (!tag || CRYPTO_memcmp(tag->data(), lock.tag.data(), lock.tag.size()) != 0)
        return sigv4::unexpected(errc::wrong_password);
    return {};
}

// ---- encodings ---------------------------------------------------------------------------------

std::string base64url_encode(std::span<const unsigned char> bytes) {
    std::string out;
    out.reserve((bytes.size() * 4 + 2) / 3);
    std::size_t i = 0;
    for (; i + 3 <= bytes.size(); i += 3) {
        const std::uint32_t v =
            (std::uint32_t{bytes[i]} << 16) | (std::uint32_t{bytes[i + 1]} << 8) | bytes[i + 2];
        out += base64url_alphabet[v >> 18];
        out += base64url_alphabet[(v >> 12) & 63];
        out += base64url_alphabet[(v >> 6) & 63];
        out += base64url_alphabet[v & 63];
    }
    const std::size_t rest = bytes.size() - i;
    if (rest > 0) {
        std::uint32_t v = std::uint32_t{bytes[i]} << 16;
        if (rest == 2) v |= std::uint32_t{bytes[i + 1]} << 8;
        out += base64url_alphabet[v >> 18];
        out += base64url_alphabet[(v >> 12) & 63];
        if (rest == 2) out += base64url_alphabet[(v >> 6) & 63];
    }
    return out;
}

std::optional<std::string> base64url_decode(std::string_view text) {
    if (text.size() % 4 == 1) return std::nullopt;  // no byte count ends with one character
    std::string out;
    out.reserve(text.size() * 3 / 4);
    std::uint32_t bits = 0;
    int count = 0;
    for (char c : text) {
        const int value = base64url_values[static_cast<unsigned char>(c)];
        if (value < 0) return std::nullopt;
        bits = (bits << 6) | static_cast<std::uint32_t>(value);
        count += 6;
        if (count >= 8) {
            count -= 8;
            out += static_cast<char>((bits >> count) & 0xFF);
        }
    }
    // The unused low bits of the last character must be zero: one encoding per byte string.
    if ((bits & ((1u << count) - 1)) != 0) return std::nullopt;
    return out;
}

std::string log_label(std::string_view token) {
    auto digest = sigv4::sha256_of(token);
    return sigv4::hex_encode(std::span<const unsigned char>(digest.data(), 6));
}

}  // namespace presign::token
