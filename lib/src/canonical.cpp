// SPDX-License-Identifier: Apache-2.0
#include "detail/canonical.hpp"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include <algorithm>

#include "detail/crypto.hpp"
#include "sigv4/encoding.hpp"
#include "sigv4/hash.hpp"

namespace sigv4::detail {

namespace {

bool is_tchar(char c) noexcept {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
    switch (c) {
        case '!':
        case '#':
        case '$':
        case '%':
        case '&':
        case '\'':
        case '*':
        case '+':
        case '-':
        case '.':
        case '^':
        case '_':
        case '`':
        case '|':
        case '~':
            return true;
        default:
            return false;
    }
}

char to_lower(char c) noexcept {
    return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c;
}

bool is_space(char c) noexcept {
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

bool has_control_byte(std::string_view text) noexcept {
    return std::any_of(text.begin(), text.end(), [](char c) {
        auto u = static_cast<unsigned char>(c);
        return u < 0x20 || u == 0x7f;
    });
}

// Trims and collapses runs of whitespace (including folded line breaks) into one space.
void append_header_value(std::string_view value, std::string& out) {
    bool pending_space = false;
    bool started = false;
    for (char c : value) {
        if (is_space(c)) {
            pending_space = started;
            continue;
        }
        if (pending_space) out.push_back(' ');
        pending_space = false;
        started = true;
        out.push_back(c);
    }
}

// RFC 3986 remove_dot_segments, and repeated slashes collapsed (what AWS services do).
void append_normalized(std::string_view path, std::string& out) {
    std::vector<std::string_view> segments;
    bool trailing_slash = false;
    std::size_t pos = 0;
    while (pos <= path.size()) {
        std::size_t next = path.find('/', pos);
        if (next == std::string_view::npos) next = path.size();
        std::string_view segment = path.substr(pos, next - pos);
        bool last = next == path.size();
        if (segment == "..") {
            if (!segments.empty()) segments.pop_back();
            trailing_slash = last;
        } else if (segment == "." || segment.empty()) {
            trailing_slash = last;
        } else {
            segments.push_back(segment);
            trailing_slash = false;
        }
        pos = next + 1;
    }
    out.push_back('/');
    for (std::size_t i = 0; i < segments.size(); ++i) {
        if (i) out.push_back('/');
        out.append(segments[i]);
    }
    if (trailing_slash && !segments.empty()) out.push_back('/');
}

}  // namespace

bool is_token(std::string_view text) noexcept {
    return !text.empty() && std::all_of(text.begin(), text.end(), is_tchar);
}

bool is_scope_name(std::string_view text) noexcept {
    return !text.empty() && std::all_of(text.begin(), text.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
    });
}

bool is_lower_hex64(std::string_view text) noexcept {
    return text.size() == 64 && std::all_of(text.begin(), text.end(), [](char c) {
               return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
           });
}

bool iequals(std::string_view a, std::string_view b) noexcept {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (to_lower(a[i]) != to_lower(b[i])) return false;
    }
    return true;
}

bool is_plain_header_value(std::string_view value) noexcept {
    if (value.empty() || value.front() == ' ' || value.back() == ' ') return false;
    std::size_t at = 0;
    char previous = 0;
#if defined(__SSE2__)
    // 16 bytes at a time: none below 0x20 or from 0x7f up (signed: negative), no two spaces in a
    // row.
    unsigned space_before = 0;  // bit 0: the byte before the block is a space
    auto plain_block = [](const char* block, unsigned& spaces) {
        const __m128i bytes = _mm_loadu_si128(reinterpret_cast<const __m128i*>(block));
        const __m128i bad = _mm_or_si128(_mm_cmplt_epi8(bytes, _mm_set1_epi8(0x20)),
                                         _mm_cmpeq_epi8(bytes, _mm_set1_epi8(0x7f)));
        spaces =
            static_cast<unsigned>(_mm_movemask_epi8(_mm_cmpeq_epi8(bytes, _mm_set1_epi8(' '))));
        return _mm_movemask_epi8(bad) == 0;
    };
    for (; at + 16 <= value.size(); at += 16) {
        unsigned spaces = 0;
        if (!plain_block(value.data() + at, spaces) ||
            (spaces & ((spaces << 1) | space_before)) != 0)
            return false;
        space_before = spaces >> 15;
    }
    if (at > 0 && at < value.size()) {
        // The rest as the value's last 16 bytes: every pair of neighbours not yet seen is inside.
        unsigned spaces = 0;
        return plain_block(value.data() + value.size() - 16, spaces) &&
               (spaces & (spaces << 1)) == 0;
    }
    if (at > 0) previous = value[at - 1];
#endif
    for (char c : value.substr(at)) {
        auto u = static_cast<unsigned char>(c);
        if (u < 0x20 || u >= 0x7f || (c == ' ' && previous == ' ')) return false;
        previous = c;
    }
    return true;
}

