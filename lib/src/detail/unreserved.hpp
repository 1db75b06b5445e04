// SPDX-License-Identifier: Apache-2.0
// RFC 3986 unreserved bytes (A-Z a-z 0-9 - . _ ~): what SigV4 never percent-encodes.
#pragma once

#include <array>
#include <cstddef>
#include <string_view>

namespace sigv4::detail {

constexpr std::array<bool, 256> make_unreserved_table(bool with_slash) {
    std::array<bool, 256> table{};
    for (int c = 'A'; c <= 'Z'; ++c) table[static_cast<std::size_t>(c)] = true;
    for (int c = 'a'; c <= 'z'; ++c) table[static_cast<std::size_t>(c)] = true;
    for (int c = '0'; c <= '9'; ++c) table[static_cast<std::size_t>(c)] = true;
    table['-'] = table['.'] = table['_'] = table['~'] = true;
    table['/'] = with_slash;
    return table;
}

inline constexpr auto unreserved = make_unreserved_table(false);
inline constexpr auto unreserved_or_slash = make_unreserved_table(true);

inline bool is_unreserved(char c) noexcept { return unreserved[static_cast<unsigned char>(c)]; }

/// Percent-encodes `in` into `out`, which has room for 3 * in.size() bytes: every byte outside the
/// unreserved set (and '/' unless `keep_slash`) as %XX, uppercase hex. Returns the end of what was
/// written; `saw_non_ascii` becomes true when a byte >= 0x80 was met.
char* percent_encode(std::string_view in, bool keep_slash, char* out, bool& saw_non_ascii) noexcept;

/// Bit i set when text[i] (i < size <= 16) is not unreserved (nor '/' when `keep_slash`).
unsigned reserved_positions(const char* text, std::size_t size, bool keep_slash) noexcept;

}  // namespace sigv4::detail
