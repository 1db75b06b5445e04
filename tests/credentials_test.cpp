// SPDX-License-Identifier: Apache-2.0
// sigv4/credentials.hpp: validation, secret handling.
#include <doctest/doctest.h>

#include <sigv4/credentials.hpp>

#include <cstring>
#include <string>

TEST_CASE("credentials::make validates every field with exact codes") {
    CHECK(sigv4::credentials::make("", "secret").error().code == sigv4::errc::empty_access_key_id);
    CHECK(sigv4::credentials::make("AKID WITH SPACE", "secret").error().code ==
          sigv4::errc::empty_access_key_id);
    CHECK(sigv4::credentials::make("AKID", "").error().code == sigv4::errc::invalid_secret_key);
    CHECK(sigv4::credentials::make("AKID", std::string(129, 'x')).error().code ==
          sigv4::errc::invalid_secret_key);
    CHECK(sigv4::credentials::make("AKID", "s", "tok\nen").error().code ==
          sigv4::errc::invalid_session_token);
    auto ok = sigv4::credentials::make("AKID", std::string(128, 'x'), "token");
    REQUIRE(ok);
    CHECK(ok->secret.size() == 128);
    CHECK(ok->session_token == "token");
    CHECK_FALSE(ok->expiration);
}

TEST_CASE("secret_key compares in constant time and copies exactly") {
    auto a = *sigv4::secret_key::from("abc");
    auto b = *sigv4::secret_key::from("abc");
    auto c = *sigv4::secret_key::from("abd");
    auto d = *sigv4::secret_key::from("abc\0"[0] == 'a' ? std::string_view("abcd")
                                                        : std::string_view("x"));
    CHECK(a.equals(b));
    CHECK_FALSE(a.equals(c));
    CHECK_FALSE(a.equals(d));
    sigv4::secret_key copy = c;
    CHECK(copy.equals(c));
    copy = a;
    CHECK(copy.equals(a));
    CHECK(std::memcmp(copy.data(), "abc", 3) == 0);
    CHECK(copy.size() == 3);
    sigv4::secret_key empty;
    CHECK(empty.empty());
}

TEST_CASE(
    "secret_key::equals sees a difference in any byte and any bit, at every length up to "
    "max_size") {
    // The word-wise loop behind the optimization barrier must not lose a byte: the tail bytes
    // after the last full word, and the last byte of the buffer, included.
    for (std::size_t size : {std::size_t{1}, std::size_t{7}, std::size_t{8}, std::size_t{9},
                             std::size_t{40}, std::size_t{127}, sigv4::secret_key::max_size}) {
        std::string text(size, 'k');
        const auto original = *sigv4::secret_key::from(text);
        for (std::size_t at = 0; at < size; ++at) {
            for (int bit = 0; bit < 8; ++bit) {
                std::string changed = text;
                changed[at] = static_cast<char>(changed[at] ^ (1 << bit));
                CAPTURE(size);
                CAPTURE(at);
                CAPTURE(bit);
                CHECK_FALSE(original.equals(*sigv4::secret_key::from(changed)));
            }
        }
        CHECK(original.equals(*sigv4::secret_key::from(text)));
    }
}
