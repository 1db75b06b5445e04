// SPDX-License-Identifier: Apache-2.0
// Fuzzes the request-target and query-string parsing of sigv4::verify: the input is the raw
// request target ("/bucket/key?X-Amz-Algorithm=..."), verified under S3 and generic-service rules.
#include <sigv4/encoding.hpp>
#include <sigv4/verify.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

namespace {

const sigv4::key_lookup& keys() {
    static const sigv4::known_key key{
        *sigv4::secret_key::from("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"), {}};
    static const sigv4::key_lookup lookup = [](std::string_view id) -> const sigv4::known_key* {
        return id == "AKIAIOSFODNN7EXAMPLE" ? &key : nullptr;
    };
    return lookup;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string target(reinterpret_cast<const char*>(data), size);
    (void)sigv4::percent_decode(target);

    sigv4::received_request request;
    request.method = "GET";
    request.target = target;
    request.headers = {{"Host", "examplebucket.s3.amazonaws.com"}};
    sigv4::verify_options options;
    options.region = "us-east-1";
    options.service = "s3";
    options.now = *sigv4::parse_amz_date("20130524T000000Z");
    for (bool s3 : {true, false}) {
        options.s3 = s3;
        auto verified = sigv4::verify(request, keys(), options);
        if (verified) {
            // Only a correctly signed request verifies; its facts must be coherent.
            if (verified->path.empty() || verified->path.front() != '/') std::abort();
            if (verified->expires_at <= *options.now) std::abort();
        } else if (verified.error().message.empty()) {
            std::abort();
        }
    }
    return 0;
}
