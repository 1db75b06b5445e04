// SPDX-License-Identifier: Apache-2.0
// Presigned S3 object requests. The common shapes (host plus the object options' own headers and
// query parameters) take a direct path that writes the canonical request in one pass from
// per-thread caches; anything else (metadata, extra headers, values that need whitespace folding)
// goes through the generic sigv4::presign(). Both produce the same URL byte for byte.
#include <openssl/crypto.h>
#include <openssl/sha.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cstring>
#include <span>

#include "detail/caches.hpp"
#include "detail/canonical.hpp"
#include "detail/crypto.hpp"
#include "detail/s3_target.hpp"
#include "detail/signing.hpp"
#include "detail/unreserved.hpp"
#include "detail/writer.hpp"
#include "sigv4/encoding.hpp"
#include "sigv4/s3.hpp"

namespace sigv4::s3 {

namespace {

using std::chrono::seconds;

bool is_base64_sha256(std::string_view text) {
    auto decoded = base64_decode(text);
    return decoded && decoded->size() == 32;
}

// The checks both paths share, in the order the generic path made them.
result<void> validate_object_options(const object_options& options) {
    if (!options.checksum_sha256.empty() && !is_base64_sha256(options.checksum_sha256)) {
        return fail(errc::invalid_option, "the SHA-256 checksum must be the base64 of 32 bytes");
    }
    if (!options.sse_kms_key_id.empty() && options.sse != server_side_encryption::kms) {
        return fail(errc::invalid_option, "a KMS key id needs server-side encryption aws:kms");
    }
    for (const auto& meta : options.metadata) {
        if (!detail::is_token(meta.name)) {
            return fail(errc::invalid_option,
                        "the metadata name '" + meta.name + "' is not a token");
        }
        if (std::any_of(meta.value.begin(), meta.value.end(),
                        [](char c) { return static_cast<unsigned char>(c) >= 0x80; })) {
            return fail(errc::invalid_option,
                        "S3 metadata values can only contain ASCII characters");
        }
    }
    if (!options.download_filename.empty() && !options.response_content_disposition.empty()) {
        return fail(errc::invalid_option,
                    "give either a download file name or a content disposition, not both");
    }
    return {};
}

std::string_view sse_name(server_side_encryption sse) noexcept {
    switch (sse) {
        case server_side_encryption::aes256:
            return "AES256";
        case server_side_encryption::kms:
            return "aws:kms";
        case server_side_encryption::none:
            break;
    }
    return {};
}

// ---------------------------------------------------------------------------------------------
// The generic path: an http_request for sigv4::presign().

result<presigned_request> presign_generic(const credentials& creds, std::string_view method,
                                          const detail::bucket_target& target, std::string_view key,
                                          const endpoint& where, const object_options& options,
                                          std::span<const query_param> extra_query = {}) {
    // Reused per thread: assigning into it keeps its capacity.
    thread_local http_request request;
    request.scheme = target.scheme;
    request.host = target.host;
    request.path.assign(target.path_prefix).append(key);
    request.method.assign(method);
    request.path_is_encoded = false;
    request.headers.clear();
    request.query.clear();
    request.body = payload::unsigned_payload();

    auto add_header = [&](std::string name, std::string value) {
        request.headers.push_back({std::move(name), std::move(value)});
    };
    if (!options.content_type.empty()) add_header("Content-Type", options.content_type);
    if (options.content_length)
        add_header("Content-Length", std::to_string(*options.content_length));
    if (options.if_none_match_any) add_header("If-None-Match", "*");
    if (!options.checksum_sha256.empty())
        add_header("x-amz-checksum-sha256", options.checksum_sha256);
    if (options.sse != server_side_encryption::none) {
        add_header("x-amz-server-side-encryption", std::string(sse_name(options.sse)));
    }
    if (!options.sse_kms_key_id.empty()) {
        add_header("x-amz-server-side-encryption-aws-kms-key-id", options.sse_kms_key_id);
    }
    for (const auto& meta : options.metadata) {
        std::string name = "x-amz-meta-";
        detail::append_lower(meta.name, name);
        add_header(std::move(name), meta.value);
    }
    for (const auto& h : options.extra_headers) request.headers.push_back(h);

    if (!options.download_filename.empty()) {
        request.query.push_back(
            {"response-content-disposition", attachment_disposition(options.download_filename)});
    } else if (!options.response_content_disposition.empty()) {
        request.query.push_back(
            {"response-content-disposition", options.response_content_disposition});
    }
    if (!options.response_content_type.empty()) {
        request.query.push_back({"response-content-type", options.response_content_type});
    }
    if (!options.version_id.empty()) request.query.push_back({"versionId", options.version_id});
    request.query.insert(request.query.end(), extra_query.begin(), extra_query.end());

    signing_options signing = signing_options::for_s3(where.region);
    signing.expires = options.expires;
    signing.signing_time = options.signing_time;
    signing.clamp_expiry = options.clamp_expiry;
    signing.capture_artifacts = options.capture_artifacts;
    return presign(creds, request, signing);
}

// ---------------------------------------------------------------------------------------------
// The direct path.

constexpr std::string_view expires_param = "&X-Amz-Expires=";
constexpr std::string_view signed_headers_param = "&X-Amz-SignedHeaders=";
constexpr std::string_view signature_param = "&X-Amz-Signature=";

using detail::writer;  // appends to a buffer sized beforehand to an upper bound

// Where the last bucket lives, per thread (a thread usually signs for one bucket).
struct cached_target {
    bool valid = false;
    std::uint64_t generation = 0;  // changes whenever the cache is filled
    std::string bucket;
    std::string region;
    std::string endpoint_url;
    addressing style = addressing::automatic;
    detail::bucket_target target;
    std::string url_prefix;  // "scheme://host"
    std::string host_line;   // "host:HOST\n"
};

// The parts of the canonical query and string to sign that depend only on the access key,
// region and second, per thread.
struct cached_scope {
    bool valid = false;
    std::uint64_t generation = 0;  // changes whenever the cache is filled
    sys_seconds at{};
    std::string access_key_id;
    std::string region;
    secret_key secret;  // wiped with the cache
    // "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=...&X-Amz-Date=..."
    std::string query_head;
    // "AWS4-HMAC-SHA256\nYYYYMMDDTHHMMSSZ\nYYYYMMDD/region/s3/aws4_request\n"
    std::string to_sign_head;
    // The signing key of (secret, date, region, s3) that has absorbed to_sign_head: its MAC of a
    // canonical request's hex hash is the signature. Every presign in the same second shares the
    // head, so its first block is hashed once.
    detail::hmac_sha256_key key_after_head;
};

struct cached_token {
    std::uint64_t generation = 0;  // changes whenever the cache is filled
    std::string token;
    std::string param;  // "&X-Amz-Security-Token=" + encoded token
};

// Everything of a presigned request but its method, path and signature: the canonical request
// after the path, and the URL's query up to the signature's value.
struct request_tail {
    // "\nX-Amz-Algorithm=...&X-Amz-SignedHeaders=host\nhost:HOST\n\nhost\nUNSIGNED-PAYLOAD"
    std::string canonical_after_path;
    // "?[option parameters&]X-Amz-Algorithm=...&X-Amz-Signature="
    std::string url_query_before_signature;
    std::size_t auth_query_offset =
        0;  // where X-Amz-Algorithm starts in url_query_before_signature
};

// For the commonest shape (no signed header but host, no option query parameter) the tail
// depends only on the three caches above and the lifetime, so it is kept across calls.
struct cached_tail {
    std::uint64_t target_generation = 0;
    std::uint64_t scope_generation = 0;
    std::uint64_t token_generation = 0;  // 0: no token
    long long lifetime = 0;
    request_tail text;
};

struct direct_state {
    cached_target target;
    cached_scope scope;
    cached_token token;
    cached_tail plain_tail;
    request_tail other_tail;  // rewritten on every call of another shape
    std::string
        user_query;  // the object options' query parameters, encoded, in URL (= sorted) order
    std::string canonical;
};

direct_state& thread_state() noexcept {
    thread_local direct_state state;
    return state;
}

bool target_is_cached(const cached_target& cache, std::string_view bucket,
                      const endpoint& where) noexcept {
    return cache.valid && cache.bucket == bucket && cache.region == where.region &&
           cache.endpoint_url == where.url && cache.style == where.style;
}

result<const cached_target*> fill_target(cached_target& cache, std::string_view bucket,
                                         const endpoint& where) {
    cache.valid = false;
    if (auto ok = detail::resolve_bucket_target(bucket, where, cache.target); !ok)
        return unexpected{ok.error()};
    cache.bucket.assign(bucket);
    cache.region.assign(where.region);
    cache.endpoint_url.assign(where.url);
    cache.style = where.style;
    cache.url_prefix.assign(cache.target.scheme).append("://").append(cache.target.host);
    cache.host_line.assign("host:").append(cache.target.host).push_back('\n');
    ++cache.generation;
    cache.valid = true;
    return &cache;
}

bool scope_is_cached(const cached_scope& cache, const credentials& creds, std::string_view region,
                     sys_seconds signed_at) noexcept {
    return cache.valid && cache.at == signed_at && cache.access_key_id == creds.access_key_id &&
           cache.region == region && cache.secret.equals(creds.secret);
}

result<void> fill_scope(cached_scope& cache, const credentials& creds, std::string_view region,
                        sys_seconds signed_at) {
    cache.valid = false;
    auto dates = detail::dates_for(signed_at);
    if (!dates) return unexpected{dates.error()};
    std::string scope;
    detail::append_scope((*dates)->scope_date(), region, "s3", scope);
    std::string credential = creds.access_key_id + "/" + scope;
    cache.query_head.assign("X-Amz-Algorithm=")
        .append(detail::algorithm)
        .append("&X-Amz-Credential=");
    uri_encode(credential, false, cache.query_head);
    cache.query_head.append("&X-Amz-Date=").append((*dates)->amz());
    cache.to_sign_head.clear();
    detail::append_string_to_sign_head((*dates)->amz(), scope, cache.to_sign_head);
    cache.key_after_head.assign(
        detail::signing_key(creds.secret, (*dates)->scope_date(), region, "s3"));
    cache.key_after_head.absorb(cache.to_sign_head.data(), cache.to_sign_head.size());
    cache.secret = creds.secret;
    cache.at = signed_at;
    cache.access_key_id = creds.access_key_id;
    cache.region.assign(region);
    ++cache.generation;
    cache.valid = true;
    return {};
}

const std::string& token_param_for(cached_token& cache, const std::string& token) {
    if (cache.token != token || cache.param.empty()) {
        cache.token = token;
        cache.param.assign("&X-Amz-Security-Token=");
        uri_encode(token, false, cache.param);
        ++cache.generation;
    }
    return cache.param;
}

bool direct_path_fits(const object_options& options) noexcept {
    return options.metadata.empty() && options.extra_headers.empty() &&
           (options.content_type.empty() || detail::is_plain_header_value(options.content_type)) &&
           (options.sse_kms_key_id.empty() ||
            detail::is_plain_header_value(options.sse_kms_key_id));
}

// One signed header of the direct path. A trivial type, so the array of them is not zero-filled
// on every call.
struct direct_header {
    const char* canonical_name_at;  // lowercase
    std::size_t canonical_name_size;
    const char* sent_name_at;  // as the client is told to send it
    std::size_t sent_name_size;
    const char* value_at;
    std::size_t value_size;

