// SPDX-License-Identifier: Apache-2.0
// The verifier's direct path for what servers see most: a well-formed presigned S3 URL with a
// good signature. It only ever *proves success*; anything unusual or wrong (an error of any kind,
// re-encoding needed, unknown X-Amz-* parameters) makes it step aside, and the full verifier
// (verify.cpp) then decides, with its exact error codes and messages. tests/fuzz/fuzz_verify_paths
// checks that whatever it accepts, the full verifier accepts with the same facts.
#include <openssl/crypto.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "detail/canonical.hpp"
#include "detail/crypto.hpp"
#include "detail/verify.hpp"
#include "detail/verify_text.hpp"
#include "detail/writer.hpp"
#include "sigv4/hash.hpp"
#include "sigv4/signer.hpp"

namespace sigv4::detail {

namespace {

using std::chrono::seconds;

// The X-Amz-* parameters of query auth, in the canonical query's order (X-Amz-Security-Token sorts
// before X-Amz-SignedHeaders); the signature, never part of the canonical query, last.
enum query_slot {
    algorithm_slot,
    credential_slot,
    date_slot,
    expires_slot,
    token_slot,
    signed_headers_slot,
    signature_slot,
    slot_count
};

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
            const __m128i v =
                _mm_loadu_si128(reinterpret_cast<const __m128i*>(hex + 32 * half + 16 * i));
            const __m128i digit = _mm_and_si128(_mm_cmpgt_epi8(v, _mm_set1_epi8('0' - 1)),
                                                _mm_cmplt_epi8(v, _mm_set1_epi8('9' + 1)));
            const __m128i letter = _mm_and_si128(_mm_cmpgt_epi8(v, _mm_set1_epi8('a' - 1)),
                                                 _mm_cmplt_epi8(v, _mm_set1_epi8('f' + 1)));
            if (_mm_movemask_epi8(_mm_or_si128(digit, letter)) != 0xffff) return false;
            const __m128i offset = _mm_or_si128(_mm_and_si128(digit, _mm_set1_epi8('0')),
                                                _mm_andnot_si128(digit, _mm_set1_epi8('a' - 10)));
            const __m128i nibbles = _mm_sub_epi8(v, offset);
            // Each 16-bit lane holds (high nibble, low nibble) in memory order: byte = high * 16 +
            // low.
            bytes[i] =
                _mm_or_si128(_mm_slli_epi16(_mm_and_si128(nibbles, _mm_set1_epi16(0x00ff)), 4),
                             _mm_srli_epi16(nibbles, 8));
        }
        _mm_storeu_si128(reinterpret_cast<__m128i*>(out + 16 * half),
                         _mm_packus_epi16(bytes[0], bytes[1]));
    }
    return true;
