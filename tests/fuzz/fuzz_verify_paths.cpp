// SPDX-License-Identifier: Apache-2.0
// The verifier's two paths agree: for every input, when the direct path for presigned URLs
// (detail::verify_presigned_directly) accepts, the full verifier (detail::verify_fully) accepts
// too, with the same facts. Each input runs twice: as given, and re-signed with the signature the
// full verifier computed (from its string to sign), so that most inputs reach the accepting end of
// both paths instead of stopping at a wrong signature.
// The input is request_text.hpp's format; flags: 's' S3 rules, 't' the key has a token, 'u' the
// token is not signed (session_token_signed = false). The body is not used.
// The clock is fixed at 2013-05-24T00:00:00Z, the time the seeds were signed at.
#include <sigv4/verify.hpp>

#include "detail/crypto.hpp"
#include "detail/verify.hpp"
#include "request_text.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

namespace {

// How many inputs each path accepted (the replay test checks the corpus reaches both).
std::size_t direct_accepted = 0;
std::size_t fully_accepted = 0;

constexpr std::string_view secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
constexpr std::string_view token = "FQoGZXIvYXdzE//token+with/slashes=";

[[noreturn]] void fail(const char* what) {
    std::fprintf(stderr, "fuzz_verify_paths: %s\n", what);
    std::abort();
}

bool same_facts(const sigv4::verified_request& a, const sigv4::verified_request& b) {
    if (a.query.size() != b.query.size()) return false;
    for (std::size_t i = 0; i < a.query.size(); ++i) {
        if (a.query[i].name != b.query[i].name || a.query[i].value != b.query[i].value)
            return false;
    }
    return a.kind == b.kind && a.access_key_id == b.access_key_id &&
           a.signed_headers == b.signed_headers && a.signed_at == b.signed_at &&
           a.expires_at == b.expires_at && a.path == b.path && a.payload_hash == b.payload_hash;
}

// Runs both paths; aborts when the direct path accepts what the full verifier does not, or with
// other facts. Returns the full verifier's answer.
sigv4::result<sigv4::verified_request, sigv4::verify_error> check_paths(
    const sigv4::received_request& request, const sigv4::key_lookup& keys,
    const sigv4::verify_options& options) {
    sigv4::verified_request direct;
    const bool direct_accepts =
        sigv4::detail::verify_presigned_directly(request, keys, options, direct);
    auto full = sigv4::detail::verify_fully(request, keys, options);
    fully_accepted += full.has_value();
    if (direct_accepts) {
        ++direct_accepted;
        if (!full) fail("the direct path accepts a request the full verifier refuses");
        if (!same_facts(direct, *full))
            fail("the direct path and the full verifier establish different facts");
    }
    // The public entry point is one of the two.
    sigv4::verified_request through_verify;
    const bool accepted = sigv4::verify(request, keys, options, through_verify).has_value();
    if (accepted != full.has_value()) fail("sigv4::verify disagrees with the full verifier");
    if (accepted && !same_facts(through_verify, *full))
        fail("sigv4::verify establishes other facts");
    return full;
}

// The signature of the full verifier's string to sign
// ("ALGORITHM\nDATE\nDATE/REGION/SERVICE/aws4_request\nHASH").
std::string signature_of(std::string_view string_to_sign) {
    std::string_view rest = string_to_sign;
    fuzz_input::next_line(rest);
    fuzz_input::next_line(rest);
    std::string_view scope = fuzz_input::next_line(rest);
    std::string_view parts[3];
    for (auto& part : parts) {
        const std::size_t slash = scope.find('/');
        if (slash == std::string_view::npos) return {};
        part = scope.substr(0, slash);
        scope.remove_prefix(slash + 1);
    }
    const auto key = *sigv4::secret_key::from(secret);
    unsigned char mac[32];
    sigv4::detail::signing_key(key, parts[0], parts[1], parts[2])
        .mac(string_to_sign.data(), string_to_sign.size(), mac);
    char hex[64];
    sigv4::detail::hex32(mac, hex);
    return std::string(hex, sizeof hex);
}

// The target with the value of its only X-Amz-Signature parameter replaced; empty when it has none
// or several.
std::string with_signature(std::string_view target, std::string_view signature) {
    constexpr std::string_view name = "X-Amz-Signature=";
    std::size_t found = std::string_view::npos;
    for (std::size_t at = target.find(name); at != std::string_view::npos;
         at = target.find(name, at + 1)) {
        if (at == 0 || (target[at - 1] != '?' && target[at - 1] != '&')) continue;
        if (found != std::string_view::npos) return {};
        found = at;
    }
    if (found == std::string_view::npos) return {};
    const std::size_t value_at = found + name.size();
    std::size_t end = target.find('&', value_at);
    if (end == std::string_view::npos) end = target.size();
    return std::string(target.substr(0, value_at)) + std::string(signature) +
           std::string(target.substr(end));
}

}  // namespace

extern "C" int sigv4_fuzz_replay_check() {
    std::printf("the direct path accepted %zu inputs, the full verifier %zu\n", direct_accepted,
                fully_accepted);
    return direct_accepted > 0 && fully_accepted > direct_accepted ? 0 : 1;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    auto input = fuzz_input::parse({reinterpret_cast<const char*>(data), size});
    sigv4::received_request& request = input.request;
    const bool with_token = input.has('t');
    const sigv4::known_key key{*sigv4::secret_key::from(secret),
                               with_token ? std::string(token) : std::string{}};
    const sigv4::key_lookup keys = [&key](std::string_view id) -> const sigv4::known_key* {
        return id == "AKIAIOSFODNN7EXAMPLE" ? &key : nullptr;
    };
    sigv4::verify_options options;
    options.region = "us-east-1";
    options.service = "s3";
    options.s3 = input.has('s');
    options.session_token_signed = !input.has('u');
    options.now = *sigv4::parse_amz_date("20130524T000000Z");

    auto full = check_paths(request, keys, options);
    if (!full && full.error().code == sigv4::errc::signature_does_not_match &&
        !full.error().string_to_sign.empty()) {
        const std::string signature = signature_of(full.error().string_to_sign);
        std::string target =
            signature.empty() ? std::string{} : with_signature(request.target, signature);
        if (!target.empty()) {
            request.target = std::move(target);
            (void)check_paths(request, keys, options);
        }
    }
    return 0;
}
