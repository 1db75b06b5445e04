// SPDX-License-Identifier: Apache-2.0
// sigv4/signer.hpp: AWS's published SigV4 suite, byte for byte, and the signer's error cases.
#include <doctest/doctest.h>

#include <sigv4/signer.hpp>

#include "support/aws_suite.hpp"

using namespace std::chrono_literals;

namespace {

constexpr std::size_t suite_case_count = 38;

}  // namespace

TEST_CASE("AWS SigV4 suite: header and query variants, byte for byte") {
    auto names = suite::case_names();
    if (names.empty()) return;  // reported missing: the binary exits as skipped
    REQUIRE(names.size() >= suite_case_count);
    std::size_t ran = 0;
    for (const auto& name : names) {
        CAPTURE(name);
        auto tc = suite::load(name);
        auto creds = tc.credentials();
        auto options = tc.options();

        auto header_signed = sigv4::sign(creds, tc.request, options);
        REQUIRE(header_signed);
        CHECK(header_signed->artifacts.canonical_request ==
              tc.expected("header-canonical-request.txt"));
        CHECK(header_signed->artifacts.string_to_sign == tc.expected("header-string-to-sign.txt"));
        CHECK(header_signed->artifacts.signature == tc.expected("header-signature.txt"));
        std::string target = tc.raw_path + (tc.raw_query.empty() ? "" : "?" + tc.raw_query);
        CHECK(suite::render(tc, target, header_signed->headers) ==
              tc.expected("header-signed-request.txt"));

        auto presigned = sigv4::presign(creds, tc.request, options);
        REQUIRE(presigned);
        CHECK(presigned->artifacts.canonical_request == tc.expected("query-canonical-request.txt"));
        CHECK(presigned->artifacts.string_to_sign == tc.expected("query-string-to-sign.txt"));
        CHECK(presigned->artifacts.signature == tc.expected("query-signature.txt"));
        std::string query_target = tc.raw_path + "?" +
                                   (tc.raw_query.empty() ? "" : tc.raw_query + "&") +
                                   std::string(presigned->auth_query());
        CHECK(suite::render(tc, query_target, {}) == tc.expected("query-signed-request.txt"));
        ++ran;
    }
    MESSAGE("AWS SigV4 suite: " << ran << " cases ran (header and query variants)");
    CHECK(ran >= suite_case_count);
}
