// SPDX-License-Identifier: Apache-2.0
#include "sigv4/encoding.hpp"

#include "detail/unreserved.hpp"

#include <array>
#include <cstdint>
#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace sigv4 {

namespace {

using detail::unreserved;
using detail::unreserved_or_slash;
constexpr char upper_hex[] = "0123456789ABCDEF";

int hex_value(char c) noexcept {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

constexpr char base64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

#if defined(__SSE2__)
using detail::unreserved_bytes;

// All 16 bytes unreserved?
bool all_unreserved(__m128i bytes, bool keep_slash) noexcept {
    return _mm_movemask_epi8(unreserved_bytes(bytes, keep_slash)) == 0xffff;
}
#endif

}  // namespace

namespace detail {

char* percent_encode(std::string_view in, bool keep_slash, char* out,
                     bool& saw_non_ascii) noexcept {
    // The hot path of every presign: 16 unreserved bytes at a time are copied as they are.
    const auto& safe = keep_slash ? unreserved_or_slash : unreserved;
    const char* p = in.data();
    const char* const end = p + in.size();
    unsigned high = 0;
    while (p < end) {
#if defined(__SSE2__)
        if (end - p >= 16) {
            __m128i block = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
            if (all_unreserved(block, keep_slash)) {
                _mm_storeu_si128(reinterpret_cast<__m128i*>(out), block);
                p += 16;
                out += 16;
                continue;
            }
        } else if (in.size() >= 16) {
            // The tail: the input's last 16 bytes (overlapping bytes already seen, which is fine
            // when they were unreserved too; otherwise the byte loop below takes over).
            const auto rest = static_cast<std::size_t>(end - p);
            if (all_unreserved(_mm_loadu_si128(reinterpret_cast<const __m128i*>(end - 16)),
                               keep_slash)) {
                std::memcpy(out, p, rest);
                out += rest;
                p = end;
                continue;
            }
        } else {
            // A short input, padded with an unreserved byte (reading past the input is not
            // allowed).
            const auto rest = static_cast<std::size_t>(end - p);
            char padded[16];
            std::memset(padded, 'a', sizeof padded);
            std::memcpy(padded, p, rest);
            if (all_unreserved(_mm_loadu_si128(reinterpret_cast<const __m128i*>(padded)),
                               keep_slash)) {
                std::memcpy(out, p, rest);
                out += rest;
                p = end;
                continue;
            }
        }
#endif
        // A byte at a time up to the next 16-byte boundary of the input (or its end).
        const char* stop = (end - p >= 16) ? p + 16 : end;
        for (; p < stop; ++p) {
            auto u = static_cast<unsigned char>(*p);
            high |= u;
            if (safe[u]) {
                *out++ = *p;
            } else {
                out[0] = '%';
                out[1] = upper_hex[u >> 4];
                out[2] = upper_hex[u & 0xf];
                out += 3;
            }
        }
    }
    if (high & 0x80u) saw_non_ascii = true;
    return out;
}

}  // namespace detail

void uri_encode(std::string_view in, bool keep_slash, std::string& out) {
    const std::size_t start = out.size();
    out.resize(start + 3 * in.size());
    bool saw_non_ascii = false;
    char* end = detail::percent_encode(in, keep_slash, out.data() + start, saw_non_ascii);
    out.resize(static_cast<std::size_t>(end - out.data()));
}

std::string uri_encode(std::string_view in, bool keep_slash) {
    std::string out;
    uri_encode(in, keep_slash, out);
    return out;
}

std::optional<std::string> percent_decode(std::string_view in) {
    std::string out;
    out.reserve(in.size());
    for (std::size_t i = 0; i < in.size(); ++i) {
        if (in[i] != '%') {
            out.push_back(in[i]);
            continue;
        }
        if (i + 2 >= in.size()) return std::nullopt;
        int hi = hex_value(in[i + 1]);
        int lo = hex_value(in[i + 2]);
        if (hi < 0 || lo < 0) return std::nullopt;
        out.push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
    }
    return out;
}

std::string hex_encode(std::span<const unsigned char> bytes) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string out;
    out.resize(bytes.size() * 2);
    for (std::size_t i = 0; i < bytes.size(); ++i) {
        out[2 * i] = digits[bytes[i] >> 4];
        out[2 * i + 1] = digits[bytes[i] & 0xf];
    }
    return out;
}

