// SPDX-License-Identifier: Apache-2.0
#include "presign/e2e/secret.hpp"

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <algorithm>

#include "detail.hpp"

namespace presign::e2e {
namespace {

constexpr std::string_view alphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

int sextet(char c) {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '-') return 62;
    if (c == '_') return 63;
    return -1;
}

}  // namespace

std::string_view to_string(errc code) noexcept {
    switch (code) {
        case errc::invalid_secret:
            return "invalid_secret";
        case errc::invalid_record_size:
            return "invalid_record_size";
        case errc::header_truncated:
            return "header_truncated";
        case errc::record_tampered:
            return "record_tampered";
        case errc::padding_invalid:
            return "padding_invalid";
        case errc::truncated:
            return "truncated";
        case errc::trailing_data:
            return "trailing_data";
        case errc::metadata_too_large:
            return "metadata_too_large";
        case errc::metadata_invalid:
            return "metadata_invalid";
        case errc::size_mismatch:
            return "size_mismatch";
        case errc::crypto_failure:
            return "crypto_failure";
    }
    return "unknown";
}

std::string base64url_encode(std::span<const std::uint8_t> bytes) {
    std::string out;
    out.reserve((bytes.size() * 4 + 2) / 3);
    std::size_t i = 0;
    for (; i + 3 <= bytes.size(); i += 3) {
        const std::uint32_t v =
            (std::uint32_t{bytes[i]} << 16) | (std::uint32_t{bytes[i + 1]} << 8) | bytes[i + 2];
        out += alphabet[(v >> 18) & 63];
        out += alphabet[(v >> 12) & 63];
        out += alphabet[(v >> 6) & 63];
        out += alphabet[v & 63];
    }
    const std::size_t rest = bytes.size() - i;
    if (rest == 1) {
        const std::uint32_t v = std::uint32_t{bytes[i]} << 16;
        out += alphabet[(v >> 18) & 63];
        out += alphabet[(v >> 12) & 63];
    } else if (rest == 2) {
        const std::uint32_t v =
            (std::uint32_t{bytes[i]} << 16) | (std::uint32_t{bytes[i + 1]} << 8);
        out += alphabet[(v >> 18) & 63];
        out += alphabet[(v >> 12) & 63];
        out += alphabet[(v >> 6) & 63];
    }
    return out;
}

bool base64url_decode(std::string_view text, std::string& out) {
    out.clear();
    if (text.size() % 4 == 1) return false;
    std::uint32_t accumulator = 0;
    int bits = 0;
    for (const char c : text) {
        const int value = sextet(c);
        if (value < 0) return false;
        accumulator = (accumulator << 6) | static_cast<std::uint32_t>(value);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out += static_cast<char>((accumulator >> bits) & 0xff);
        }
    }
    // Unused low bits of the last character must be zero (one spelling per byte string).
    return (accumulator & ((1u << bits) - 1)) == 0;
}

result<secret> secret::generate() {
    secret made;
    if (RAND_bytes(made.bytes_.data(), static_cast<int>(made.bytes_.size())) != 1) {
        return detail::fail(errc::crypto_failure, "the random generator failed");
    }
    return made;
}

result<secret> secret::from_bytes(std::span<const std::uint8_t> bytes) {
    if (bytes.size() != secret_size) {
        return detail::fail(errc::invalid_secret, "a secret is exactly 16 bytes");
    }
    secret made;
    std::copy(bytes.begin(), bytes.end(), made.bytes_.begin());
    return made;
}

result<secret> secret::from_base64url(std::string_view text) {
    std::string decoded;
    const bool ok =
        text.size() == 22 && base64url_decode(text, decoded) && decoded.size() == secret_size;
    if (!ok) {
        OPENSSL_cleanse(decoded.data(), decoded.size());
        return detail::fail(errc::invalid_secret,
                            "the key is not 22 characters of base64url (A-Z a-z 0-9 - _)");
    }
    auto made = from_bytes(
        std::span(reinterpret_cast<const std::uint8_t*>(decoded.data()), decoded.size()));
    OPENSSL_cleanse(decoded.data(), decoded.size());
    return made;
}

secret::secret(const secret& other) noexcept : bytes_(other.bytes_) {}

secret& secret::operator=(const secret& other) noexcept {
    bytes_ = other.bytes_;
    return *this;
}

secret::~secret() {
    OPENSSL_cleanse(bytes_.data(), bytes_.size());
}

std::string secret::to_base64url() const {
    return base64url_encode(bytes_);
}

}  // namespace presign::e2e
