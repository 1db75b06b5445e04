// SPDX-License-Identifier: Apache-2.0
#include "sigv4/time.hpp"

#include <charconv>

namespace sigv4 {

namespace {

using namespace std::chrono;

struct civil {
    int year, month, day, hour, minute, second;
};

result<civil> to_civil(sys_seconds t) {
    auto day_point = floor<days>(t);
    year_month_day ymd{day_point};
    int y = static_cast<int>(ymd.year());
    if (y < 1970 || y > 9999) return fail(errc::invalid_time, "time outside the years 1970..9999");
    auto rest = t - day_point;
    auto h = duration_cast<hours>(rest);
    auto m = duration_cast<minutes>(rest - h);
    auto s = rest - h - m;
    return civil{y,
                 static_cast<int>(static_cast<unsigned>(ymd.month())),
                 static_cast<int>(static_cast<unsigned>(ymd.day())),
                 static_cast<int>(h.count()),
                 static_cast<int>(m.count()),
                 static_cast<int>(s.count())};
}

bool read_digits(std::string_view text, std::size_t pos, std::size_t count, int& out) {
    if (pos + count > text.size()) return false;
    int v = 0;
    for (std::size_t i = pos; i < pos + count; ++i) {
        char c = text[i];
        if (c < '0' || c > '9') return false;
        v = v * 10 + (c - '0');
    }
    out = v;
    return true;
}

result<sys_seconds> from_civil(const civil& c) {
    year_month_day ymd{year{c.year}, month{static_cast<unsigned>(c.month)},
                       day{static_cast<unsigned>(c.day)}};
    if (!ymd.ok() || c.year < 1970 || c.year > 9999 || c.hour > 23 || c.minute > 59 ||
        c.second > 60) {
        return fail(errc::invalid_time, "not a valid date and time");
    }
    // A leap second (:60) is folded into the next second, as POSIX time does.
    return sys_seconds{sys_days{ymd}} + hours{c.hour} + minutes{c.minute} + seconds{c.second};
}

}  // namespace

namespace {

// Writes `value` as exactly `width` decimal digits (values here are in range: years 1970..9999).
char* put_digits(char* out, int value, int width) noexcept {
    for (int i = width - 1; i >= 0; --i) {
        out[i] = static_cast<char>('0' + value % 10);
        value /= 10;
    }
    return out + width;
}

// "YYYYMMDDTHHMMSSZ", or "YYYY-MM-DDTHH:MM:SSZ" when extended; without printf, which cost more
// than the rest of a presign's per-second cache refill.
std::string civil_text(const civil& c, bool extended) {
    char buf[20];
    char* at = put_digits(buf, c.year, 4);
    if (extended) *at++ = '-';
    at = put_digits(at, c.month, 2);
    if (extended) *at++ = '-';
    at = put_digits(at, c.day, 2);
    *at++ = 'T';
    at = put_digits(at, c.hour, 2);
    if (extended) *at++ = ':';
    at = put_digits(at, c.minute, 2);
    if (extended) *at++ = ':';
    at = put_digits(at, c.second, 2);
    *at++ = 'Z';
    return std::string(buf, static_cast<std::size_t>(at - buf));
}

}  // namespace

result<std::string> format_amz_date(sys_seconds t) {
    auto c = to_civil(t);
    if (!c) return unexpected{c.error()};
    return civil_text(*c, false);
}

result<std::string> format_iso8601(sys_seconds t) {
    auto c = to_civil(t);
    if (!c) return unexpected{c.error()};
    return civil_text(*c, true);
}

result<sys_seconds> parse_amz_date(std::string_view text) {
    civil c{};
    if (text.size() != 16 || text[8] != 'T' || text[15] != 'Z' ||
        !read_digits(text, 0, 4, c.year) || !read_digits(text, 4, 2, c.month) ||
        !read_digits(text, 6, 2, c.day) || !read_digits(text, 9, 2, c.hour) ||
        !read_digits(text, 11, 2, c.minute) || !read_digits(text, 13, 2, c.second)) {
        return fail(errc::invalid_time, "expected a time like 20150830T123600Z");
    }
    return from_civil(c);
}

result<sys_seconds> parse_iso8601(std::string_view text) {
    if (text.size() == 16 && text[8] == 'T') return parse_amz_date(text);
    civil c{};
    auto bad = [] { return fail(errc::invalid_time, "expected a time like 2015-08-30T12:36:00Z"); };
    if (text.size() < 20 || !read_digits(text, 0, 4, c.year) || text[4] != '-' ||
        !read_digits(text, 5, 2, c.month) || text[7] != '-' || !read_digits(text, 8, 2, c.day) ||
        (text[10] != 'T' && text[10] != 't' && text[10] != ' ') ||
        !read_digits(text, 11, 2, c.hour) || text[13] != ':' ||
        !read_digits(text, 14, 2, c.minute) || text[16] != ':' ||
        !read_digits(text, 17, 2, c.second)) {
        return bad();
    }
    std::size_t pos = 19;
    if (text[pos] == '.') {
        ++pos;
        std::size_t digits = 0;
        while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') ++pos, ++digits;
        if (digits == 0) return bad();
    }
    auto t = from_civil(c);
    if (!t) return t;
    std::string_view zone = text.substr(pos);
    if (zone == "Z" || zone == "z") return t;
    int zh = 0, zm = 0;
    if (zone.size() != 6 || (zone[0] != '+' && zone[0] != '-') || !read_digits(zone, 1, 2, zh) ||
        zone[3] != ':' || !read_digits(zone, 4, 2, zm) || zh > 23 || zm > 59) {
        return bad();
    }
    auto offset = hours{zh} + minutes{zm};
    return zone[0] == '+' ? *t - offset : *t + offset;
}

sys_seconds now() noexcept {
    return floor<seconds>(system_clock::now());
}

}  // namespace sigv4
