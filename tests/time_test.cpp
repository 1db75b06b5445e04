// SPDX-License-Identifier: Apache-2.0
// sigv4/time.hpp: X-Amz-Date and ISO 8601 formatting and parsing.
#include <doctest/doctest.h>

#include <sigv4/time.hpp>

using namespace std::chrono_literals;

TEST_CASE("format and parse X-Amz-Date") {
    auto t = sigv4::parse_amz_date("20150830T123600Z");
    REQUIRE(t);
    CHECK(t->time_since_epoch() == 1440938160s);
    CHECK(*sigv4::format_amz_date(*t) == "20150830T123600Z");
    CHECK(*sigv4::format_iso8601(*t) == "2015-08-30T12:36:00Z");
    CHECK(*sigv4::format_amz_date(sigv4::sys_seconds{0s}) == "19700101T000000Z");
    for (const char* bad :
         {"20150830T123600", "2015083T123600Z", "20150230T000000Z", "20151301T000000Z",
          "20150830T243600Z", "20150830X123600Z", "2015-08-30T12:36:00Z", ""}) {
        CAPTURE(bad);
        CHECK(sigv4::parse_amz_date(bad).error().code == sigv4::errc::invalid_time);
    }
    CHECK(sigv4::format_amz_date(sigv4::sys_seconds{-1s}).error().code ==
          sigv4::errc::invalid_time);
}

TEST_CASE("parse ISO 8601 with fractions and offsets") {
    auto base = *sigv4::parse_amz_date("20150830T123600Z");
    CHECK(*sigv4::parse_iso8601("2015-08-30T12:36:00Z") == base);
    CHECK(*sigv4::parse_iso8601("2015-08-30T12:36:00.123Z") == base);
    CHECK(*sigv4::parse_iso8601("2015-08-30T14:36:00+02:00") == base);
    CHECK(*sigv4::parse_iso8601("2015-08-30T07:36:00-05:00") == base);
    CHECK(*sigv4::parse_iso8601("20150830T123600Z") == base);
    for (const char* bad : {"2015-08-30", "2015-08-30T12:36:00", "2015-08-30T12:36:00+0200",
                            "2015-02-29T00:00:00Z", "2015-08-30T12:36:00.Z"}) {
        CAPTURE(bad);
        CHECK(sigv4::parse_iso8601(bad).error().code == sigv4::errc::invalid_time);
    }
    CHECK(sigv4::now().time_since_epoch() > 1700000000s);
}

TEST_CASE("formatting and parsing round-trip across the whole supported range") {
    // Every digit position takes many values: steps of a prime number of seconds from 1970 to 9999.
    const auto last = *sigv4::parse_amz_date("99991231T235959Z");
    CHECK(*sigv4::format_iso8601(last) == "9999-12-31T23:59:59Z");
    CHECK(sigv4::format_amz_date(last + 1s).error().code == sigv4::errc::invalid_time);
    int checked = 0;
    for (auto t = sigv4::sys_seconds{0s}; t <= last; t += 7'777'777s) {
        const auto amz = sigv4::format_amz_date(t);
        const auto iso = sigv4::format_iso8601(t);
        REQUIRE(amz);
        REQUIRE(iso);
        CAPTURE(*amz);
        CHECK(amz->size() == 16);
        CHECK(*sigv4::parse_amz_date(*amz) == t);
        CHECK(*sigv4::parse_iso8601(*iso) == t);
        CHECK(iso->substr(0, 4) == amz->substr(0, 4));
        CHECK(iso->substr(11, 2) == amz->substr(9, 2));
        ++checked;
    }
    CHECK(checked > 30000);
}
