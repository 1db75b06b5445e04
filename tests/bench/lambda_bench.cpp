// SPDX-License-Identifier: Apache-2.0
// Warm invocation cost inside the Lambda handler: event JSON -> service -> response JSON.
// Goal (issue 5): <= 20 us per warm invocation in the handler.
//
// `lambda_bench --loop=<upload|download|rest> [--count=N]` runs the handler N times (default
// 100000) without Google Benchmark, for instruction counts that a busy machine cannot skew:
//   perf stat -e instructions,cycles ./lambda_bench --loop=upload
//   valgrind --tool=callgrind ./lambda_bench --loop=upload --count=2000
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "presign/lambda/events.hpp"

namespace {

namespace svc = presign::service;

svc::service make_service() {
    auto cfg =
        svc::config::from_environment([](std::string_view name) -> std::optional<std::string> {
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

const std::string upload_event =
    R"({"version":"2.0","routeKey":"$default","rawPath":"/uploads","rawQueryString":"",
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

// A REST API (payload 1.0) event as API Gateway sends it through CloudFront (3.2 KB: the
// aws-lambda-go sample retargeted at POST /uploads), with a Lambda authorizer.
const std::string rest_upload_event =
    R"json({"resource":"/{proxy+}","path":"/uploads","httpMethod":"POST","headers":{"Accept":"*/*",
"Accept-Encoding":"gzip, deflate","cache-control":"no-cache","CloudFront-Forwarded-Proto":"https",
"CloudFront-Is-Desktop-Viewer":"true","CloudFront-Is-Mobile-Viewer":"false",
"CloudFront-Is-SmartTV-Viewer":"false","CloudFront-Is-Tablet-Viewer":"false",
"CloudFront-Viewer-Country":"US","Content-Type":"application/json","headerName":"headerValue",
"Host":"gy415nuibc.execute-api.us-east-1.amazonaws.com",
"Postman-Token":"9f583ef0-ed83-4a38-aef3-eb9ce3f7a57f","User-Agent":"PostmanRuntime/2.4.5",
"Via":"1.1 d98420743a69852491bbdea73f7680bd.cloudfront.net (CloudFront)",
"X-Amz-Cf-Id":"pn-PWIJc6thYnZm5P0NMgOUglL1DYtl0gdeJky8tqsg8iS_sgsKD1A==",
"X-Forwarded-For":"54.240.196.186, 54.182.214.83","X-Forwarded-Port":"443","X-Forwarded-Proto":"https",
"Origin":"https://app.example.com"},"multiValueHeaders":{"Accept":["*/*"],
"Accept-Encoding":["gzip, deflate"],"cache-control":["no-cache"],"CloudFront-Forwarded-Proto":["https"],
"CloudFront-Is-Desktop-Viewer":["true"],"CloudFront-Is-Mobile-Viewer":["false"],
"CloudFront-Is-SmartTV-Viewer":["false"],"CloudFront-Is-Tablet-Viewer":["false"],
"CloudFront-Viewer-Country":["US"],"Content-Type":["application/json"],"headerName":["headerValue"],
"Host":["gy415nuibc.execute-api.us-east-1.amazonaws.com"],
"Postman-Token":["9f583ef0-ed83-4a38-aef3-eb9ce3f7a57f"],"User-Agent":["PostmanRuntime/2.4.5"],
"Via":["1.1 d98420743a69852491bbdea73f7680bd.cloudfront.net (CloudFront)"],
"X-Amz-Cf-Id":["pn-PWIJc6thYnZm5P0NMgOUglL1DYtl0gdeJky8tqsg8iS_sgsKD1A=="],
"X-Forwarded-For":["54.240.196.186, 54.182.214.83"],"X-Forwarded-Port":["443"],
"X-Forwarded-Proto":["https"],"Origin":["https://app.example.com"]},"queryStringParameters":null,
"multiValueQueryStringParameters":null,"pathParameters":{"proxy":"hello/world"},
"stageVariables":{"stageVariableName":"stageVariableValue"},"requestContext":{"accountId":"12345678912",
"resourceId":"roq9wj","path":"/hello/world","stage":"testStage",
"domainName":"gy415nuibc.execute-api.us-east-2.amazonaws.com","domainPrefix":"y0ne18dixk",
"requestId":"deef4878-7910-11e6-8f14-25afc3e9ae33","extendedRequestId":"TWegAcC4EowCHnA=",
"protocol":"HTTP/1.1","identity":{"cognitoIdentityPoolId":"theCognitoIdentityPoolId",
"accountId":"theAccountId","cognitoIdentityId":"theCognitoIdentityId","caller":"theCaller",
"apiKey":"theApiKey","apiKeyId":"theApiKeyId","accessKey":"ANEXAMPLEOFACCESSKEY",
"sourceIp":"192.168.196.186","cognitoAuthenticationType":"theCognitoAuthenticationType",
"cognitoAuthenticationProvider":"theCognitoAuthenticationProvider","userArn":"theUserArn",
"userAgent":"PostmanRuntime/2.4.5","user":"theUser","clientCert":{"clientCertPem":"CERT_CONTENT",
"subjectDN":"www.example.com","issuerDN":"Example issuer",
"serialNumber":"a1:a1:a1:a1:a1:a1:a1:a1:a1:a1:a1:a1:a1:a1:a1:a1",
"validity":{"notBefore":"May 28 12:30:02 2019 GMT","notAfter":"Aug  5 09:36:04 2021 GMT"}}},
"authorizer":{"principalId":"admin","clientId":1,"clientName":"Exata"},"resourcePath":"/{proxy+}",
"httpMethod":"POST","requestTime":"15/May/2020:06:01:09 +0000","requestTimeEpoch":1589522469693,
"apiId":"gy415nuibc"},
"body":"{\"filename\":\"holiday photo.jpg\",\"contentType\":\"image/jpeg\",\"size\":2483027}"})json";

void BM_handler_upload(benchmark::State& state) {
    auto service = make_service();
    for (auto _ : state)
        benchmark::DoNotOptimize(presign::lambda::handle_event(service, upload_event, "inv"));
}
BENCHMARK(BM_handler_upload);

void BM_handler_download(benchmark::State& state) {
    auto service = make_service();
    for (auto _ : state)
        benchmark::DoNotOptimize(presign::lambda::handle_event(service, download_event, "inv"));
}
BENCHMARK(BM_handler_download);

void BM_handler_rest_upload(benchmark::State& state) {
    auto service = make_service();
    for (auto _ : state)
        benchmark::DoNotOptimize(presign::lambda::handle_event(service, rest_upload_event, "inv"));
}
BENCHMARK(BM_handler_rest_upload);

void BM_service_only_upload(benchmark::State& state) {
    auto service = make_service();
    auto translated = presign::lambda::translate_event(upload_event, "inv");
    for (auto _ : state) benchmark::DoNotOptimize(service.handle(translated.request));
}
BENCHMARK(BM_service_only_upload);

void BM_event_translation_only(benchmark::State& state) {
    for (auto _ : state)
        benchmark::DoNotOptimize(presign::lambda::translate_event(upload_event, "inv"));
}
BENCHMARK(BM_event_translation_only);

void BM_event_translation_only_rest(benchmark::State& state) {
    for (auto _ : state)
        benchmark::DoNotOptimize(presign::lambda::translate_event(rest_upload_event, "inv"));
}
BENCHMARK(BM_event_translation_only_rest);

// The handler in a plain loop; returns the process exit code.
int run_loop(std::string_view which, long count) {
    const std::string* event = which == "upload"     ? &upload_event
                               : which == "download" ? &download_event
                               : which == "rest"     ? &rest_upload_event
                                                     : nullptr;
    if (event == nullptr || count <= 0) {
        std::fprintf(stderr, "usage: lambda_bench --loop=upload|download|rest [--count=N]\n");
        return 2;
    }
    auto service = make_service();
    std::size_t bytes = 0;
    for (long i = 0; i < count; ++i)
        bytes += presign::lambda::handle_event(service, *event, "inv").size();
    std::printf("%ld invocations, %zu response bytes\n", count, bytes);
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    std::string_view loop;
    long count = 100000;
    for (int i = 1; i < argc; ++i) {
        std::string_view arg = argv[i];
        if (arg.starts_with("--loop=")) loop = arg.substr(7);
        if (arg.starts_with("--count=")) count = std::strtol(argv[i] + 8, nullptr, 10);
    }
    if (!loop.empty()) return run_loop(loop, count);
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
