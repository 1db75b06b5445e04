// SPDX-License-Identifier: Apache-2.0
// sigv4/request.hpp: the request model, and how signing treats each part of it.
#include <doctest/doctest.h>

#include <sigv4/request.hpp>
#include <sigv4/signer.hpp>

using namespace std::chrono_literals;

namespace {
sigv4::credentials creds() {
    return *sigv4::credentials::make("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY");
}
sigv4::signing_options options() {
    auto o = sigv4::signing_options::for_service("us-east-1", "service");
    o.signing_time = *sigv4::parse_amz_date("20150830T123600Z");
    o.capture_artifacts = true;
    return o;
}
sigv4::http_request base() {
    sigv4::http_request r;
    r.host = "example.amazonaws.com";
    return r;
}
}  // namespace

TEST_CASE("payload factories") {
    CHECK(sigv4::payload::unsigned_payload().how == sigv4::payload::kind::unsigned_payload);
    CHECK(sigv4::payload::from_hash("ab").value == "ab");
    CHECK(sigv4::payload::from_body("x").how == sigv4::payload::kind::body);
    CHECK(sigv4::http_request{}.body.how == sigv4::payload::kind::body);
}

TEST_CASE("decoded paths are encoded once for the URL and twice in a generic canonical request") {
    auto r = base();
    r.path = "/a b/c";
    auto p = sigv4::presign(creds(), r, options());
    REQUIRE(p);
    CHECK(p->url.starts_with("https://example.amazonaws.com/a%20b/c?"));
    CHECK(p->artifacts.canonical_request.starts_with("GET\n/a%2520b/c\n"));
    auto s3 = options();
    s3.double_encode_path = false;
    s3.normalize_path = false;
    r.path = "/a b//./c";
    auto q = sigv4::presign(creds(), r, s3);
    REQUIRE(q);
    CHECK(q->artifacts.canonical_request.starts_with("GET\n/a%20b//./c\n"));
}

TEST_CASE("bad requests get exact codes") {
    auto o = options();
    auto r = base();
    r.method = "G ET";
    CHECK(sigv4::sign(creds(), r, o).error().code == sigv4::errc::invalid_method);
    r = base();
    r.host.clear();
    CHECK(sigv4::sign(creds(), r, o).error().code == sigv4::errc::invalid_host);
    r = base();
    r.host = "a/b";
    CHECK(sigv4::sign(creds(), r, o).error().code == sigv4::errc::invalid_host);
    r = base();
    r.path = "relative";
    CHECK(sigv4::sign(creds(), r, o).error().code == sigv4::errc::invalid_path);
    r = base();
    r.query.push_back({"", "v"});
    CHECK(sigv4::sign(creds(), r, o).error().code == sigv4::errc::invalid_query);
    r = base();
    r.headers.push_back({"Bad Name", "v"});
    CHECK(sigv4::sign(creds(), r, o).error().code == sigv4::errc::invalid_header_name);
    r = base();
    r.headers.push_back({"X-Injected", "a\r\nHost: evil"});
    CHECK(sigv4::sign(creds(), r, o).error().code == sigv4::errc::invalid_header_value);
    r = base();
    r.body = sigv4::payload::from_hash("ABC");
    CHECK(sigv4::sign(creds(), r, o).error().code == sigv4::errc::invalid_payload_hash);
    o.region = "US East";
    CHECK(sigv4::sign(creds(), base(), o).error().code == sigv4::errc::invalid_region);
    o = options();
    o.service = "";
    CHECK(sigv4::sign(creds(), base(), o).error().code == sigv4::errc::invalid_service);
    o = options();
    o.expires = 0s;
    CHECK(sigv4::presign(creds(), base(), o).error().code == sigv4::errc::invalid_expiry);
    o.expires = 604801s;
    CHECK(sigv4::presign(creds(), base(), o).error().code == sigv4::errc::invalid_expiry);
    o = options();
    o.signing_time = sigv4::sys_seconds{-5s};
    CHECK(sigv4::presign(creds(), base(), o).error().code == sigv4::errc::invalid_time);
}

TEST_CASE("only the chosen headers are signed; host always is") {
    auto r = base();
    r.headers.push_back({"Content-Type", "text/plain"});
    r.headers.push_back({"User-Agent", "curl"});
    auto o = options();
    o.signed_headers = {"content-type"};
    auto p = sigv4::presign(creds(), r, o);
    REQUIRE(p);
    CHECK(p->url.find("X-Amz-SignedHeaders=content-type%3Bhost&") != std::string::npos);
    REQUIRE(p->headers.size() == 1);
    CHECK(p->headers[0].name == "Content-Type");
    auto s = sigv4::sign(creds(), r, o);
    REQUIRE(s);
    CHECK(s->headers.back().value.find("SignedHeaders=content-type;host;x-amz-date,") !=
          std::string::npos);
}
