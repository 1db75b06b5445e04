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
    for (const char* bad : {"20150830T123600", "2015083T123600Z", "20150230T000000Z", "20151301T000000Z",
                            "20150830T243600Z", "20150830X123600Z", "2015-08-30T12:36:00Z", ""}) {
        CAPTURE(bad);
        CHECK(sigv4::parse_amz_date(bad).error().code == sigv4::errc::invalid_time);
    }
    CHECK(sigv4::format_amz_date(sigv4::sys_seconds{-1s}).error().code == sigv4::errc::invalid_time);
}

TEST_CASE("parse ISO 8601 with fractions and offsets") {
    auto base = *sigv4::parse_amz_date("20150830T123600Z");
    CHECK(*sigv4::parse_iso8601("2015-08-30T12:36:00Z") == base);
    CHECK(*sigv4::parse_iso8601("2015-08-30T12:36:00.123Z") == base);
    CHECK(*sigv4::parse_iso8601("2015-08-30T14:36:00+02:00") == base);
    CHECK(*sigv4::parse_iso8601("2015-08-30T07:36:00-05:00") == base);
    CHECK(*sigv4::parse_iso8601("20150830T123600Z") == base);
    for (const char* bad : {"2015-08-30", "2015-08-30T12:36:00", "2015-08-30T12:36:00+0200", "2015-02-29T00:00:00Z",
                            "2015-08-30T12:36:00.Z"}) {
        CAPTURE(bad);
        CHECK(sigv4::parse_iso8601(bad).error().code == sigv4::errc::invalid_time);
    }
    CHECK(sigv4::now().time_since_epoch() > 1700000000s);
}
