// SPDX-License-Identifier: Apache-2.0
// sigv4/caches.hpp: presign, sign and verify leave a key derived from the secret in this thread's
// caches; clear_thread_caches() removes every trace of it from this thread (and only this
// thread), after which signing and verifying work as before.
#include <doctest/doctest.h>

#include <sigv4/sigv4.hpp>

#include <chrono>
#include <string>
#include <thread>

#include "detail/caches.hpp"

using namespace std::chrono_literals;

namespace {

constexpr std::string_view secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
constexpr std::string_view token = "FQoGZXIvYXdzE//token+with/slashes=";

sigv4::sys_seconds t0() {
    return *sigv4::parse_amz_date("20261128T120000Z");
}

// Presigns a GET and verifies it on this thread, filling every cache.
void presign_and_verify(const sigv4::credentials& creds) {
    const sigv4::s3::endpoint where{"eu-west-1", "", sigv4::s3::addressing::path};
    sigv4::s3::object_options options;
    options.signing_time = t0();
    auto get = sigv4::s3::presign_get(creds, "bkt", "a/b.txt", where, options);
    REQUIRE(get);
    const std::size_t host_start = get->url.find("://") + 3;
    const std::size_t path_start = get->url.find('/', host_start);
    sigv4::received_request request{
        "GET",
        get->url.substr(path_start),
        {{"Host", get->url.substr(host_start, path_start - host_start)}},
        sigv4::payload::from_hash({})};
    const sigv4::known_key key{creds.secret, creds.session_token};
    const sigv4::key_lookup keys = [&](std::string_view) { return &key; };
    sigv4::verify_options verify_options;
    verify_options.region = "eu-west-1";
    verify_options.now = t0() + 1s;
    sigv4::verified_request facts;
    REQUIRE(sigv4::verify(request, keys, verify_options, facts));
    // Header signing fills the signing-key cache too.
    sigv4::http_request plain;
    plain.host = "bkt.s3.eu-west-1.amazonaws.com";
    plain.path = "/a";
    auto signing = sigv4::signing_options::for_s3("eu-west-1");
    signing.signing_time = t0();
    REQUIRE(sigv4::sign(creds, plain, signing));
}

}  // namespace

TEST_CASE(
    "clear_thread_caches drops every derived key and token of this thread; signing works after") {
    for (bool with_token : {false, true}) {
        CAPTURE(with_token);
        const auto creds =
            *sigv4::credentials::make("AKIAIOSFODNN7EXAMPLE", secret, with_token ? token : "");
        const auto other = *sigv4::secret_key::from("another-secret-of-forty-bytes-000000000000");
        presign_and_verify(creds);
        CHECK(sigv4::detail::thread_caches_hold(creds.secret));
        CHECK_FALSE(sigv4::detail::thread_caches_hold(other));

        sigv4::clear_thread_caches();
        CHECK_FALSE(sigv4::detail::thread_caches_hold(creds.secret));
        // Clearing twice is harmless, and the next calls derive the keys again.
        sigv4::clear_thread_caches();
        presign_and_verify(creds);
        CHECK(sigv4::detail::thread_caches_hold(creds.secret));
        sigv4::clear_thread_caches();
    }
}

TEST_CASE("clear_thread_caches leaves other threads' caches alone") {
    const auto creds = *sigv4::credentials::make("AKIAIOSFODNN7EXAMPLE", secret);
    bool held_before = false;
    bool held_after = false;
    bool cleared_here = false;
    std::thread other([&] {
        presign_and_verify(creds);
        held_before = sigv4::detail::thread_caches_hold(creds.secret);
        std::thread clearing([&] {
            presign_and_verify(creds);
            sigv4::clear_thread_caches();
            cleared_here = !sigv4::detail::thread_caches_hold(creds.secret);
        });
        clearing.join();
        held_after = sigv4::detail::thread_caches_hold(creds.secret);
        sigv4::clear_thread_caches();
    });
    other.join();
    CHECK(held_before);
    CHECK(cleared_here);
    CHECK(held_after);
}
