// SPDX-License-Identifier: Apache-2.0
#include "sigv4/signer.hpp"

#include <openssl/crypto.h>

#include <algorithm>
#include <charconv>
#include <cstring>

#include "detail/canonical.hpp"
#include "detail/crypto.hpp"
#include "detail/signing.hpp"
#include "sigv4/encoding.hpp"
#include "sigv4/hash.hpp"

namespace sigv4 {

signing_options signing_options::for_service(std::string region, std::string service) {
    signing_options options;
    options.region = std::move(region);
    options.service = std::move(service);
    return options;
}

signing_options signing_options::for_s3(std::string region) {
    signing_options options;
    options.region = std::move(region);
    options.service = "s3";
    options.normalize_path = false;
    options.double_encode_path = false;
    options.add_content_sha256_header = true;
    return options;
}

namespace {

using detail::check_not_expired;
using detail::date_strings;
using detail::dates_for;
using std::chrono::seconds;

result<void> validate_common(const credentials& creds, const http_request& request,
                             const signing_options& options) {
    if (creds.access_key_id.empty())
        return fail(errc::empty_access_key_id, "the access key id is empty");
    if (creds.secret.empty())
        return fail(errc::invalid_secret_key, "the secret access key is empty");
    if (!detail::is_scope_name(options.region)) {
        return fail(errc::invalid_region, "the region '" + options.region + "' is not [a-z0-9-]+");
    }
    if (!detail::is_scope_name(options.service)) {
        return fail(errc::invalid_service,
                    "the service '" + options.service + "' is not [a-z0-9-]+");
    }
    if (request.body.how == payload::kind::hash && !detail::is_lower_hex64(request.body.value)) {
        return fail(errc::invalid_payload_hash, "the payload hash is not 64 lowercase hex digits");
    }
    for (const auto& name : options.signed_headers) {
        if (!detail::is_token(name)) {
            return fail(errc::invalid_header_name,
                        "the signed header name '" + name + "' is not a token");
        }
    }
    return detail::validate_request(request);
}

void append_payload_hash(const payload& body, std::string& out) {
    switch (body.how) {
        case payload::kind::unsigned_payload:
            out.append(detail::unsigned_payload);
            break;
        case payload::kind::hash:
            out.append(body.value);
            break;
        case payload::kind::body: {
            auto digest = sha256_of(body.value);
            char hex[64];
            detail::hex32(digest.data(), hex);
            out.append(hex, 64);
            break;
        }
    }
}

// Reused per thread so that signing allocates only its results.
struct scratch {
    std::string canonical;
    std::string string_to_sign;
    std::string scope;
    std::string signed_names;
    std::string payload_hash;
    std::string credential;
    std::vector<detail::canonical_header> headers;
    std::vector<detail::query_view> query;
    std::string canonical_query;
    // Presign encodes every query parameter once, here; the canonical query (sorted) and the URL
    // (in the given order) both read the encoded text.
    std::string encoded;
    struct encoded_param {
        std::size_t name_at, name_size, value_at, value_size;
    };
    std::vector<encoded_param> params;
    std::vector<std::size_t> order;
    [[nodiscard]] std::string_view name_of(const encoded_param& p) const {
        return std::string_view(encoded).substr(p.name_at, p.name_size);
    }
    [[nodiscard]] std::string_view value_of(const encoded_param& p) const {
        return std::string_view(encoded).substr(p.value_at, p.value_size);
    }
    void add_param(std::string_view name, std::string_view value, bool name_is_plain = false,
                   bool value_is_plain = false) {
        encoded_param p{};
        p.name_at = encoded.size();
        if (name_is_plain) {
            encoded.append(name);
        } else {
            uri_encode(name, false, encoded);
        }
        p.name_size = encoded.size() - p.name_at;
        p.value_at = encoded.size();
        if (value_is_plain) {
            encoded.append(value);
        } else {
            uri_encode(value, false, encoded);
        }
        p.value_size = encoded.size() - p.value_at;
        params.push_back(p);
    }
    void append_param(std::size_t index, std::string& out) const {
        // Encoded names and values never end in a raw '&' or '?'.
        if (!out.empty() && out.back() != '?' && out.back() != '&') out.push_back('&');
        out.append(name_of(params[index])).push_back('=');
        out.append(value_of(params[index]));
    }
    void clear() {
        canonical_query.clear();
        encoded.clear();
        params.clear();
        order.clear();
        canonical.clear();
        string_to_sign.clear();
        scope.clear();
        signed_names.clear();
        payload_hash.clear();
        credential.clear();
        query.clear();
    }
};

scratch& thread_scratch() {
    thread_local scratch s;
    s.clear();
    return s;
}

void sign_string(const credentials& creds, const date_strings& dates,
                 const signing_options& options, const scratch& s, char signature_hex[64]) {
    const auto& key =
        detail::signing_key(creds.secret, dates.scope_date(), options.region, options.service);
    unsigned char mac[32];
    key.published_mac(s.string_to_sign.data(), s.string_to_sign.size(), mac);
    detail::hex32(mac, signature_hex);
}

void append_canonical_request(const http_request& request, const signing_options& options,
                              const scratch& s, std::string_view canonical_query,
                              std::string& out) {
    out.append(request.method);
    out.push_back('\n');
    detail::append_canonical_uri(request.path, request.path_is_encoded, options.normalize_path,
                                 options.double_encode_path, out);
    out.push_back('\n');
    out.append(canonical_query);
    out.push_back('\n');
    detail::append_canonical_headers(s.headers, out);
    out.push_back('\n');
    out.append(s.signed_names);
    out.push_back('\n');
    out.append(s.payload_hash);
}

}  // namespace

result<presigned_request> presign(const credentials& creds, const http_request& request,
                                  const signing_options& options) {
    if (auto ok = validate_common(creds, request, options); !ok) return unexpected{ok.error()};
    const sys_seconds signed_at = (options.signing_time ? *options.signing_time : now());
    auto lifetime =
        detail::presign_lifetime(creds, signed_at, options.expires, options.clamp_expiry);
    if (!lifetime) return unexpected{lifetime.error()};
    const seconds expires = *lifetime;
    auto dates = dates_for(signed_at);
    if (!dates) return unexpected{dates.error()};

    scratch& s = thread_scratch();
    detail::collect_canonical_headers(request.headers, {}, options.signed_headers, request.host,
                                      s.headers);
    detail::append_signed_header_names(s.headers, s.signed_names);
    detail::append_scope((*dates)->scope_date(), options.region, options.service, s.scope);
    s.credential.append(creds.access_key_id).push_back('/');
    s.credential.append(s.scope);
    append_payload_hash(request.body, s.payload_hash);

    char expires_text[24];
    auto [expires_end, expires_ec] =
        std::to_chars(expires_text, expires_text + sizeof expires_text, expires.count());
    (void)expires_ec;
    const std::string_view expires_view(expires_text,
                                        static_cast<std::size_t>(expires_end - expires_text));
    const bool has_token = !creds.session_token.empty();
    const bool sign_token = has_token && options.token_mode == session_token_mode::sign;

    const std::size_t user_count = request.query.size();
    for (const auto& q : request.query) s.add_param(q.name, q.value);
    const std::size_t algorithm_at = s.params.size();
    // Names, algorithm, date and expiry are unreserved characters only: no encoding pass needed.
    s.add_param("X-Amz-Algorithm", detail::algorithm, true, true);
    s.add_param("X-Amz-Credential", s.credential, true);
    s.add_param("X-Amz-Date", (*dates)->amz(), true, true);
    s.add_param("X-Amz-SignedHeaders", s.signed_names, true);
    s.add_param("X-Amz-Expires", expires_view, true, true);
    if (has_token) s.add_param("X-Amz-Security-Token", creds.session_token, true);
    for (std::size_t i = 0; i < s.params.size(); ++i) {
        if (sign_token || i < algorithm_at + 5) s.order.push_back(i);
    }
    std::sort(s.order.begin(), s.order.end(), [&s](std::size_t a, std::size_t b) {
        auto an = s.name_of(s.params[a]), bn = s.name_of(s.params[b]);
        if (an != bn) return an < bn;
        return s.value_of(s.params[a]) < s.value_of(s.params[b]);
    });
    for (std::size_t i : s.order) s.append_param(i, s.canonical_query);

    append_canonical_request(request, options, s, s.canonical_query, s.canonical);
    detail::append_string_to_sign((*dates)->amz(), s.scope, s.canonical, s.string_to_sign);
    char signature[64];
    sign_string(creds, **dates, options, s, signature);

    presigned_request out;
    out.method = request.method;
    out.url.reserve(request.scheme.size() + 3 + request.host.size() + request.path.size() * 3 +
                    s.encoded.size() + 96);
    out.url.append(request.scheme).append("://").append(request.host);
    detail::append_wire_path(request.path, request.path_is_encoded, out.url);
    out.url.push_back('?');
    for (std::size_t i = 0; i < user_count; ++i) s.append_param(i, out.url);
    if (user_count > 0) out.url.push_back('&');
    out.auth_query_at = out.url.size();
    for (std::size_t i = algorithm_at; i < s.params.size(); ++i) s.append_param(i, out.url);
    out.url.append("&X-Amz-Signature=").append(signature, 64);

    for (const auto& h : request.headers) {
        if (detail::iequals(h.name, "host") || detail::iequals(h.name, "authorization")) continue;
        std::string lower;
        detail::append_lower(h.name, lower);
        if (!options.signed_headers.empty() &&
            std::find(options.signed_headers.begin(), options.signed_headers.end(), lower) ==
                options.signed_headers.end()) {
            continue;
        }
        out.headers.push_back(h);
    }
    out.signed_at = signed_at;
    out.expires_in = expires;
    out.expires_at = signed_at + expires;
    out.artifacts.signature = signature_hex(std::string_view(signature, 64));
    if (options.capture_artifacts) {
        out.artifacts.canonical_request = s.canonical;
        out.artifacts.string_to_sign = s.string_to_sign;
    }
    return out;
}

result<signed_request> sign(const credentials& creds, const http_request& request,
                            const signing_options& options) {
    if (auto ok = validate_common(creds, request, options); !ok) return unexpected{ok.error()};
    const sys_seconds signed_at = (options.signing_time ? *options.signing_time : now());
    auto dates = dates_for(signed_at);
    if (!dates) return unexpected{dates.error()};
    if (auto ok = check_not_expired(creds, signed_at); !ok) return unexpected{ok.error()};

    scratch& s = thread_scratch();
    append_payload_hash(request.body, s.payload_hash);

    signed_request out;
    if (!creds.session_token.empty())
        out.headers.push_back({"X-Amz-Security-Token", creds.session_token});
    out.headers.push_back({"X-Amz-Date", std::string((*dates)->amz())});
    if (options.add_content_sha256_header)
        out.headers.push_back({"x-amz-content-sha256", s.payload_hash});

    // The token is signed in sign mode; in append mode it is added but left out of the signature.
    std::span<const header> added = out.headers;
    if (!creds.session_token.empty() && options.token_mode == session_token_mode::append) {
        added = added.subspan(1);
    }
    std::vector<std::string> only = options.signed_headers;
    if (!only.empty()) {
        for (const auto& h : added) {
            std::string lower;
            detail::append_lower(h.name, lower);
            only.push_back(std::move(lower));
        }
    }
    detail::collect_canonical_headers(request.headers, added, only, request.host, s.headers);
    detail::append_signed_header_names(s.headers, s.signed_names);
    detail::append_scope((*dates)->scope_date(), options.region, options.service, s.scope);

    for (const auto& q : request.query) s.query.push_back({q.name, q.value});
    detail::append_canonical_query(s.query, s.canonical_query);
    append_canonical_request(request, options, s, s.canonical_query, s.canonical);
    detail::append_string_to_sign((*dates)->amz(), s.scope, s.canonical, s.string_to_sign);
    char signature[64];
    sign_string(creds, **dates, options, s, signature);

    std::string authorization;
    authorization.reserve(128 + s.scope.size() + s.signed_names.size());
    authorization.append(detail::algorithm)
        .append(" Credential=")
        .append(creds.access_key_id)
        .append("/")
        .append(s.scope)
        .append(", SignedHeaders=")
        .append(s.signed_names)
        .append(", Signature=")
        .append(signature, 64);
    out.headers.push_back({"Authorization", std::move(authorization)});
    out.signed_at = signed_at;
    out.artifacts.signature = signature_hex(std::string_view(signature, 64));
    if (options.capture_artifacts) {
        out.artifacts.canonical_request = s.canonical;
        out.artifacts.string_to_sign = s.string_to_sign;
    }
    return out;
}

namespace detail {

result<const date_strings*> dates_for(sys_seconds t) {
    thread_local date_strings cached;
    if (cached.at != t) {
        auto formatted = format_amz_date(t);
        if (!formatted) return unexpected{formatted.error()};
        std::memcpy(cached.amz_date, formatted->data(), 16);
        cached.at = t;
    }
    return &cached;
}

std::string time_text(sys_seconds t) {
    auto text = format_iso8601(t);
    return text ? *text : std::to_string(t.time_since_epoch().count()) + " s since 1970";
}

result<void> check_not_expired(const credentials& creds, sys_seconds at) {
    if (creds.expiration && *creds.expiration <= at) {
        return fail(errc::credentials_expired, "the credentials expired at " +
                                                   time_text(*creds.expiration) +
                                                   ", before the signing time " + time_text(at));
    }
    return {};
}

result<std::chrono::seconds> presign_lifetime(const credentials& creds, sys_seconds signed_at,
                                              std::chrono::seconds requested, bool clamp) {
    if (requested < std::chrono::seconds{1} || requested > max_expiry) {
        return fail(errc::invalid_expiry, "the expiry must be between 1 and 604800 seconds, not " +
                                              std::to_string(requested.count()));
    }
    if (auto ok = check_not_expired(creds, signed_at); !ok) return unexpected{ok.error()};
    if (creds.expiration && *creds.expiration < signed_at + requested) {
        if (!clamp) {
            return fail(errc::credentials_expire_first,
                        "the credentials expire at " + time_text(*creds.expiration) +
                            ", before the URL would at " + time_text(signed_at + requested));
        }
        return *creds.expiration - signed_at;
    }
    return requested;
}

}  // namespace detail

}  // namespace sigv4
