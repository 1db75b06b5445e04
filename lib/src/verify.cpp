// SPDX-License-Identifier: Apache-2.0
// sigv4::verify: the direct path for presigned S3 URLs (verify_fast.cpp) first, then the full
// verifier below, which decides every other request and every failure with S3's error codes. The
// full verifier runs as named steps: parse the target, read the auth parameters (query or
// Authorization header), check scope, time and unsigned x-amz-* headers, choose the payload hash,
// build the canonical request, look up the key and token, compare the signature, check the body.
#include "sigv4/verify.hpp"

#include <openssl/crypto.h>

#include <algorithm>
#include <cstring>

#include "detail/canonical.hpp"
#include "detail/crypto.hpp"
#include "detail/verify.hpp"
#include "detail/verify_text.hpp"
#include "sigv4/encoding.hpp"
#include "sigv4/hash.hpp"
#include "sigv4/signer.hpp"

namespace sigv4 {

namespace {

using detail::decode_into;
using detail::decode_view;
using detail::is_canonical_encoding;
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
            return reject(errc::invalid_argument,
                          "the query string has a malformed percent escape");
        }
    }
    return params;
}

const header* find_header(const std::vector<header>& headers, std::string_view name,
                          int* count = nullptr) {
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

// The first x-amz-* header that is not among the signed names, or nullptr.
const header* unsigned_amz_header(const std::vector<header>& headers,
                                  const std::vector<std::string>& signed_names, bool query_auth) {
    for (const auto& h : headers) {
        if (detail::is_unsigned_amz_header(h.name, signed_names, query_auth)) return &h;
    }
    return nullptr;
}

bool is_streaming_payload(std::string_view value) {
    return value.starts_with("STREAMING-") && detail::is_token(value);
}

// The request target, split and decoded. The parameters' views point into `params`' own storage
// or the request, so a parsed_target is filled in place and not moved.
struct parsed_target {
    std::string_view raw_path;
    std::string_view raw_query;
    std::string decoded_path;
    std::vector<raw_param> params;

    // The first parameter named `name` (decoded), and how many there are.
    int count(std::string_view name, const raw_param** first) const {
        int n = 0;
        *first = nullptr;
        for (const auto& p : params) {
            if (p.name == name) {
                if (!*first) *first = &p;
                ++n;
            }
        }
        return n;
    }
};

result<void, verify_error> parse_target(const received_request& request, parsed_target& target) {
    if (!detail::is_token(request.method))
        return reject(errc::invalid_argument, "the method is not a token");
    const std::string_view raw = request.target;
    if (raw.empty() || raw.front() != '/') {
        return reject(errc::invalid_argument, "the request target must start with '/'");
    }
    const std::size_t question = raw.find('?');
    target.raw_path = raw.substr(0, question);
    target.raw_query =
        question == std::string_view::npos ? std::string_view{} : raw.substr(question + 1);
    if (!decode_into(target.raw_path, target.decoded_path)) {
        return reject(errc::invalid_argument, "the path has a malformed percent escape");
    }
    auto params = parse_query(target.raw_query);
    if (!params) return unexpected{std::move(params).error()};
    target.params = std::move(*params);
    return {};
}

constexpr errc malformed_query = errc::authorization_query_parameters_error;

// Query auth: the six required X-Amz-* parameters, each once, and the optional token.
result<auth_parts, verify_error> read_query_auth(const parsed_target& target) {
    auth_parts auth;
    auth.query = true;
    const char* required[] = {"X-Amz-Algorithm", "X-Amz-Credential",    "X-Amz-Date",
                              "X-Amz-Expires",   "X-Amz-SignedHeaders", "X-Amz-Signature"};
    const raw_param* found[6];
    for (int i = 0; i < 6; ++i) {
        int n = target.count(required[i], &found[i]);
        if (n == 0) {
            return reject(malformed_query,
                          std::string("Query-string authentication version 4 requires the "
                                      "X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, "
                                      "X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires "
                                      "parameters; missing ") +
                              required[i]);
        }
        if (n > 1)
            return reject(malformed_query,
                          std::string("the parameter ") + required[i] + " is repeated");
    }
    if (found[0]->value != detail::algorithm) {
        return reject(malformed_query, "X-Amz-Algorithm only supports \"AWS4-HMAC-SHA256\"");
    }
    auth.credential = found[1]->value;
    auth.amz_date = found[2]->value;
    const auto expires = detail::decimal_number(found[3]->value);
    if (!expires) return reject(malformed_query, "X-Amz-Expires should be a number");
    if (*expires < 1)
        return reject(malformed_query, "X-Amz-Expires must be non-negative and non-zero");
    if (*expires > max_expiry.count()) {
        return reject(malformed_query,
                      "X-Amz-Expires must be less than a week (in seconds) that is 604800");
    }
    auth.expires = seconds{*expires};
    auth.signed_headers = found[4]->value;
    auth.signature = found[5]->value;
    const raw_param* token = nullptr;
    int token_count = target.count("X-Amz-Security-Token", &token);
    if (token_count > 1)
        return reject(malformed_query, "the parameter X-Amz-Security-Token is repeated");
    if (token) {
        auth.has_token = true;
        auth.token = token->value;
    }
    return auth;
}

// Header auth: "AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…, Signature=…", x-amz-date and the
// optional x-amz-security-token.
result<auth_parts, verify_error> read_header_auth(const received_request& request,
                                                  const header& authorization,
                                                  int authorization_count) {
    auth_parts auth;
    auth.query = false;
    if (authorization_count > 1) {
        return reject(errc::authorization_header_malformed, "the Authorization header is repeated");
    }
    std::string_view value = trim(authorization.value);
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
        int index = key == "Credential"      ? 0
                    : key == "SignedHeaders" ? 1
                    : key == "Signature"     ? 2
                                             : -1;
        if (index < 0 || have[index]) {
            return reject(
                errc::authorization_header_malformed,
                "the authorization header is malformed; unexpected or repeated component '" +
                    quoted(key) + "'");
        }
        have[index] = true;
        (index == 0   ? auth.credential
         : index == 1 ? auth.signed_headers
                      : auth.signature) = component;
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
    if (token_count > 1)
        return reject(errc::invalid_token, "the x-amz-security-token header is repeated");
    if (token) {
        auth.has_token = true;
        auth.token = trim(token->value);
    }
    return auth;
}

// Which mechanism the request uses (exactly one), and its parameters.
result<auth_parts, verify_error> read_auth(const received_request& request,
                                           const parsed_target& target) {
    int authorization_count = 0;
    const header* authorization =
        find_header(request.headers, "authorization", &authorization_count);
    const raw_param* algorithm_param = nullptr;
    const int algorithm_count = target.count("X-Amz-Algorithm", &algorithm_param);
    if (authorization && algorithm_count > 0) {
        return reject(errc::invalid_argument,
                      "only one auth mechanism allowed; only the X-Amz-Algorithm query "
                      "parameter or the Authorization header should be specified");
    }
    if (!authorization && algorithm_count == 0) {
        return reject(errc::missing_security_header, "the request carries no SigV4 authentication");
    }
    if (algorithm_count > 0) return read_query_auth(target);
    return read_header_auth(request, *authorization, authorization_count);
}

// The credential scope, the signing date and the signed header names, checked against the options.
struct checked_scope {
    detail::scope_parts scope;
    sys_seconds signed_at;
    std::vector<std::string> signed_names;
};

result<void, verify_error> check_scope(const auth_parts& auth, const verify_options& options,
                                       checked_scope& out) {
    const errc malformed = auth.query ? malformed_query : errc::authorization_header_malformed;
    const detail::scope_parts& scope = out.scope;
    if (!detail::split_scope(auth.credential, out.scope) || scope.terminator != "aws4_request") {
        return reject(malformed,
                      "error parsing the credential; it must be "
                      "<access key id>/<YYYYMMDD>/<region>/<service>/aws4_request");
    }
    auto signed_at = parse_amz_date(auth.amz_date);
    if (!signed_at) {
        if (auth.query) return reject(malformed, "X-Amz-Date must be in the ISO8601 long format");
        return reject(errc::missing_security_header,
                      "AWS authentication requires a valid Date or x-amz-date header");
    }
    out.signed_at = *signed_at;
    if (scope.date != auth.amz_date.substr(0, 8)) {
        return reject(malformed, "the credential date '" + quoted(scope.date) +
                                     "' does not match the date of X-Amz-Date");
    }
    if (scope.region != options.region) {
        return reject(malformed, "the region '" + quoted(scope.region) + "' is wrong; expecting '" +
                                     options.region + "'");
    }
    if (scope.service != options.service) {
        return reject(malformed, "the service '" + quoted(scope.service) +
                                     "' is wrong; expecting '" + options.service + "'");
    }
    if (!detail::valid_signed_header_list(auth.signed_headers, out.signed_names)) {
        return reject(malformed,
                      "SignedHeaders must be lowercase header names, sorted, separated by ';'");
    }
    if (std::find(out.signed_names.begin(), out.signed_names.end(), "host") ==
        out.signed_names.end()) {
        return reject(malformed, "the host header must be signed");
    }
    return {};
}

// When the request stops being valid: query auth, X-Amz-Date + X-Amz-Expires (and not dated
// beyond the allowed skew); header auth, X-Amz-Date within the skew either way.
result<sys_seconds, verify_error> check_time(const auth_parts& auth, sys_seconds signed_at,
                                             const verify_options& options) {
    const sys_seconds now = options.now ? *options.now : sigv4::now();
    if (auth.query) {
        const sys_seconds expires_at = signed_at + auth.expires;
        if (signed_at > now + options.max_skew)
            return reject(errc::request_not_yet_valid, "Request is not valid yet");
        if (now >= expires_at) return reject(errc::request_expired, "Request has expired");
        return expires_at;
    }
    const auto skew = signed_at > now ? signed_at - now : now - signed_at;
    if (skew > options.max_skew) {
        return reject(errc::request_time_too_skewed,
                      "The difference between the request time and the current time is too large");
    }
    return signed_at + options.max_skew;
}

// Every x-amz-* header must be signed (S3 refuses unsigned ones).
result<void, verify_error> check_amz_headers_signed(const received_request& request,
                                                    const std::vector<std::string>& signed_names,
                                                    bool query_auth) {
    if (const header* unsigned_header =
            unsigned_amz_header(request.headers, signed_names, query_auth)) {
        std::string lower;
        detail::append_lower(unsigned_header->name, lower);
        return reject(
            errc::headers_not_signed,
            "There were headers present in the request which were not signed: " + quoted(lower));
    }
    return {};
}

// The payload hash the signature covers: query auth, X-Amz-Content-Sha256 or (S3)
// UNSIGNED-PAYLOAD; header auth, x-amz-content-sha256 (required by S3); generic services without
// either, the body's hash when the request carries it.
result<std::string, verify_error> payload_hash_of(const received_request& request,
                                                  const parsed_target& target,
                                                  const auth_parts& auth,
                                                  const verify_options& options) {
    const payload& body = request.body;
    if (auth.query) {
        const raw_param* query_sha = nullptr;
        target.count("X-Amz-Content-Sha256", &query_sha);
        if (query_sha) return std::string(query_sha->value);
        if (options.s3) return std::string(detail::unsigned_payload);
        if (body.how == payload::kind::body) return sha256_hex(body.value);
        if (body.how == payload::kind::hash && !body.value.empty()) return body.value;
        return std::string(detail::unsigned_payload);
    }
    if (const header* content_sha = find_header(request.headers, "x-amz-content-sha256")) {
        std::string payload_hash(trim(content_sha->value));
        if (payload_hash != detail::unsigned_payload && !detail::is_lower_hex64(payload_hash) &&
            !is_streaming_payload(payload_hash)) {
            return reject(errc::invalid_argument,
                          "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-*, "
                          "or a SHA-256 in lowercase hex");
        }
        return payload_hash;
    }
    if (options.s3) {
        return reject(errc::missing_content_sha256,
                      "Missing required header for this request: x-amz-content-sha256");
    }
    if (body.how == payload::kind::body) return sha256_hex(body.value);
    if (body.how == payload::kind::hash && detail::is_lower_hex64(body.value)) return body.value;
    return std::string(detail::unsigned_payload);
}

// The canonical query: every parameter but the signature (and an unsigned token), sorted, raw
// text that is already canonically encoded going in as is.
void append_canonical_query(const parsed_target& target, const auth_parts& auth,
                            const verify_options& options, std::string& canonical) {
    const std::vector<raw_param>& params = target.params;
    // Re-encoded names and values of the parameters whose raw text is not canonical (rare).
    // Reserved before the first one so the views into it stay valid.
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
        if (auth.query && !options.session_token_signed && p.name == "X-Amz-Security-Token")
            continue;
        canonical_params.emplace_back(canonical_form(p.raw_name, p.name),
                                      canonical_form(p.raw_value, p.value));
    }
    std::sort(canonical_params.begin(), canonical_params.end());
    for (std::size_t i = 0; i < canonical_params.size(); ++i) {
        if (i) canonical.push_back('&');
        canonical.append(canonical_params[i].first).push_back('=');
        canonical.append(canonical_params[i].second);
    }
}

