// SPDX-License-Identifier: Apache-2.0
// presign::oidc::token_validator against a provider faked in memory: keys made and tokens signed
// with libcjose (RS256, ES256), hostile tokens built by hand (alg none, HS256 keyed with the public
// key, tampered payloads), a clock the test moves and a key set the test rotates.
#include <presign/oidc/token_validator.hpp>

#include <doctest/doctest.h>
#include <openssl/hmac.h>

#include <cjose/base64.h>
#include <cjose/header.h>
#include <cjose/jwk.h>
#include <cjose/jws.h>
#include <cjose/util.h>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

namespace {

using json = nlohmann::json;
using presign::oidc::reason;
using clock_type = std::chrono::system_clock;

constexpr const char* issuer = "https://idp.example.test";
constexpr const char* audience = "page-client";
constexpr std::int64_t start_time = 1'900'000'000;

struct key_deleter {
    void operator()(cjose_jwk_t* k) const { cjose_jwk_release(k); }
};
using key_ptr = std::unique_ptr<cjose_jwk_t, key_deleter>;

key_ptr make_key(const std::string& alg, const std::string& kid) {
    cjose_err err{};
    static const uint8_t exponent[] = {1, 0, 1};
    key_ptr key(alg == "RS256" ? cjose_jwk_create_RSA_random(2048, exponent, sizeof exponent, &err)
                               : cjose_jwk_create_EC_random(CJOSE_JWK_EC_P_256, &err));
    REQUIRE(key);
    REQUIRE(cjose_jwk_set_kid(key.get(), kid.data(), kid.size(), &err));
    return key;
}

json public_jwk(const cjose_jwk_t* key) {
    cjose_err err{};
    char* text = cjose_jwk_to_json(key, false, &err);
    REQUIRE(text);
    json out = json::parse(text);
    cjose_get_dealloc()(text);
    return out;
}

std::string b64url(const std::string& bytes) {
    char* out = nullptr;
    size_t length = 0;
    cjose_err err{};
    REQUIRE(cjose_base64url_encode(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(),
                                   &out, &length, &err));
    std::string text(out, length);
    cjose_get_dealloc()(out);
    return text;
}

std::string sign(const cjose_jwk_t* key, const std::string& alg, const json& claims,
                 const json& extra_header = {}) {
    cjose_err err{};
    cjose_header_t* header = cjose_header_new(&err);
    REQUIRE(cjose_header_set(header, "alg", alg.c_str(), &err));
    const char* kid = cjose_jwk_get_kid(key, &err);
    if (kid) REQUIRE(cjose_header_set(header, "kid", kid, &err));
    for (auto& [name, value] : extra_header.items()) {
        REQUIRE(cjose_header_set_raw(header, name.c_str(), value.dump().c_str(), &err));
    }
    const std::string payload = claims.dump();
    cjose_jws_t* jws = cjose_jws_sign(key, header, reinterpret_cast<const uint8_t*>(payload.data()),
                                      payload.size(), &err);
    cjose_header_release(header);
    REQUIRE(jws);
    const char* compact = nullptr;
    REQUIRE(cjose_jws_export(jws, &compact, &err));
    std::string token = compact;
    cjose_jws_release(jws);
    return token;
}

/// A token built by hand: header and payload as given, signature bytes as given.
std::string forge(const json& header, const json& claims, const std::string& signature) {
    return b64url(header.dump()) + "." + b64url(claims.dump()) + "." + b64url(signature);
}

std::string hmac_sha256(const std::string& secret, const std::string& data) {
    unsigned char mac[32];
    unsigned int length = sizeof mac;
    HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
         reinterpret_cast<const unsigned char*>(data.data()), data.size(), mac, &length);
    return std::string(reinterpret_cast<char*>(mac), length);
}

/// The identity provider: a discovery document and a key set the test can change, and a clock.
struct fake_provider {
    std::int64_t now = start_time;
    json keys = json::array();
    std::map<std::string, int> fetches;
    bool down = false;
    std::string discovered_issuer = issuer;

