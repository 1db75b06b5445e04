// SPDX-License-Identifier: Apache-2.0
// Redeeming a share link beside a plain presign. The goal: the token check without a password
// costs at most 1.5x a presign GET (token_check_over_presign's ratio). Also: the whole redemption
// through the service (token check + presign + response + log line) and one password check (the
// KDF, meant to cost 20-50 ms).
// Run: build/tests/bench/share_bench --benchmark_min_time=1
#include <benchmark/benchmark.h>

#include <presign/service.hpp>
#include <presign/token.hpp>
#include <sigv4/sigv4.hpp>

#include "alternating.hpp"

#include <chrono>
#include <map>
#include <string>

namespace {

constexpr std::string_view secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
constexpr std::string_view link_secret = "bench-link-secret-0123456789abcdef0123456789abcdef";
const std::string key = "uploads/users/alice/0123456789abcdef0123456789abcdef/holiday-0001.jpg";
const sigv4::s3::endpoint where{"eu-west-1", "", sigv4::s3::addressing::automatic};

const sigv4::credentials& creds() {
    static const auto made = *sigv4::credentials::make("AKIAIOSFODNN7EXAMPLE", secret);
    return made;
}

const presign::token::keyring& keys() {
    static const presign::token::keyring ring(*presign::token::secret::from_text(link_secret));
    return ring;
}

sigv4::sys_seconds now() {
    return std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now());
}

std::string make_token(std::optional<std::string_view> password = std::nullopt) {
    presign::token::contents what;
    what.expires_at = now() + std::chrono::hours(24);
    what.payload = key;
    what.password = password;
    return *presign::token::seal(keys(), what);
}

sigv4::s3::object_options get_options() {
    sigv4::s3::object_options options;
    options.response_content_disposition = sigv4::s3::attachment_disposition("holiday-0001.jpg");
    return options;
}

void presign_get(benchmark::State& state) {
    const auto options = get_options();
    for (auto _ : state) {
        auto url = sigv4::s3::presign_get(creds(), "my-bucket", key, where, options);
        benchmark::DoNotOptimize(url);
    }
}
BENCHMARK(presign_get)->MinWarmUpTime(0.5);

void token_check(benchmark::State& state) {
    const auto token = make_token();
    const auto at = now();
    for (auto _ : state) {
        auto opened = presign::token::open(keys(), token, presign::token::purpose::share_link, at);
        benchmark::DoNotOptimize(opened);
    }
}
BENCHMARK(token_check);

// The goal as one number, in alternating batches (a busy machine slows both alike).
void token_check_over_presign(benchmark::State& state) {
    const auto token = make_token();
    const auto at = now();
    const auto options = get_options();
    presign_bench::time_alternately(
        state, "token_check",
        [&] {
            auto opened =
                presign::token::open(keys(), token, presign::token::purpose::share_link, at);
            benchmark::DoNotOptimize(opened);
        },
        "presign",
        [&] {
            auto url = sigv4::s3::presign_get(creds(), "my-bucket", key, where, options);
            benchmark::DoNotOptimize(url);
        });
}
BENCHMARK(token_check_over_presign)->MinTime(2.0);

// GET /s/<token> through the service as curl sends it: token check, presign, 302, log line.
void redeem_through_service(benchmark::State& state) {
    std::map<std::string, std::string, std::less<>> env = {
        {"BUCKET_NAME", "my-bucket"},
        {"AWS_REGION", "eu-west-1"},
        {"KEY_PREFIX", "uploads/"},
        {"LINK_SECRET", std::string(link_secret)}};
    auto config = presign::service::config::from_environment(
        [&](std::string_view name) -> std::optional<std::string> {
            auto it = env.find(name);
            if (it == env.end()) return std::nullopt;
            return it->second;
        });
    presign::service::service svc(
        *config, []() -> sigv4::result<sigv4::credentials> { return creds(); },
        [](std::string_view) {});
    presign::service::request req;
    req.method = "GET";
    req.path = "/s/" + make_token();
    req.headers = {{"Accept", "*/*"}, {"User-Agent", "curl/8.5.0"}};
    req.request_id = "bench";
    if (svc.handle(req).status != 302) {
        state.SkipWithError("the link does not redeem");
        return;
    }
    for (auto _ : state) {
        auto res = svc.handle(req);
        benchmark::DoNotOptimize(res);
    }
}
BENCHMARK(redeem_through_service);

// One password check: the KDF the lock costs a guesser (meant to take 20-50 ms).
void password_check(benchmark::State& state) {
    const auto token = make_token("correct horse battery staple");
    const auto opened =
        *presign::token::open(keys(), token, presign::token::purpose::share_link, now());
    for (auto _ : state) {
        auto checked =
            presign::token::check_password(keys(), opened, "correct horse battery staple");
        benchmark::DoNotOptimize(checked);
    }
}
BENCHMARK(password_check)->Unit(benchmark::kMillisecond)->Iterations(20);

}  // namespace

BENCHMARK_MAIN();