#else
    auto nibble = [](char c) {
        return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
    };
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
    hmac_sha256_key key_after_head;

    [[nodiscard]] bool holds(std::string_view credential, std::string_view date,
                             const verify_options& options) const {
        // The date first: 16 bytes compared inline, and what differs from one second to the next.
        return scope_valid && date.size() == 16 && raw_date.size() == 16 &&
               std::memcmp(raw_date.data(), date.data(), 16) == 0 && raw_credential == credential &&
               region == options.region && service == options.service;
    }

    // Checks the raw credential and date against the options; fills the cache when they hold.
    SIGV4_COLD bool fill(std::string_view credential, std::string_view date,
                         const verify_options& options, std::string& decode_storage) {
        scope_valid = false;
        key_valid = false;
        std::string_view decoded_credential;
        if (!is_canonical_encoding(credential, false) ||
            !decode_view(credential, decode_storage, decoded_credential)) {
            return false;
        }
        scope_parts scope;
        if (!split_scope(decoded_credential, scope) || scope.terminator != "aws4_request")
            return false;
        if (date.size() != 16 || scope.date != date.substr(0, 8) ||
            scope.region != options.region || scope.service != options.service) {
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
        append_string_to_sign_head(date, decoded_credential.substr(scope.access_key_id.size() + 1),
                                   to_sign_head);
        signed_at = *parsed;
        scope_valid = true;
        return true;
    }

    const hmac_sha256_key& key_for(const secret_key& key) {
        if (!key_valid || !secret.equals(key)) {
            key_after_head.assign(signing_key(key, scope_date, region, service));
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
            !valid_signed_header_list(list, names) ||
            std::find(names.begin(), names.end(), "host") == names.end()) {
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
            !constant_time_equals(expected.data(), token.data(), token.size())) {
            fill(token);
        }
        return encoded;
    }

    SIGV4_COLD void fill(const std::string& token) {
        encoded.resize(3 * token.size());
        bool saw_non_ascii = false;
        const char* end = percent_encode(token, false, encoded.data(), saw_non_ascii);
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
    const std::string_view value =
        equals == std::string_view::npos ? std::string_view{} : part.substr(equals + 1);
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
SIGV4_ALWAYS_INLINE inline void put_signed_parameters(const signed_parts& parts, writer& out,
                                                      bool first) {
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
SIGV4_COLD void put_query_with_user_parameters(const signed_parts& parts,
                                               const raw_params& user_in_order, raw_params& sorted,
                                               writer& out) {
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
SIGV4_COLD void put_folded_header_value(std::string_view value, writer& out) {
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

direct_scratch& thread_scratch() noexcept {
    thread_local direct_scratch scratch;
    return scratch;
}

}  // namespace

bool verify_presigned_directly(const received_request& request, const key_lookup& keys,
                               const verify_options& options, verified_request& facts) {
    if (!options.s3 || !keys || request.target.empty() || request.target.front() != '/')
        return false;
    if (!is_token(request.method)) return false;
    const std::string_view target = request.target;
    const std::size_t question = target.find('?');
    if (question == std::string_view::npos) return false;
    const std::string_view raw_path = target.substr(0, question);
    const std::string_view raw_query = target.substr(question + 1);
    if (raw_query.size() < 16 || !is_canonical_encoding(raw_path, true)) return false;

    direct_scratch& scratch = thread_scratch();
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
        return found ? static_cast<std::size_t>(static_cast<const char*>(found) - query)
                     : query_size;
    };
    std::size_t part_begin[slot_count];
    std::size_t part_end[slot_count];
    for (std::size_t part_start = 0; part_start < query_size;) {
        const std::string_view rest(query + part_start, query_size - part_start);
        std::size_t name_size = 0;
        const query_slot slot =
            rest.size() > 6 && std::memcmp(rest.data(), "X-Amz-", 6) == 0
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
                case date_slot:
                    expected = 16;
                    break;
                case signature_slot:
                    expected = 64;
                    break;
                case credential_slot:
                    expected = scratch.scope.scope_valid ? scratch.scope.raw_credential.size() : 0;
                    break;
                case signed_headers_slot:
                    expected = scratch.signed_headers.valid ? scratch.signed_headers.raw.size() : 0;
                    break;
                case expires_slot:
                    while (value_at + expected < query_size && query[value_at + expected] >= '0' &&
                           query[value_at + expected] <= '9') {
                        ++expected;
                    }
                    break;
                default:
                    break;
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
            if (end != part_start &&
                !take_user_param({query + part_start, end - part_start}, scratch.user)) {
                return false;
            }
        }
        part_start = end + 1;
    }
    for (int slot = 0; slot < slot_count; ++slot) {
        if (!present[slot] && slot != token_slot) return false;
    }
    unsigned char given_signature[32];
    if (slots[algorithm_slot].size != 16 ||
        std::memcmp(slots[algorithm_slot].at, "AWS4-HMAC-SHA256", 16) != 0 ||
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
    if (!signed_headers.holds(slots[signed_headers_slot]) &&
        !signed_headers.fill(slots[signed_headers_slot])) {
        return false;
    }
    const std::vector<std::string>& signed_names = signed_headers.names;
    for (const auto& h : request.headers) {
        // Only names starting with 'a' or 'x' can be Authorization or x-amz-*.
        const char first = static_cast<char>(h.name.empty() ? 0 : h.name.front() | 0x20);
        if (first == 'a' && h.name.size() == 13 && iequals(h.name, "authorization")) return false;
        if (first == 'x' && is_unsigned_amz_header(h.name, signed_names, true)) return false;
    }

    // Key and token.
    const known_key* key = keys(scope.access_key_id);
    if (!key || key->secret.empty()) return false;
    if (!key->session_token.empty() || present[token_slot]) {
        if (!present[token_slot] || key->session_token.empty()) return false;
        const std::string& expected = scratch.token.encoding_of(key->session_token);
        if (expected.size() != slots[token_slot].size ||
            !constant_time_equals(expected.data(), slots[token_slot].at, expected.size())) {
            return false;
        }
    }

    // The canonical request.
    std::size_t headers_bound = 0;
    for (const auto& h : request.headers) headers_bound += h.name.size() + h.value.size() + 2;
    const std::size_t bound = request.method.size() + raw_path.size() + raw_query.size() +
                              headers_bound + 2 * signed_headers.list.size() + scratch.user.size() +
                              unsigned_payload.size() + 16;
    if (scratch.canonical.size() < bound) scratch.canonical.resize(bound);
    writer out{scratch.canonical.data()};
    out.put(request.method);
    out.put('\n');
    out.put(raw_path);
    out.put('\n');
    const signed_parts parts{raw_query, part_begin, part_end,
                             present[token_slot] && options.session_token_signed};
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
            if (h.name.size() != name.size() || !iequals(h.name, name)) continue;
            if (found) out.put(',');
            found = true;
            if (h.value.empty() || is_plain_header_value(h.value)) {
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
    out.put(unsigned_payload);
    const std::string_view canonical(scratch.canonical.data(),
                                     static_cast<std::size_t>(out.at - scratch.canonical.data()));

    // String to sign = algorithm, date, scope, hash; the key has absorbed all but the hash.
    const auto digest = sha256_of(canonical);
    char hex[64];
    hex32(digest.data(), hex);
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
    facts.payload_hash.assign(unsigned_payload);
    return true;
}

void clear_verify_cache() noexcept {
    direct_scratch& scratch = thread_scratch();
    scratch.scope.key_valid = false;
    scratch.scope.secret = secret_key{};
    scratch.scope.key_after_head.wipe();
    // The expected session token, its encoding, and the last canonical request (which held it).
    wipe(scratch.token.expected);
    wipe(scratch.token.encoded);
    wipe(scratch.canonical);
}

bool verify_cache_holds(const secret_key& secret) noexcept {
    const secret_key& cached = thread_scratch().scope.secret;
    return !cached.empty() && cached.equals(secret);
}

}  // namespace sigv4::detail
