// SPDX-License-Identifier: Apache-2.0
// Warm invocation cost inside the Lambda handler: event JSON -> service -> response JSON.
// Goal (issue 5): <= 20 us per warm invocation in the handler.
#include <benchmark/benchmark.h>

#include "presign/lambda/events.hpp"

namespace {

namespace svc = presign::service;

svc::service make_service() {
    auto cfg = svc::config::from_environment([](std::string_view name) -> std::optional<std::string> {
        if (name == "BUCKET_NAME") return "files-bucket";
        if (name == "AWS_REGION") return "eu-west-1";
        if (name == "KEY_PREFIX") return "uploads/";
        if (name == "ALLOWED_ORIGINS") return "https://app.example.com";
        if (name == "ALLOWED_CONTENT_TYPES") return "image/*,text/plain";
        return std::nullopt;
    });
    auto creds = sigv4::credentials::make("ASIAEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
                                          "IQoJb3JpZ2luX2VjEXAMPLETOKEN");
    // The log line is formatted as in production; writing it to stdout is left out of the figure.
    return svc::service(
        *cfg, [c = *creds]() -> sigv4::result<sigv4::credentials> { return c; },
        [](std::string_view line) { benchmark::DoNotOptimize(line.data()); });
}

const std::string upload_event = R"({"version":"2.0","routeKey":"$default","rawPath":"/uploads","rawQueryString":"",
 "headers":{"origin":"https://app.example.com","content-type":"application/json","user-agent":"Mozilla/5.0",
 "accept":"*/*","host":"abc.execute-api.eu-west-1.amazonaws.com","x-forwarded-for":"203.0.113.9"},
 "requestContext":{"accountId":"123456789012","apiId":"abc","domainName":"abc.execute-api.eu-west-1.amazonaws.com",
 "http":{"method":"POST","path":"/uploads","protocol":"HTTP/1.1","sourceIp":"203.0.113.9","userAgent":"Mozilla/5.0"},
 "requestId":"JkHgTiYZoAMEVRw=","routeKey":"$default","stage":"$default","time":"28/Nov/2026:12:00:00 +0000",
 "timeEpoch":1795867200000,"authorizer":{"jwt":{"claims":{"sub":"8c1f5f0e-7e3b-4d1a-9f57-2f0e6c1d8a11",
 "iss":"https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_EXAMPLE"},"scopes":null}}},
 "body":"{\"filename\":\"holiday photo.jpg\",\"contentType\":\"image/jpeg\",\"size\":2483027}","isBase64Encoded":false})";

const std::string download_event = R"({"version":"2.0","routeKey":"$default","rawPath":"/downloads",
 "rawQueryString":"key=uploads%2Fusers%2F8c1f5f0e-7e3b-4d1a-9f57-2f0e6c1d8a11%2F0123456789abcdef0123456789abcdef%2Fholiday%20photo.jpg",
 "headers":{"origin":"https://app.example.com"},
 "requestContext":{"http":{"method":"GET","path":"/downloads"},"requestId":"x","stage":"$default",
 "authorizer":{"jwt":{"claims":{"sub":"8c1f5f0e-7e3b-4d1a-9f57-2f0e6c1d8a11"}}}},"isBase64Encoded":false})";

void BM_handler_upload(benchmark::State& state) {
    auto service = make_service();
    for (auto _ : state) benchmark::DoNotOptimize(presign::lambda::handle_event(service, upload_event, "inv"));
}
BENCHMARK(BM_handler_upload);

void BM_handler_download(benchmark::State& state) {
    auto service = make_service();
    for (auto _ : state) benchmark::DoNotOptimize(presign::lambda::handle_event(service, download_event, "inv"));
}
BENCHMARK(BM_handler_download);

void BM_service_only_upload(benchmark::State& state) {
    auto service = make_service();
    auto translated = presign::lambda::translate_event(upload_event, "inv");
    for (auto _ : state) benchmark::DoNotOptimize(service.handle(translated.request));
}
BENCHMARK(BM_service_only_upload);

void BM_event_translation_only(benchmark::State& state) {
    for (auto _ : state) benchmark::DoNotOptimize(presign::lambda::translate_event(upload_event, "inv"));
}
BENCHMARK(BM_event_translation_only);

}  // namespace

BENCHMARK_MAIN();
