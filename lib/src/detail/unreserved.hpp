// SPDX-License-Identifier: Apache-2.0
// RFC 3986 unreserved bytes (A-Z a-z 0-9 - . _ ~): what SigV4 never percent-encodes.
#pragma once

#include <array>
#include <cstddef>
#include <cstring>
#include <string_view>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

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

inline bool is_unreserved(char c) noexcept {
    return unreserved[static_cast<unsigned char>(c)];
}

/// Percent-encodes `in` into `out`, which has room for 3 * in.size() bytes: every byte outside the
/// unreserved set (and '/' unless `keep_slash`) as %XX, uppercase hex. Returns the end of what was
/// written; `saw_non_ascii` becomes true when a byte >= 0x80 was met.
char* percent_encode(std::string_view in, bool keep_slash, char* out, bool& saw_non_ascii) noexcept;

#if defined(__SSE2__)
/// 0xff for each unreserved byte (and '/' when keep_slash), else 0. '-', '.', '/' and the digits
/// are one range (0x2d..0x39); letters of either case are one range after OR 0x20.
inline __m128i unreserved_bytes(__m128i bytes, bool keep_slash) noexcept {
    auto in_range = [](__m128i v, char low, char high) {
        return _mm_and_si128(_mm_cmpgt_epi8(v, _mm_set1_epi8(static_cast<char>(low - 1))),
                             _mm_cmplt_epi8(v, _mm_set1_epi8(static_cast<char>(high + 1))));
    };
    __m128i ok = in_range(bytes, '-', '9');
    if (!keep_slash) ok = _mm_andnot_si128(_mm_cmpeq_epi8(bytes, _mm_set1_epi8('/')), ok);
    ok = _mm_or_si128(ok, in_range(_mm_or_si128(bytes, _mm_set1_epi8(0x20)), 'a', 'z'));
    ok = _mm_or_si128(ok, _mm_cmpeq_epi8(bytes, _mm_set1_epi8('_')));
    ok = _mm_or_si128(ok, _mm_cmpeq_epi8(bytes, _mm_set1_epi8('~')));
    return ok;
}
#endif

/// Bit i set when text[i] (i < size <= 16) is not unreserved (nor '/' when `keep_slash`). Inline:
/// the verifier calls it once per 16 bytes of every request target.
inline unsigned reserved_positions(const char* text, std::size_t size, bool keep_slash) noexcept {
#if defined(__SSE2__)
    char padded[16];
    const char* block = text;
    if (size < 16) {
        std::memset(padded, 'a', sizeof padded);
        std::memcpy(padded, text, size);
        block = padded;
    }
    const __m128i ok =
        unreserved_bytes(_mm_loadu_si128(reinterpret_cast<const __m128i*>(block)), keep_slash);
    return ~static_cast<unsigned>(_mm_movemask_epi8(ok)) & 0xffffu;
#else
    const auto& safe = keep_slash ? unreserved_or_slash : unreserved;
    unsigned positions = 0;
    for (std::size_t i = 0; i < size; ++i) {
        if (!safe[static_cast<unsigned char>(text[i])]) positions |= 1u << i;
    }
    return positions;
#endif
}

}  // namespace sigv4::detail
