// SPDX-License-Identifier: Apache-2.0
// A consumer of sigv4::sigv4: presigns AWS's documented example and checks the signature.
#include <sigv4/sigv4.hpp>

#include <cstdio>

int main() {
    auto creds = sigv4::credentials::make("AKIAIOSFODNN7EXAMPLE",
                                          "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY");
    if (!creds) return 1;
    sigv4::http_request request;
    request.host = "examplebucket.s3.amazonaws.com";
    request.path = "/test.txt";
    request.body = sigv4::payload::unsigned_payload();
    auto options = sigv4::signing_options::for_s3("us-east-1");
    options.signing_time = *sigv4::parse_amz_date("20130524T000000Z");
    options.expires = std::chrono::seconds{86400};
    auto url = sigv4::presign(*creds, request, options);
    if (!url) return 2;
    std::puts(url->url.c_str());
    if (url->artifacts.signature !=
        "aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404")
        return 3;
    // The server side too, and dropping this thread's caches (exported from a shared sigv4 as
    // well).
    const std::string_view target(url->url.c_str() + url->url.find("/test.txt"));
    sigv4::received_request received{
        "GET", std::string(target), {{"Host", request.host}}, sigv4::payload::from_hash({})};
    const sigv4::known_key key{creds->secret, {}};
    sigv4::verify_options verify_options;
    verify_options.region = "us-east-1";
    verify_options.now = options.signing_time;
    auto verified = sigv4::verify(
        received, [&](std::string_view) { return &key; }, verify_options);
    sigv4::clear_thread_caches();
    return verified && verified->path == "/test.txt" ? 0 : 4;
}
