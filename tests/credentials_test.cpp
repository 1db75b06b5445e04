// SPDX-License-Identifier: Apache-2.0
// sigv4/credentials.hpp: validation, secret handling.
#include <doctest/doctest.h>

#include <sigv4/credentials.hpp>

#include <cstring>
#include <string>

TEST_CASE("credentials::make validates every field with exact codes") {
    CHECK(sigv4::credentials::make("", "secret").error().code == sigv4::errc::empty_access_key_id);
    CHECK(sigv4::credentials::make("AKID WITH SPACE", "secret").error().code == sigv4::errc::empty_access_key_id);
    CHECK(sigv4::credentials::make("AKID", "").error().code == sigv4::errc::invalid_secret_key);
    CHECK(sigv4::credentials::make("AKID", std::string(129, 'x')).error().code == sigv4::errc::invalid_secret_key);
    CHECK(sigv4::credentials::make("AKID", "s", "tok\nen").error().code == sigv4::errc::invalid_session_token);
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
    auto d = *sigv4::secret_key::from("abc\0"[0] == 'a' ? std::string_view("abcd") : std::string_view("x"));
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