    presign::oidc::fetcher fetcher() {
        return [this](const std::string& url) -> sigv4::result<std::string, std::string> {
            ++fetches[url];
            if (down) return sigv4::unexpected<std::string>{"connection refused"};
            if (url == std::string(issuer) + "/.well-known/openid-configuration") {
                return json{{"issuer", discovered_issuer},
                            {"jwks_uri", std::string(issuer) + "/jwks"}}
                    .dump();
            }
            if (url == std::string(issuer) + "/jwks") return json{{"keys", keys}}.dump();
            return sigv4::unexpected<std::string>{"HTTP status 404"};
        };
    }
    int jwks_fetches() { return fetches[std::string(issuer) + "/jwks"]; }

    presign::oidc::validator_options options() {
        presign::oidc::validator_options o;
        o.issuer = issuer;
        o.audiences = {audience, "second-client"};
        o.now = [this] { return clock_type::time_point(std::chrono::seconds(now)); };
        return o;
    }

    json claims(const std::string& sub = "user-a") const {
        return {
            {"iss", issuer}, {"aud", audience}, {"sub", sub}, {"iat", now}, {"exp", now + 3600}};
    }
};

struct fixture {
    fake_provider provider;
    key_ptr rsa = make_key("RS256", "rsa-1");
    key_ptr ec = make_key("ES256", "ec-1");
    std::unique_ptr<presign::oidc::token_validator> validator;

    fixture() {
        provider.keys = json::array({public_jwk(rsa.get()), public_jwk(ec.get())});
        validator = std::make_unique<presign::oidc::token_validator>(provider.options(),
                                                                     provider.fetcher());
    }

    /// The code the validator refuses `token` with, or 0 when it accepts it.
    int refusal(const std::string& token) {
        auto out = validator->validate("Bearer " + token);
        if (out) return 0;
        CHECK(out.error().message.find(token) == std::string::npos);
        return static_cast<int>(out.error().code);
    }
};

int code(reason r) {
    return static_cast<int>(r);
}

}  // namespace

TEST_CASE("a token signed by the provider names its subject (RS256 and ES256)") {
    fixture f;
    REQUIRE(f.validator->discover());
    for (const auto* key : {f.rsa.get(), f.ec.get()}) {
        const std::string alg = key == f.rsa.get() ? "RS256" : "ES256";
        CAPTURE(alg);
        const auto token = sign(key, alg, f.provider.claims("sub-" + alg));
        for (const std::string& header :
             {"Bearer " + token, "bearer  " + token, "BEARER " + token, token}) {
            auto identity = f.validator->validate(header);
            REQUIRE(identity);
            CHECK(*identity == "sub-" + alg);
        }
    }
    CHECK(f.provider.jwks_fetches() == 1);  // cached
}

TEST_CASE("audience: aud (string or array), else client_id, as API Gateway checks it") {
    fixture f;
    struct row {
        json aud;
        json client_id;
        int expected;
    };
    const row rows[] = {
        {audience, nullptr, 0},
        {json::array({"other", "second-client"}), nullptr, 0},
        {nullptr, audience, 0},                             // Cognito access tokens
        {"other", audience, code(reason::wrong_audience)},  // aud wins when present
        {json::array({"other"}), nullptr, code(reason::wrong_audience)},
        {nullptr, "other", code(reason::wrong_audience)},
        {nullptr, nullptr, code(reason::wrong_audience)},
        {42, nullptr, code(reason::wrong_audience)},
    };
    for (const auto& r : rows) {
        CAPTURE(r.aud.dump());
        CAPTURE(r.client_id.dump());
        json claims = f.provider.claims();
        claims.erase("aud");
        if (!r.aud.is_null()) claims["aud"] = r.aud;
        if (!r.client_id.is_null()) claims["client_id"] = r.client_id;
        CHECK(f.refusal(sign(f.rsa.get(), "RS256", claims)) == r.expected);
    }
}

TEST_CASE("claims: iss, exp, nbf, iat with 60 s of leeway, sub") {
    fixture f;
    const auto now = f.provider.now;
    struct row {
        const char* name;
        json value;  // null: remove the claim
        int expected;
    };
    const row rows[] = {
        {"iss", "https://evil.example.test", code(reason::wrong_issuer)},
        {"iss", std::string(issuer) + "/", code(reason::wrong_issuer)},
        {"iss", nullptr, code(reason::wrong_issuer)},
        {"exp", now - 61, code(reason::expired)},
        {"exp", now - 60, code(reason::expired)},
        {"exp", now - 59, 0},
        {"exp", nullptr, code(reason::expired)},
        {"exp", "2099-01-01", code(reason::malformed_token)},
        {"nbf", now + 61, code(reason::not_yet_valid)},
        {"nbf", now + 59, 0},
        {"iat", now + 120, code(reason::not_yet_valid)},
        {"sub", "", code(reason::missing_subject)},
        {"sub", nullptr, code(reason::missing_subject)},
        {"sub", 7, code(reason::missing_subject)},
    };
    for (const auto& r : rows) {
        CAPTURE(r.name);
        CAPTURE(r.value.dump());
        json claims = f.provider.claims();
        if (r.value.is_null()) {
            claims.erase(r.name);
        } else {
            claims[r.name] = r.value;
        }
        CHECK(f.refusal(sign(f.rsa.get(), "RS256", claims)) == r.expected);
        CHECK(f.refusal(sign(f.ec.get(), "ES256", claims)) == r.expected);
    }
}