    static direct_header of(std::string_view canonical_name, std::string_view sent_name,
                            std::string_view value) {
        return {canonical_name.data(), canonical_name.size(), sent_name.data(),
                sent_name.size(),      value.data(),          value.size()};
    }
    [[nodiscard]] std::string_view canonical_name() const {
        return {canonical_name_at, canonical_name_size};
    }
    [[nodiscard]] std::string_view sent_name() const { return {sent_name_at, sent_name_size}; }
    [[nodiscard]] std::string_view value() const { return {value_at, value_size}; }
};

// The signed header names in order, host among them: "a;b;host;x" (or with %3B, encoded).
std::string_view put_signed_names(const direct_header* headers, std::size_t before_host,
                                  std::size_t count, std::string_view separator,
                                  char* out) noexcept {
    writer w{out};
    for (std::size_t i = 0; i < before_host; ++i) {
        w.put(headers[i].canonical_name());
        w.put(separator);
    }
    w.put("host");
    for (std::size_t i = before_host; i < count; ++i) {
        w.put(separator);
        w.put(headers[i].canonical_name());
    }
    return {out, static_cast<std::size_t>(w.at - out)};
}

// Sizes `text` to `bound` bytes, lets `write` fill them through a writer, and cuts `text` to what
// was written.
template <class Write>
void write_bounded(std::string& text, std::size_t bound, Write&& write) {
    text.resize(bound);
    writer w{text.data()};
    write(w);
    text.resize(static_cast<std::size_t>(w.at - text.data()));
}

// The canonical query sorts X-Amz-Expires < X-Amz-Security-Token < X-Amz-SignedHeaders, then the
// lowercase option parameters (`user_query`); the URL lists the parameters in the order of the
// generic signer (and AWS's test suite).
void write_tail(const cached_scope& sc, const cached_target& where_to,
                std::string_view expires_text, std::string_view token_param,
                std::string_view user_query, const direct_header* headers, std::size_t before_host,
                std::size_t header_count, request_tail& out) {
    char encoded_text[160];  // the longest list, all six names with %3B, is 137 bytes
    char plain_text[160];
    const std::string_view encoded_names =
        put_signed_names(headers, before_host, header_count, "%3B", encoded_text);
    const std::string_view plain_names =
        put_signed_names(headers, before_host, header_count, ";", plain_text);
    std::size_t headers_size = where_to.host_line.size();
    for (std::size_t i = 0; i < header_count; ++i) {
        headers_size += headers[i].canonical_name().size() + headers[i].value().size() + 2;
    }
    const std::size_t auth_size = sc.query_head.size() + expires_param.size() +
                                  expires_text.size() + token_param.size() +
                                  signed_headers_param.size() + encoded_names.size();

    write_bounded(out.canonical_after_path,
                  auth_size + user_query.size() + headers_size + plain_names.size() +
                      detail::unsigned_payload.size() + 5,
                  [&](writer& w) {
                      w.put('\n');
                      w.put(sc.query_head);
                      w.put(expires_param);
                      w.put(expires_text);
                      w.put(token_param);
                      w.put(signed_headers_param);
                      w.put(encoded_names);
                      if (!user_query.empty()) {
                          w.put('&');
                          w.put(user_query);
                      }
                      w.put('\n');
                      auto put_header = [&w](const direct_header& h) {
                          w.put(h.canonical_name());
                          w.put(':');
                          w.put(h.value());
                          w.put('\n');
                      };
                      for (std::size_t i = 0; i < before_host; ++i) put_header(headers[i]);
                      w.put(where_to.host_line);
                      for (std::size_t i = before_host; i < header_count; ++i)
                          put_header(headers[i]);
                      w.put('\n');
                      w.put(plain_names);
                      w.put('\n');
                      w.put(detail::unsigned_payload);
                  });
    out.auth_query_offset = user_query.empty() ? 1 : user_query.size() + 2;
    write_bounded(out.url_query_before_signature,
                  auth_size + user_query.size() + signature_param.size() + 2, [&](writer& w) {
                      w.put('?');
                      if (!user_query.empty()) {
                          w.put(user_query);
                          w.put('&');
                      }
                      w.put(sc.query_head);
                      w.put(signed_headers_param);
                      w.put(encoded_names);
                      w.put(expires_param);
                      w.put(expires_text);
                      w.put(token_param);
                      w.put(signature_param);
                  });
}

result<void> write_direct(direct_state& state, const credentials& creds, std::string_view method,
                          const cached_target& where_to, std::string_view key,
                          const endpoint& where, const object_options& options,
                          presigned_request& out) {
    const bool usual_method =
        method == "GET" || method == "PUT" || method == "HEAD" || method == "DELETE";
    if (!usual_method && !detail::is_token(method)) {
        return fail(errc::invalid_method,
                    "the HTTP method '" + std::string(method) + "' is not a token");
    }
    if (creds.access_key_id.empty())
        return fail(errc::empty_access_key_id, "the access key id is empty");
    if (creds.secret.empty())
        return fail(errc::invalid_secret_key, "the secret access key is empty");
    const sys_seconds signed_at = options.signing_time ? *options.signing_time : now();
    // Long-term credentials and an expiry in range need no further checks (the common case).
    std::chrono::seconds lifetime = options.expires;
    if (creds.expiration || lifetime < std::chrono::seconds{1} || lifetime > max_expiry) {
        auto checked =
            detail::presign_lifetime(creds, signed_at, options.expires, options.clamp_expiry);
        if (!checked) return unexpected{checked.error()};
        lifetime = *checked;
    }
    const cached_scope& sc = state.scope;
    if (!scope_is_cached(sc, creds, where.region, signed_at)) {
        if (auto filled = fill_scope(state.scope, creds, where.region, signed_at); !filled)
            return filled;
    }

    // Signed headers, sorted by name: content-length < content-type < host < if-none-match <
    // x-amz-checksum-sha256 < x-amz-server-side-encryption <
    // x-amz-server-side-encryption-aws-kms-key-id.
    char length_text[24];
    std::string_view length_view;
    if (options.content_length) {
        auto [end, ec] =
            std::to_chars(length_text, length_text + sizeof length_text, *options.content_length);
        (void)ec;
        length_view = std::string_view(length_text, static_cast<std::size_t>(end - length_text));
    }
    direct_header headers[6];  // without host
    std::size_t header_count = 0;
    if (options.content_length)
        headers[header_count++] =
            direct_header::of("content-length", "Content-Length", length_view);
    if (!options.content_type.empty()) {
        headers[header_count++] =
            direct_header::of("content-type", "Content-Type", options.content_type);
    }
    const std::size_t before_host = header_count;
    if (options.if_none_match_any)
        headers[header_count++] = direct_header::of("if-none-match", "If-None-Match", "*");
    if (!options.checksum_sha256.empty()) {
        headers[header_count++] = direct_header::of(
            "x-amz-checksum-sha256", "x-amz-checksum-sha256", options.checksum_sha256);
    }
    if (options.sse != server_side_encryption::none) {
        headers[header_count++] = direct_header::of(
            "x-amz-server-side-encryption", "x-amz-server-side-encryption", sse_name(options.sse));
    }
    if (!options.sse_kms_key_id.empty()) {
        headers[header_count++] = direct_header::of("x-amz-server-side-encryption-aws-kms-key-id",
                                                    "x-amz-server-side-encryption-aws-kms-key-id",
                                                    options.sse_kms_key_id);
    }

    // The object options' query parameters: all sort after the X-Amz-* ones, in this order.
    state.user_query.clear();
    auto add_query = [&](std::string_view name, std::string_view value) {
        if (!state.user_query.empty()) state.user_query.push_back('&');
        state.user_query.append(name).push_back('=');
        uri_encode(value, false, state.user_query);
    };
    if (!options.download_filename.empty()) {
        add_query("response-content-disposition",
                  attachment_disposition(options.download_filename));
    } else if (!options.response_content_disposition.empty()) {
        add_query("response-content-disposition", options.response_content_disposition);
    }
    if (!options.response_content_type.empty())
        add_query("response-content-type", options.response_content_type);
    if (!options.version_id.empty()) add_query("versionId", options.version_id);

    char expires_text[24];
    auto [expires_end, expires_ec] =
        std::to_chars(expires_text, expires_text + sizeof expires_text, lifetime.count());
    (void)expires_ec;
    const std::string_view expires_view(expires_text,
                                        static_cast<std::size_t>(expires_end - expires_text));
    const std::string_view token_param =
        creds.session_token.empty()
            ? std::string_view{}
            : std::string_view(token_param_for(state.token, creds.session_token));

    // The commonest shape (host the only signed header, no option query parameter) takes its tail
    // from the cache.
    const request_tail* tail = &state.other_tail;
    if (header_count == 0 && state.user_query.empty()) {
        cached_tail& cached = state.plain_tail;
        const std::uint64_t token_generation = token_param.empty() ? 0 : state.token.generation;
        if (cached.target_generation != where_to.generation ||
            cached.scope_generation != sc.generation ||
            cached.token_generation != token_generation || cached.lifetime != lifetime.count()) {
            cached.target_generation = 0;  // invalid until written
            write_tail(sc, where_to, expires_view, token_param, {}, headers, 0, 0, cached.text);
            cached.scope_generation = sc.generation;
            cached.token_generation = token_generation;
            cached.lifetime = lifetime.count();
            cached.target_generation = where_to.generation;
        }
        tail = &cached.text;
    } else {
        write_tail(sc, where_to, expires_view, token_param, state.user_query, headers, before_host,
                   header_count, state.other_tail);
    }

    const std::size_t bound = method.size() + 1 + where_to.target.path_prefix.size() +
                              3 * key.size() + tail->canonical_after_path.size();
    if (state.canonical.size() < bound) state.canonical.resize(bound);
    writer w{state.canonical.data()};
    w.put(method);
    w.put('\n');
    const char* path_at = w.at;
    w.put(where_to.target.path_prefix);
    if (w.encode(key, true) && !is_valid_utf8(key)) {
        return fail(errc::invalid_object_key, "the object key is not valid UTF-8");
    }
    const std::string_view encoded_path(path_at, static_cast<std::size_t>(w.at - path_at));
    w.put(tail->canonical_after_path);
    const std::string_view canonical(state.canonical.data(),
                                     static_cast<std::size_t>(w.at - state.canonical.data()));

    // String to sign = cached head + hex(SHA-256(canonical request)); the key has absorbed the
    // head.
    unsigned char digest[32];
    SHA256_CTX ctx;
    SHA256_Init(&ctx);
    SHA256_Update(&ctx, canonical.data(), canonical.size());
    SHA256_Final(digest, &ctx);
    char canonical_hash[64];
    detail::hex32(digest, canonical_hash);

    unsigned char mac[32];
    sc.key_after_head.published_mac(canonical_hash, sizeof canonical_hash, mac);
    char signature[64];
    detail::hex32(mac, signature);

    out.method.assign(method);
    out.url.resize(where_to.url_prefix.size() + encoded_path.size() +
                   tail->url_query_before_signature.size() + 64);
    writer u{out.url.data()};
    u.put(where_to.url_prefix);
    u.put(encoded_path);
    out.auth_query_at = static_cast<std::size_t>(u.at - out.url.data()) + tail->auth_query_offset;
    u.put(tail->url_query_before_signature);
    u.put(std::string_view(signature, 64));

    // The headers the client must send, in the generic path's order.
    if (header_count) {
        out.headers.reserve(header_count);
        if (!options.content_type.empty())
            out.headers.push_back({"Content-Type", options.content_type});
        if (options.content_length)
            out.headers.push_back({"Content-Length", std::string(length_view)});
        for (std::size_t i = before_host; i < header_count; ++i) {
            out.headers.push_back(
                {std::string(headers[i].sent_name()), std::string(headers[i].value())});
        }
    }
    out.signed_at = signed_at;
    out.expires_in = lifetime;
    out.expires_at = signed_at + lifetime;
    out.artifacts.signature = signature_hex(std::string_view(signature, 64));
    if (options.capture_artifacts) {
        out.artifacts.canonical_request.assign(canonical);
        out.artifacts.string_to_sign.assign(sc.to_sign_head)
            .append(canonical_hash, sizeof canonical_hash);
    }
    return {};
}

// One return of one named object, so the result is built in the caller's slot (no move).
result<presigned_request> presign_direct(direct_state& state, const credentials& creds,
                                         std::string_view method, const cached_target& where_to,
                                         std::string_view key, const endpoint& where,
                                         const object_options& options) {
    result<presigned_request> produced{std::in_place};
    if (auto ok = write_direct(state, creds, method, where_to, key, where, options, *produced);
        !ok) {
        produced = unexpected{ok.error()};
    }
    return produced;
}

}  // namespace

result<presigned_request> presign_object(const credentials& creds, std::string_view method,
                                         std::string_view bucket, std::string_view key,
                                         const endpoint& where, const object_options& options) {
    direct_state& state = thread_state();
    // Errors in the order of locate(): region, key, bucket and endpoint; then the options. A cached
    // target's region, bucket and endpoint were checked when it was filled.
    const bool target_hit = target_is_cached(state.target, bucket, where);
    if (!target_hit && !detail::is_scope_name(where.region)) {
        return fail(errc::invalid_region, "the region '" + where.region + "' is not [a-z0-9-]+");
    }
    if (key.empty()) return fail(errc::invalid_object_key, "the object key is empty");
    if (key.size() > 1024)
        return fail(errc::invalid_object_key, "the object key is longer than 1024 bytes");
    result<const cached_target*> target{&state.target};
    if (!target_hit) {
        target = fill_target(state.target, bucket, where);
        if (!target) return unexpected{target.error()};
    }
    const bool options_need_checks = !options.checksum_sha256.empty() ||
                                     !options.sse_kms_key_id.empty() || !options.metadata.empty() ||
                                     !options.download_filename.empty();
    if (options_need_checks) {
        if (auto ok = validate_object_options(options); !ok) return unexpected{ok.error()};
    }
    if (direct_path_fits(options))
        return presign_direct(state, creds, method, **target, key, where, options);
    if (!is_valid_utf8(key))
        return fail(errc::invalid_object_key, "the object key is not valid UTF-8");
    return presign_generic(creds, method, (*target)->target, key, where, options);
}

result<presigned_request> presign_object_request(const credentials& creds, std::string_view method,
                                                 std::string_view bucket, std::string_view key,
                                                 const endpoint& where,
                                                 std::span<const query_param> query,
                                                 const object_options& options) {
    // Always the generic path: the direct path's caches and tail stay exactly as presign_object
    // uses them.
    if (!detail::is_scope_name(where.region)) {
        return fail(errc::invalid_region, "the region '" + where.region + "' is not [a-z0-9-]+");
    }
    if (auto ok = validate_object_key(key); !ok) return unexpected{ok.error()};
    for (const auto& param : query) {
        if (param.name.empty()) return fail(errc::invalid_query, "a query parameter name is empty");
    }
    detail::bucket_target target;
    if (auto ok = detail::resolve_bucket_target(bucket, where, target); !ok)
        return unexpected{ok.error()};
    if (auto ok = validate_object_options(options); !ok) return unexpected{ok.error()};
    return presign_generic(creds, method, target, key, where, options, query);
}

result<presigned_request> presign_bucket_request(const credentials& creds, std::string_view method,
                                                 std::string_view bucket, const endpoint& where,
                                                 std::span<const query_param> query,
                                                 const object_options& options) {
    if (!detail::is_scope_name(where.region)) {
        return fail(errc::invalid_region, "the region '" + where.region + "' is not [a-z0-9-]+");
    }
    for (const auto& param : query) {
        if (param.name.empty()) return fail(errc::invalid_query, "a query parameter name is empty");
    }
    detail::bucket_target target;
    if (auto ok = detail::resolve_bucket_target(bucket, where, target); !ok)
        return unexpected{ok.error()};
    if (auto ok = validate_object_options(options); !ok) return unexpected{ok.error()};
    // The bucket itself: "/" virtual-hosted, "/bucket/" path style (S3 reads it as "/bucket").
    return presign_generic(creds, method, target, {}, where, options, query);
}

}  // namespace sigv4::s3

namespace sigv4::detail {

void clear_presign_cache() noexcept {
    s3::direct_state& state = s3::thread_state();
    state.scope.valid = false;
    state.scope.secret = secret_key{};
    state.scope.key_after_head.wipe();
    // The session token, and the texts that contain it.
    ++state.token.generation;
    wipe(state.token.token);
    wipe(state.token.param);
    state.plain_tail.token_generation = 0;
    state.plain_tail.target_generation = 0;
    wipe(state.plain_tail.text.canonical_after_path);
    wipe(state.plain_tail.text.url_query_before_signature);
    wipe(state.other_tail.canonical_after_path);
    wipe(state.other_tail.url_query_before_signature);
    wipe(state.canonical);
}

bool presign_cache_holds(const secret_key& secret) noexcept {
    const secret_key& cached = s3::thread_state().scope.secret;
    return !cached.empty() && cached.equals(secret);
}

}  // namespace sigv4::detail
