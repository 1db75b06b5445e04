// SPDX-License-Identifier: Apache-2.0
// presign/token.hpp: format, every tamper, expiry edges, rotation, password locks, encodings.
#include <doctest/doctest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <set>
#include <string>

#include <sigv4/encoding.hpp>

#include "presign/token.hpp"

namespace tok = presign::token;
using namespace std::chrono_literals;

namespace {

constexpr std::string_view secret_a = "0123456789abcdef0123456789abcdef-secret-A";
constexpr std::string_view secret_b = "0123456789abcdef0123456789abcdef-secret-B";
constexpr std::string_view alphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
const sigv4::sys_seconds now{std::chrono::seconds(1'800'000'000)};

tok::secret make_secret(std::string_view text) {
    auto s = tok::secret::from_text(text);
    REQUIRE(s.has_value());
    return *s;
}

tok::keyring ring(std::string_view text) {
    return tok::keyring(make_secret(text));
}

std::string seal(const tok::keyring& keys, std::string_view payload, sigv4::sys_seconds expires_at,
                 std::optional<std::string_view> password = std::nullopt,
                 tok::purpose purpose = tok::purpose::share_link) {
    tok::contents what;
    what.purpose = purpose;
    what.expires_at = expires_at;
    what.payload = payload;
    what.password = password;
    auto sealed = tok::seal(keys, what);
    REQUIRE(sealed.has_value());
    return *sealed;
}

tok::errc open_error(const tok::keyring& keys, std::string_view text,
                     tok::purpose purpose = tok::purpose::share_link) {
    auto opened = tok::open(keys, text, purpose, now);
    REQUIRE_FALSE(opened.has_value());
    return opened.error();
}

std::string bytes_of(std::string_view text) {
    auto decoded = tok::base64url_decode(text);
    REQUIRE(decoded.has_value());
    return *decoded;
}

std::span<const unsigned char> span_of(std::string_view s) {
    return {reinterpret_cast<const unsigned char*>(s.data()), s.size()};
}

// Re-MACs raw token bytes (the last 32 bytes replaced) under `key`: an authentic token of any
// content, to test what open() does after the MAC.
std::string resealed(std::string bytes, const tok::secret& key) {
    bytes.resize(bytes.size() - 32);
    auto mac = key.mac(span_of(bytes));
    bytes.append(reinterpret_cast<const char*>(mac.data()), mac.size());
    return tok::base64url_encode(span_of(bytes));
}

}  // namespace

TEST_CASE("base64url: RFC 4648 vectors, and only the canonical spelling decodes") {
    const std::pair<std::string_view, std::string_view> vectors[] = {
        {"", ""},           {"f", "Zg"},          {"fo", "Zm8"},          {"foo", "Zm9v"},
        {"foob", "Zm9vYg"}, {"fooba", "Zm9vYmE"}, {"foobar", "Zm9vYmFy"}, {"\xfb\xff\xbf", "-_-_"}};
    for (auto [plain, encoded] : vectors) {
        CHECK(tok::base64url_encode(span_of(plain)) == encoded);
        CHECK(tok::base64url_decode(encoded) == std::string(plain));
    }
    for (std::string_view bad : std::initializer_list<std::string_view>{
             "Zg==", "Zg=", "Zh", "Zm9=", "Z", "Zm9vY", "+/+/", "Zm9v\n", " Zm9v", "Zm 9v",
             "Zm9v%3D", std::string_view("Zm\0v", 4)}) {
        CAPTURE(bad);
        CHECK_FALSE(tok::base64url_decode(bad).has_value());
    }
}

TEST_CASE(
    "secret: HMAC-SHA256 equals OpenSSL's HMAC over the derived key, at every block boundary") {
    // from_bytes keys the MAC with the bytes themselves; compare with libcrypto's one-shot HMAC.
    std::array<unsigned char, 32> key{};
    for (std::size_t i = 0; i < key.size(); ++i) key[i] = static_cast<unsigned char>(i * 7 + 1);
    auto s = tok::secret::from_bytes(key);
    REQUIRE(s.has_value());
    for (std::size_t length : {0, 1, 55, 56, 63, 64, 65, 119, 120, 1000}) {
        std::string message(length, 'm');
        for (std::size_t i = 0; i < length; ++i) message[i] = static_cast<char>(i * 31);
        std::array<unsigned char, 32> expected{};
        unsigned int out_length = 0;
        HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), span_of(message).data(),
             message.size(), expected.data(), &out_length);
        CAPTURE(length);
        CHECK(out_length == 32);
        CHECK(s->mac(span_of(message)) == expected);
    }
    CHECK_FALSE(
        tok::secret::from_bytes(std::span<const unsigned char>(key.data(), 31)).has_value());
}

