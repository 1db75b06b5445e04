// SPDX-License-Identifier: Apache-2.0
// Fuzzes the whole verifier. The input is text, so seeds stay readable:
//   line 1: flags: 's' S3 rules, 'b' check the body (payload::from_body), 't' the key has a token,
//           'k' no key lookup function at all
//   line 2: method
//   line 3: request target
//   then header lines "Name:value" until an empty line; the rest is the body.
// The clock is fixed at 2013-05-24T00:00:00Z, the time the seeds were signed at.
#include <sigv4/encoding.hpp>
#include <sigv4/verify.hpp>

#include "detail/canonical.hpp"
#include "request_text.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

namespace {

constexpr std::string_view secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
constexpr std::string_view token = "FQoGZXIvYXdzE//token+with/slashes=";

/// The canonical request up to the signed-header line, computed the slow, obvious way with the
/// library's shared canonical pieces: the verifier's in-place fast path must agree with it.
std::string reference_prefix(const sigv4::received_request& request, bool s3,
                             std::string_view signed_list) {
    std::string_view target = request.target;
    std::size_t question = target.find('?');
    std::string_view raw_path = target.substr(0, question);
    std::string_view raw_query =
        question == std::string_view::npos ? std::string_view{} : target.substr(question + 1);
    std::string out = request.method + "\n";
    if (s3) {
        sigv4::detail::append_canonical_uri(*sigv4::percent_decode(raw_path), false, false, false,
                                            out);
    } else {
        sigv4::detail::append_canonical_uri(raw_path, true, true, true, out);
    }
    out.push_back('\n');
    std::vector<std::string> decoded;
    decoded.reserve(2 * (raw_query.size() + 1));
    std::vector<sigv4::detail::query_view> params;
    bool query_auth = false;
    std::size_t pos = 0;
    while (pos < raw_query.size()) {
        std::size_t end = raw_query.find('&', pos);
        if (end == std::string_view::npos) end = raw_query.size();
        std::string_view part = raw_query.substr(pos, end - pos);
        pos = end + 1;
        if (part.empty()) continue;
        std::size_t eq = part.find('=');
        const auto& name = decoded.emplace_back(*sigv4::percent_decode(part.substr(0, eq)));
        const auto& value = decoded.emplace_back(*sigv4::percent_decode(
            eq == std::string_view::npos ? std::string_view{} : part.substr(eq + 1)));
        if (name == "X-Amz-Algorithm") query_auth = true;
        params.push_back({name, value});
    }
    if (query_auth)
        std::erase_if(params, [](const auto& p) { return p.name == "X-Amz-Signature"; });
    sigv4::detail::append_canonical_query(params, out);
    out.push_back('\n');
    std::vector<std::string> names;
    std::size_t start = 0;
    while (start <= signed_list.size()) {
        std::size_t end = signed_list.find(';', start);
        if (end == std::string_view::npos) end = signed_list.size();
        names.emplace_back(signed_list.substr(start, end - start));
        start = end + 1;
    }
    std::vector<sigv4::detail::canonical_header> headers;
    sigv4::detail::collect_canonical_headers(request.headers, {}, names, {}, headers);
    sigv4::detail::append_canonical_headers(headers, out);
    out.push_back('\n');
    return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    auto input = fuzz_input::parse({reinterpret_cast<const char*>(data), size});
    const std::string_view flags = input.flags;
    sigv4::received_request& request = input.request;
    const bool check_body = input.has('b');
    request.body = check_body ? sigv4::payload::from_body(std::string(input.body))
                              : sigv4::payload::from_hash({});

    const bool with_token = flags.find('t') != std::string_view::npos;
    sigv4::key_lookup keys;
    if (flags.find('k') == std::string_view::npos) {
        keys = [key = sigv4::known_key{*sigv4::secret_key::from(secret),
                                       with_token ? std::string(token) : std::string{}}](
                   std::string_view id) -> const sigv4::known_key* {
            return id == "AKIAIOSFODNN7EXAMPLE" ? &key : nullptr;
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
        // No secret ever leaves in an error (unless the client sent it: messages quote the input).
        const bool sent =
            std::string_view(reinterpret_cast<const char*>(data), size).find(secret) !=
            std::string_view::npos;
        if (!sent && (e.message.find(secret) != std::string::npos ||
                      e.canonical_request.find(secret) != std::string::npos ||
                      e.string_to_sign.find(secret) != std::string::npos)) {
            std::abort();
        }
        (void)sigv4::s3_error_code(e.code);
        if (e.code == sigv4::errc::signature_does_not_match && !e.canonical_request.empty()) {
            // "...headers\n\nsigned;list\npayload": compare everything before the list.
            std::string_view canonical = e.canonical_request;
            std::size_t payload_line = canonical.rfind('\n');
            std::size_t list_line = canonical.rfind('\n', payload_line - 1) + 1;
            std::string_view list = canonical.substr(list_line, payload_line - list_line);
            if (reference_prefix(request, options.s3, list) != canonical.substr(0, list_line))
                std::abort();
        }
        if (sigv4::http_status(e.code) != 400 && sigv4::http_status(e.code) != 403) std::abort();
    }
    return 0;
}
