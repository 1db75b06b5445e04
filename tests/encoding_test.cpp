// SPDX-License-Identifier: Apache-2.0
// sigv4/encoding.hpp: RFC 3986 encoding, hex, base64, UTF-8 checks.
#include <doctest/doctest.h>

#include <sigv4/encoding.hpp>

#include <string>

namespace {
std::span<const unsigned char> bytes(std::string_view s) {
    return {reinterpret_cast<const unsigned char*>(s.data()), s.size()};
}
}  // namespace

TEST_CASE("uri_encode keeps only unreserved bytes (and '/' when asked)") {
    CHECK(sigv4::uri_encode("AZaz09-._~") == "AZaz09-._~");
    CHECK(sigv4::uri_encode("a b+c/d") == "a%20b%2Bc%2Fd");
    CHECK(sigv4::uri_encode("a b+c/d", true) == "a%20b%2Bc/d");
    CHECK(sigv4::uri_encode("\xe1\x88\xb4") == "%E1%88%B4");
    CHECK(sigv4::uri_encode(std::string_view("\0", 1)) == "%00");
}

TEST_CASE("uri_encode matches a byte-at-a-time reference at every length and position") {
    // The encoder works 16 bytes at a time; lengths around 16 and 32 and an escape at each
    // position exercise its block, tail and fallback paths.
    auto reference = [](std::string_view in, bool keep_slash) {
        std::string out;
        for (char c : in) {
            auto u = static_cast<unsigned char>(c);
            bool plain = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                         (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' || c == '~' ||
                         (keep_slash && c == '/');
            if (plain) {
                out.push_back(c);
            } else {
                constexpr char hex[] = "0123456789ABCDEF";
                out += {'%', hex[u >> 4], hex[u & 15]};
            }
        }
        return out;
    };
    const std::string specials = std::string("/ +%,:@[`{\x7f\x80\xff\0", 14);
    int checked = 0;
    for (std::size_t length = 0; length <= 48; ++length) {
        std::string base;
        for (std::size_t i = 0; i < length; ++i) base.push_back("az09AZ-._~"[i % 10]);
        for (bool keep_slash : {false, true}) {
            CHECK(sigv4::uri_encode(base, keep_slash) == reference(base, keep_slash));
            for (std::size_t at = 0; at < length; ++at) {
                for (char special : specials) {
                    std::string text = base;
                    text[at] = special;
                    CHECK(sigv4::uri_encode(text, keep_slash) == reference(text, keep_slash));
                    ++checked;
                }
            }
        }
    }
    // Every byte value, alone and inside a long unreserved run.
    for (int b = 0; b < 256; ++b) {
        std::string one(1, static_cast<char>(b));
        std::string long_text = std::string(20, 'x') + one + std::string(20, 'y');
        CHECK(sigv4::uri_encode(one) == reference(one, false));
        CHECK(sigv4::uri_encode(long_text, true) == reference(long_text, true));
    }
    CHECK(checked == static_cast<int>(2 * specials.size() * (48 * 49 / 2)));
}

TEST_CASE("percent_decode decodes escapes of either case and refuses malformed ones") {
    CHECK(*sigv4::percent_decode("a%20b%2fc%2F+") == "a b/c/+");
    CHECK_FALSE(sigv4::percent_decode("%"));
    CHECK_FALSE(sigv4::percent_decode("%4"));
    CHECK_FALSE(sigv4::percent_decode("%zz"));
    CHECK(*sigv4::percent_decode("%00") == std::string("\0", 1));
}

TEST_CASE("hex and base64 round-trip, including RFC 4648 vectors") {
    CHECK(sigv4::hex_encode(bytes("\x01\xab\xff")) == "01abff");
    const char* vectors[][2] = {{"", ""},
                                {"f", "Zg=="},
                                {"fo", "Zm8="},
                                {"foo", "Zm9v"},
                                {"foob", "Zm9vYg=="},
                                {"fooba", "Zm9vYmE="},
                                {"foobar", "Zm9vYmFy"}};
    for (auto& v : vectors) {
        CAPTURE(v[0]);
        CHECK(sigv4::base64_encode(bytes(v[0])) == v[1]);
        CHECK(*sigv4::base64_decode(v[1]) == v[0]);
    }
    for (const char* bad : {"Zg", "Zg=", "Z===", "Zm9v!A==", "Zh==", "=Zg=", "Zg==Zg=="}) {
        CAPTURE(bad);
        CHECK_FALSE(sigv4::base64_decode(bad));
    }
}

TEST_CASE("is_valid_utf8 refuses overlongs, surrogates and truncation") {
    CHECK(sigv4::is_valid_utf8("plain ascii"));
    CHECK(sigv4::is_valid_utf8("\xc3\xbc\xe6\x97\xa5\xf0\x9f\x98\x80"));
    CHECK_FALSE(sigv4::is_valid_utf8("\xc0\xaf"));          // overlong '/'
    CHECK_FALSE(sigv4::is_valid_utf8("\xed\xa0\x80"));      // surrogate
    CHECK_FALSE(sigv4::is_valid_utf8("\xf4\x90\x80\x80"));  // above U+10FFFF
    CHECK_FALSE(sigv4::is_valid_utf8("\xe6\x97"));          // truncated
    CHECK_FALSE(sigv4::is_valid_utf8("\xff"));
}