TEST_CASE("secret: text forms, key ids, generation") {
    CHECK_FALSE(tok::secret::from_text(std::string(31, 'x')).has_value());
    CHECK(tok::secret::from_text(std::string(32, 'x')).has_value());
    CHECK(tok::secret::from_text(std::string(4096, 'x')).has_value());
    CHECK_FALSE(tok::secret::from_text(std::string(4097, 'x')).has_value());
    CHECK(make_secret(secret_a).key_id() == make_secret(secret_a).key_id());
    CHECK(make_secret(secret_a).key_id() != make_secret(secret_b).key_id());

    auto one = tok::secret::generate_text();
    auto two = tok::secret::generate_text();
    REQUIRE(one.has_value());
    REQUIRE(two.has_value());
    CHECK(one->size() == 43);
    CHECK(*one != *two);
    CHECK(tok::base64url_decode(*one)->size() == 32);
    CHECK(tok::secret::from_text(*one).has_value());
}

TEST_CASE(
    "round trip: payload, purpose and expiry come back; sealing is deterministic without a "
    "password") {
    auto keys = ring(secret_a);
    for (std::string payload : {std::string(), std::string("uploads/users/alice/0a1b/report.pdf"),
                                std::string("\0binary\xff", 8), std::string(1400, 'k')}) {
        auto text = seal(keys, payload, now + 3600s);
        CHECK(text.find_first_not_of(alphabet) == std::string::npos);
        CHECK(text.size() <= tok::max_token_chars);
        auto opened = tok::open(keys, text, tok::purpose::share_link, now);
        REQUIRE(opened.has_value());
        CHECK(opened->payload == payload);
        CHECK(opened->purpose == tok::purpose::share_link);
        CHECK(opened->expires_at == now + 3600s);
        CHECK(opened->key_id == keys.current().key_id());
        CHECK_FALSE(opened->needs_password());
        CHECK(seal(keys, payload, now + 3600s) == text);
    }
}

TEST_CASE("every single-character change, every bit flip, truncation and extension: none opens") {
    auto keys = ring(secret_a);
    for (std::optional<std::string_view> password :
         {std::optional<std::string_view>{}, std::optional<std::string_view>{"pw"}}) {
        auto text = seal(keys, "uploads/users/alice/f/a.txt", now + 60s, password);
        std::set<tok::errc> seen;
        for (std::size_t i = 0; i < text.size(); ++i) {
            for (char c : alphabet) {
                if (c == text[i]) continue;
                auto changed = text;
                changed[i] = c;
                auto opened = tok::open(keys, changed, tok::purpose::share_link, now);
                REQUIRE_FALSE(opened.has_value());
                seen.insert(opened.error());
            }
        }
        CHECK(seen ==
              std::set<tok::errc>{tok::errc::malformed, tok::errc::unknown_key, tok::errc::forged});

        auto bytes = bytes_of(text);
        for (std::size_t i = 0; i < bytes.size(); ++i) {
            for (int bit = 0; bit < 8; ++bit) {
                auto flipped = bytes;
                flipped[i] = static_cast<char>(flipped[i] ^ (1 << bit));
                CHECK_FALSE(tok::open(keys, tok::base64url_encode(span_of(flipped)),
                                      tok::purpose::share_link, now));
            }
        }
        for (std::size_t length = 0; length < text.size(); ++length)
            CHECK_FALSE(tok::open(keys, text.substr(0, length), tok::purpose::share_link, now));
        for (std::size_t length = 0; length < bytes.size(); ++length)
            CHECK_FALSE(tok::open(keys, tok::base64url_encode(span_of(bytes.substr(0, length))),
                                  tok::purpose::share_link, now));
        for (std::string_view tail : {"A", "AA", "AAA", "AAAA", "=", "==", "\n", "%"})
            CHECK_FALSE(tok::open(keys, text + std::string(tail), tok::purpose::share_link, now));
    }
}