TEST_CASE("hostile tokens are refused with exact codes") {
    fixture f;
    const json claims = f.provider.claims();
    const auto good = sign(f.rsa.get(), "RS256", claims);
    const auto head = good.substr(0, good.find('.'));
    const auto signature = good.substr(good.rfind('.') + 1);
    // The RSA public key in the forms an attacker would try as an HMAC secret.
    const std::string public_key_json = public_jwk(f.rsa.get()).dump();

    json tampered_claims = claims;
    tampered_claims["sub"] = "user-b";
    const std::string tampered = head + "." + b64url(tampered_claims.dump()) + "." + signature;

    const json hs_header = {{"alg", "HS256"}, {"kid", "rsa-1"}, {"typ", "JWT"}};
    const std::string hs_input = b64url(hs_header.dump()) + "." + b64url(claims.dump());
    const std::string hs_token = hs_input + "." + b64url(hmac_sha256(public_key_json, hs_input));

    struct row {
        std::string name;
        std::string authorization;
        int expected;
    };
    const row rows[] = {
        {"empty header", "", code(reason::missing_token)},
        {"bearer without token", "Bearer ", code(reason::missing_token)},
        {"not a JWT", "Bearer abc", code(reason::malformed_token)},
        {"JWE-shaped", "Bearer a.b.c.d.e", code(reason::malformed_token)},
        {"bad characters", "Bearer a+b.c/d.e=", code(reason::malformed_token)},
        {"header not JSON", "Bearer " + b64url("nope") + "." + b64url("{}") + ".",
         code(reason::malformed_token)},
        {"alg none", "Bearer " + forge({{"alg", "none"}, {"kid", "rsa-1"}}, claims, ""),
         code(reason::unsupported_algorithm)},
        {"alg None", "Bearer " + forge({{"alg", "None"}, {"kid", "rsa-1"}}, claims, ""),
         code(reason::unsupported_algorithm)},
        {"no alg", "Bearer " + forge({{"kid", "rsa-1"}}, claims, "x"),
         code(reason::unsupported_algorithm)},
        {"HS256 keyed with the public key", "Bearer " + hs_token,
         code(reason::unsupported_algorithm)},
        {"RS512", "Bearer " + forge({{"alg", "RS512"}, {"kid", "rsa-1"}}, claims, "x"),
         code(reason::unsupported_algorithm)},
        {"crit header",
         "Bearer " + sign(f.rsa.get(), "RS256", claims, {{"crit", json::array({"exp"})}}),
         code(reason::unsupported_algorithm)},
        {"tampered payload", "Bearer " + tampered, code(reason::bad_signature)},
        {"signature stripped", "Bearer " + good.substr(0, good.rfind('.') + 1),
         code(reason::bad_signature)},
        {"ES256 under the RSA key's kid",
         "Bearer " + forge({{"alg", "ES256"}, {"kid", "rsa-1"}}, claims, std::string(64, 'x')),
         code(reason::unknown_key)},
        {"no kid", "Bearer " + forge({{"alg", "RS256"}}, claims, "x"), code(reason::unknown_key)},
    };
    for (const auto& r : rows) {
        CAPTURE(r.name);
        auto out = f.validator->validate(r.authorization);
        REQUIRE_FALSE(out);
        CHECK(static_cast<int>(out.error().code) == r.expected);
        if (r.authorization.size() > 20)
            CHECK(out.error().message.find(r.authorization.substr(7)) == std::string::npos);
    }
    CHECK(f.refusal(good) == 0);
}

