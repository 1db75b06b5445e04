// SPDX-License-Identifier: Apache-2.0
#include <algorithm>
#include <string>

#include <doctest/doctest.h>

#include "e2e_test_support.hpp"
#include "presign/e2e/file_metadata.hpp"

using namespace presign::e2e;
using namespace e2e_test;

TEST_CASE("metadata seals into a keyid and opens under the same secret and salt only") {
    const auto key = *secret::generate();
    const auto salt = *random_salt();
    const file_metadata cases[] = {
        {"report.pdf", "application/pdf", 1234},
        {"ünïcødé 文件.txt", "text/plain", 0},
        {"x", "application/octet-stream", 0xfedcba9876543210ull},
    };
    for (const auto& metadata : cases) {
        CAPTURE(metadata.name);
        const auto sealed = seal_metadata(key, salt, metadata);
        REQUIRE(sealed.has_value());
        CHECK(sealed->size() == metadata_overhead + metadata.name.size() + metadata.type.size());
        if (metadata.name.size() >= 8) {  // a shorter name may occur in random bytes by chance
            CHECK(std::search(sealed->begin(), sealed->end(), metadata.name.begin(),
                              metadata.name.end()) == sealed->end());
        }
        const auto opened = open_metadata(key, salt, *sealed);
        REQUIRE(opened.has_value());
        CHECK(opened->name == metadata.name);
        CHECK(opened->type == metadata.type);
        CHECK(opened->size == metadata.size);

        CHECK(open_metadata(*secret::generate(), salt, *sealed).error().code ==
              errc::metadata_invalid);
        auto other_salt = salt;
        other_salt[0] ^= 1;
        CHECK(open_metadata(key, other_salt, *sealed).error().code == errc::metadata_invalid);
        for (std::size_t i = 0; i < sealed->size(); ++i) {
            bytes changed = *sealed;
            changed[i] ^= 0x01;
            CHECK(open_metadata(key, salt, changed).error().code == errc::metadata_invalid);
        }
        bytes cut(sealed->begin(), sealed->end() - 1);
        CHECK(open_metadata(key, salt, cut).error().code == errc::metadata_invalid);
    }
    CHECK(open_metadata(key, salt, from_text("a1")).error().code == errc::metadata_invalid);
    CHECK(open_metadata(key, salt, {}).error().code == errc::metadata_invalid);
}

TEST_CASE("metadata too long for the keyid is refused; fit_metadata shortens it") {
    const auto key = *secret::generate();
    const auto salt = *random_salt();
    const file_metadata big{std::string(220, 'a') + ".jpeg", "image/jpeg", 1};
    CHECK(seal_metadata(key, salt, big).error().code == errc::metadata_too_large);

    const auto fitted = fit_metadata(big);
    CHECK(fitted.type == "image/jpeg");
    CHECK(fitted.name.size() + fitted.type.size() == 229);
    CHECK(fitted.name.ends_with(".jpeg"));
    const auto sealed = seal_metadata(key, salt, fitted);
    REQUIRE(sealed.has_value());
    CHECK(sealed->size() == max_metadata_size);

    // Cut on a character boundary: 'é' is two bytes.
    std::string accents;
    for (int i = 0; i < 150; ++i) accents += "é";
    const auto cut = fit_metadata({accents + ".txt", "text/plain", 1});
    CHECK(cut.name.ends_with(".txt"));
    CHECK((cut.name.size() - 4) % 2 == 0);
    CHECK(cut.name.size() + cut.type.size() <= 229);

    struct type_case {
        std::string given, expected;
    };
    const type_case types[] = {{"", "application/octet-stream"},
                               {std::string(101, 'a'), "application/octet-stream"},
                               {"text/plain; charset=utf-8", "application/octet-stream"},
                               {"text/plain;charset=utf-8", "text/plain;charset=utf-8"},
                               {"image/png", "image/png"}};
    for (const auto& t : types) CHECK(fit_metadata({"a", t.given, 0}).type == t.expected);
}

TEST_CASE("safe_file_name keeps a name creatable in one directory") {
    const std::pair<std::string, std::string> cases[] = {
        {"report.pdf", "report.pdf"},
        {"../../etc/passwd", "passwd"},
        {"a\\b\\c.txt", "c.txt"},
        {"", "file"},
        {".", "file"},
        {"..", "file"},
        {"dir/", "file"},
        {"a\nb\x01.txt", "ab.txt"},
        {"ünï code.txt", "ünï code.txt"},
    };
    for (const auto& [given, expected] : cases) {
        CAPTURE(given);
        CHECK(safe_file_name(given) == expected);
    }
}
