// SPDX-License-Identifier: Apache-2.0
#include <presign/oidc/token_validator.hpp>

#include <algorithm>
#include <cctype>
#include <map>
#include <mutex>
#include <optional>
#include <utility>

#include <cjose/base64.h>
#include <cjose/jwk.h>
#include <cjose/jws.h>
#include <cjose/util.h>
#include <nlohmann/json.hpp>

namespace presign::oidc {
namespace {

using json = nlohmann::json;
using clock_type = std::chrono::system_clock;

constexpr std::size_t max_token_bytes = 16 * 1024;
constexpr std::size_t min_rsa_bits = 2048;

sigv4::unexpected<rejection> refuse(reason code, std::string message) {
    return sigv4::unexpected<rejection>{rejection{code, std::move(message)}};
}

struct jwk_release {
    void operator()(cjose_jwk_t* key) const noexcept { cjose_jwk_release(key); }
};
struct jws_release {
    void operator()(cjose_jws_t* jws) const noexcept { cjose_jws_release(jws); }
};
using jwk_ptr = std::unique_ptr<cjose_jwk_t, jwk_release>;
using jws_ptr = std::unique_ptr<cjose_jws_t, jws_release>;

/// A signing key of the provider, usable with exactly one of the two algorithms.
struct signing_key {
    std::string algorithm;  // "RS256" or "ES256"
    jwk_ptr key;
};

/// The provider's key set by kid. Immutable once built; shared by the validating threads.
using key_set = std::multimap<std::string, signing_key, std::less<>>;

/// Decodes one base64url part of a token into JSON (cjose decodes, nlohmann parses).
std::optional<json> decode_json_part(std::string_view part) {
    uint8_t* bytes = nullptr;
    size_t length = 0;
    cjose_err err{};
    if (!cjose_base64url_decode(part.data(), part.size(), &bytes, &length, &err))
        return std::nullopt;
    std::unique_ptr<uint8_t, void (*)(uint8_t*)> owned(bytes,
                                                       [](uint8_t* p) { cjose_get_dealloc()(p); });
    json document = json::parse(bytes, bytes + length, nullptr, false);
    if (document.is_discarded() || !document.is_object()) return std::nullopt;
    return document;
}

bool is_base64url_or_dot(char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
}

/// The algorithm a JWK can verify, or empty when it is not a key this validator accepts.
std::string algorithm_for(const json& jwk) {
    const std::string kty = jwk.value("kty", "");
    const std::string use = jwk.value("use", "sig");
    const std::string alg = jwk.value("alg", "");
    if (use != "sig") return {};
    if (kty == "RSA" && (alg.empty() || alg == "RS256")) return "RS256";
    if (kty == "EC" && jwk.value("crv", "") == "P-256" && (alg.empty() || alg == "ES256"))
        return "ES256";
    return {};
}

/// Parses a JWKS document into the keys this validator can use; other keys are skipped.
sigv4::result<key_set, std::string> parse_key_set(const std::string& body) {
    const json document = json::parse(body, nullptr, false);
    if (document.is_discarded() || !document.is_object() || !document.contains("keys") ||
        !document["keys"].is_array()) {
        return sigv4::unexpected<std::string>{
            "the key set is not a JWKS document (no \"keys\" array)"};
    }
    key_set keys;
    for (const auto& entry : document["keys"]) {
        if (!entry.is_object() || !entry.contains("kid") || !entry["kid"].is_string()) continue;
        std::string algorithm = algorithm_for(entry);
        if (algorithm.empty()) continue;
        const std::string text = entry.dump();
        cjose_err err{};
        jwk_ptr key(cjose_jwk_import(text.data(), text.size(), &err));
        if (!key) continue;
        if (algorithm == "RS256" && cjose_jwk_get_keysize(key.get(), &err) < min_rsa_bits) continue;
        keys.emplace(entry["kid"].get<std::string>(),
                     signing_key{std::move(algorithm), std::move(key)});
    }
    return keys;
}

bool is_loopback_http(std::string_view url) {
    for (std::string_view prefix : {"http://127.0.0.1", "http://localhost", "http://[::1]"}) {
        if (!url.starts_with(prefix)) continue;
        const auto rest = url.substr(prefix.size());
        if (rest.empty() || rest.front() == ':' || rest.front() == '/') return true;
    }
    return false;
}

std::optional<double> numeric_claim(const json& claims, const char* name) {
    const auto found = claims.find(name);
    if (found == claims.end() || !found->is_number()) return std::nullopt;
    return found->get<double>();
}

}  // namespace

std::string_view to_string(reason code) noexcept {
    switch (code) {
        case reason::missing_token:
            return "missing_token";
        case reason::malformed_token:
            return "malformed_token";
        case reason::unsupported_algorithm:
            return "unsupported_algorithm";
        case reason::unknown_key:
            return "unknown_key";
        case reason::bad_signature:
            return "bad_signature";
        case reason::wrong_issuer:
            return "wrong_issuer";
        case reason::wrong_audience:
            return "wrong_audience";
        case reason::expired:
            return "expired";
        case reason::not_yet_valid:
            return "not_yet_valid";
        case reason::missing_subject:
            return "missing_subject";
        case reason::provider_unavailable:
            return "provider_unavailable";
    }
    return "unknown";
}

struct token_validator::state {
    validator_options options;
    fetcher fetch;