// The canonical request, built in place into `canonical`.
result<void, verify_error> build_canonical_request(
    const received_request& request, const parsed_target& target, const auth_parts& auth,
    const verify_options& options, const std::vector<std::string>& signed_names,
    std::string_view payload_hash, std::string& canonical) {
    canonical.reserve(request.target.size() * 2 + 256);
    canonical.append(request.method).push_back('\n');
    if (!options.s3) {
        detail::append_canonical_uri(target.raw_path, true, options.normalize_path, true,
                                     canonical);
    } else if (is_canonical_encoding(target.raw_path, true)) {
        canonical.append(target.raw_path);
    } else {
        detail::append_canonical_uri(target.decoded_path, false, false, false, canonical);
    }
    canonical.push_back('\n');
    append_canonical_query(target, auth, options, canonical);
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
                detail::append_canonical_header_value(h.value, canonical);
            }
        }
        if (!present) {
            return reject(errc::signature_does_not_match,
                          "the signed header '" + name + "' is not present in the request");
        }
        canonical.push_back('\n');
    }
    canonical.push_back('\n');
    canonical.append(auth.signed_headers).push_back('\n');
    canonical.append(payload_hash);
    return {};
}

// The key for the credential's access key id, and the session token the key expects.
result<const known_key*, verify_error> find_key(const key_lookup& keys,
                                                std::string_view access_key_id,
                                                const auth_parts& auth) {
    const known_key* key = keys ? keys(access_key_id) : nullptr;
    if (!key || key->secret.empty()) {
        return reject(errc::invalid_access_key_id,
                      "The AWS Access Key Id you provided does not exist in our records.");
    }
    if (!key->session_token.empty() || auth.has_token) {
        const bool equal =
            auth.has_token && key->session_token.size() == auth.token.size() &&
            CRYPTO_memcmp(key->session_token.data(), auth.token.data(), auth.token.size()) == 0;
        if (!equal)
            return reject(errc::invalid_token,
                          "The provided token is malformed or otherwise invalid.");
    }
    return key;
}