TEST_CASE("a key the provider does not publish, under a known kid, does not verify") {
    fixture f;
    const auto impostor = make_key("RS256", "rsa-1");
    CHECK(f.refusal(sign(impostor.get(), "RS256", f.provider.claims())) ==
          code(reason::bad_signature));
    const auto impostor_ec = make_key("ES256", "ec-1");
    CHECK(f.refusal(sign(impostor_ec.get(), "ES256", f.provider.claims())) ==
          code(reason::bad_signature));
}

TEST_CASE("unknown kid: the key set is refetched (rotation), at most once per interval") {
    fixture f;
    REQUIRE(f.validator->discover());
    CHECK(f.provider.jwks_fetches() == 1);

    const auto stranger = make_key("RS256", "nobody");
    f.provider.now += 10;
    CHECK(f.refusal(sign(stranger.get(), "RS256", f.provider.claims())) ==
          code(reason::unknown_key));
    CHECK(f.provider.jwks_fetches() == 2);
    // Within the interval another unknown kid does not make the validator fetch again.
    CHECK(f.refusal(sign(stranger.get(), "RS256", f.provider.claims())) ==
          code(reason::unknown_key));
    CHECK(f.provider.jwks_fetches() == 2);

    // The provider rotates: a new key is published, the old one withdrawn.
    const auto rotated = make_key("RS256", "rsa-2");
    f.provider.keys = json::array({public_jwk(rotated.get())});
    f.provider.now += 6;
    CHECK(f.refusal(sign(rotated.get(), "RS256", f.provider.claims())) == 0);
    CHECK(f.provider.jwks_fetches() == 3);
    CHECK(f.refusal(sign(f.rsa.get(), "RS256", f.provider.claims())) == code(reason::unknown_key));
}

TEST_CASE(
    "the key set is refreshed when older than jwks_max_age; an unreachable provider keeps the old "
    "keys") {
    fixture f;
    REQUIRE(f.validator->discover());
    const auto token = [&] { return sign(f.rsa.get(), "RS256", f.provider.claims()); };
    f.provider.now += 3599;
    CHECK(f.refusal(token()) == 0);
    CHECK(f.provider.jwks_fetches() == 1);
    f.provider.now += 2;
    CHECK(f.refusal(token()) == 0);
    CHECK(f.provider.jwks_fetches() == 2);
    f.provider.down = true;
    f.provider.now += 3601;
    CHECK(f.refusal(token()) == 0);  // stale keys still verify while the provider is down
}

TEST_CASE(
    "discovery: issuer must match, https required off loopback, provider down is a clear error") {
    SUBCASE("the document names another issuer") {
        fixture f;
        f.provider.discovered_issuer = "https://other.example.test";
        auto out = f.validator->discover();
        REQUIRE_FALSE(out);
        CHECK(out.error().find("other.example.test") != std::string::npos);
        CHECK(f.refusal(sign(f.rsa.get(), "RS256", f.provider.claims())) ==
              code(reason::provider_unavailable));
    }
    SUBCASE("provider down") {
        fixture f;
        f.provider.down = true;
        auto out = f.validator->discover();
        REQUIRE_FALSE(out);
        CHECK(out.error().find("connection refused") != std::string::npos);
        CHECK(f.refusal(sign(f.rsa.get(), "RS256", f.provider.claims())) ==
              code(reason::provider_unavailable));
        f.provider.down = false;  // recovers on the next token
        CHECK(f.refusal(sign(f.rsa.get(), "RS256", f.provider.claims())) == 0);
    }
    SUBCASE("http issuer off loopback, missing audience") {
        fake_provider provider;
        auto options = provider.options();
        options.issuer = "http://idp.example.test";
        presign::oidc::token_validator plain(options, provider.fetcher());
        auto out = plain.discover();
        REQUIRE_FALSE(out);
        CHECK(out.error().find("https://") != std::string::npos);
        CHECK(provider.fetches.empty());
        options = provider.options();
        options.audiences.clear();
        presign::oidc::token_validator no_audience(options, provider.fetcher());
        CHECK_FALSE(no_audience.discover());
    }
}

TEST_CASE("reason names are stable") {
    CHECK(presign::oidc::to_string(reason::unsupported_algorithm) == "unsupported_algorithm");
    CHECK(presign::oidc::to_string(reason::wrong_audience) == "wrong_audience");
    CHECK(presign::oidc::to_string(reason::provider_unavailable) == "provider_unavailable");
}