    std::mutex fetch_mutex;  ///< one fetch at a time; taken before cache_mutex, never inside it
    mutable std::mutex cache_mutex;
    std::string jwks_uri;                   ///< guarded by cache_mutex
    std::shared_ptr<const key_set> keys;    ///< guarded by cache_mutex
    clock_type::time_point fetched_at{};    ///< when keys were fetched; guarded by cache_mutex
    clock_type::time_point last_attempt{};  ///< last fetch attempt; guarded by cache_mutex
    std::uint64_t generation = 0;           ///< counts successful fetches; guarded by cache_mutex

    struct snapshot {
        std::shared_ptr<const key_set> keys;
        clock_type::time_point fetched_at;
        clock_type::time_point last_attempt;
        std::uint64_t generation;
    };
    snapshot current() const {
        std::lock_guard lock(cache_mutex);
        return {keys, fetched_at, last_attempt, generation};
    }

    /// Discovery: the jwks_uri of the configured issuer. Caller holds fetch_mutex.
    sigv4::result<std::string, std::string> discover_locked() {
        const std::string& issuer = options.issuer;
        if (issuer.empty() || options.audiences.empty()) {
            return sigv4::unexpected<std::string>{
                "an issuer and at least one audience are required"};
        }
        if (!issuer.starts_with("https://") && !is_loopback_http(issuer)) {
            return sigv4::unexpected<std::string>{
                "the issuer must be an https:// URL (http:// only on loopback): " + issuer};
        }
        const std::string url =
            (issuer.ends_with('/') ? issuer.substr(0, issuer.size() - 1) : issuer) +
            "/.well-known/openid-configuration";
        auto body = fetch(url);
        if (!body) return sigv4::unexpected<std::string>{"discovery " + url + ": " + body.error()};
        const json document = json::parse(*body, nullptr, false);
        if (document.is_discarded() || !document.is_object()) {
            return sigv4::unexpected<std::string>{"discovery " + url + ": not a JSON object"};
        }
        if (document.value("issuer", "") != issuer) {
            return sigv4::unexpected<std::string>{"discovery " + url + ": its \"issuer\" is \"" +
                                                  document.value("issuer", "") + "\", not \"" +
                                                  issuer + "\""};
        }
        std::string uri = document.value("jwks_uri", "");
        if (!uri.starts_with("https://") && !is_loopback_http(uri)) {
            return sigv4::unexpected<std::string>{"discovery " + url + ": no https jwks_uri"};
        }
        return uri;
    }

