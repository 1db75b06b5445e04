// SPDX-License-Identifier: Apache-2.0
// Fuzzes the whole verifier. The input is text, so seeds stay readable:
//   line 1: flags: 's' S3 rules, 'b' check the body (payload::from_body), 't' the key has a token,
//           'k' no key lookup function at all
//   line 2: method
//   line 3: request target
//   then header lines "Name:value" until an empty line; the rest is the body.
// The clock is fixed at 2013-05-24T00:00:00Z, the time the seeds were signed at.
#include <sigv4/verify.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

namespace {

constexpr std::string_view secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
constexpr std::string_view token = "FQoGZXIvYXdzE//token+with/slashes=";

std::string_view next_line(std::string_view& text) {
    std::size_t end = text.find('\n');
    std::string_view line = text.substr(0, end);
    text.remove_prefix(end == std::string_view::npos ? text.size() : end + 1);
    return line;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view text(reinterpret_cast<const char*>(data), size);
    const std::string_view flags = next_line(text);
    sigv4::received_request request;
    request.method = std::string(next_line(text));
    request.target = std::string(next_line(text));
    while (!text.empty()) {
        std::string_view line = next_line(text);
        if (line.empty()) break;
        std::size_t colon = line.find(':');
        if (colon == std::string_view::npos) {
            request.headers.push_back({std::string(line), {}});
        } else {
            request.headers.push_back({std::string(line.substr(0, colon)), std::string(line.substr(colon + 1))});
        }
    }
    const bool check_body = flags.find('b') != std::string_view::npos;
    request.body = check_body ? sigv4::payload::from_body(std::string(text)) : sigv4::payload::from_hash({});

    const bool with_token = flags.find('t') != std::string_view::npos;
    sigv4::key_lookup keys;
    if (flags.find('k') == std::string_view::npos) {
        keys = [with_token](std::string_view id) -> std::optional<sigv4::known_key> {
            if (id != "AKIAIOSFODNN7EXAMPLE") return std::nullopt;
            return sigv4::known_key{*sigv4::secret_key::from(secret), with_token ? std::string(token) : std::string{}};
        };
    }
    sigv4::verify_options options;
    options.region = "us-east-1";
    options.service = "s3";
    options.s3 = flags.find('s') != std::string_view::npos;
    options.now = *sigv4::parse_amz_date("20130524T000000Z");

    auto verified = sigv4::verify(request, keys, options);
    if (verified) {
        if (verified->path.empty() || verified->path.front() != '/') std::abort();
        if (verified->access_key_id != "AKIAIOSFODNN7EXAMPLE") std::abort();
        if (verified->signed_headers.empty()) std::abort();
    } else {
        const auto& e = verified.error();
        if (e.message.empty()) std::abort();
        // No secret ever leaves in an error.
        if (e.message.find(secret) != std::string::npos || e.canonical_request.find(secret) != std::string::npos ||
            e.string_to_sign.find(secret) != std::string::npos) {
            std::abort();
        }
        (void)sigv4::s3_error_code(e.code);
        if (sigv4::http_status(e.code) != 400 && sigv4::http_status(e.code) != 403) std::abort();
    }
    return 0;
}
