// SPDX-License-Identifier: Apache-2.0
// Verifying a presigned S3 GET beside presigning it: the goal is verify <= 1.5x presign.
// Run: build/tests/bench/verify_bench --benchmark_min_time=1 (compare verify_* with presign_*)
#include <benchmark/benchmark.h>

#include <sigv4/sigv4.hpp>

#include "alternating.hpp"

#include <chrono>
#include <string>

namespace {

constexpr std::string_view secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
constexpr std::string_view token =
    "IQoJb3JpZ2luX2VjEJr//////////"
    "wEaCXVzLWVhc3QtMSJHMEUCIQDexampletokenexampletokenexampletokenexampletoken"
    "AiBexampletokenexampletokenexampletokenexampletokenKvQIIq///////////"
    "ARAAGgwxMjM0NTY3ODkwMTIiDexampletoken";
const std::string key_30 = "photos/2026/11/holiday-0001.jpg";
const sigv4::s3::endpoint where{"eu-west-1", "", sigv4::s3::addressing::automatic};

sigv4::sys_seconds signing_time() {
    return *sigv4::parse_amz_date("20261128T120000Z");
}

const sigv4::credentials& creds(bool temporary) {
    static const auto long_term = *sigv4::credentials::make("AKIAIOSFODNN7EXAMPLE", secret);
    static const auto with_token = *sigv4::credentials::make("AKIAIOSFODNN7EXAMPLE", secret, token);
    return temporary ? with_token : long_term;
}

sigv4::s3::object_options object_options(bool put) {
    sigv4::s3::object_options options;
    options.signing_time = signing_time();
    if (put) options.content_type = "image/jpeg";
    return options;
}

// A server's key table: the lookup lends the stored key.
const sigv4::key_lookup& keys(bool temporary) {
    static const sigv4::known_key long_term_key{*sigv4::secret_key::from(secret), {}};
    static const sigv4::known_key temporary_key{*sigv4::secret_key::from(secret),
                                                std::string(token)};
    static const sigv4::key_lookup long_term = [](std::string_view id) -> const sigv4::known_key* {
        return id == "AKIAIOSFODNN7EXAMPLE" ? &long_term_key : nullptr;
    };
    static const sigv4::key_lookup with_token = [](std::string_view id) -> const sigv4::known_key* {
        return id == "AKIAIOSFODNN7EXAMPLE" ? &temporary_key : nullptr;
    };
    return temporary ? with_token : long_term;
}

/// What the server receives for a presigned URL.
sigv4::received_request received(const sigv4::presigned_request& presigned) {
    std::size_t host_start = presigned.url.find("://") + 3;
    std::size_t path_start = presigned.url.find('/', host_start);
    sigv4::received_request request;
    request.method = presigned.method;
    request.target = presigned.url.substr(path_start);
    request.headers = presigned.headers;
    request.headers.push_back({"Host", presigned.url.substr(host_start, path_start - host_start)});
    request.headers.push_back({"User-Agent", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36"});
    request.headers.push_back({"Accept", "*/*"});
    return request;
}

void presign(benchmark::State& state, bool put, bool temporary) {
    auto options = object_options(put);
    for (auto _ : state) {
        auto url = sigv4::s3::presign_object(creds(temporary), put ? "PUT" : "GET", "my-bucket",
                                             key_30, where, options);
        benchmark::DoNotOptimize(url);
    }
}

// What a server receives for a fresh presigned URL, and the options that accept it a minute later.
struct verify_case {
    sigv4::received_request request;
    sigv4::verify_options options;
};

verify_case fresh_case(bool put, bool temporary) {
    verify_case made;
    made.request = received(*sigv4::s3::presign_object(
        creds(temporary), put ? "PUT" : "GET", "my-bucket", key_30, where, object_options(put)));
    made.options.region = "eu-west-1";
    made.options.now = signing_time() + std::chrono::seconds{60};
    return made;
}

// As a server verifies: one verified_request per thread, filled in place on every request.
void verify(benchmark::State& state, bool put, bool temporary) {
    const auto [request, options] = fresh_case(put, temporary);
    sigv4::verified_request facts;
    if (!sigv4::verify(request, keys(temporary), options, facts)) {
        state.SkipWithError("the presigned request does not verify");
        return;
    }
    for (auto _ : state) {
        auto verified = sigv4::verify(request, keys(temporary), options, facts);
        benchmark::DoNotOptimize(verified);
        benchmark::DoNotOptimize(facts);
    }
}

void presign_get(benchmark::State& state) {
    presign(state, false, false);
}
void verify_presigned_get(benchmark::State& state) {
    verify(state, false, false);
}
void presign_put_token_content_type(benchmark::State& state) {
    presign(state, true, true);
}
void verify_presigned_put_token_content_type(benchmark::State& state) {
    verify(state, true, true);
}
// Warm-up: the first few hundred milliseconds of a process run slower on this VM (clock ramp).
BENCHMARK(presign_get)->MinWarmUpTime(0.5);
BENCHMARK(verify_presigned_get);
BENCHMARK(presign_put_token_content_type);
BENCHMARK(verify_presigned_put_token_content_type);

// The value-returning verify(): a new verified_request, and so its allocations, per call.
void verify_presigned_get_new_facts(benchmark::State& state) {
    const auto [request, options] = fresh_case(false, false);
    for (auto _ : state) {
        auto verified = sigv4::verify(request, keys(false), options);
        if (!verified) state.SkipWithError("the presigned request does not verify");
        benchmark::DoNotOptimize(verified);
    }
}
BENCHMARK(verify_presigned_get_new_facts);

// The goal as one number: verify GET time over presign GET time, measured in alternating batches
// so that a busy machine slows both alike.
void verify_over_presign(benchmark::State& state) {
    const auto options = object_options(false);
    const verify_case made = fresh_case(false, false);  // named members: lambdas below capture them
    const auto& request = made.request;
    const auto& verify_options = made.options;
    sigv4::verified_request facts;
    if (!sigv4::verify(request, keys(false), verify_options, facts)) {
        state.SkipWithError("the presigned request does not verify");
        return;
    }
    presign_bench::time_alternately(
        state, "verify",
        [&] {
            auto verified = sigv4::verify(request, keys(false), verify_options, facts);
            benchmark::DoNotOptimize(verified);
            benchmark::DoNotOptimize(facts);
        },
        "presign",
        [&] {
            auto url =
                sigv4::s3::presign_object(creds(false), "GET", "my-bucket", key_30, where, options);
            benchmark::DoNotOptimize(url);
        });
}
BENCHMARK(verify_over_presign)->MinTime(2.0);

// The cost of a failure a server sees most: a tampered signature (full work, then the error with
// canonical request and string to sign).
void verify_presigned_get_bad_signature(benchmark::State& state) {
    auto presigned =
        *sigv4::s3::presign_get(creds(false), "my-bucket", key_30, where, object_options(false));
    auto request = received(presigned);
    request.target.back() = request.target.back() == '0' ? '1' : '0';
    sigv4::verify_options options;
    options.region = "eu-west-1";
    options.now = signing_time();
    sigv4::verified_request facts;
    for (auto _ : state) {
        auto verified = sigv4::verify(request, keys(false), options, facts);
        benchmark::DoNotOptimize(verified);
    }
}
BENCHMARK(verify_presigned_get_bad_signature);

}  // namespace

BENCHMARK_MAIN();