void append_lower(std::string_view text, std::string& out) {
    for (char c : text) out.push_back(to_lower(c));
}

result<void> validate_request(const http_request& request) {
    if (!is_token(request.method)) {
        return fail(errc::invalid_method,
                    "the HTTP method '" + request.method + "' is not a token");
    }
    bool host_header = std::any_of(request.headers.begin(), request.headers.end(),
                                   [](const header& h) { return iequals(h.name, "host"); });
    if (request.host.empty() && !host_header) return fail(errc::invalid_host, "the host is empty");
    for (char c : request.host) {
        auto u = static_cast<unsigned char>(c);
        if (u <= 0x20 || u == 0x7f || c == '/' || c == '?' || c == '#' || c == '@' || c == '\\') {
            return fail(errc::invalid_host, "the host contains a character no host can have");
        }
    }
    if (request.path.empty() || request.path.front() != '/') {
        return fail(errc::invalid_path, "the path must start with '/'");
    }
    if (request.path.find('\0') != std::string::npos ||
        (request.path_is_encoded && has_control_byte(request.path))) {
        return fail(errc::invalid_path, "the path contains control bytes");
    }
    if (request.path_is_encoded && (request.path.find('?') != std::string::npos ||
                                    request.path.find('#') != std::string::npos)) {
        return fail(errc::invalid_path, "an encoded path cannot contain '?' or '#'");
    }
    for (const auto& q : request.query) {
        if (q.name.empty()) return fail(errc::invalid_query, "a query parameter has an empty name");
    }
    for (const auto& h : request.headers) {
        if (!is_token(h.name)) {
            return fail(errc::invalid_header_name,
                        "the header name '" + h.name + "' is not a token");
        }
        // Folded lines (CRLF followed by whitespace) are tolerated as in AWS's suite; bare CR/LF
        // or NUL would let a value smuggle another header.
        for (std::size_t i = 0; i < h.value.size(); ++i) {
            char c = h.value[i];
            if (c == '\0' ||
                ((c == '\r' || c == '\n') &&
                 (i + 1 >= h.value.size() || !(h.value[i + 1] == ' ' || h.value[i + 1] == '\t' ||
                                               (c == '\r' && h.value[i + 1] == '\n'))))) {
                return fail(errc::invalid_header_value,
                            "the value of header '" + h.name + "' contains CR, LF or NUL");
            }
        }
    }
    return {};
}

void append_wire_path(std::string_view path, bool path_is_encoded, std::string& out) {
    if (path_is_encoded) {
        out.append(path);
    } else {
        uri_encode(path, true, out);
    }
}

void append_canonical_uri(std::string_view path, bool path_is_encoded, bool normalize,
                          bool double_encode, std::string& out) {
    if (!normalize && !double_encode) {
        append_wire_path(path, path_is_encoded, out);
        return;
    }
    std::string wire;
    append_wire_path(path, path_is_encoded, wire);
    if (normalize) {
        std::string normalized;
        append_normalized(wire, normalized);
        wire.swap(normalized);
    }
    if (double_encode) {
        uri_encode(wire, true, out);
    } else {
        out.append(wire);
    }
}

