// SPDX-License-Identifier: Apache-2.0
// sigv4/result.hpp: value or error, and stable code names.
#include <doctest/doctest.h>

#include <sigv4/result.hpp>
#include <sigv4/verify.hpp>

#include <memory>
#include <set>

namespace {
sigv4::result<int> parse_positive(int v) {
    if (v <= 0) return sigv4::fail(sigv4::errc::invalid_argument, "not positive");
    return v;
}
sigv4::result<void> check(bool ok) {
    if (!ok) return sigv4::fail(sigv4::errc::invalid_option, "bad");
    return {};
}
}  // namespace

TEST_CASE("result holds a value or an error") {
    auto good = parse_positive(3);
    REQUIRE(good);
    CHECK(*good == 3);
    CHECK(good.value() == 3);
    auto bad = parse_positive(-1);
    REQUIRE_FALSE(bad);
    CHECK(bad.error().code == sigv4::errc::invalid_argument);
    CHECK(bad.error().message == "not positive");
    CHECK(check(true).has_value());
    CHECK(check(false).error().code == sigv4::errc::invalid_option);
}

TEST_CASE("result works with move-only values and custom error types") {
    sigv4::result<std::unique_ptr<int>> owned(std::make_unique<int>(7));
    REQUIRE(owned);
    std::unique_ptr<int> taken = std::move(owned).value();
    CHECK(*taken == 7);
    sigv4::result<int, sigv4::verify_error> failed = sigv4::unexpected{
        sigv4::verify_error{sigv4::errc::request_expired, "Request has expired", {}, {}}};
    CHECK(failed.error().code == sigv4::errc::request_expired);
}

TEST_CASE("every code has a distinct name; verification codes map onto S3") {
    std::set<std::string_view> names;
    for (int c = static_cast<int>(sigv4::errc::empty_access_key_id);
         c <= static_cast<int>(sigv4::errc::crypto_failure); ++c) {
        auto name = sigv4::to_string(static_cast<sigv4::errc>(c));
        CHECK(name != "unknown");
        CHECK(names.insert(name).second);
    }
    CHECK(sigv4::s3_error_code(sigv4::errc::signature_does_not_match) == "SignatureDoesNotMatch");
    CHECK(sigv4::http_status(sigv4::errc::signature_does_not_match) == 403);
    CHECK(sigv4::s3_error_code(sigv4::errc::request_expired) == "AccessDenied");
    CHECK(sigv4::s3_error_code(sigv4::errc::authorization_query_parameters_error) ==
          "AuthorizationQueryParametersError");
    CHECK(sigv4::http_status(sigv4::errc::authorization_query_parameters_error) == 400);
    CHECK(sigv4::s3_error_code(sigv4::errc::invalid_access_key_id) == "InvalidAccessKeyId");
    CHECK(sigv4::http_status(sigv4::errc::invalid_access_key_id) == 403);
}
