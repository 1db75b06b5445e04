// SPDX-License-Identifier: Apache-2.0
// The built `bootstrap` as a process against the in-test Runtime API: init errors, invocations,
// the loop surviving bad events, the log line.
#include <doctest/doctest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "fake_runtime_api.hpp"
#include "process.hpp"
#include "sigv4/sigv4.hpp"

using nlohmann::json;
using presign::testing::child_process;
using presign::testing::fake_runtime_api;

namespace {

constexpr const char* secret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
constexpr const char* token = "IQoJb3JpZ2luX2VjEXAMPLETOKEN";

std::vector<std::string> lambda_environment(const fake_runtime_api& api) {
    return {"AWS_LAMBDA_RUNTIME_API=" + api.address(),
            "BUCKET_NAME=files-bucket",
            "AWS_REGION=eu-west-1",
            "KEY_PREFIX=uploads/",
            "ALLOWED_ORIGINS=https://app.example.com",
            "ALLOWED_CONTENT_TYPES=image/*,text/plain",
            "MAX_UPLOAD_BYTES=1000000",
            "AWS_ACCESS_KEY_ID=ASIAEXAMPLE",
            std::string("AWS_SECRET_ACCESS_KEY=") + secret,
            std::string("AWS_SESSION_TOKEN=") + token};
}

std::vector<std::string> without(std::vector<std::string> env, std::string_view name) {
    std::erase_if(
        env, [&](const std::string& entry) { return entry.starts_with(std::string(name) + "="); });
    return env;
}

std::string output_file(const char* name) {
    return (std::filesystem::temp_directory_path() /
            (std::string("presign-lambda-") + name + "-" + std::to_string(::getpid()) + ".log"))
        .string();
}

json upload_event(const std::string& sub) {
    return {
        {"version", "2.0"},
        {"rawPath", "/uploads"},
        {"rawQueryString", ""},
        {"headers", {{"origin", "https://app.example.com"}, {"content-type", "application/json"}}},
        {"requestContext",
         {{"http", {{"method", "POST"}, {"path", "/uploads"}}},
          {"stage", "$default"},
          {"authorizer", {{"jwt", {{"claims", {{"sub", sub}}}}}}}}},
        {"body", R"({"filename":"cat.png","contentType":"image/png","size":4242})"},
        {"isBase64Encoded", false}};
}

}  // namespace

TEST_CASE("bootstrap: serves invocations, survives a malformed event, logs without secrets") {
    fake_runtime_api api;
    auto log_path = output_file("serve");
    child_process child(PRESIGN_BOOTSTRAP_PATH, lambda_environment(api), log_path);
    REQUIRE(child.started());

    api.push({"inv-1",
              upload_event("user-42").dump(),
              {{"Lambda-Runtime-Deadline-Ms", "9999999999999"}}});
    api.push({"inv-2", "this is not an event", {}});
    api.push({"inv-3",
              json{{"httpMethod", "GET"},
                   {"path", "/downloads"},
                   {"multiValueQueryStringParameters",
                    {{"file", {"uploads/users/user-42/abc/cat.png"}}}},
                   {"requestContext", {{"authorizer", {{"principalId", "user-42"}}}}},
                   {"body", nullptr}}
                  .dump(),
              {}});
    REQUIRE(api.wait_for_posts(3));
    child.stop();
    auto posts = api.posts();
    REQUIRE(posts.size() == 3);
    for (const auto& post : posts) CHECK(post.kind == "response");

    auto upload = json::parse(posts[0].body);
    CHECK(upload["statusCode"] == 200);
    CHECK(upload["headers"]["Access-Control-Allow-Origin"] == "https://app.example.com");
    auto body = json::parse(upload["body"].get<std::string>());
    CHECK(body["key"].get<std::string>().starts_with("uploads/users/user-42/"));
    auto url = body["url"].get<std::string>();
    CHECK(url.find("X-Amz-Security-Token=") != std::string::npos);

    // The URL verifies with the library's verifier and the role's session token.
    auto host_start = url.find("://") + 3;
    auto path_start = url.find('/', host_start);
    sigv4::received_request received;
    received.method = "PUT";
    received.target = url.substr(path_start);
    received.headers = {{"Host", url.substr(host_start, path_start - host_start)}};
    for (const auto& [name, value] : body["headers"].items())
        received.headers.push_back({name, value});
    sigv4::verify_options options;
    options.region = "eu-west-1";
    auto verified = sigv4::verify(
        received,
        [key = sigv4::known_key{*sigv4::secret_key::from(secret), token}](std::string_view id)
            -> const sigv4::known_key* { return id == "ASIAEXAMPLE" ? &key : nullptr; },
        options);
    CHECK_MESSAGE(verified.has_value(), (verified ? "" : verified.error().message));

    auto malformed = json::parse(posts[1].body);
    CHECK(malformed["statusCode"] == 400);
    CHECK(json::parse(malformed["body"].get<std::string>())["error"]["code"] == "invalid_json");

    auto download = json::parse(posts[2].body);
    CHECK(download["statusCode"] == 200);
    CHECK(json::parse(download["body"].get<std::string>())["filename"] == "cat.png");

    auto output = presign::testing::slurp(log_path);
    std::filesystem::remove(log_path);
    CAPTURE(output);
    int lines = 0;
    std::istringstream in(output);
    for (std::string line; std::getline(in, line);) {
        auto doc = json::parse(line, nullptr, false);
        if (doc.is_discarded() || !doc.contains("requestId")) continue;
        ++lines;
        CHECK(doc["requestId"].get<std::string>().starts_with("inv-"));
    }
    CHECK(lines == 3);
    CHECK(output.find(secret) == std::string::npos);
    CHECK(output.find(token) == std::string::npos);
    CHECK(output.find("X-Amz-Signature") == std::string::npos);
}

