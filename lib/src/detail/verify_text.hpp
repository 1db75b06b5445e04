// SPDX-License-Identifier: Apache-2.0
// Text checks both verifier paths share (verify.cpp, the full verifier; verify_fast.cpp, the
// direct path): percent-decoding, canonical-encoding tests, the credential scope, signed-header
// lists, header values. Inline, so each path keeps them inlined where it calls them.
#pragma once

#include <algorithm>
#include <bit>
#include <cstddef>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "detail/canonical.hpp"
#include "detail/unreserved.hpp"

#if defined(__GNUC__)
#define SIGV4_ALWAYS_INLINE __attribute__((always_inline))
// Out of the verifier's hot path: cache misses and rare shapes (keeps the hot code compact).
#define SIGV4_COLD __attribute__((noinline, cold))
#else
#define SIGV4_ALWAYS_INLINE
#define SIGV4_COLD
#endif

namespace sigv4::detail {

inline int hex_digit(char c) noexcept {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

// percent_decode() appending to `out`, runs between escapes at once (this runs for every
// parameter). False for a truncated or non-hex escape.
inline bool append_decoded(std::string_view in, std::string& out) {
    std::size_t pos = 0;
    while (pos < in.size()) {
        std::size_t escape = in.find('%', pos);
        if (escape == std::string_view::npos) {
            out.append(in.substr(pos));
            break;
        }
        out.append(in.substr(pos, escape - pos));
        if (escape + 2 >= in.size()) return false;
        int hi = hex_digit(in[escape + 1]);
        int lo = hex_digit(in[escape + 2]);
        if (hi < 0 || lo < 0) return false;
        out.push_back(static_cast<char>(hi * 16 + lo));
        pos = escape + 3;
    }
    return true;
}

inline bool decode_into(std::string_view in, std::string& out) {
    out.clear();
    return append_decoded(in, out);
}

inline bool is_upper_hex(char c) noexcept {
    return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F');
}

// Whether the escape at raw[i] ('%') is canonical: two uppercase hex digits encoding a byte that
// percent-encoding would encode.
inline bool is_canonical_escape(std::string_view raw, std::size_t i, bool keep_slash) noexcept {
    if (raw[i] != '%' || i + 2 >= raw.size() || !is_upper_hex(raw[i + 1]) ||
        !is_upper_hex(raw[i + 2]))
        return false;
    char decoded = static_cast<char>(hex_digit(raw[i + 1]) * 16 + hex_digit(raw[i + 2]));
    return !(is_unreserved(decoded) || (keep_slash && decoded == '/'));
}

// True when uri_encode(percent_decode(raw), keep_slash) == raw, so the raw text can go into the
// canonical request as it is (what every SigV4 client sends). 16 bytes at a time: only the bytes
// that are not unreserved (which must all be '%' of canonical escapes) are looked at one by one.
inline bool is_canonical_encoding(std::string_view raw, bool keep_slash) noexcept {
    auto escapes_are_canonical = [&](unsigned others, std::size_t base) {
        for (; others != 0; others &= others - 1) {
            if (!is_canonical_escape(raw, base + static_cast<std::size_t>(std::countr_zero(others)),
                                     keep_slash)) {
                return false;
            }
        }
        return true;
    };
    std::size_t base = 0;
    for (; base + 16 <= raw.size(); base += 16) {
        if (!escapes_are_canonical(reserved_positions(raw.data() + base, 16, keep_slash), base))
            return false;
    }
    if (base == raw.size()) return true;
    // The last bytes: read as the text's last 16 when it has that many (no copy).
    const std::size_t tail = raw.size() - base;
    const unsigned others =
        raw.size() >= 16
            ? reserved_positions(raw.data() + raw.size() - 16, 16, keep_slash) >> (16 - tail)
            : reserved_positions(raw.data() + base, tail, keep_slash);
    return escapes_are_canonical(others, base);
}

// Decodes `raw` into a view: `raw` itself when it has no escape, else `storage`. False for a
// malformed escape.
inline bool decode_view(std::string_view raw, std::string& storage, std::string_view& decoded) {
    if (raw.find('%') == std::string_view::npos) {
        decoded = raw;
        return true;
    }
    if (!decode_into(raw, storage)) return false;
    decoded = storage;
    return true;
}

// Views into a credential; left uninitialized until split_scope fills them (no zero-fill per
// request).
struct scope_parts {
    std::string_view access_key_id, date, region, service, terminator;
    scope_parts() noexcept {}
};

inline bool split_scope(std::string_view credential, scope_parts& out) {
    // Each part is non-empty and ends at the next '/'; the fifth ends the credential.
    auto next_part = [&credential](std::string_view& part) {
        const std::size_t end = credential.find('/');
        if (end == 0 || end == std::string_view::npos) return false;
        part = credential.substr(0, end);
        credential.remove_prefix(end + 1);
        return true;
    };
    if (!next_part(out.access_key_id) || !next_part(out.date) || !next_part(out.region) ||
        !next_part(out.service)) {
        return false;
    }
    if (credential.empty() || credential.find('/') != std::string_view::npos) return false;
    out.terminator = credential;
    return true;
}

inline bool valid_signed_header_list(std::string_view list, std::vector<std::string>& out) {
    out.clear();
    std::size_t pos = 0;
    while (pos <= list.size()) {
        std::size_t end = list.find(';', pos);
        if (end == std::string_view::npos) end = list.size();
        std::string_view name = list.substr(pos, end - pos);
        if (!is_token(name)) return false;
        if (std::any_of(name.begin(), name.end(), [](char c) { return c >= 'A' && c <= 'Z'; }))
            return false;
        out.emplace_back(name);
        pos = end + 1;
    }
    return std::is_sorted(out.begin(), out.end()) &&
           std::adjacent_find(out.begin(), out.end()) == out.end();
}

// Whether `name` is an x-amz-* header that is not among the signed names (S3 refuses them).
// x-amz-security-token never needs signing; x-amz-content-sha256 not with query auth.
inline bool is_unsigned_amz_header(std::string_view name,
                                   const std::vector<std::string>& signed_names, bool query_auth) {
    if (name.size() < 6 || !iequals(name.substr(0, 6), "x-amz-") ||
        iequals(name, "x-amz-security-token") ||
        (query_auth && iequals(name, "x-amz-content-sha256"))) {
        return false;
    }
    return std::none_of(signed_names.begin(), signed_names.end(),
                        [&](const std::string& signed_name) { return iequals(name, signed_name); });
}

// The value of a non-empty run of decimal digits (no sign, nothing else); nullopt otherwise, or
// when it does not fit.
inline std::optional<long long> decimal_number(std::string_view text) noexcept {
    if (text.empty()) return std::nullopt;
    constexpr long long max = std::numeric_limits<long long>::max();
    long long value = 0;
    for (char c : text) {
        if (c < '0' || c > '9') return std::nullopt;
        const int digit = c - '0';
        if (value > max / 10 || (value == max / 10 && digit > max % 10)) return std::nullopt;
        value = value * 10 + digit;
    }
    return value;
}

inline bool is_header_space(char c) noexcept {
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

// Trims the value and collapses each run of whitespace (folded lines too) into one space.
inline void append_canonical_header_value(std::string_view value, std::string& out) {
    std::size_t pos = 0;
    bool first = true;
    while (pos < value.size()) {
        while (pos < value.size() && is_header_space(value[pos])) ++pos;
        if (pos == value.size()) break;
        std::size_t end = pos;
        while (end < value.size() && !is_header_space(value[end])) ++end;
        if (!first) out.push_back(' ');
        first = false;
        out.append(value.substr(pos, end - pos));
        pos = end;
    }
}

}  // namespace sigv4::detail
