// SPDX-License-Identifier: Apache-2.0
#include "sigv4/verify.hpp"

#include <openssl/crypto.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cstring>
#include <limits>

#include "detail/canonical.hpp"
#include "detail/crypto.hpp"
#include "detail/unreserved.hpp"
#include "detail/writer.hpp"
#include "sigv4/encoding.hpp"
#include "sigv4/hash.hpp"
#include "sigv4/signer.hpp"

#if defined(__GNUC__)
#define SIGV4_ALWAYS_INLINE __attribute__((always_inline))
// Out of the verifier's hot path: cache misses and rare shapes (keeps the hot code compact).
#define SIGV4_COLD __attribute__((noinline, cold))
#else
#define SIGV4_ALWAYS_INLINE
#define SIGV4_COLD
#endif

namespace sigv4 {

namespace {

using std::chrono::seconds;

// Client text quoted in a message: at most 64 bytes, control and non-ASCII bytes as '?', so an
// error that ends up in a log can neither flood it nor forge lines.
std::string quoted(std::string_view text) {
    constexpr std::size_t limit = 64;
    std::string out;
    for (char c : text.substr(0, limit)) {
        auto u = static_cast<unsigned char>(c);
        out.push_back(u < 0x20 || u >= 0x7f ? '?' : c);
    }
    if (text.size() > limit) out.append("...");
    return out;
}

unexpected<verify_error> reject(errc code, std::string message) {
    return unexpected<verify_error>{verify_error{code, std::move(message), {}, {}}};
}

// One query parameter. `name` and `value` are decoded; they view the raw text when it has no
// escape (the usual case) and the storage otherwise. The vector holding these is reserved up front
// and never grows, so the views stay valid.
struct raw_param {
    std::string_view raw_name;
    std::string_view raw_value;
    std::string_view name;
    std::string_view value;
    std::string name_storage;
    std::string value_storage;
};

int hex_digit(char c) noexcept {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

// percent_decode() appending to `out`, runs between escapes at once (this runs for every
// parameter). False for a truncated or non-hex escape.
bool append_decoded(std::string_view in, std::string& out) {
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

bool decode_into(std::string_view in, std::string& out) {
    out.clear();
    return append_decoded(in, out);
}

using detail::is_unreserved;

bool is_upper_hex(char c) noexcept { return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F'); }

// Whether the escape at raw[i] ('%') is canonical: two uppercase hex digits encoding a byte that
// percent-encoding would encode.
bool is_canonical_escape(std::string_view raw, std::size_t i, bool keep_slash) noexcept {
    if (raw[i] != '%' || i + 2 >= raw.size() || !is_upper_hex(raw[i + 1]) || !is_upper_hex(raw[i + 2])) return false;
    char decoded = static_cast<char>(hex_digit(raw[i + 1]) * 16 + hex_digit(raw[i + 2]));
    return !(is_unreserved(decoded) || (keep_slash && decoded == '/'));
}

// True when uri_encode(percent_decode(raw), keep_slash) == raw, so the raw text can go into the
// canonical request as it is (what every SigV4 client sends). 16 bytes at a time: only the bytes
// that are not unreserved (which must all be '%' of canonical escapes) are looked at one by one.
bool is_canonical_encoding(std::string_view raw, bool keep_slash) noexcept {
    auto escapes_are_canonical = [&](unsigned others, std::size_t base) {
        for (; others != 0; others &= others - 1) {
            if (!is_canonical_escape(raw, base + static_cast<std::size_t>(std::countr_zero(others)), keep_slash)) {
                return false;
            }
        }
        return true;
    };
    std::size_t base = 0;
    for (; base + 16 <= raw.size(); base += 16) {
        if (!escapes_are_canonical(detail::reserved_positions(raw.data() + base, 16, keep_slash), base)) return false;
    }
    if (base == raw.size()) return true;
    // The last bytes: read as the text's last 16 when it has that many (no copy).
    const std::size_t tail = raw.size() - base;
    const unsigned others =
        raw.size() >= 16 ? detail::reserved_positions(raw.data() + raw.size() - 16, 16, keep_slash) >> (16 - tail)
                         : detail::reserved_positions(raw.data() + base, tail, keep_slash);
    return escapes_are_canonical(others, base);
}

// Decodes `raw` into a view: `raw` itself when it has no escape, else `storage`. False for a
// malformed escape.
bool decode_view(std::string_view raw, std::string& storage, std::string_view& decoded) {
    if (raw.find('%') == std::string_view::npos) {
        decoded = raw;
        return true;
    }
    if (!decode_into(raw, storage)) return false;
    decoded = storage;
    return true;
}

result<std::vector<raw_param>, verify_error> parse_query(std::string_view query) {
    std::vector<raw_param> params;
    params.reserve(static_cast<std::size_t>(std::count(query.begin(), query.end(), '&')) + 1);
    std::size_t pos = 0;
    while (pos < query.size()) {
        std::size_t end = query.find('&', pos);
        if (end == std::string_view::npos) end = query.size();
        std::string_view part = query.substr(pos, end - pos);
        pos = end + 1;
        if (part.empty()) continue;
        std::size_t eq = part.find('=');
        raw_param& param = params.emplace_back();
        param.raw_name = part.substr(0, eq);
        param.raw_value = eq == std::string_view::npos ? std::string_view{} : part.substr(eq + 1);
        if (!decode_view(param.raw_name, param.name_storage, param.name) ||
            !decode_view(param.raw_value, param.value_storage, param.value)) {
            return reject(errc::invalid_argument, "the query string has a malformed percent escape");
        }
    }
    return params;
}

const header* find_header(const std::vector<header>& headers, std::string_view name, int* count = nullptr) {
    const header* found = nullptr;
    int n = 0;
    for (const auto& h : headers) {
        if (detail::iequals(h.name, name)) {
            if (!found) found = &h;
            ++n;
        }
    }
    if (count) *count = n;
    return found;
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

// The parsed authentication, whichever way it came.
struct auth_parts {
    bool query = true;
    std::string_view credential;
    std::string_view amz_date;
    std::string_view signed_headers;
    std::string_view signature;
    std::string_view token;
    bool has_token = false;
    seconds expires{0};
};

// Views into a credential; left uninitialized until split_scope fills them (no zero-fill per request).
struct scope_parts {
    std::string_view access_key_id, date, region, service, terminator;
    scope_parts() noexcept {}
};

bool split_scope(std::string_view credential, scope_parts& out) {
    // Each part is non-empty and ends at the next '/'; the fifth ends the credential.
    auto next_part = [&credential](std::string_view& part) {
        const std::size_t end = credential.find('/');
        if (end == 0 || end == std::string_view::npos) return false;
        part = credential.substr(0, end);
        credential.remove_prefix(end + 1);
        return true;
    };
    if (!next_part(out.access_key_id) || !next_part(out.date) || !next_part(out.region) || !next_part(out.service)) {
        return false;
    }
    if (credential.empty() || credential.find('/') != std::string_view::npos) return false;
    out.terminator = credential;
    return true;
}

bool valid_signed_header_list(std::string_view list, std::vector<std::string>& out) {
    out.clear();
    std::size_t pos = 0;
    while (pos <= list.size()) {
        std::size_t end = list.find(';', pos);
        if (end == std::string_view::npos) end = list.size();
        std::string_view name = list.substr(pos, end - pos);
        if (!detail::is_token(name)) return false;
        if (std::any_of(name.begin(), name.end(), [](char c) { return c >= 'A' && c <= 'Z'; })) return false;
        out.emplace_back(name);
        pos = end + 1;
    }
    return std::is_sorted(out.begin(), out.end()) &&
           std::adjacent_find(out.begin(), out.end()) == out.end();
}

// Whether `name` is an x-amz-* header that is not among the signed names (S3 refuses them).
// x-amz-security-token never needs signing; x-amz-content-sha256 not with query auth.
bool is_unsigned_amz_header(std::string_view name, const std::vector<std::string>& signed_names, bool query_auth) {
    if (name.size() < 6 || !detail::iequals(name.substr(0, 6), "x-amz-") ||
        detail::iequals(name, "x-amz-security-token") ||
        (query_auth && detail::iequals(name, "x-amz-content-sha256"))) {
        return false;
    }
    return std::none_of(signed_names.begin(), signed_names.end(),
                        [&](const std::string& signed_name) { return detail::iequals(name, signed_name); });
}

// The first x-amz-* header that is not among the signed names, or nullptr.
const header* unsigned_amz_header(const std::vector<header>& headers, const std::vector<std::string>& signed_names,
                                  bool query_auth) {
    for (const auto& h : headers) {
        if (is_unsigned_amz_header(h.name, signed_names, query_auth)) return &h;
    }
    return nullptr;
}

// The value of a non-empty run of decimal digits (no sign, nothing else); nullopt otherwise, or
// when it does not fit.
std::optional<long long> decimal_number(std::string_view text) noexcept {
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

bool is_header_space(char c) noexcept { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

// Trims the value and collapses each run of whitespace (folded lines too) into one space.
void append_canonical_header_value(std::string_view value, std::string& out) {
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

bool is_streaming_payload(std::string_view value) {
    return value.starts_with("STREAMING-") && detail::is_token(value);
}


// ---------------------------------------------------------------------------------------------
// The direct path for what servers see most: a well-formed presigned S3 URL with a good
// signature. It only ever *proves success*; anything unusual or wrong (an error of any kind,
// re-encoding needed, unknown X-Amz-* parameters) makes it step aside, and the full verifier
// below then decides, with its exact error codes and messages.

result<verified_request, verify_error> verify_fully(const received_request& request, const key_lookup& keys,
                                                    const verify_options& options);

// The X-Amz-* parameters of query auth, in the canonical query's order (X-Amz-Security-Token sorts
// before X-Amz-SignedHeaders); the signature, never part of the canonical query, last.
enum query_slot { algorithm_slot, credential_slot, date_slot, expires_slot, token_slot, signed_headers_slot,
                  signature_slot, slot_count };

// Whether `rest` starts with `name` and '=' (memcmp of a constant length: a few loads, no call).
template <std::size_t size_with_nul>
bool starts_with_assignment(std::string_view rest, const char (&name)[size_with_nul]) noexcept {
    constexpr std::size_t size = size_with_nul - 1;
    return rest.size() > size && rest[size] == '=' && std::memcmp(rest.data(), name, size) == 0;
}

// Which X-Amz-* parameter a query part is, given `rest`, the part after "X-Amz-" (not empty):
// the slot and the name's size when it is a known name followed by '='; slot_count otherwise.
query_slot known_assignment(std::string_view rest, std::size_t& name_size) noexcept {
    auto found = [&name_size](query_slot slot, std::size_t size) {
        name_size = size;
        return slot;
    };
    // Tested in the order SDKs write them (conditional branches predict better than a jump table).
    if (starts_with_assignment(rest, "Algorithm")) return found(algorithm_slot, 9);
    if (starts_with_assignment(rest, "Credential")) return found(credential_slot, 10);
    if (starts_with_assignment(rest, "Date")) return found(date_slot, 4);
    if (starts_with_assignment(rest, "Expires")) return found(expires_slot, 7);
    if (starts_with_assignment(rest, "SignedHeaders")) return found(signed_headers_slot, 13);
    if (starts_with_assignment(rest, "Signature")) return found(signature_slot, 9);
    if (starts_with_assignment(rest, "Security-Token")) return found(token_slot, 14);
    return slot_count;
}

// Decodes 64 lowercase hex digits (how SigV4 writes a signature) into 32 bytes; false for anything
// else, uppercase digits included (they would not match the signature S3 computes either).
bool decode_signature(const char* hex, unsigned char out[32]) noexcept {
#if defined(__SSE2__)
    for (int half = 0; half < 2; ++half) {
        __m128i bytes[2];
        for (int i = 0; i < 2; ++i) {
            const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(hex + 32 * half + 16 * i));
            const __m128i digit = _mm_and_si128(_mm_cmpgt_epi8(v, _mm_set1_epi8('0' - 1)),
                                                _mm_cmplt_epi8(v, _mm_set1_epi8('9' + 1)));
            const __m128i letter = _mm_and_si128(_mm_cmpgt_epi8(v, _mm_set1_epi8('a' - 1)),
                                                 _mm_cmplt_epi8(v, _mm_set1_epi8('f' + 1)));
            if (_mm_movemask_epi8(_mm_or_si128(digit, letter)) != 0xffff) return false;
            const __m128i offset = _mm_or_si128(_mm_and_si128(digit, _mm_set1_epi8('0')),
                                                _mm_andnot_si128(digit, _mm_set1_epi8('a' - 10)));
            const __m128i nibbles = _mm_sub_epi8(v, offset);
            // Each 16-bit lane holds (high nibble, low nibble) in memory order: byte = high * 16 + low.
            bytes[i] = _mm_or_si128(_mm_slli_epi16(_mm_and_si128(nibbles, _mm_set1_epi16(0x00ff)), 4),
                                    _mm_srli_epi16(nibbles, 8));
        }
        _mm_storeu_si128(reinterpret_cast<__m128i*>(out + 16 * half), _mm_packus_epi16(bytes[0], bytes[1]));
    }
    return true;
#else
    auto nibble = [](char c) { return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1; };
    for (int i = 0; i < 32; ++i) {
        const int high = nibble(hex[2 * i]);
        const int low = nibble(hex[2 * i + 1]);
        if (high < 0 || low < 0) return false;
        out[i] = static_cast<unsigned char>(high * 16 + low);
    }
    return true;
#endif
}

// What the last well-formed X-Amz-Credential and X-Amz-Date established, per thread, keyed on
// their raw text and the expected region and service: requests signed by one key in the same
// second share it. The signing key has absorbed the string-to-sign head
// "AWS4-HMAC-SHA256\nDATE\nSCOPE\n" and belongs to `secret`.
struct scope_cache {
    bool scope_valid = false;
    std::string raw_credential;
    std::string raw_date;
    std::string region;
    std::string service;
    std::string access_key_id;
    std::string to_sign_head;
    std::string scope_date;
    sys_seconds signed_at{};
    bool key_valid = false;
    secret_key secret;  // wiped with the cache
    detail::hmac_sha256_key key_after_head;

    [[nodiscard]] bool holds(std::string_view credential, std::string_view date, const verify_options& options) const {
        // The date first: 16 bytes compared inline, and what differs from one second to the next.
        return scope_valid && date.size() == 16 && raw_date.size() == 16 &&
               std::memcmp(raw_date.data(), date.data(), 16) == 0 && raw_credential == credential &&
               region == options.region && service == options.service;
    }

    // Checks the raw credential and date against the options; fills the cache when they hold.
    SIGV4_COLD bool fill(std::string_view credential, std::string_view date, const verify_options& options,
              std::string& decode_storage) {
        scope_valid = false;
        key_valid = false;
        std::string_view decoded_credential;
        if (!is_canonical_encoding(credential, false) ||
            !decode_view(credential, decode_storage, decoded_credential)) {
            return false;
        }
        scope_parts scope;
        if (!split_scope(decoded_credential, scope) || scope.terminator != "aws4_request") return false;
        if (date.size() != 16 || scope.date != date.substr(0, 8) || scope.region != options.region ||
            scope.service != options.service) {
            return false;
        }
        auto parsed = parse_amz_date(date);
        if (!parsed) return false;
        raw_credential.assign(credential);
        raw_date.assign(date);
        region.assign(options.region);
        service.assign(options.service);
        access_key_id.assign(scope.access_key_id);
        scope_date.assign(scope.date);
        to_sign_head.clear();
        detail::append_string_to_sign_head(date, decoded_credential.substr(scope.access_key_id.size() + 1),
                                           to_sign_head);
        signed_at = *parsed;
        scope_valid = true;
        return true;
    }

    const detail::hmac_sha256_key& key_for(const secret_key& key) {
        if (!key_valid || !secret.equals(key)) {
            key_after_head.assign(detail::signing_key(key, scope_date, region, service));
            key_after_head.absorb(to_sign_head.data(), to_sign_head.size());
            secret = key;
            key_valid = true;
        }
        return key_after_head;
    }
};

// The last well-formed X-Amz-SignedHeaders, per thread, keyed on its raw text: the names are
// lowercase tokens, sorted, unique, and include host.
struct signed_headers_cache {
    bool valid = false;
    std::string raw;
    std::string list;  // decoded: "host;x-amz-meta-a"
    std::vector<std::string> names;

    [[nodiscard]] bool holds(std::string_view raw_value) const { return valid && raw == raw_value; }

    SIGV4_COLD bool fill(std::string_view raw_value) {
        valid = false;
        list.clear();
        if (!is_canonical_encoding(raw_value, false) || !append_decoded(raw_value, list) ||
            !valid_signed_header_list(list, names) || std::find(names.begin(), names.end(), "host") == names.end()) {
            return false;
        }
        raw.assign(raw_value);
        valid = true;
        return true;
    }
};

// The canonical encoding of the last expected session token, per thread: a raw X-Amz-Security-Token
// equal to it is canonical and decodes to the expected token, so it is neither scanned nor decoded.
struct encoded_token_cache {
    std::string expected;
    std::string encoded;

    /// `token` is not empty.
    const std::string& encoding_of(const std::string& token) {
        if (expected.size() != token.size() ||
            !detail::constant_time_equals(expected.data(), token.data(), token.size())) {
            fill(token);
        }
        return encoded;
    }

    SIGV4_COLD void fill(const std::string& token) {
        encoded.resize(3 * token.size());
        bool saw_non_ascii = false;
        const char* end = detail::percent_encode(token, false, encoded.data(), saw_non_ascii);
        encoded.resize(static_cast<std::size_t>(end - encoded.data()));
        expected = token;
    }
};

// Raw (name, value) query parameters, already in canonical encoding.
using raw_params = std::vector<std::pair<std::string_view, std::string_view>>;

// A parameter that is not X-Amz-*: split at its first '='; false unless both halves are in
// canonical encoding.
SIGV4_COLD bool take_user_param(std::string_view part, raw_params& user) {
    const std::size_t equals = part.find('=');
    const std::string_view name = part.substr(0, equals);
    const std::string_view value = equals == std::string_view::npos ? std::string_view{} : part.substr(equals + 1);
    if (!is_canonical_encoding(name, false) || !is_canonical_encoding(value, false)) return false;
    user.emplace_back(name, value);
    return true;
}

// Where the signed X-Amz-* parameters lie in the raw query, in slot order.
struct signed_parts {
    std::string_view raw_query;
    const std::size_t* begin;
    const std::size_t* end;
    bool with_token;
};

// Writes the signed X-Amz-* parameters in canonical order ('&' first unless `first`); adjacent
// ones in the query are copied as one run ("A=1&B=2" in the query is "A=1&B=2" here).
SIGV4_ALWAYS_INLINE inline void put_signed_parameters(const signed_parts& parts, detail::writer& out, bool first) {
    std::size_t run_begin = std::string_view::npos;
    std::size_t run_end = 0;
    auto put_run = [&]() SIGV4_ALWAYS_INLINE {
        if (!first) out.put('&');
        first = false;
        out.put({parts.raw_query.data() + run_begin, run_end - run_begin});
    };
    for (int slot = algorithm_slot; slot < signature_slot; ++slot) {
        if (slot == token_slot && !parts.with_token) continue;
        if (run_begin != std::string_view::npos && parts.begin[slot] == run_end + 1) {
            run_end = parts.end[slot];
            continue;
        }
        if (run_begin != std::string_view::npos) put_run();
        run_begin = parts.begin[slot];
        run_end = parts.end[slot];
    }
    put_run();
}

// The canonical query when the request has parameters of its own: sorted by name, the user's
// before "X-Amz-", the signed X-Amz-* ones (contiguous in sorted order: unknown X-Amz-* names
// stepped aside), the user's after.
SIGV4_COLD void put_query_with_user_parameters(const signed_parts& parts, const raw_params& user_in_order,
                                               raw_params& sorted, detail::writer& out) {
    sorted.assign(user_in_order.begin(), user_in_order.end());  // facts keep the request's order
    std::sort(sorted.begin(), sorted.end());
    bool first = true;
    auto put_user = [&](const std::pair<std::string_view, std::string_view>& param) {
        if (!first) out.put('&');
        first = false;
        out.put(param.first);
        out.put('=');
        out.put(param.second);
    };
    auto next = sorted.begin();
    for (; next != sorted.end() && next->first < "X-Amz-"; ++next) put_user(*next);
    put_signed_parameters(parts, out, first);
    first = false;
    for (; next != sorted.end(); ++next) put_user(*next);
}

// A header value with its whitespace trimmed and folded, for the rare value that needs it.
SIGV4_COLD void put_folded_header_value(std::string_view value, detail::writer& out) {
    std::string folded;
    append_canonical_header_value(value, folded);
    out.put(folded);
}

struct direct_scratch {
    encoded_token_cache token;
    std::string decoded;  // a decoded credential, while the scope cache is filled
    std::string canonical;
    scope_cache scope;
    signed_headers_cache signed_headers;
    raw_params user;
    raw_params sorted_user;
};

bool verify_query_directly(const received_request& request, const key_lookup& keys, const verify_options& options,
                           verified_request& facts) {
    if (!options.s3 || !keys || request.target.empty() || request.target.front() != '/') return false;
    if (!detail::is_token(request.method)) return false;
    const std::string_view target = request.target;
    const std::size_t question = target.find('?');
    if (question == std::string_view::npos) return false;
    const std::string_view raw_path = target.substr(0, question);
    const std::string_view raw_query = target.substr(question + 1);
    if (raw_query.size() < 16 || !is_canonical_encoding(raw_path, true)) return false;

    thread_local direct_scratch scratch;
    scratch.user.clear();
    // Raw views of the X-Amz-* values; a trivial type so the array is not zero-filled per call.
    struct raw_view {
        const char* at;
        std::size_t size;
        operator std::string_view() const noexcept { return {at, size}; }
    };
    raw_view slots[slot_count];
    bool present[slot_count] = {};

    // Split into parameters, left to right. An X-Amz-* parameter is known by its name and '=';
    // a value whose length is known (fixed, or that of the cached credential or signed headers,
    // or a run of digits) is taken without a search for the next '&' when a '&' or the end
    // follows it: a value that swallowed a '&' fails its own check below (no check accepts a
    // '&'), and the full verifier decides. Any other parameter is split at its first '='. Every
    // value is checked for canonical encoding where it is used (or matches a cached value that
    // was). Where each X-Amz-* parameter's "name=value" lies in the query is kept: being
    // canonical, the raw text is copied as it is.
    const char* const query = raw_query.data();
    const std::size_t query_size = raw_query.size();
    auto ampersand_from = [query, query_size](std::size_t from) SIGV4_ALWAYS_INLINE {
        const void* found = std::memchr(query + from, '&', query_size - from);
        return found ? static_cast<std::size_t>(static_cast<const char*>(found) - query) : query_size;
    };
    std::size_t part_begin[slot_count];
    std::size_t part_end[slot_count];
    for (std::size_t part_start = 0; part_start < query_size;) {
        const std::string_view rest(query + part_start, query_size - part_start);
        std::size_t name_size = 0;
        const query_slot slot = rest.size() > 6 && std::memcmp(rest.data(), "X-Amz-", 6) == 0
                                    ? known_assignment({rest.data() + 6, rest.size() - 6}, name_size)
                                    : slot_count;
        std::size_t end;
        if (slot != slot_count) {
            if (present[slot]) return false;
            const std::size_t value_at = part_start + 6 + name_size + 1;
            // The length the value has when it is what the caches hold (credential, signed
            // headers) or has a fixed length; 0 when unknown.
            std::size_t expected = 0;
            switch (slot) {
                case algorithm_slot:
                case date_slot: expected = 16; break;
                case signature_slot: expected = 64; break;
                case credential_slot: expected = scratch.scope.scope_valid ? scratch.scope.raw_credential.size() : 0; break;
                case signed_headers_slot:
                    expected = scratch.signed_headers.valid ? scratch.signed_headers.raw.size() : 0;
                    break;
                case expires_slot:
                    while (value_at + expected < query_size && query[value_at + expected] >= '0' &&
                           query[value_at + expected] <= '9') {
                        ++expected;
                    }
                    break;
                default: break;
            }
            end = expected != 0 && value_at + expected <= query_size &&
                          (value_at + expected == query_size || query[value_at + expected] == '&')
                      ? value_at + expected
                      : ampersand_from(value_at);
            present[slot] = true;
            slots[slot] = {query + value_at, end - value_at};
            part_begin[slot] = part_start;
            part_end[slot] = end;
        } else if (rest.size() > 5 && std::memcmp(rest.data(), "X-Amz-", 6) == 0) {
            return false;  // an X-Amz-* parameter the direct path does not know, or without '='
        } else {
            end = ampersand_from(part_start);
            // "&&" is an empty part, skipped as the parser does.
            if (end != part_start && !take_user_param({query + part_start, end - part_start}, scratch.user)) {
                return false;
            }
        }
        part_start = end + 1;
    }
    for (int slot = 0; slot < slot_count; ++slot) {
        if (!present[slot] && slot != token_slot) return false;
    }
    unsigned char given_signature[32];
    if (slots[algorithm_slot].size != 16 || std::memcmp(slots[algorithm_slot].at, "AWS4-HMAC-SHA256", 16) != 0 ||
        slots[signature_slot].size != 64 ||
        !decode_signature(slots[signature_slot].at, given_signature)) {
        return false;
    }

    // Scope, date, expiry and time.
    scope_cache& scope = scratch.scope;
    if (!scope.holds(slots[credential_slot], slots[date_slot], options) &&
        !scope.fill(slots[credential_slot], slots[date_slot], options, scratch.decoded)) {
        return false;
    }
    const sys_seconds signed_at = scope.signed_at;
    const auto expires = decimal_number(slots[expires_slot]);
    if (!expires || *expires < 1 || *expires > max_expiry.count()) return false;
    const sys_seconds now = options.now ? *options.now : sigv4::now();
    const sys_seconds expires_at = signed_at + seconds{*expires};
    if (signed_at > now + options.max_skew || now >= expires_at) return false;

    // Signed headers, and every x-amz-* header (but the token) among them.
    signed_headers_cache& signed_headers = scratch.signed_headers;
    if (!signed_headers.holds(slots[signed_headers_slot]) && !signed_headers.fill(slots[signed_headers_slot])) {
        return false;
    }
    const std::vector<std::string>& signed_names = signed_headers.names;
    for (const auto& h : request.headers) {
        // Only names starting with 'a' or 'x' can be Authorization or x-amz-*.
        const char first = static_cast<char>(h.name.empty() ? 0 : h.name.front() | 0x20);
        if (first == 'a' && h.name.size() == 13 && detail::iequals(h.name, "authorization")) return false;
        if (first == 'x' && is_unsigned_amz_header(h.name, signed_names, true)) return false;
    }

    // Key and token.
    const known_key* key = keys(scope.access_key_id);
    if (!key || key->secret.empty()) return false;
    if (!key->session_token.empty() || present[token_slot]) {
        if (!present[token_slot] || key->session_token.empty()) return false;
        const std::string& expected = scratch.token.encoding_of(key->session_token);
        if (expected.size() != slots[token_slot].size ||
            !detail::constant_time_equals(expected.data(), slots[token_slot].at, expected.size())) {
            return false;
        }
    }

    // The canonical request.
    std::size_t headers_bound = 0;
    for (const auto& h : request.headers) headers_bound += h.name.size() + h.value.size() + 2;
    const std::size_t bound = request.method.size() + raw_path.size() + raw_query.size() + headers_bound +
                              2 * signed_headers.list.size() + scratch.user.size() +
                              detail::unsigned_payload.size() + 16;
    if (scratch.canonical.size() < bound) scratch.canonical.resize(bound);
    detail::writer out{scratch.canonical.data()};
    out.put(request.method);
    out.put('\n');
    out.put(raw_path);
    out.put('\n');
    const signed_parts parts{raw_query, part_begin, part_end, present[token_slot] && options.session_token_signed};
    if (scratch.user.empty()) {
        put_signed_parameters(parts, out, true);
    } else {
        put_query_with_user_parameters(parts, scratch.user, scratch.sorted_user, out);
    }
    out.put('\n');
    for (const auto& name : signed_names) {
        out.put(name);
        out.put(':');
        bool found = false;
        for (const auto& h : request.headers) {
            if (h.name.size() != name.size() || !detail::iequals(h.name, name)) continue;
            if (found) out.put(',');
            found = true;
            if (h.value.empty() || detail::is_plain_header_value(h.value)) {
                out.put(h.value);
            } else {
                put_folded_header_value(h.value, out);
            }
        }
        if (!found) return false;
        out.put('\n');
    }
    out.put('\n');
    out.put(signed_headers.list);
    out.put('\n');
    out.put(detail::unsigned_payload);
    const std::string_view canonical(scratch.canonical.data(),
                                     static_cast<std::size_t>(out.at - scratch.canonical.data()));

    // String to sign = algorithm, date, scope, hash; the key has absorbed all but the hash.
    const auto digest = sha256_of(canonical);
    char hex[64];
    detail::hex32(digest.data(), hex);
    unsigned char mac[32];
    SHA256_CTX mac_state;
    scope.key_for(key->secret).compute(hex, sizeof hex, mac, mac_state);
    if (CRYPTO_memcmp(mac, given_signature, sizeof mac) != 0) [[unlikely]] {
        // The right signature for a request that does not carry it stays secret. (On a match it
        // is what the request carries: nothing to wipe.)
        OPENSSL_cleanse(mac, sizeof mac);
        OPENSSL_cleanse(&mac_state, sizeof mac_state);
        return false;
    }

    facts.kind = verified_request::auth::query;
    facts.access_key_id.assign(scope.access_key_id);
    facts.signed_headers = signed_names;  // copy-assignment: reuses the strings facts already has
    facts.signed_at = signed_at;
    facts.expires_at = expires_at;
    if (!decode_into(raw_path, facts.path)) return false;
    facts.query.resize(scratch.user.size());
    for (std::size_t i = 0; i < scratch.user.size(); ++i) {
        if (!decode_into(scratch.user[i].first, facts.query[i].name) ||
            !decode_into(scratch.user[i].second, facts.query[i].value)) {
            return false;
        }
    }
    facts.payload_hash.assign(detail::unsigned_payload);
    return true;
}

}  // namespace

result<verified_request, verify_error> verify(const received_request& request, const key_lookup& keys,
                                              const verify_options& options) {
    // One return of one named object: built in the caller's slot.
    result<verified_request, verify_error> verified{std::in_place};
    if (!verify_query_directly(request, keys, options, *verified)) verified = verify_fully(request, keys, options);
    return verified;
}

result<void, verify_error> verify(const received_request& request, const key_lookup& keys,
                                  const verify_options& options, verified_request& verified) {
    if (verify_query_directly(request, keys, options, verified)) return {};
    auto fully = verify_fully(request, keys, options);
    if (!fully) return unexpected<verify_error>{std::move(fully).error()};
    verified = std::move(*fully);
    return {};
}

namespace {

result<verified_request, verify_error> verify_fully(const received_request& request, const key_lookup& keys,
                                                    const verify_options& options) {
    const errc malformed_query = errc::authorization_query_parameters_error;
    if (!detail::is_token(request.method)) return reject(errc::invalid_argument, "the method is not a token");
    std::string_view target = request.target;
    if (target.empty() || target.front() != '/') {
        return reject(errc::invalid_argument, "the request target must start with '/'");
    }
    std::size_t question = target.find('?');
    std::string_view raw_path = target.substr(0, question);
    std::string_view raw_query = question == std::string_view::npos ? std::string_view{} : target.substr(question + 1);
    std::optional<std::string> decoded_path{std::in_place};
    if (!decode_into(raw_path, *decoded_path)) {
        return reject(errc::invalid_argument, "the path has a malformed percent escape");
    }
    auto parsed_query = parse_query(raw_query);
    if (!parsed_query) return unexpected{std::move(parsed_query).error()};
    const std::vector<raw_param>& params = *parsed_query;

    auto count_param = [&](std::string_view name, const raw_param** first) {
        int n = 0;
        *first = nullptr;
        for (const auto& p : params) {
            if (p.name == name) {
                if (!*first) *first = &p;
                ++n;
            }
        }
        return n;
    };

    int authorization_count = 0;
    const header* authorization = find_header(request.headers, "authorization", &authorization_count);
    const raw_param* algorithm_param = nullptr;
    const int algorithm_count = count_param("X-Amz-Algorithm", &algorithm_param);
    if (authorization && algorithm_count > 0) {
        return reject(errc::invalid_argument, "only one auth mechanism allowed; only the X-Amz-Algorithm query "
                                              "parameter or the Authorization header should be specified");
    }
    if (!authorization && algorithm_count == 0) {
        return reject(errc::missing_security_header, "the request carries no SigV4 authentication");
    }

    auth_parts auth;
    const sys_seconds now = (options.now ? *options.now : sigv4::now());

    if (algorithm_count > 0) {
        auth.query = true;
        const char* required[] = {"X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-Expires",
                                  "X-Amz-SignedHeaders", "X-Amz-Signature"};
        const raw_param* found[6];
        for (int i = 0; i < 6; ++i) {
            int n = count_param(required[i], &found[i]);
            if (n == 0) {
                return reject(malformed_query, std::string("Query-string authentication version 4 requires the "
                                                           "X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, "
                                                           "X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires "
                                                           "parameters; missing ") + required[i]);
            }
            if (n > 1) return reject(malformed_query, std::string("the parameter ") + required[i] + " is repeated");
        }
        if (found[0]->value != detail::algorithm) {
            return reject(malformed_query, "X-Amz-Algorithm only supports \"AWS4-HMAC-SHA256\"");
        }
        auth.credential = found[1]->value;
        auth.amz_date = found[2]->value;
        const auto expires = decimal_number(found[3]->value);
        if (!expires) return reject(malformed_query, "X-Amz-Expires should be a number");
        if (*expires < 1) return reject(malformed_query, "X-Amz-Expires must be non-negative and non-zero");
        if (*expires > max_expiry.count()) {
            return reject(malformed_query, "X-Amz-Expires must be less than a week (in seconds) that is 604800");
        }
        auth.expires = seconds{*expires};
        auth.signed_headers = found[4]->value;
        auth.signature = found[5]->value;
        const raw_param* token = nullptr;
        int token_count = count_param("X-Amz-Security-Token", &token);
        if (token_count > 1) return reject(malformed_query, "the parameter X-Amz-Security-Token is repeated");
        if (token) {
            auth.has_token = true;
            auth.token = token->value;
        }
    } else {
        auth.query = false;
        if (authorization_count > 1) {
            return reject(errc::authorization_header_malformed, "the Authorization header is repeated");
        }
        std::string_view value = trim(authorization->value);
        if (!value.starts_with(detail::algorithm) || value.size() == detail::algorithm.size() ||
            value[detail::algorithm.size()] != ' ') {
            return reject(errc::authorization_header_malformed,
                          "the authorization header is malformed; only AWS4-HMAC-SHA256 is supported");
        }
        value.remove_prefix(detail::algorithm.size());
        bool have[3] = {false, false, false};
        std::size_t pos = 0;
        while (pos <= value.size()) {
            std::size_t end = value.find(',', pos);
            if (end == std::string_view::npos) end = value.size();
            std::string_view part = trim(value.substr(pos, end - pos));
            pos = end + 1;
            std::size_t eq = part.find('=');
            if (eq == std::string_view::npos) {
                return reject(errc::authorization_header_malformed,
                              "the authorization header is malformed; a component is not key=value");
            }
            std::string_view key = part.substr(0, eq);
            std::string_view component = part.substr(eq + 1);
            int index = key == "Credential" ? 0 : key == "SignedHeaders" ? 1 : key == "Signature" ? 2 : -1;
            if (index < 0 || have[index]) {
                return reject(errc::authorization_header_malformed,
                              "the authorization header is malformed; unexpected or repeated component '" +
                                  quoted(key) + "'");
            }
            have[index] = true;
            (index == 0 ? auth.credential : index == 1 ? auth.signed_headers : auth.signature) = component;
        }
        if (!have[0] || !have[1] || !have[2]) {
            return reject(errc::authorization_header_malformed,
                          "the authorization header requires Credential, SignedHeaders and Signature");
        }
        int date_count = 0;
        const header* date = find_header(request.headers, "x-amz-date", &date_count);
        if (!date) {
            return reject(errc::missing_security_header,
                          "AWS authentication requires a valid Date or x-amz-date header");
        }
        if (date_count > 1) return reject(errc::invalid_argument, "the x-amz-date header is repeated");
        auth.amz_date = trim(date->value);
        int token_count = 0;
        const header* token = find_header(request.headers, "x-amz-security-token", &token_count);
        if (token_count > 1) return reject(errc::invalid_token, "the x-amz-security-token header is repeated");
        if (token) {
            auth.has_token = true;
            auth.token = trim(token->value);
        }
    }

    const errc malformed = auth.query ? malformed_query : errc::authorization_header_malformed;
    scope_parts scope;
    if (!split_scope(auth.credential, scope) || scope.terminator != "aws4_request") {
        return reject(malformed, "error parsing the credential; it must be "
                                 "<access key id>/<YYYYMMDD>/<region>/<service>/aws4_request");
    }
    auto signed_at = parse_amz_date(auth.amz_date);
    if (!signed_at) {
        if (auth.query) return reject(malformed, "X-Amz-Date must be in the ISO8601 long format");
        return reject(errc::missing_security_header, "AWS authentication requires a valid Date or x-amz-date header");
    }
    if (scope.date != auth.amz_date.substr(0, 8)) {
        return reject(malformed, "the credential date '" + quoted(scope.date) +
                                     "' does not match the date of X-Amz-Date");
    }
    if (scope.region != options.region) {
        return reject(malformed, "the region '" + quoted(scope.region) + "' is wrong; expecting '" +
                                     options.region + "'");
    }
    if (scope.service != options.service) {
        return reject(malformed, "the service '" + quoted(scope.service) + "' is wrong; expecting '" +
                                     options.service + "'");
    }
    std::vector<std::string> signed_names;
    if (!valid_signed_header_list(auth.signed_headers, signed_names)) {
        return reject(malformed, "SignedHeaders must be lowercase header names, sorted, separated by ';'");
    }
    if (std::find(signed_names.begin(), signed_names.end(), "host") == signed_names.end()) {
        return reject(malformed, "the host header must be signed");
    }

    // Time.
    verified_request facts;
    facts.signed_at = *signed_at;
    if (auth.query) {
        facts.expires_at = *signed_at + auth.expires;
        if (*signed_at > now + options.max_skew) {
            return reject(errc::request_not_yet_valid, "Request is not valid yet");
        }
        if (now >= facts.expires_at) return reject(errc::request_expired, "Request has expired");
    } else {
        facts.expires_at = *signed_at + options.max_skew;
        auto skew = *signed_at > now ? *signed_at - now : now - *signed_at;
        if (skew > options.max_skew) {
            return reject(errc::request_time_too_skewed,
                          "The difference between the request time and the current time is too large");
        }
    }

    // Every x-amz-* header must be signed (S3 refuses unsigned ones).
    if (const header* unsigned_header = unsigned_amz_header(request.headers, signed_names, auth.query)) {
        std::string lower;
        detail::append_lower(unsigned_header->name, lower);
        return reject(errc::headers_not_signed,
                      "There were headers present in the request which were not signed: " + quoted(lower));
    }

    // Payload hash.
    std::string payload_hash;
    const header* content_sha = find_header(request.headers, "x-amz-content-sha256");
    if (auth.query) {
        const raw_param* query_sha = nullptr;
        count_param("X-Amz-Content-Sha256", &query_sha);
        if (query_sha) {
            payload_hash = query_sha->value;
        } else if (options.s3) {
            payload_hash = detail::unsigned_payload;
        } else if (request.body.how == payload::kind::body) {
            payload_hash = sha256_hex(request.body.value);
        } else if (request.body.how == payload::kind::hash && !request.body.value.empty()) {
            payload_hash = request.body.value;
        } else {
            payload_hash = detail::unsigned_payload;
        }
    } else if (content_sha) {
        payload_hash = trim(content_sha->value);
        if (payload_hash != detail::unsigned_payload && !detail::is_lower_hex64(payload_hash) &&
            !is_streaming_payload(payload_hash)) {
            return reject(errc::invalid_argument, "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-*, "
                                                  "or a SHA-256 in lowercase hex");
        }
    } else if (options.s3) {
        return reject(errc::missing_content_sha256,
                      "Missing required header for this request: x-amz-content-sha256");
    } else if (request.body.how == payload::kind::body) {
        payload_hash = sha256_hex(request.body.value);
    } else if (request.body.how == payload::kind::hash && detail::is_lower_hex64(request.body.value)) {
        payload_hash = request.body.value;
    } else {
        payload_hash = detail::unsigned_payload;
    }

    // Canonical request, built in place: raw text that is already canonically encoded goes in as is.
    verify_error failure;
    std::string& canonical = failure.canonical_request;
    canonical.reserve(request.target.size() * 2 + 256);
    canonical.append(request.method).push_back('\n');
    if (!options.s3) {
        detail::append_canonical_uri(raw_path, true, options.normalize_path, true, canonical);
    } else if (is_canonical_encoding(raw_path, true)) {
        canonical.append(raw_path);
    } else {
        detail::append_canonical_uri(*decoded_path, false, false, false, canonical);
    }
    canonical.push_back('\n');

    // Re-encoded names and values of the parameters whose raw text is not canonical (rare). Reserved
    // before the first one so the views into it stay valid.
    std::vector<std::string> reencoded;
    std::vector<std::pair<std::string_view, std::string_view>> canonical_params;
    canonical_params.reserve(params.size());
    auto canonical_form = [&](std::string_view raw, std::string_view decoded) -> std::string_view {
        if (is_canonical_encoding(raw, false)) return raw;
        if (reencoded.empty()) reencoded.reserve(2 * params.size());
        return reencoded.emplace_back(uri_encode(decoded, false));
    };
    for (const auto& p : params) {
        if (auth.query && p.name == "X-Amz-Signature") continue;
        if (auth.query && !options.session_token_signed && p.name == "X-Amz-Security-Token") continue;
        canonical_params.emplace_back(canonical_form(p.raw_name, p.name), canonical_form(p.raw_value, p.value));
    }
    std::sort(canonical_params.begin(), canonical_params.end());
    for (std::size_t i = 0; i < canonical_params.size(); ++i) {
        if (i) canonical.push_back('&');
        canonical.append(canonical_params[i].first).push_back('=');
        canonical.append(canonical_params[i].second);
    }
    canonical.push_back('\n');

    // Canonical headers: the signed names (sorted, unique) with their values trimmed, inner
    // whitespace collapsed, repeated headers joined with ','.
    for (const auto& name : signed_names) {
        canonical.append(name).push_back(':');
        bool present = false;
        if (name != "authorization") {
            for (const auto& h : request.headers) {
                if (!detail::iequals(h.name, name)) continue;
                if (present) canonical.push_back(',');
                present = true;
                append_canonical_header_value(h.value, canonical);
            }
        }
        if (!present) {
            return reject(errc::signature_does_not_match, "the signed header '" + name + "' is not present in the request");
        }
        canonical.push_back('\n');
    }
    canonical.push_back('\n');
    canonical.append(auth.signed_headers).push_back('\n');
    canonical.append(payload_hash);
    std::string scope_text;
    detail::append_scope(scope.date, scope.region, scope.service, scope_text);
    detail::append_string_to_sign(auth.amz_date, scope_text, canonical, failure.string_to_sign);

    // Key and token.
    const known_key* key = keys ? keys(scope.access_key_id) : nullptr;
    if (!key || key->secret.empty()) {
        return reject(errc::invalid_access_key_id,
                      "The AWS Access Key Id you provided does not exist in our records.");
    }
    if (!key->session_token.empty() || auth.has_token) {
        bool equal = auth.has_token && key->session_token.size() == auth.token.size() &&
                     detail::constant_time_equals(key->session_token.data(), auth.token.data(), auth.token.size());
        if (!equal) return reject(errc::invalid_token, "The provided token is malformed or otherwise invalid.");
    }

    const auto& signing_key = detail::signing_key(key->secret, scope.date, scope.region, scope.service);
    unsigned char mac[32];
    signing_key.mac(failure.string_to_sign.data(), failure.string_to_sign.size(), mac);
    char expected[64];
    detail::hex32(mac, expected);
    OPENSSL_cleanse(mac, sizeof mac);
    bool match = auth.signature.size() == 64 && CRYPTO_memcmp(expected, auth.signature.data(), 64) == 0;
    OPENSSL_cleanse(expected, sizeof expected);
    if (!match) {
        failure.code = errc::signature_does_not_match;
        failure.message =
            "The request signature we calculated does not match the signature you provided. "
            "Check your key and signing method.";
        return unexpected{std::move(failure)};
    }

    if (!auth.query && request.body.how == payload::kind::body && detail::is_lower_hex64(payload_hash) &&
        sha256_hex(request.body.value) != payload_hash) {
        return reject(errc::content_sha256_mismatch,
                      "The provided 'x-amz-content-sha256' header does not match what was computed.");
    }

    facts.kind = auth.query ? verified_request::auth::query : verified_request::auth::header;
    facts.access_key_id.assign(scope.access_key_id);
    facts.signed_headers = std::move(signed_names);
    facts.path = std::move(*decoded_path);
    for (const auto& p : params) {
        if (auth.query && p.name.starts_with("X-Amz-")) {
            static constexpr std::string_view auth_names[] = {
                "X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date",           "X-Amz-Expires",
                "X-Amz-SignedHeaders", "X-Amz-Signature", "X-Amz-Security-Token"};
            if (std::find(std::begin(auth_names), std::end(auth_names), p.name) != std::end(auth_names)) continue;
        }
        facts.query.push_back({std::string(p.name), std::string(p.value)});
    }
    facts.payload_hash = std::move(payload_hash);
    return facts;
}

}  // namespace

}  // namespace sigv4