void append_canonical_query(std::span<const query_view> params, std::string& out) {
    // Encoded pairs live in one per-thread buffer, so sorting moves only small offsets.
    struct encoded_pair {
        std::size_t name_at, name_size, value_at, value_size;
    };
    thread_local std::string buffer;
    thread_local std::vector<encoded_pair> pairs;
    buffer.clear();
    pairs.clear();
    for (const auto& p : params) {
        encoded_pair e{};
        e.name_at = buffer.size();
        uri_encode(p.name, false, buffer);
        e.name_size = buffer.size() - e.name_at;
        e.value_at = buffer.size();
        uri_encode(p.value, false, buffer);
        e.value_size = buffer.size() - e.value_at;
        pairs.push_back(e);
    }
    const std::string_view all = buffer;
    std::sort(pairs.begin(), pairs.end(), [all](const encoded_pair& a, const encoded_pair& b) {
        auto an = all.substr(a.name_at, a.name_size), bn = all.substr(b.name_at, b.name_size);
        if (an != bn) return an < bn;
        return all.substr(a.value_at, a.value_size) < all.substr(b.value_at, b.value_size);
    });
    for (std::size_t i = 0; i < pairs.size(); ++i) {
        if (i) out.push_back('&');
        out.append(all.substr(pairs[i].name_at, pairs[i].name_size));
        out.push_back('=');
        out.append(all.substr(pairs[i].value_at, pairs[i].value_size));
    }
}

void collect_canonical_headers(std::span<const header> headers, std::span<const header> extra,
                               std::span<const std::string> only, std::string_view host_fallback,
                               std::vector<canonical_header>& out) {
    // `out` is usually a per-thread scratch vector: its elements are reused, not reallocated.
    std::size_t used = 0;
    auto next_slot = [&]() -> canonical_header& {
        if (used == out.size()) out.emplace_back();
        canonical_header& slot = out[used++];
        slot.name.clear();
        slot.value.clear();
        return slot;
    };
    thread_local std::string lower;
    auto add = [&](const header& h) {
        lower.clear();
        append_lower(h.name, lower);
        if (lower == "authorization") return;
        if (!only.empty() && lower != "host" &&
            std::find(only.begin(), only.end(), lower) == only.end()) {
            return;
        }
        auto end = out.begin() + static_cast<std::ptrdiff_t>(used);
        auto it = std::find_if(out.begin(), end,
                               [&](const canonical_header& c) { return c.name == lower; });
        if (it == end) {
            canonical_header& slot = next_slot();
            slot.name = lower;
            append_header_value(h.value, slot.value);
        } else {
            it->value.push_back(',');
            append_header_value(h.value, it->value);
        }
    };
    for (const auto& h : headers) add(h);
    for (const auto& h : extra) add(h);
    auto end = out.begin() + static_cast<std::ptrdiff_t>(used);
    bool has_host =
        std::any_of(out.begin(), end, [](const canonical_header& c) { return c.name == "host"; });
    if (!has_host && !host_fallback.empty()) {
        canonical_header& slot = next_slot();
        slot.name = "host";
        slot.value.assign(host_fallback);
    }
    out.resize(used);
    std::sort(out.begin(), out.end(),
              [](const canonical_header& a, const canonical_header& b) { return a.name < b.name; });
}

void append_canonical_headers(std::span<const canonical_header> headers, std::string& out) {
    for (const auto& h : headers) {
        out.append(h.name);
        out.push_back(':');
        out.append(h.value);
        out.push_back('\n');
    }
}

void append_signed_header_names(std::span<const canonical_header> headers, std::string& out) {
    for (std::size_t i = 0; i < headers.size(); ++i) {
        if (i) out.push_back(';');
        out.append(headers[i].name);
    }
}

void append_scope(std::string_view scope_date, std::string_view region, std::string_view service,
                  std::string& out) {
    out.append(scope_date);
    out.push_back('/');
    out.append(region);
    out.push_back('/');
    out.append(service);
    out.append("/aws4_request");
}

void append_string_to_sign_head(std::string_view amz_date, std::string_view scope,
                                std::string& out) {
    out.append(algorithm);
    out.push_back('\n');
    out.append(amz_date);
    out.push_back('\n');
    out.append(scope);
    out.push_back('\n');
}

void append_string_to_sign(std::string_view amz_date, std::string_view scope,
                           std::string_view canonical_request, std::string& out) {
    append_string_to_sign_head(amz_date, scope, out);
    auto digest = sha256_of(canonical_request);
    char hex[64];
    hex32(digest.data(), hex);
    out.append(hex, 64);
}

}  // namespace sigv4::detail