TEST_CASE(
    "bootstrap: a missing or invalid setting is an init error naming it, then exit non-zero") {
    struct row {
        const char* name;
        const char* remove;
        const char* set;
        const char* expected_type;
        const char* expected_text;
    };
    const row rows[] = {
        {"no bucket", "BUCKET_NAME", nullptr, "Runtime.InvalidConfiguration", "BUCKET_NAME"},
        {"bad expiry", nullptr, "URL_EXPIRES=forever", "Runtime.InvalidConfiguration",
         "URL_EXPIRES"},
        {"bad origin", nullptr, "ALLOWED_ORIGINS=example.com/x", "Runtime.InvalidConfiguration",
         "ALLOWED_ORIGINS"},
        {"no key id", "AWS_ACCESS_KEY_ID", nullptr, "Runtime.MissingCredentials",
         "AWS_ACCESS_KEY_ID"},
        {"no secret", "AWS_SECRET_ACCESS_KEY", nullptr, "Runtime.MissingCredentials",
         "AWS_SECRET_ACCESS_KEY"},
    };
    for (const auto& r : rows) {
        CAPTURE(r.name);
        fake_runtime_api api;
        auto env = lambda_environment(api);
        if (r.remove) env = without(env, r.remove);
        if (r.set) {
            std::string set = r.set;
            env = without(env, set.substr(0, set.find('=')));
            env.push_back(set);
        }
        auto log_path = output_file("init");
        child_process child(PRESIGN_BOOTSTRAP_PATH, env, log_path);
        auto code = child.wait_exit();
        REQUIRE(code.has_value());
        CHECK(*code != 0);
        auto posts = api.posts();
        REQUIRE(posts.size() == 1);
        CHECK(posts[0].kind == "init_error");
        CHECK(posts[0].error_type == r.expected_type);
        auto doc = json::parse(posts[0].body);
        CHECK(doc["errorType"] == r.expected_type);
        CHECK(doc["errorMessage"].get<std::string>().find(r.expected_text) != std::string::npos);
        CHECK(doc["stackTrace"] == json::array());
        CHECK(api.next_requests().empty());
        auto output = presign::testing::slurp(log_path);
        std::filesystem::remove(log_path);
        CHECK(output.find(secret) == std::string::npos);
    }
}

TEST_CASE("bootstrap: without AWS_LAMBDA_RUNTIME_API it explains and exits non-zero") {
    auto log_path = output_file("noapi");
    child_process child(PRESIGN_BOOTSTRAP_PATH, {"BUCKET_NAME=b"}, log_path);
    auto code = child.wait_exit();
    REQUIRE(code.has_value());
    CHECK(*code == 1);
    CHECK(presign::testing::slurp(log_path).find("AWS_LAMBDA_RUNTIME_API") != std::string::npos);
    std::filesystem::remove(log_path);
}
