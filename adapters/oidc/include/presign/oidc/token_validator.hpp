// SPDX-License-Identifier: Apache-2.0
// Bearer-token validation as API Gateway's HTTP API JWT authorizer does it, independent of any
// transport: the input is an Authorization header value, the output the caller's identity (the
// token's `sub`) or the reason for a 401.
//
// The provider is found through OpenID Connect discovery
// (<issuer>/.well-known/openid-configuration, whose "issuer" must equal the configured one), its
// signing keys through the document's jwks_uri. A token is accepted when it is a compact JWS signed
// with RS256 or ES256 by a key of that set named by the token's `kid`; `iss` equals the issuer;
// `aud` (or, without `aud`, `client_id`) is one of the audiences; `exp` is in the future and
// `nbf`/`iat`, when present, are not, each with a leeway (60 s by default). Unsigned tokens, HMAC
// algorithms and every other alg are refused.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <sigv4/result.hpp>

namespace presign::oidc {

/// Why a token was refused. Each code is stable; tests assert exact codes.
enum class reason {
    missing_token = 1,  ///< no Authorization header value, or not "Bearer <token>"
    malformed_token,    ///< not a compact JWS: three base64url parts of a JSON header and payload
    unsupported_algorithm,  ///< alg is not RS256 or ES256 (e.g. "none", "HS256"), or crit is
                            ///< present
    unknown_key,            ///< no kid, or no key with that kid (and a matching type) in the JWKS
    bad_signature,          ///< the signature does not verify under the named key
    wrong_issuer,           ///< iss differs from the configured issuer
    wrong_audience,         ///< neither aud nor (without aud) client_id is a configured audience
    expired,                ///< exp missing, or exp + leeway is not after now
    not_yet_valid,          ///< nbf or iat is after now + leeway
    missing_subject,        ///< sub missing or empty
    provider_unavailable,   ///< the JWKS could not be fetched when it was needed
};

/// Short stable name of a code, e.g. "wrong_audience".
[[nodiscard]] std::string_view to_string(reason code) noexcept;

/// A refusal: a code and a message for people. The message never contains the token.
struct rejection {
    reason code{};
    std::string message;
};

/// Fetches a document over HTTP(S): the body of a 200 answer, or a message saying what failed.
using fetcher = std::function<sigv4::result<std::string, std::string>(const std::string& url)>;

struct validator_options {
    std::string issuer;                  ///< exactly as the tokens' iss, e.g. "https://idp.example"
    std::vector<std::string> audiences;  ///< at least one: client ids / API identifiers
    std::chrono::seconds leeway{60};     ///< clock skew allowed on exp, nbf and iat
    /// The key set is fetched again when it is older than this, on the next token.
    std::chrono::seconds jwks_max_age{std::chrono::hours(1)};
    /// A token naming an unknown kid refetches the key set (a rotation), at most this often.
    std::chrono::seconds unknown_kid_refetch_interval{5};
    /// The clock (tests pass their own).
    std::function<std::chrono::system_clock::time_point()> now = [] {
        return std::chrono::system_clock::now();
    };
};

/// Thread safety: validate() may be called from any number of threads at once; discover() and
/// validate() share a key cache guarded internally. At most one fetch runs at a time; a thread
/// that needs the key set while another fetches it waits for that fetch.
class token_validator {
  public:
    /// `fetch` is called for the discovery document and the key set.
    token_validator(validator_options options, fetcher fetch);
    ~token_validator();
    token_validator(const token_validator&) = delete;
    token_validator& operator=(const token_validator&) = delete;

    /// Checks the options, fetches the discovery document and the key set now. The error is a
    /// message for people (which URL failed and why). validate() discovers on demand if this was
    /// not called or failed.
    [[nodiscard]] sigv4::result<std::string, std::string> discover();

    /// The identity (`sub`) of the caller whose Authorization header value is `authorization`
    /// ("Bearer <token>"; a bare token is taken as API Gateway does), or why it is refused.
    [[nodiscard]] sigv4::result<std::string, rejection> validate(
        std::string_view authorization) const;

  private:
    struct state;
    std::unique_ptr<state> state_;
};

}  // namespace presign::oidc
