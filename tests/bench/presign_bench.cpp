// SPDX-License-Identifier: Apache-2.0
// Presign speed beside its floor: the hashing no SigV4 implementation can avoid.
// Run: build/tests/bench/presign_bench  (the ratio presign / floor is the figure that matters)
#include <benchmark/benchmark.h>
#include <openssl/sha.h>

#include <sigv4/sigv4.hpp>

#include "alternating.hpp"

#include <chrono>
#include <cstring>
#include <string>

namespace {

const sigv4::credentials& long_term() {
    static const auto creds = *sigv4::credentials::make("AKIAIOSFODNN7EXAMPLE",
                                                        "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY");
    return creds;
}
const sigv4::credentials& temporary() {
    static const auto creds = *sigv4::credentials::make(
        "ASIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        "IQoJb3JpZ2luX2VjEJr//////////"
        "wEaCXVzLWVhc3QtMSJHMEUCIQDexampletokenexampletokenexampletokenexampletoken"
        "AiBexampletokenexampletokenexampletokenexampletokenKvQIIq///////////"
        "ARAAGgwxMjM0NTY3ODkwMTIiDexampletoken");
    return creds;
}
const std::string key_30 = "photos/2026/11/holiday-0001.jpg";  // 30 bytes
const sigv4::s3::endpoint where{"eu-west-1", "", sigv4::s3::addressing::automatic};

sigv4::s3::object_options fixed_time_options() {
    sigv4::s3::object_options options;
    options.signing_time = *sigv4::parse_amz_date("20261128T120000Z");
    return options;
}

void presign_get(benchmark::State& state) {
    auto options = fixed_time_options();
    for (auto _ : state) {
        auto url = sigv4::s3::presign_get(long_term(), "my-bucket", key_30, where, options);
        benchmark::DoNotOptimize(url);
    }
}
// Warm-up: the first few hundred milliseconds of a process run slower on this VM (clock ramp).
BENCHMARK(presign_get)->MinWarmUpTime(0.5);

void presign_put_token_content_type(benchmark::State& state) {
    auto options = fixed_time_options();
    options.content_type = "image/jpeg";
    for (auto _ : state) {
        auto url = sigv4::s3::presign_put(temporary(), "my-bucket", key_30, where, options);
        benchmark::DoNotOptimize(url);
    }
}
BENCHMARK(presign_put_token_content_type);

// The hashing no implementation can avoid for the GET: SHA-256 of its canonical request and the
// HMAC of its string to sign with the key's inner and outer states already computed.
class floor_hasher {
  public:
    floor_hasher() {
        auto options = fixed_time_options();
        options.capture_artifacts = true;
        auto sample = *sigv4::s3::presign_get(long_term(), "my-bucket", key_30, where, options);
        canonical_ = sample.artifacts.canonical_request;
        to_sign_ = sample.artifacts.string_to_sign;
        unsigned char key[32] = {1, 2, 3};
        unsigned char block[64];
        for (int i = 0; i < 64; ++i)
            block[i] = static_cast<unsigned char>((i < 32 ? key[i] : 0) ^ 0x36);
        SHA256_Init(&inner_);
        SHA256_Update(&inner_, block, 64);
        for (int i = 0; i < 64; ++i)
            block[i] = static_cast<unsigned char>((i < 32 ? key[i] : 0) ^ 0x5c);
        SHA256_Init(&outer_);
        SHA256_Update(&outer_, block, 64);
    }
    void run() const {
        unsigned char digest[32];
        // The low-level API: OpenSSL 3's one-shot SHA256() looks the digest up on every call.
        SHA256_CTX ctx;
        SHA256_Init(&ctx);
        SHA256_Update(&ctx, canonical_.data(), canonical_.size());
        SHA256_Final(digest, &ctx);
        benchmark::DoNotOptimize(digest);
        ctx = inner_;
        SHA256_Update(&ctx, to_sign_.data(), to_sign_.size());
        SHA256_Final(digest, &ctx);
        ctx = outer_;
        SHA256_Update(&ctx, digest, 32);
        SHA256_Final(digest, &ctx);
        benchmark::DoNotOptimize(digest);
    }
    [[nodiscard]] std::size_t canonical_bytes() const { return canonical_.size(); }
    [[nodiscard]] std::size_t to_sign_bytes() const { return to_sign_.size(); }

  private:
    std::string canonical_;
    std::string to_sign_;
    SHA256_CTX inner_{}, outer_{};
};

void floor_get(benchmark::State& state) {
    const floor_hasher floor;
    for (auto _ : state) floor.run();
    state.counters["canonical_bytes"] = static_cast<double>(floor.canonical_bytes());
    state.counters["string_to_sign_bytes"] = static_cast<double>(floor.to_sign_bytes());
}
BENCHMARK(floor_get);

// The goal as one number: presign GET time over floor time, measured in alternating batches so
// that a busy machine slows both alike.
void presign_over_floor(benchmark::State& state) {
    const auto options = fixed_time_options();
    const floor_hasher floor;
    presign_bench::time_alternately(
        state, "presign",
        [&] {
            auto url = sigv4::s3::presign_get(long_term(), "my-bucket", key_30, where, options);
            benchmark::DoNotOptimize(url);
        },
        "floor", [&] { floor.run(); });
}
BENCHMARK(presign_over_floor)->MinTime(2.0);

void header_sign_get(benchmark::State& state) {
    sigv4::http_request request;
    request.method = "GET";
    request.host = "my-bucket.s3.eu-west-1.amazonaws.com";
    request.path = "/" + key_30;
    request.body = sigv4::payload::from_hash(std::string(sigv4::empty_payload_sha256));
    auto when = *sigv4::parse_amz_date("20261128T120000Z");
    for (auto _ : state) {
        auto signed_request = sigv4::s3::sign_request(long_term(), request, "eu-west-1", when);
        benchmark::DoNotOptimize(signed_request);
    }
}
BENCHMARK(header_sign_get);

}  // namespace

BENCHMARK_MAIN();