// Whether the request's signature is the MAC of the string to sign (compared as hex, in constant
// time).
bool signature_matches(const known_key& key, const detail::scope_parts& scope,
                       std::string_view string_to_sign, std::string_view signature) {
    const auto& signing_key =
        detail::signing_key(key.secret, scope.date, scope.region, scope.service);
    unsigned char mac[32];
    signing_key.mac(string_to_sign.data(), string_to_sign.size(), mac);
    char expected[64];
    detail::hex32(mac, expected);
    OPENSSL_cleanse(mac, sizeof mac);
    const bool match = signature.size() == 64 && CRYPTO_memcmp(expected, signature.data(), 64) == 0;
    OPENSSL_cleanse(expected, sizeof expected);
    return match;
}

// The request's decoded parameters without the X-Amz-* auth ones of query auth.
void append_user_query(const parsed_target& target, bool query_auth,
                       std::vector<query_param>& out) {
    static constexpr std::string_view auth_names[] = {
        "X-Amz-Algorithm",     "X-Amz-Credential", "X-Amz-Date",          "X-Amz-Expires",
        "X-Amz-SignedHeaders", "X-Amz-Signature",  "X-Amz-Security-Token"};
    for (const auto& p : target.params) {
        if (query_auth && p.name.starts_with("X-Amz-") &&
            std::find(std::begin(auth_names), std::end(auth_names), p.name) !=
                std::end(auth_names)) {
            continue;
        }
        out.push_back({std::string(p.name), std::string(p.value)});
    }
}

}  // namespace