    /// Fetches the key set (discovering first if needed) unless another thread fetched one since
    /// `seen_generation`. Keeps the previous keys when the fetch fails.
    sigv4::result<std::string, std::string> refresh(std::uint64_t seen_generation) {
        std::lock_guard fetching(fetch_mutex);
        std::string uri;
        {
            std::lock_guard lock(cache_mutex);
            if (generation != seen_generation) return jwks_uri;
            last_attempt = options.now();
            uri = jwks_uri;
        }
        if (uri.empty()) {
            auto discovered = discover_locked();
            if (!discovered) return discovered;
            uri = std::move(*discovered);
        }
        auto body = fetch(uri);
        if (!body) return sigv4::unexpected<std::string>{"key set " + uri + ": " + body.error()};
        auto parsed = parse_key_set(*body);
        if (!parsed)
            return sigv4::unexpected<std::string>{"key set " + uri + ": " + parsed.error()};
        auto fresh = std::make_shared<const key_set>(std::move(*parsed));
        std::lock_guard lock(cache_mutex);
        jwks_uri = uri;
        keys = std::move(fresh);
        fetched_at = options.now();
        ++generation;
        return jwks_uri;
    }
};

token_validator::token_validator(validator_options options, fetcher fetch)
    : state_(std::make_unique<state>()) {
    state_->options = std::move(options);
    state_->fetch = std::move(fetch);
}

token_validator::~token_validator() = default;

sigv4::result<std::string, std::string> token_validator::discover() {
    return state_->refresh(state_->current().generation);
}

sigv4::result<std::string, rejection> token_validator::validate(
    std::string_view authorization) const {
    // ---- the token itself ------------------------------------------------------------------
    std::string_view token = authorization;
    auto trim = [&token] {
        while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
        while (!token.empty() && token.back() == ' ') token.remove_suffix(1);
    };
    trim();
    constexpr std::string_view scheme = "bearer";
    if (token.size() >= scheme.size() &&
        std::equal(
            scheme.begin(), scheme.end(), token.begin(),
            [](char a, char b) { return a == std::tolower(static_cast<unsigned char>(b)); }) &&
        (token.size() == scheme.size() || token[scheme.size()] == ' ')) {
        token.remove_prefix(scheme.size());
        trim();
    }
    if (token.empty()) return refuse(reason::missing_token, "send Authorization: Bearer <token>");
    if (token.size() > max_token_bytes ||
        !std::all_of(token.begin(), token.end(), is_base64url_or_dot) ||
        std::count(token.begin(), token.end(), '.') != 2) {
        return refuse(reason::malformed_token,
                      "the bearer token is not a signed JWT (compact JWS)");
    }
    const auto header = decode_json_part(token.substr(0, token.find('.')));
    if (!header) return refuse(reason::malformed_token, "the token's header is not base64url JSON");
    const std::string alg = header->contains("alg") && (*header)["alg"].is_string()
                                ? (*header)["alg"].get<std::string>()
                                : "";
    if (alg != "RS256" && alg != "ES256") {
        return refuse(reason::unsupported_algorithm,
                      "the token's alg must be RS256 or ES256" +
                          (alg.empty() ? std::string() : ", not " + json(alg).dump()));
    }
    if (header->contains("crit"))
        return refuse(reason::unsupported_algorithm, "the token has critical header extensions");
    if (!header->contains("kid") || !(*header)["kid"].is_string()) {
        return refuse(reason::unknown_key, "the token's header names no key (kid)");
    }
    const std::string kid = (*header)["kid"].get<std::string>();

    cjose_err err{};
    const jws_ptr jws(cjose_jws_import(token.data(), token.size(), &err));
    if (!jws) return refuse(reason::malformed_token, "the token is not a compact JWS");

    // ---- the key: cached, refreshed when old, refetched (rate-limited) for an unknown kid ----
    const auto& options = state_->options;
    auto view = state_->current();
    const auto now = options.now();
    if (!view.keys || now - view.fetched_at >= options.jwks_max_age) {
        auto refreshed = state_->refresh(view.generation);
        view = state_->current();
        if (!refreshed && !view.keys) {
            return refuse(reason::provider_unavailable,
                          "the identity provider's keys are unavailable: " + refreshed.error());
        }
    }
    auto find_key = [&](const key_set& keys) -> const signing_key* {
        auto [first, last] = keys.equal_range(kid);
        for (auto it = first; it != last; ++it) {
            if (it->second.algorithm == alg) return &it->second;
        }
        return nullptr;
    };
    const signing_key* key = find_key(*view.keys);
    if (!key && now - view.last_attempt >= options.unknown_kid_refetch_interval) {
        (void)state_->refresh(view.generation);  // a failed refetch leaves the old keys
        view = state_->current();
        key = view.keys ? find_key(*view.keys) : nullptr;
    }
    if (!key)
        return refuse(reason::unknown_key,
                      "no " + alg + " key of the identity provider has the token's kid");
    if (!cjose_jws_verify(jws.get(), key->key.get(), &err)) {
        return refuse(reason::bad_signature, "the token's signature does not verify");
    }

    // ---- the claims, as API Gateway checks them ---------------------------------------------
    uint8_t* payload = nullptr;
    size_t payload_length = 0;
    if (!cjose_jws_get_plaintext(jws.get(), &payload, &payload_length, &err)) {
        return refuse(reason::malformed_token, "the token has no payload");
    }
    const json claims = json::parse(payload, payload + payload_length, nullptr, false);
    if (claims.is_discarded() || !claims.is_object()) {
        return refuse(reason::malformed_token, "the token's payload is not a JSON object");
    }
    if (!claims.contains("iss") || claims["iss"] != options.issuer) {
        return refuse(reason::wrong_issuer, "the token was not issued by " + options.issuer);
    }
    auto is_audience = [&](const json& value) {
        return value.is_string() && std::find(options.audiences.begin(), options.audiences.end(),
                                              value.get<std::string>()) != options.audiences.end();
    };
    bool audience_matches = false;
    if (claims.contains("aud")) {
        const json& aud = claims["aud"];
        audience_matches =
            aud.is_array() ? std::any_of(aud.begin(), aud.end(), is_audience) : is_audience(aud);
    } else if (claims.contains("client_id")) {
        audience_matches = is_audience(claims["client_id"]);
    }
    if (!audience_matches)
        return refuse(reason::wrong_audience, "the token is meant for another audience");

    for (const char* name : {"exp", "nbf", "iat"}) {
        if (claims.contains(name) && !claims[name].is_number()) {
            return refuse(reason::malformed_token,
                          std::string("the token's ") + name + " is not a number");
        }
    }
    const double seconds_now = std::chrono::duration<double>(now.time_since_epoch()).count();
    const double leeway = static_cast<double>(options.leeway.count());
    const auto exp = numeric_claim(claims, "exp");
    if (!exp || *exp + leeway <= seconds_now)
        return refuse(reason::expired, "the token has expired: sign in again");
    for (const char* name : {"nbf", "iat"}) {
        const auto value = numeric_claim(claims, name);
        if (value && *value > seconds_now + leeway) {
            return refuse(reason::not_yet_valid,
                          std::string("the token's ") + name + " is in the future");
        }
    }
    if (!claims.contains("sub") || !claims["sub"].is_string() ||
        claims["sub"].get<std::string>().empty()) {
        return refuse(reason::missing_subject, "the token names no subject (sub)");
    }
    return claims["sub"].get<std::string>();
}

}  // namespace presign::oidc