TEST_CASE("padding variants and the standard alphabet do not open") {
    auto keys = ring(secret_a);
    // Payload lengths that leave one and two bytes over a multiple of three.
    for (std::string payload : {std::string("ab"), std::string("abc"), std::string("abcd")}) {
        auto text = seal(keys, payload, now + 60s);
        REQUIRE(tok::open(keys, text, tok::purpose::share_link, now).has_value());
        for (std::string_view pad : {"=", "==", "==="}) {
            CHECK(open_error(keys, text + std::string(pad)) == tok::errc::malformed);
        }
        auto standard = text;
        for (auto& c : standard) c = c == '-' ? '+' : c == '_' ? '/' : c;
        if (standard != text) CHECK(open_error(keys, standard) == tok::errc::malformed);
        // The same bytes with a non-zero unused bit in the last character.
        if (text.size() % 4 != 0) {
            auto last = alphabet.find(text.back());
            auto stray = text;
            stray.back() = alphabet[last | 1];
            if (stray != text) CHECK(open_error(keys, stray) == tok::errc::malformed);
        }
    }
}

TEST_CASE("too long is refused before decoding; at the limit it is decoded") {
    auto keys = ring(secret_a);
    CHECK(open_error(keys, std::string(tok::max_token_chars + 1, 'A')) == tok::errc::too_long);
    CHECK(open_error(keys, std::string(tok::max_token_chars + 1, '!')) == tok::errc::too_long);
    CHECK(open_error(keys, std::string(tok::max_token_chars, 'A')) ==
          tok::errc::malformed);  // version 0
    CHECK(open_error(keys, "") == tok::errc::malformed);
}

TEST_CASE("another secret: unknown key id, or a forged MAC under a known key id") {
    auto a = ring(secret_a);
    auto b = ring(secret_b);
    auto from_b = seal(b, "k", now + 60s);
    CHECK(open_error(a, from_b) == tok::errc::unknown_key);
    // B's MAC over a header naming A's key id.
    auto bytes = bytes_of(seal(a, "k", now + 60s));
    CHECK(open_error(a, resealed(bytes, b.current())) == tok::errc::forged);
    CHECK(tok::open(a, resealed(bytes, a.current()), tok::purpose::share_link, now).has_value());
}

TEST_CASE("expiry edges: valid until the second it names") {
    auto keys = ring(secret_a);
    auto text = seal(keys, "k", now);
    CHECK(tok::open(keys, text, tok::purpose::share_link, now - 1s).has_value());
    CHECK(tok::open(keys, text, tok::purpose::share_link, now).error() == tok::errc::expired);
    CHECK(tok::open(keys, text, tok::purpose::share_link, now + 1s).error() == tok::errc::expired);
    auto epoch = seal(keys, "k", sigv4::sys_seconds{});
    CHECK(open_error(keys, epoch) == tok::errc::expired);
    auto far = seal(keys, "k", sigv4::sys_seconds{std::chrono::seconds(253402300799)});
    CHECK(tok::open(keys, far, tok::purpose::share_link, now).has_value());
}

TEST_CASE("purpose: a share link never opens as an upload plan, nor the reverse") {
    auto keys = ring(secret_a);
    CHECK(open_error(keys, seal(keys, "k", now + 60s), tok::purpose::upload_plan) ==
          tok::errc::wrong_purpose);
    CHECK(open_error(keys, seal(keys, "k", now + 60s, std::nullopt, tok::purpose::upload_plan)) ==
          tok::errc::wrong_purpose);
}

TEST_CASE("authentic but unknown version or flags is malformed") {
    auto keys = ring(secret_a);
    auto bytes = bytes_of(seal(keys, "k", now + 60s));
    auto version = bytes;
    version[0] = 3;
    CHECK(open_error(keys, resealed(version, keys.current())) == tok::errc::malformed);
    for (int unknown : {0x04, 0x08, 0x80, 0x06}) {
        CAPTURE(unknown);
        auto flags = bytes;
        flags[14] = static_cast<char>(unknown);
        CHECK(open_error(keys, resealed(flags, keys.current())) == tok::errc::malformed);
    }
    auto lock_missing = bytes;
    lock_missing[14] = 0x01;  // says a lock follows, but the rest is too short for one
    CHECK(open_error(keys, resealed(lock_missing, keys.current())) == tok::errc::malformed);
}

