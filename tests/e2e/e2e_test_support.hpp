// SPDX-License-Identifier: Apache-2.0
// Helpers shared by the presign::e2e tests.
#pragma once

#include <algorithm>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include <doctest/doctest.h>

#include "presign/e2e/aes128gcm.hpp"
#include "presign/e2e/secret.hpp"

namespace e2e_test {

using presign::e2e::bytes;

inline bytes from_base64url(std::string_view text) {
    std::string decoded;
    REQUIRE(presign::e2e::base64url_decode(text, decoded));
    return bytes(decoded.begin(), decoded.end());
}

inline bytes from_text(std::string_view text) {
    return bytes(text.begin(), text.end());
}

inline presign::e2e::secret make_secret(std::string_view base64url) {
    auto made = presign::e2e::secret::from_base64url(base64url);
    REQUIRE(made.has_value());
    return *made;
}

/// Deterministic test bytes (no plaintext pattern repeats within a record).
inline bytes pattern(std::size_t size, std::uint32_t seed = 1) {
    bytes out(size);
    std::uint32_t x = seed * 2654435761u + 1;
    for (auto& b : out) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        b = static_cast<std::uint8_t>(x);
    }
    return out;
}

/// Decrypts a whole body, fed in pieces of `piece` bytes; the error code or the plaintext.
struct decoded {
    bool ok = false;
    presign::e2e::errc code{};
    bytes plaintext;
};

inline decoded decrypt_all(const presign::e2e::secret& key, std::span<const std::uint8_t> body,
                           std::size_t piece = 1 << 20) {
    decoded result;
    auto decryptor = presign::e2e::decryptor::make(key);
    REQUIRE(decryptor.has_value());
    for (std::size_t at = 0; at < body.size(); at += piece) {
        auto step = decryptor->update(body.subspan(at, std::min(piece, body.size() - at)),
                                      result.plaintext);
        if (!step) {
            result.code = step.error().code;
            return result;
        }
    }
    auto last = decryptor->finish(result.plaintext);
    if (!last) {
        result.code = last.error().code;
        return result;
    }
    result.ok = true;
    return result;
}

inline bytes encrypt_all(const presign::e2e::secret& key, std::span<const std::uint8_t> plaintext,
                         std::uint32_t record_size = presign::e2e::default_record_size,
                         std::span<const std::uint8_t> keyid = {}, std::size_t piece = 1 << 20) {
    auto salt = presign::e2e::random_salt();
    REQUIRE(salt.has_value());
    auto encryptor = presign::e2e::encryptor::make(key, *salt, keyid, record_size);
    REQUIRE(encryptor.has_value());
    bytes body;
    for (std::size_t at = 0; at < plaintext.size(); at += piece) {
        REQUIRE(
            encryptor->update(plaintext.subspan(at, std::min(piece, plaintext.size() - at)), body)
                .has_value());
    }
    REQUIRE(encryptor->finish(body).has_value());
    return body;
}

}  // namespace e2e_test
