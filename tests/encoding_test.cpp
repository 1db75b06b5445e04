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

TEST_CASE("percent_decode decodes escapes of either case and refuses malformed ones") {
    CHECK(*sigv4::percent_decode("a%20b%2fc%2F+") == "a b/c/+");
    CHECK_FALSE(sigv4::percent_decode("%"));
    CHECK_FALSE(sigv4::percent_decode("%4"));
    CHECK_FALSE(sigv4::percent_decode("%zz"));
    CHECK(*sigv4::percent_decode("%00") == std::string("\0", 1));
}

TEST_CASE("hex and base64 round-trip, including RFC 4648 vectors") {
    CHECK(sigv4::hex_encode(bytes("\x01\xab\xff")) == "01abff");
    const char* vectors[][2] = {{"", ""}, {"f", "Zg=="}, {"fo", "Zm8="}, {"foo", "Zm9v"},
                                {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="}, {"foobar", "Zm9vYmFy"}};
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