namespace {

// The format as token.hpp writes it down, computed with libcrypto's one-shot HMAC from the raw
// secret: an independent oracle for version 2 tokens.
std::array<unsigned char, 32> oracle_hmac(std::span<const unsigned char> key,
                                          std::string_view message) {
    std::array<unsigned char, 32> out{};
    unsigned int length = 0;
    HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), span_of(message).data(),
         message.size(), out.data(), &length);
    return out;
}

std::string oracle_token(std::span<const unsigned char> secret, tok::purpose purpose,
                         std::int64_t expires_at, std::string_view payload) {
    std::string head(15, '\0');
    head[0] = 2;
    head[1] = static_cast<char>(purpose);
    const auto id = oracle_hmac(secret, "key id");
    for (int i = 0; i < 4; ++i) head[2 + i] = static_cast<char>(id[i]);
    for (int i = 0; i < 8; ++i)
        head[6 + i] = static_cast<char>(static_cast<std::uint64_t>(expires_at) >> (56 - 8 * i));
    const auto payload_key = oracle_hmac(secret, "token payload key");
    const auto siv = oracle_hmac(payload_key, std::string(1, '\0') + head + std::string(payload));
    const std::string nonce(reinterpret_cast<const char*>(siv.data()), 16);
    std::string encrypted(payload);
    for (std::size_t block = 0; block * 32 < encrypted.size(); ++block) {
        std::string input = std::string(1, '\1') + nonce;
        for (int i = 0; i < 4; ++i) input += static_cast<char>(block >> (24 - 8 * i));
        const auto stream = oracle_hmac(payload_key, input);
        for (std::size_t i = 0; i < 32 && block * 32 + i < encrypted.size(); ++i)
            encrypted[block * 32 + i] = static_cast<char>(encrypted[block * 32 + i] ^ stream[i]);
    }
    std::string bytes = head + nonce + encrypted;
    const auto mac = oracle_hmac(secret, bytes);
    bytes.append(reinterpret_cast<const char*>(mac.data()), mac.size());
    return tok::base64url_encode(span_of(bytes));
}

}  // namespace

TEST_CASE("payload confidentiality: the format as documented, nothing of the payload readable") {
    std::array<unsigned char, 32> raw{};
    for (std::size_t i = 0; i < raw.size(); ++i) raw[i] = static_cast<unsigned char>(0xA0 + i);
    auto secret = tok::secret::from_bytes(raw);
    REQUIRE(secret.has_value());
    const tok::keyring keys(*secret);
    const std::int64_t expiry = 1'800'003'600;
    // Lengths around the 32-byte keystream block and the SHA-256 block of the nonce's input.
    for (std::size_t length : {0, 1, 31, 32, 33, 48, 64, 65, 200, 1400}) {
        std::string payload(length, 'p');
        for (std::size_t i = 0; i < length; ++i)
            payload[i] = static_cast<char>("uploads/users/alice/"[i % 20]);
        CAPTURE(length);
        const auto text = seal(keys, payload, sigv4::sys_seconds(std::chrono::seconds(expiry)));
        CHECK(text == oracle_token(raw, tok::purpose::share_link, expiry, payload));
        const auto bytes = bytes_of(text);
        CHECK(bytes.size() == 15 + 16 + length + 32);
        if (length >= 4) {
            CHECK(bytes.find(payload.substr(0, 4)) == std::string::npos);
            CHECK(text.find(tok::base64url_encode(span_of(payload.substr(0, 3)))) ==
                  std::string::npos);
        }
        auto opened = tok::open(keys, text, tok::purpose::share_link, now);
        REQUIRE(opened.has_value());
        CHECK(opened->payload == payload);
    }
    // Payloads that differ in their last byte share no keystream: the nonces differ.
    const auto one = bytes_of(seal(keys, "uploads/users/alice/report-1.pdf", now + 60s));
    const auto two = bytes_of(seal(keys, "uploads/users/alice/report-2.pdf", now + 60s));
    CHECK(one.substr(15, 16) != two.substr(15, 16));
    std::size_t same = 0;
    for (std::size_t i = 31; i < one.size() - 32; ++i) same += one[i] == two[i] ? 1 : 0;
    CHECK(same < 8);
    // The same contents with another expiry: another nonce as well.
    CHECK(bytes_of(seal(keys, "uploads/users/alice/report-1.pdf", now + 61s)).substr(15, 16) !=
          one.substr(15, 16));
}