std::string base64_encode(std::span<const unsigned char> bytes) {
    std::string out;
    out.reserve((bytes.size() + 2) / 3 * 4);
    std::size_t i = 0;
    for (; i + 3 <= bytes.size(); i += 3) {
        std::uint32_t v =
            (std::uint32_t{bytes[i]} << 16) | (std::uint32_t{bytes[i + 1]} << 8) | bytes[i + 2];
        out.push_back(base64_alphabet[(v >> 18) & 63]);
        out.push_back(base64_alphabet[(v >> 12) & 63]);
        out.push_back(base64_alphabet[(v >> 6) & 63]);
        out.push_back(base64_alphabet[v & 63]);
    }
    if (std::size_t rest = bytes.size() - i; rest > 0) {
        std::uint32_t v = std::uint32_t{bytes[i]} << 16;
        if (rest == 2) v |= std::uint32_t{bytes[i + 1]} << 8;
        out.push_back(base64_alphabet[(v >> 18) & 63]);
        out.push_back(base64_alphabet[(v >> 12) & 63]);
        out.push_back(rest == 2 ? base64_alphabet[(v >> 6) & 63] : '=');
        out.push_back('=');
    }
    return out;
}

std::optional<std::string> base64_decode(std::string_view text) {
    if (text.size() % 4 != 0) return std::nullopt;
    auto value_of = [](char c) -> int {
        if (c >= 'A' && c <= 'Z') return c - 'A';
        if (c >= 'a' && c <= 'z') return c - 'a' + 26;
        if (c >= '0' && c <= '9') return c - '0' + 52;
        if (c == '+') return 62;
        if (c == '/') return 63;
        return -1;
    };
    std::string out;
    out.reserve(text.size() / 4 * 3);
    for (std::size_t i = 0; i < text.size(); i += 4) {
        bool last = i + 4 == text.size();
        int pads = 0;
        std::uint32_t v = 0;
        for (std::size_t j = 0; j < 4; ++j) {
            char c = text[i + j];
            if (c == '=') {
                // Padding only at the end of the last group, at most two.
                if (!last || j < 2) return std::nullopt;
                ++pads;
                v <<= 6;
                continue;
            }
            if (pads > 0) return std::nullopt;
            int d = value_of(c);
            if (d < 0) return std::nullopt;
            v = (v << 6) | static_cast<std::uint32_t>(d);
        }
        out.push_back(static_cast<char>((v >> 16) & 0xff));
        if (pads < 2) out.push_back(static_cast<char>((v >> 8) & 0xff));
        if (pads < 1) out.push_back(static_cast<char>(v & 0xff));
        // Non-canonical encodings (stray bits under the padding) are rejected.
        if ((pads == 1 && (v & 0xff) != 0) || (pads == 2 && (v & 0xffff) != 0)) return std::nullopt;
    }
    return out;
}

bool is_valid_utf8(std::string_view text) noexcept {
    std::size_t i = 0;
    const std::size_t n = text.size();
    while (i < n) {
        // ASCII runs, eight bytes at a time.
        while (i + 8 <= n) {
            std::uint64_t word;
            std::memcpy(&word, text.data() + i, 8);
            if (word & 0x8080808080808080ull) break;
            i += 8;
        }
        if (i >= n) break;
        auto c = static_cast<unsigned char>(text[i]);
        if (c < 0x80) {
            ++i;
            continue;
        }
        std::size_t len;
        std::uint32_t cp;
        if ((c & 0xe0) == 0xc0) {
            len = 2;
            cp = c & 0x1f;
        } else if ((c & 0xf0) == 0xe0) {
            len = 3;
            cp = c & 0x0f;
        } else if ((c & 0xf8) == 0xf0) {
            len = 4;
            cp = c & 0x07;
        } else {
            return false;
        }
        if (i + len > n) return false;
        for (std::size_t k = 1; k < len; ++k) {
            auto cc = static_cast<unsigned char>(text[i + k]);
            if ((cc & 0xc0) != 0x80) return false;
            cp = (cp << 6) | (cc & 0x3f);
        }
        if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000))
            return false;
        if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
        i += len;
    }
    return true;
}

}  // namespace sigv4