namespace detail {

result<verified_request, verify_error> verify_fully(const received_request& request,
                                                    const key_lookup& keys,
                                                    const verify_options& options) {
    parsed_target target;
    if (auto parsed = parse_target(request, target); !parsed)
        return unexpected{std::move(parsed).error()};
    auto auth = read_auth(request, target);
    if (!auth) return unexpected{std::move(auth).error()};
    checked_scope checked;
    if (auto scope = check_scope(*auth, options, checked); !scope)
        return unexpected{std::move(scope).error()};
    const scope_parts& scope = checked.scope;
    auto expires_at = check_time(*auth, checked.signed_at, options);
    if (!expires_at) return unexpected{std::move(expires_at).error()};
    if (auto all_signed = check_amz_headers_signed(request, checked.signed_names, auth->query);
        !all_signed) {
        return unexpected{std::move(all_signed).error()};
    }
    auto payload_hash = payload_hash_of(request, target, *auth, options);
    if (!payload_hash) return unexpected{std::move(payload_hash).error()};

    // What the server computed, kept for the error when the signature does not match.
    verify_error failure;
    if (auto built = build_canonical_request(request, target, *auth, options, checked.signed_names,
                                             *payload_hash, failure.canonical_request);
        !built) {
        return unexpected{std::move(built).error()};
    }
    std::string scope_text;
    append_scope(scope.date, scope.region, scope.service, scope_text);
    append_string_to_sign(auth->amz_date, scope_text, failure.canonical_request,
                          failure.string_to_sign);

    auto key = find_key(keys, scope.access_key_id, *auth);
    if (!key) return unexpected{std::move(key).error()};
    if (!signature_matches(**key, scope, failure.string_to_sign, auth->signature)) {
        failure.code = errc::signature_does_not_match;
        failure.message =
            "The request signature we calculated does not match the signature you provided. "
            "Check your key and signing method.";
        return unexpected{std::move(failure)};
    }
    if (!auth->query && request.body.how == payload::kind::body && is_lower_hex64(*payload_hash) &&
        sha256_hex(request.body.value) != *payload_hash) {
        return reject(
            errc::content_sha256_mismatch,
            "The provided 'x-amz-content-sha256' header does not match what was computed.");
    }

    result<verified_request, verify_error> verified{std::in_place};
    verified_request& facts = *verified;
    facts.kind = auth->query ? verified_request::auth::query : verified_request::auth::header;
    facts.access_key_id.assign(scope.access_key_id);
    facts.signed_headers = std::move(checked.signed_names);
    facts.signed_at = checked.signed_at;
    facts.expires_at = *expires_at;
    facts.path = std::move(target.decoded_path);
    append_user_query(target, auth->query, facts.query);
    facts.payload_hash = std::move(*payload_hash);
    return verified;
}

}  // namespace detail

result<verified_request, verify_error> verify(const received_request& request,
                                              const key_lookup& keys,
                                              const verify_options& options) {
    // One return of one named object: built in the caller's slot.
    result<verified_request, verify_error> verified{std::in_place};
    if (!detail::verify_presigned_directly(request, keys, options, *verified)) {
        verified = detail::verify_fully(request, keys, options);
    }
    return verified;
}

result<void, verify_error> verify(const received_request& request, const key_lookup& keys,
                                  const verify_options& options, verified_request& verified) {
    if (detail::verify_presigned_directly(request, keys, options, verified)) return {};
    auto fully = detail::verify_fully(request, keys, options);
    if (!fully) return unexpected<verify_error>{std::move(fully).error()};
    verified = std::move(*fully);
    return {};
}

}  // namespace sigv4