TEST_CASE(
    "version 1 tokens (payload in the clear, issued before encryption) still open; tampered ones "
    "do not") {
    auto keys = ring(secret_a);
    for (std::optional<std::string_view> password :
         {std::optional<std::string_view>{}, std::optional<std::string_view>{"pw"}}) {
        // A version 2 token turned into the version 1 layout: the nonce dropped, the payload clear.
        auto v2 = bytes_of(seal(keys, "x", now + 60s, password));
        const std::size_t at = v2.size() - 32 - 1 - 16;
        std::string v1 = v2.substr(0, at) + "uploads/users/alice/old.txt" + std::string(32, '\0');
        v1[0] = 1;
        const auto text = resealed(v1, keys.current());
        auto opened = tok::open(keys, text, tok::purpose::share_link, now);
        REQUIRE(opened.has_value());
        CHECK(opened->payload == "uploads/users/alice/old.txt");
        CHECK(opened->needs_password() == password.has_value());
        if (password) {
            CHECK(tok::check_password(keys, *opened, *password).has_value());
        }
        auto forged = bytes_of(text);
        forged[at] = static_cast<char>(forged[at] ^ 1);
        CHECK(open_error(keys, tok::base64url_encode(span_of(forged))) == tok::errc::forged);
        CHECK(open_error(keys, text, tok::purpose::upload_plan) == tok::errc::wrong_purpose);
    }
    // A version 2 token too short to hold its nonce is malformed even when authentic.
    auto short_v2 = bytes_of(seal(keys, "", now + 60s));
    short_v2.erase(15, 16);
    CHECK(open_error(keys, resealed(short_v2, keys.current())) == tok::errc::malformed);
}

TEST_CASE(
    "encrypted flag: bit 1 of the flags byte, authenticated, independent of the password lock") {
    auto keys = ring(secret_a);
    for (bool with_password : {false, true}) {
        CAPTURE(with_password);
        tok::contents what;
        what.expires_at = now + 60s;
        what.payload = "uploads/users/alice/0a1b/e2e";
        if (with_password) what.password = "hunter2";
        auto plain_text = *tok::seal(keys, what);
        what.encrypted = true;
        auto encrypted_text = *tok::seal(keys, what);
        auto plain = tok::open(keys, plain_text, tok::purpose::share_link, now);
        auto encrypted = tok::open(keys, encrypted_text, tok::purpose::share_link, now);
        REQUIRE(plain.has_value());
        REQUIRE(encrypted.has_value());
        CHECK_FALSE(plain->encrypted);
        CHECK(encrypted->encrypted);
        CHECK(encrypted->payload == what.payload);
        CHECK(encrypted->needs_password() == with_password);
        if (with_password) {
            CHECK(tok::check_password(keys, *encrypted, "hunter2").has_value());
            CHECK(tok::check_password(keys, *encrypted, "hunter3").error() ==
                  tok::errc::wrong_password);
        }
        auto bytes = bytes_of(encrypted_text);
        CHECK(static_cast<unsigned char>(bytes[14]) == (with_password ? 0x03 : 0x02));
        // Clearing the flag without the server's secret breaks the MAC: a link cannot be turned
        // plain.
        auto cleared = bytes;
        cleared[14] = static_cast<char>(cleared[14] & ~0x02);
        CHECK(open_error(keys, tok::base64url_encode(span_of(cleared))) == tok::errc::forged);
    }
}

TEST_CASE(
    "rotation: the previous secret opens only when configured; new tokens use the current one") {
    auto old_keys = ring(secret_a);
    auto old_token = seal(old_keys, "k", now + 60s);
    tok::keyring rotated(make_secret(secret_b));
    CHECK(open_error(rotated, old_token) == tok::errc::unknown_key);
    tok::keyring overlapping(make_secret(secret_b), make_secret(secret_a));
    auto opened = tok::open(overlapping, old_token, tok::purpose::share_link, now);
    REQUIRE(opened.has_value());
    CHECK(opened->key_id == make_secret(secret_a).key_id());
    auto new_token = seal(overlapping, "k", now + 60s);
    CHECK(tok::open(overlapping, new_token, tok::purpose::share_link, now)->key_id ==
          make_secret(secret_b).key_id());
    CHECK(open_error(old_keys, new_token) == tok::errc::unknown_key);
    // A password lock made under the previous secret still checks under the overlap.
    auto locked = seal(old_keys, "k", now + 60s, "pw");
    auto locked_open = tok::open(overlapping, locked, tok::purpose::share_link, now);
    REQUIRE(locked_open.has_value());
    CHECK(tok::check_password(overlapping, *locked_open, "pw").has_value());
}

