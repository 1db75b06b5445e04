// SPDX-License-Identifier: Apache-2.0
#include <algorithm>
#include <string>

#include <doctest/doctest.h>

#include "e2e_test_support.hpp"
#include "presign/e2e/secret.hpp"

using namespace presign::e2e;

TEST_CASE("a secret round-trips through its 22-character base64url form") {
    for (int i = 0; i < 50; ++i) {
        const auto made = secret::generate();
        REQUIRE(made.has_value());
        const std::string text = made->to_base64url();
        CHECK(text.size() == 22);
        CHECK(text.find_first_not_of(
                  "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") ==
              std::string::npos);
        const auto back = secret::from_base64url(text);
        REQUIRE(back.has_value());
        CHECK(std::equal(back->bytes().begin(), back->bytes().end(), made->bytes().begin()));
    }
    CHECK(secret::from_base64url("yqdlZ-tYemfogSmv7Ws5PQ")->to_base64url() ==
          "yqdlZ-tYemfogSmv7Ws5PQ");
}

TEST_CASE("anything but strict base64url of 16 bytes is invalid_secret") {
    const char* cases[] = {
        "",
        "yqdlZ-tYemfogSmv7Ws5P",     // 21 characters
        "yqdlZ-tYemfogSmv7Ws5PQA",   // 23
        "yqdlZ-tYemfogSmv7Ws5PQ==",  // padded
        "yqdlZ+tYemfogSmv7Ws5PQ",    // standard alphabet
        "yqdlZ/tYemfogSmv7Ws5PQ",
        "yqdlZ-tYemfogSmv7Ws5PR",  // unused low bits set
        "yqdlZ-tYemfogSmv7Ws5P ",
        "yqdlZ-tYemfogSmv7Ws5P\n",
    };
    for (const char* text : cases) {
        CAPTURE(text);
        const auto parsed = secret::from_base64url(text);
        REQUIRE_FALSE(parsed.has_value());
        CHECK(parsed.error().code == errc::invalid_secret);
        CHECK(parsed.error().message.find(text[0] != 0 ? text : "\x01") == std::string::npos);
    }
    const std::uint8_t fifteen[15]{};
    CHECK(secret::from_bytes(fifteen).error().code == errc::invalid_secret);
}

TEST_CASE("base64url encodes and strictly decodes every tail length") {
    const std::pair<std::string, std::string> cases[] = {
        {"", ""},        {"f", "Zg"},        {"fo", "Zm8"},
        {"foo", "Zm9v"}, {"foob", "Zm9vYg"}, {"\xfb\xff", "-_8"},
    };
    for (const auto& [plain, encoded] : cases) {
        CHECK(base64url_encode(std::span(reinterpret_cast<const std::uint8_t*>(plain.data()),
                                         plain.size())) == encoded);
        std::string decoded;
        CHECK(base64url_decode(encoded, decoded));
        CHECK(decoded == plain);
    }
    std::string out;
    CHECK_FALSE(base64url_decode("Z", out));
    CHECK_FALSE(base64url_decode("Zh", out));  // low bits of 'h' set
    CHECK_FALSE(base64url_decode("Zg=", out));
}

TEST_CASE("every error code has a stable name") {
    CHECK(to_string(errc::record_tampered) == "record_tampered");
    CHECK(to_string(errc::invalid_secret) == "invalid_secret");
    CHECK(to_string(errc::size_mismatch) == "size_mismatch");
}