TEST_CASE(
    "password lock: right opens, wrong and near misses fail, the token holds no trace of it") {
    auto keys = ring(secret_a);
    const std::string password = "correct horse battery staple";
    auto text = seal(keys, "k", now + 60s, password);
    auto opened = tok::open(keys, text, tok::purpose::share_link, now);
    REQUIRE(opened.has_value());
    CHECK(opened->needs_password());
    CHECK(opened->password_lock->iterations == tok::password_iterations);
    CHECK(opened->payload == "k");
    CHECK(tok::check_password(keys, *opened, password).has_value());
    for (std::string wrong :
         {std::string(), std::string("correct horse battery stapl"), password + " ",
          std::string("Correct horse battery staple"), std::string(password.size(), 'x')}) {
        CAPTURE(wrong);
        auto checked = tok::check_password(keys, *opened, wrong);
        REQUIRE_FALSE(checked.has_value());
        CHECK(checked.error() == tok::errc::wrong_password);
    }
    // Salted: the same password locks differently each time.
    CHECK(seal(keys, "k", now + 60s, password) != text);
    auto bytes = bytes_of(text);
    CHECK(bytes.find(password) == std::string::npos);
    // Under another secret the same lock does not check (guessing needs the server's secret).
    tok::keyring other(make_secret(secret_b), make_secret(secret_a));
    auto foreign = *opened;
    foreign.key_id = make_secret(secret_b).key_id();
    CHECK(tok::check_password(other, foreign, password).error() == tok::errc::wrong_password);
    // A token without a lock accepts any password; a lock whose key left the ring does not.
    auto open_plain = tok::open(keys, seal(keys, "k", now + 60s), tok::purpose::share_link, now);
    CHECK(tok::check_password(keys, *open_plain, "anything").has_value());
    CHECK(tok::check_password(ring(secret_b), *opened, password).error() == tok::errc::unknown_key);
    // An empty password is a password too.
    auto empty = tok::open(keys, seal(keys, "k", now + 60s, ""), tok::purpose::share_link, now);
    CHECK(tok::check_password(keys, *empty, "").has_value());
    CHECK_FALSE(tok::check_password(keys, *empty, "x").has_value());
}

TEST_CASE("KDF: PBKDF2-HMAC-SHA256 equals RFC 7914's vectors and libcrypto's PKCS5_PBKDF2_HMAC") {
    auto hex = [](const std::array<unsigned char, 32>& bytes) {
        return sigv4::hex_encode(std::span<const unsigned char>(bytes.data(), bytes.size()));
    };
    CHECK(hex(tok::pbkdf2_sha256("passwd", span_of("salt"), 1)) ==
          "55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc");
    CHECK(hex(tok::pbkdf2_sha256("Password", span_of("NaCl"), 80000)) ==
          "4ddcd8f60b98be21830cee5ef22701f9641a4418d04c0414aeff08876b34ab56");
    const std::string salt = "0123456789abcdef";
    for (std::string password :
         {std::string(), std::string("pw"), std::string(63, 'a'), std::string(64, 'b'),
          std::string(65, 'c'), std::string(300, '\xff')}) {
        for (std::uint32_t iterations : {1u, 2u, 1000u}) {
            std::array<unsigned char, 32> expected{};
            REQUIRE(PKCS5_PBKDF2_HMAC(password.data(), static_cast<int>(password.size()),
                                      span_of(salt).data(), static_cast<int>(salt.size()),
                                      static_cast<int>(iterations), EVP_sha256(), 32,
                                      expected.data()) == 1);
            CAPTURE(password.size());
            CAPTURE(iterations);
            CHECK(tok::pbkdf2_sha256(password, span_of(salt), iterations) == expected);
        }
    }
}

TEST_CASE("log_label: short, stable, and not the token") {
    auto label = tok::log_label("some-token-text");
    CHECK(label.size() == 12);
    CHECK(label == tok::log_label("some-token-text"));
    CHECK(label != tok::log_label("some-token-texu"));
    CHECK(tok::to_string(tok::errc::forged) == "forged");
    CHECK(tok::to_string(tok::errc::too_long) == "too_long");
}
