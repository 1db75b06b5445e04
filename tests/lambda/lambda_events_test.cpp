// SPDX-License-Identifier: Apache-2.0
// API Gateway / Function URL events through the whole handler, without a process.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <sstream>

#include "presign/lambda/events.hpp"
#include "presign/web/page.hpp"
#include "support/query_table.hpp"
#include "support/test_data.hpp"

using nlohmann::json;
namespace lambda = presign::lambda;
namespace svc = presign::service;

namespace {

svc::config test_config(bool anonymous) {
    std::map<std::string, std::string, std::less<>> env = {
        {"BUCKET_NAME", "files-bucket"},
        {"AWS_REGION", "us-east-1"},
        {"ALLOWED_ORIGINS", "https://app.example.com"},
        {"ALLOW_ANONYMOUS", anonymous ? "true" : "false"},
        {"LINK_SECRET", "the events test's token secret, 32 bytes or more"}};
    auto cfg =
        svc::config::from_environment([&](std::string_view name) -> std::optional<std::string> {
            auto it = env.find(name);
            if (it == env.end()) return std::nullopt;
            return it->second;
        });
    REQUIRE(cfg.has_value());
    return *cfg;
}

svc::service make_service(bool anonymous, std::vector<std::string>* log = nullptr) {
    return svc::service(
        test_config(anonymous),
        []() -> sigv4::result<sigv4::credentials> {
            return sigv4::credentials::make("AKIDEXAMPLE",
                                            "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "TOKEN123");
        },
        [log](std::string_view line) {
            if (log) log->emplace_back(line);
        });
}

// The sample events' directory; nullopt when it is missing, which is reported (the test binary
// then exits as skipped, never passed).
std::optional<std::filesystem::path> events_dir() {
    auto dir = test_data::directory("SIGV4_EVENTS_DIR", SIGV4_EVENTS_DIR);
    if (std::filesystem::is_directory(dir)) return dir;
    test_data::missing("the sample API Gateway / Lambda events (*.json)", dir, "SIGV4_EVENTS_DIR");
    return std::nullopt;
}

// Checks the response is what API Gateway accepts; returns it parsed.
json well_formed(const std::string& response) {
    auto doc = json::parse(response, nullptr, false);
    REQUIRE_FALSE(doc.is_discarded());
    REQUIRE(doc.is_object());
    REQUIRE(doc["statusCode"].is_number_integer());
    REQUIRE(doc["body"].is_string());
    REQUIRE(doc["headers"].is_object());
    CHECK(doc["headers"]["Content-Type"] == "application/json");
    CHECK(doc["isBase64Encoded"] == false);
    for (const auto& [name, value] : doc["headers"].items()) CHECK(value.is_string());
    if (doc["statusCode"] != 204)
        CHECK_FALSE(json::parse(doc["body"].get<std::string>(), nullptr, false).is_discarded());
    return doc;
}

std::string read_file(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream out;
    out << in.rdbuf();
    return out.str();
}

bool is_v2(const json& event) {
    return event.value("version", "") == "2.0";
}

// Points an event at another route, keeping everything else (headers, authorizer, encoding).
json retarget(json event, const std::string& method, const std::string& path,
              const std::string& query, const std::optional<std::string>& body) {
    if (is_v2(event)) {
        event["rawPath"] = path;
        event["requestContext"]["http"]["method"] = method;
        event["requestContext"]["http"]["path"] = path;
        event["rawQueryString"] = query;
        event.erase("queryStringParameters");
    } else {
        event["httpMethod"] = method;
        event["path"] = path;
        event["queryStringParameters"] = nullptr;
        event["multiValueQueryStringParameters"] = nullptr;
        if (!query.empty()) {
            event["queryStringParameters"] = json::object();
            std::string_view rest = query;
            while (!rest.empty()) {
                auto pair = rest.substr(0, rest.find('&'));
                rest.remove_prefix(std::min(rest.size(), pair.size() + 1));
                auto eq = pair.find('=');
                auto decoded = sigv4::percent_decode(pair.substr(eq + 1));
                event["queryStringParameters"][std::string(pair.substr(0, eq))] = *decoded;
            }
        }
    }
    if (!body) {
        event["body"] = nullptr;
    } else if (event.value("isBase64Encoded", false)) {
        event["body"] = sigv4::base64_encode(
            std::span(reinterpret_cast<const unsigned char*>(body->data()), body->size()));
    } else {
        event["body"] = *body;
    }
    return event;
}

}  // namespace

TEST_CASE("events: every sample event gives a well-formed response, 200 where the route fits") {
    const auto found = events_dir();
    if (!found) return;  // reported missing: the binary exits as skipped
    const std::filesystem::path& dir = *found;
    auto open = make_service(true);
    auto closed = make_service(false);
    int files = 0;
    for (const auto& entry : std::filesystem::directory_iterator(dir)) {
        if (entry.path().extension() != ".json") continue;
        ++files;
        auto name = entry.path().filename().string();
        CAPTURE(name);
        auto text = read_file(entry.path());
        auto event = json::parse(text);

        // As captured: none of the samples is one of our routes.
        auto as_is = well_formed(lambda::handle_event(open, text, "inv-1"));
        CHECK(as_is["statusCode"].get<int>() >= 400);
        CHECK(as_is["statusCode"].get<int>() < 500);

        // The one sample whose base64 body is not base64 must be a 400 whatever the route.
        bool broken_body = name.find("AnotherPath") != std::string::npos;
        auto translated = lambda::translate_event(text, "inv-1");
        CHECK(translated.problem.has_value() == broken_body);
        if (broken_body) {
            CHECK(as_is["statusCode"] == 400);
            CHECK(json::parse(as_is["body"].get<std::string>())["error"]["code"] == "invalid_json");
            continue;
        }
        auto prefix = svc::caller_prefix(open.settings(), translated.request.identity);

        auto upload = retarget(event, "POST", "/uploads", "",
                               R"({"filename":"notes.txt","contentType":"text/plain","size":12})");
        auto up = well_formed(lambda::handle_event(open, upload.dump(), "inv-2"));
        auto down = well_formed(lambda::handle_event(
            open,
            retarget(event, "GET", "/downloads",
                     "key=" + sigv4::uri_encode(prefix + "abc/notes.txt"), std::nullopt)
                .dump(),
            "inv-3"));
        auto preflight = well_formed(lambda::handle_event(
            open, retarget(event, "OPTIONS", "/uploads", "", std::nullopt).dump(), "inv-4"));
        CHECK(up["statusCode"] == 200);
        auto up_body = json::parse(up["body"].get<std::string>());
        CHECK(up_body["key"].get<std::string>().starts_with(prefix));
        CHECK(down["statusCode"] == 200);
        CHECK(json::parse(down["body"].get<std::string>())["filename"] == "notes.txt");
        CHECK(preflight["statusCode"] == 204);

        // Without ALLOW_ANONYMOUS only the events with an identity get through.
        auto guarded = well_formed(lambda::handle_event(closed, upload.dump(), "inv-5"));
        CHECK(guarded["statusCode"] == (translated.request.identity ? 200 : 401));
    }
    CHECK(files >= 6);
}

TEST_CASE("events: malformed events are 4xx, never a crash") {
    auto service = make_service(true);
    const std::vector<std::string> events = {
        "",
        "not json",
        "[]",
        "42",
        "null",
        "{}",
        R"({"version":"2.0"})",
        R"({"httpMethod":5})",
        R"({"httpMethod":"GET","path":null,"headers":null,"queryStringParameters":null,"body":null})",
        R"({"version":"2.0","requestContext":{"http":{"method":"POST"}},"rawPath":"/uploads","body":"%%%","isBase64Encoded":true})",
        R"({"version":"2.0","requestContext":{"http":{"method":"POST"}},"rawPath":"/uploads","body":"{\"size\":1}"})",
        R"({"version":"2.0","requestContext":{"http":{"method":"GET"},"authorizer":{"jwt":{"claims":{"sub":7}}}},"rawPath":"/downloads","rawQueryString":"key=%zz"})",
        R"({"version":"2.0","requestContext":{"http":{"method":"POST"}},"rawPath":"/uploads","headers":{"a":[1,2]},"body":"{\"filename\":\"\u0000\"}"})",
    };
    for (const auto& event : events) {
        CAPTURE(event);
        auto doc = well_formed(lambda::handle_event(service, event, "inv"));
        CHECK(doc["statusCode"].get<int>() >= 400);
        CHECK(doc["statusCode"].get<int>() < 500);
    }
}

TEST_CASE("events: REST v1 translation (multi-value query and headers, base64, null body)") {
    json event = {
        {"resource", "/{proxy+}"},
        {"path", "/downloads"},
        {"httpMethod", "GET"},
        {"headers", {{"Origin", "https://app.example.com"}}},
        {"multiValueHeaders", {{"Origin", {"https://app.example.com"}}, {"X-Many", {"a", "b"}}}},
        {"queryStringParameters", {{"key", "last"}}},
        {"multiValueQueryStringParameters", {{"key", {"first", "last"}}, {"file", {"f+1 x"}}}},
        {"requestContext",
         {{"requestId", "abc"}, {"authorizer", {{"claims", {{"sub", "cognito-sub-1"}}}}}}},
        {"body", nullptr},
        {"isBase64Encoded", false}};
    auto t = lambda::translate_event(event.dump(), "inv-1");
    REQUIRE_FALSE(t.problem.has_value());
    CHECK(t.request.method == "GET");
    CHECK(t.request.path == "/downloads");
    CHECK(t.request.request_id == "inv-1");
    CHECK(t.request.identity == "cognito-sub-1");
    CHECK(t.request.body.empty());
    std::vector<sigv4::query_param> expected_query = {
        {"file", "f+1 x"}, {"key", "first"}, {"key", "last"}};
    CHECK(t.request.query == expected_query);
    std::vector<sigv4::header> expected_headers = {
        {"Origin", "https://app.example.com"}, {"X-Many", "a"}, {"X-Many", "b"}};
    CHECK(t.request.headers == expected_headers);

    event["httpMethod"] = "POST";
    event["path"] = "/uploads";
    event["body"] = "eyJhIjoxfQ==";
    event["isBase64Encoded"] = true;
    event.erase("multiValueQueryStringParameters");
    t = lambda::translate_event(event.dump(), "inv-2");
    REQUIRE_FALSE(t.problem.has_value());
    CHECK(t.request.body == R"({"a":1})");
    CHECK(t.request.query == std::vector<sigv4::query_param>{{"key", "last"}});

    event.erase("body");
    t = lambda::translate_event(event.dump(), "inv-3");
    REQUIRE_FALSE(t.problem.has_value());
    CHECK(t.request.body.empty());
}

TEST_CASE("events: HTTP API v2 and Function URL translation (raw query, stage, cookies ignored)") {
    json event = {
        {"version", "2.0"},
        {"routeKey", "$default"},
        {"rawPath", "/prod/downloads"},
        {"rawQueryString", "key=users%2Fa%2Fmy+file%2B1.txt&x=1&x=2&flag"},
        {"cookies", {"a=b"}},
        {"headers", {{"origin", "https://app.example.com"}, {"x-multi", "a,b"}}},
        {"queryStringParameters", {{"x", "1,2"}}},
        {"requestContext",
         {{"stage", "prod"},
          {"http", {{"method", "GET"}, {"path", "/prod/downloads"}}},
          {"authorizer", {{"jwt", {{"claims", {{"sub", "jwt-sub-9"}}}, {"scopes", nullptr}}}}}}},
        {"isBase64Encoded", false}};
    auto t = lambda::translate_event(event.dump(), "inv-1");
    REQUIRE_FALSE(t.problem.has_value());
    CHECK(t.request.method == "GET");
    CHECK(t.request.path == "/downloads");
    CHECK(t.request.identity == "jwt-sub-9");
    std::vector<sigv4::query_param> expected = {
        {"key", "users/a/my file+1.txt"}, {"x", "1"}, {"x", "2"}, {"flag", ""}};
    CHECK(t.request.query == expected);
    CHECK(t.request.body.empty());

    event["requestContext"]["stage"] = "$default";
    event["rawPath"] = "/prod/downloads";
    CHECK(lambda::translate_event(event.dump(), "x").request.path == "/prod/downloads");
    event["rawPath"] = "/uploads%20";
    CHECK(lambda::translate_event(event.dump(), "x").request.path == "/uploads ");
}

TEST_CASE("events: identity from every kind of authorizer") {
    struct row {
        const char* name;
        json context;
        std::optional<std::string> identity;
    };
    const std::vector<row> rows = {
        {"http api jwt",
         {{"authorizer", {{"jwt", {{"claims", {{"sub", "jwt-1"}, {"email", "e"}}}}}}}},
         "jwt-1"},
        {"jwt without sub",
         {{"authorizer", {{"jwt", {{"claims", {{"claim1", "value1"}}}}}}}},
         std::nullopt},
        {"cognito user pool",
         {{"authorizer", {{"claims", {{"sub", "cog-1"}, {"cognito:username", "u"}}}}}},
         "cog-1"},
        {"lambda authorizer",
         {{"authorizer", {{"principalId", "admin"}, {"clientId", 1}}}},
         "admin"},
        {"iam function url",
         {{"authorizer",
           {{"iam", {{"userArn", "arn:aws:iam::1:user/bob"}, {"accessKey", "AKIA"}}}}}},
         "arn:aws:iam::1:user/bob"},
        {"iam cognito identity",
         {{"authorizer",
           {{"iam",
             {{"cognitoIdentity", {{"identityId", "us-east-1:abc"}}}, {"userArn", "arn:x"}}}}}},
         "us-east-1:abc"},
        {"empty iam", {{"authorizer", {{"iam", json::object()}}}}, std::nullopt},
        {"rest iam",
         {{"identity", {{"userArn", "arn:aws:iam::1:user/carol"}, {"cognitoIdentityId", nullptr}}}},
         "arn:aws:iam::1:user/carol"},
        {"rest cognito identity",
         {{"identity", {{"cognitoIdentityId", "eu-west-1:id"}, {"userArn", "arn:y"}}}},
         "eu-west-1:id"},
        {"null claims", {{"authorizer", {{"claims", nullptr}, {"scopes", nullptr}}}}, std::nullopt},
        {"empty principal", {{"authorizer", {{"principalId", ""}}}}, std::nullopt},
        {"none", json::object(), std::nullopt},
    };
    for (const auto& r : rows) {
        CAPTURE(r.name);
        json v2 = {{"version", "2.0"}, {"rawPath", "/uploads"}, {"requestContext", r.context}};
        v2["requestContext"]["http"] = {{"method", "POST"}};
        CHECK(lambda::translate_event(v2.dump(), "x").request.identity == r.identity);
        json v1 = {{"httpMethod", "POST"}, {"path", "/uploads"}, {"requestContext", r.context}};
        CHECK(lambda::translate_event(v1.dump(), "x").request.identity == r.identity);
    }
}

TEST_CASE("events: the response document and the log line") {
    std::vector<std::string> log;
    auto service = make_service(false, &log);
    json event = {{"version", "2.0"},
                  {"rawPath", "/uploads"},
                  {"headers", {{"origin", "https://app.example.com"}}},
                  {"requestContext",
                   {{"http", {{"method", "POST"}}},
                    {"authorizer", {{"jwt", {{"claims", {{"sub", "u1"}}}}}}}}},
                  {"body", R"({"filename":"a.txt","contentType":"text/plain","size":3})"}};
    auto doc = well_formed(lambda::handle_event(service, event.dump(), "lambda-req-7"));
    CHECK(doc["statusCode"] == 200);
    CHECK(doc["headers"]["Access-Control-Allow-Origin"] == "https://app.example.com");
    CHECK(doc["headers"]["Vary"] == "Origin");
    REQUIRE(log.size() == 1);
    auto line = json::parse(log[0]);
    CHECK(line["requestId"] == "lambda-req-7");
    CHECK(line["route"] == "POST /uploads");
    CHECK(line["status"] == 200);
    CHECK(line["key"].get<std::string>().starts_with("users/u1/"));
    CHECK(log[0].find("TOKEN123") == std::string::npos);
    CHECK(log[0].find("Signature") == std::string::npos);

    svc::response joined{
        418, {{"X-A", "1"}, {"X-A", "2"}, {"Content-Type", "application/json"}}, "{}"};
    auto rendered = json::parse(lambda::to_api_response(joined));
    CHECK(rendered == json{{"statusCode", 418},
                           {"headers", {{"X-A", "1, 2"}, {"Content-Type", "application/json"}}},
                           {"body", "{}"},
                           {"isBase64Encoded", false}});
}

// The event is read without building a document (SAX); these pin down what a document would give.
TEST_CASE("events: unknown members, nested objects and arrays are skipped wherever they sit") {
    const std::string event =
        R"({"unknown":{"headers":{"x":"1"},"body":"no","a":[[{"httpMethod":"PUT"}],{}]},
        "version":"2.0","cookies":["a=b",{"c":[1,2,{"d":null}]}],"rawPath":"/uploads",
        "requestContext":{"deep":{"authorizer":{"principalId":"not-me"}},"http":{"method":"POST","x":[{"method":"GET"}]},
          "authorizer":{"jwt":{"scopes":[["s"]],"claims":{"nested":{"sub":"no"},"sub":"jwt-1"}}},"stage":"$default"},
        "headers":{"Origin":"https://app.example.com","x-array":["a",["b"],{"c":"d"},5,null,"e"],"x-object":{"v":"w"},"x-num":3},
        "stageVariables":{"body":"nope"},"body":"{}"})";
    auto t = lambda::translate_event(event, "inv");
    REQUIRE_FALSE(t.problem.has_value());
    CHECK(t.request.method == "POST");
    CHECK(t.request.path == "/uploads");
    CHECK(t.request.identity == "jwt-1");
    CHECK(t.request.body == "{}");
    std::vector<sigv4::header> expected = {
        {"Origin", "https://app.example.com"}, {"x-array", "a"}, {"x-array", "e"}};
    CHECK(t.request.headers == expected);
    CHECK(t.request.query.empty());
}

TEST_CASE("events: a repeated member name keeps the last value, as a JSON document would") {
    SUBCASE("single values") {
        auto t = lambda::translate_event(
            R"({"httpMethod":"GET","httpMethod":"POST","path":"/a","path":"/uploads","body":"x","body":"y"})",
            "inv");
        REQUIRE_FALSE(t.problem.has_value());
        CHECK(t.request.method == "POST");
        CHECK(t.request.path == "/uploads");
        CHECK(t.request.body == "y");
    }
    SUBCASE("a later value of another type removes the member") {
        auto t = lambda::translate_event(
            R"({"httpMethod":"POST","path":"/uploads","body":"x","body":5})", "inv");
        REQUIRE_FALSE(t.problem.has_value());
        CHECK(t.request.body.empty());
        t = lambda::translate_event(
            R"({"httpMethod":"POST","body":"eyJhIjoxfQ==","isBase64Encoded":true,
                                        "isBase64Encoded":"yes"})",
            "inv");
        CHECK(t.request.body == "eyJhIjoxfQ==");
    }
    SUBCASE("a repeated object replaces everything read from the first one") {
        auto t =
            lambda::translate_event(R"({"version":"2.0","requestContext":{"http":{"method":"GET"},
            "authorizer":{"jwt":{"claims":{"sub":"first"}}}},"requestContext":{"http":{"method":"POST"}}})",
                                    "inv");
        REQUIRE_FALSE(t.problem.has_value());
        CHECK(t.request.method == "POST");
        CHECK_FALSE(t.request.identity.has_value());
        t = lambda::translate_event(
            R"({"httpMethod":"POST","requestContext":{"authorizer":{"principalId":"p",
            "claims":{"sub":"c"},"claims":null}}})",
            "inv");
        CHECK(t.request.identity == "p");
        t = lambda::translate_event(
            R"({"version":"2.0","requestContext":{"http":{"method":"POST"},"http":[]}})", "inv");
        REQUIRE(t.problem.has_value());
        CHECK(t.problem->message == "the event has no HTTP method");
    }
    SUBCASE("header and query names") {
        auto t = lambda::translate_event(
            R"({"httpMethod":"GET","headers":{"Origin":"a","X":"1","Origin":"b"},
            "multiValueQueryStringParameters":{"key":["k1","k2"],"file":["f"],"key":["k3"]},
            "queryStringParameters":{"key":"ignored"}})",
            "inv");
        REQUIRE_FALSE(t.problem.has_value());
        std::vector<sigv4::header> headers = {{"X", "1"}, {"Origin", "b"}};
        CHECK(t.request.headers == headers);
        std::vector<sigv4::query_param> query = {{"file", "f"}, {"key", "k3"}};
        CHECK(t.request.query == query);
        // A repeated list member replaces the whole list; "headers":null leaves none.
        t = lambda::translate_event(
            R"({"httpMethod":"GET","headers":{"Origin":"a"},"headers":null})", "inv");
        CHECK(t.request.headers.empty());
        t = lambda::translate_event(R"({"version":"2.0","requestContext":{"http":{"method":"GET"}},
            "headers":{"a":"1"},"headers":{"b":"2"}})",
                                    "inv");
        CHECK(t.request.headers == std::vector<sigv4::header>{{"b", "2"}});
    }
    SUBCASE("multi-value lists win when they have any member, even one without a string") {
        auto t = lambda::translate_event(
            R"({"httpMethod":"GET","multiValueHeaders":{"X":5},"headers":{"Origin":"a"},
            "multiValueQueryStringParameters":{},"queryStringParameters":{"key":"k"}})",
            "inv");
        CHECK(t.request.headers.empty());
        CHECK(t.request.query == std::vector<sigv4::query_param>{{"key", "k"}});
    }
}

TEST_CASE("events: null body, unicode escapes, numbers where strings belong") {
    SUBCASE("null and absent body") {
        for (const char* event : {R"({"httpMethod":"POST","body":null,"isBase64Encoded":true})",
                                  R"({"httpMethod":"POST","isBase64Encoded":true})"}) {
            auto t = lambda::translate_event(event, "inv");
            CAPTURE(event);
            REQUIRE_FALSE(t.problem.has_value());
            CHECK(t.request.body.empty());
        }
    }
    SUBCASE("escapes in header values, query values, the path and the body are decoded") {
        auto t = lambda::translate_event(
            R"({"version":"2.0","rawPath":"\/uploads","rawQueryString":"key=\u00e9%C3%A9",
            "requestContext":{"http":{"method":"P\u004fST"},"authorizer":{"jwt":{"claims":{"sub":"\ud83d\ude00"}}}},
            "headers":{"X-Name":"caf\u00e9 \"quoted\" \\ \t","Orig\u0069n":"https://app.example.com"},
            "body":"{\"filename\":\"\u00e9t\u00e9.txt\"}\n"})",
            "inv");
        REQUIRE_FALSE(t.problem.has_value());
        CHECK(t.request.method == "POST");
        CHECK(t.request.path == "/uploads");
        CHECK(t.request.identity == "\xF0\x9F\x98\x80");
        CHECK(t.request.query == std::vector<sigv4::query_param>{{"key", "\xC3\xA9\xC3\xA9"}});
        std::vector<sigv4::header> headers = {{"X-Name", "caf\xC3\xA9 \"quoted\" \\ \t"},
                                              {"Origin", "https://app.example.com"}};
        CHECK(t.request.headers == headers);
        CHECK(t.request.body == "{\"filename\":\"\xC3\xA9t\xC3\xA9.txt\"}\n");
    }
    SUBCASE("a lone surrogate escape or raw invalid UTF-8 is not JSON") {
        for (std::string event : {std::string(R"({"httpMethod":"GET","headers":{"a":"\ud800"}})"),
                                  std::string("{\"httpMethod\":\"GET\",\"body\":\"\xFF\"}")}) {
            auto t = lambda::translate_event(event, "inv");
            REQUIRE(t.problem.has_value());
            CHECK(t.problem->message == "the event is not a JSON object");
        }
    }
    SUBCASE("numbers, booleans and objects where strings belong count as absent") {
        auto t = lambda::translate_event(R"({"version":2.0,"httpMethod":"GET","path":7,
            "headers":{"Content-Length":12,"X-True":true,"Origin":"o"},
            "queryStringParameters":{"size":"12","n":12},
            "requestContext":{"stage":1,"authorizer":{"principalId":42,"claims":{"sub":{"id":"x"}}},
              "identity":{"cognitoIdentityId":false,"userArn":"arn:aws:iam::1:user/u"}}})",
                                         "inv");
        REQUIRE_FALSE(t.problem.has_value());
        CHECK(t.request.method == "GET");
        CHECK(t.request.path == "/");
        CHECK(t.request.headers == std::vector<sigv4::header>{{"Origin", "o"}});
        CHECK(t.request.query == std::vector<sigv4::query_param>{{"size", "12"}});
        CHECK(t.request.identity == "arn:aws:iam::1:user/u");
    }
    SUBCASE("trailing text, a second document or deep nesting") {
        for (std::string event :
             {std::string(R"({"httpMethod":"GET"} {})"), std::string(R"({"httpMethod":"GET"},)"),
              std::string(R"({"httpMethod":"GET")")}) {
            CAPTURE(event);
            auto t = lambda::translate_event(event, "inv");
            REQUIRE(t.problem.has_value());
            CHECK(t.problem->message == "the event is not a JSON object");
        }
        std::string deep = R"({"httpMethod":"GET","path":"/uploads","junk":)" +
                           std::string(10000, '[') + std::string(10000, ']') + "}";
        auto t = lambda::translate_event(deep, "inv");
        REQUIRE_FALSE(t.problem.has_value());
        CHECK(t.request.path == "/uploads");
    }
}

TEST_CASE(
    "events: GET and DELETE /files through every event format (REST v1, HTTP API v2, Function "
    "URL)") {
    const auto found = events_dir();
    if (!found) return;  // reported missing: the binary exits as skipped
    const std::filesystem::path& dir = *found;
    auto service = make_service(true);
    std::set<std::string> formats;
    for (const auto& entry : std::filesystem::directory_iterator(dir)) {
        if (entry.path().extension() != ".json") continue;
        auto name = entry.path().filename().string();
        CAPTURE(name);
        auto text = read_file(entry.path());
        auto translated = lambda::translate_event(text, "inv-1");
        if (translated.problem) continue;  // the sample with a broken body (see above)
        auto event = json::parse(text);
        formats.insert(!is_v2(event) ? "rest-v1"
                       : event["requestContext"].contains("domainName") &&
                               event["requestContext"]["domainName"].get<std::string>().find(
                                   "lambda-url") != std::string::npos
                           ? "function-url"
                           : "http-api-v2");
        const auto prefix = svc::caller_prefix(service.settings(), translated.request.identity);
        auto call = [&](const std::string& method, const std::string& query) {
            auto res = well_formed(lambda::handle_event(
                service, retarget(event, method, "/files", query, std::nullopt).dump(), "inv-2"));
            return std::make_pair(
                res["statusCode"].get<int>(),
                res["statusCode"] == 204 ? json() : json::parse(res["body"].get<std::string>()));
        };

        auto [listed_status, listed] = call("GET", "");
        REQUIRE(listed_status == 200);
        CHECK(listed["method"] == "GET");
        CHECK(listed["prefix"] == prefix);
        CHECK(listed["url"].get<std::string>().find(
                  "?list-type=2&prefix=" + sigv4::uri_encode(prefix) + "&") != std::string::npos);

        // The cursor arrives decoded whatever the format, and goes out re-encoded in the signature.
        const std::string cursor = "1ueGcxLPRx1Tr/XYEx+HnhbY=";
        auto [next_status, next] = call("GET", "cursor=" + sigv4::uri_encode(cursor));
        REQUIRE(next_status == 200);
        CHECK(next["url"].get<std::string>().find(
                  "&continuation-token=" + sigv4::uri_encode(cursor) + "&") != std::string::npos);
        auto [bad_status, bad] = call("GET", "cursor=" + sigv4::uri_encode("not a cursor"));
        CHECK(bad_status == 400);
        CHECK(bad["error"]["code"] == "invalid_cursor");

        const std::string key = prefix + "0123abcd/a b+c%d \xc3\xa9.txt";
        auto [deleted_status, deleted] = call("DELETE", "key=" + sigv4::uri_encode(key));
        REQUIRE(deleted_status == 200);
        CHECK(deleted["method"] == "DELETE");
        CHECK(deleted["key"] == key);
        auto [foreign_status, foreign] =
            call("DELETE", "key=" + sigv4::uri_encode("users/someone-else/x/a.txt"));
        CHECK(foreign_status == 403);
        CHECK(foreign["error"]["code"] == "key_outside_prefix");
        auto [preflight_status, preflight] = call("OPTIONS", "");
        CHECK(preflight_status == 204);
    }
    CHECK(formats == std::set<std::string>{"rest-v1", "http-api-v2", "function-url"});
}

TEST_CASE("events: an encrypted share link through every sample event format") {
    const auto found = events_dir();
    if (!found) return;  // reported missing: the binary exits as skipped
    auto service = make_service(true);
    int files = 0;
    for (const auto& entry : std::filesystem::directory_iterator(*found)) {
        if (entry.path().extension() != ".json") continue;
        CAPTURE(entry.path().filename().string());
        auto text = read_file(entry.path());
        auto translated = lambda::translate_event(text, "inv-1");
        if (translated.problem) continue;  // the sample with a broken body (see above)
        ++files;
        auto event = json::parse(text);
        const auto prefix = svc::caller_prefix(service.settings(), translated.request.identity);
        // The same event asking for `accept` (v1 events may carry both header maps).
        auto asking = [&](json changed, const std::string& accept) {
            const char* name = is_v2(changed) ? "accept" : "Accept";
            if (!changed["headers"].is_object()) changed["headers"] = json::object();
            changed["headers"][name] = accept;
            if (changed.contains("multiValueHeaders") && changed["multiValueHeaders"].is_object())
                changed["multiValueHeaders"][name] = json::array({accept});
            return changed;
        };
        const json share = {{"key", prefix + "0123abcd/9f86d081884c7d65"}, {"encrypted", true}};
        auto made = well_formed(lambda::handle_event(
            service, retarget(event, "POST", "/shares", "", share.dump()).dump(), "inv"));
        REQUIRE_MESSAGE(made["statusCode"] == 200, made["body"]);
        auto answer = json::parse(made["body"].get<std::string>());
        CHECK(answer["encrypted"] == true);
        const auto url = answer["url"].get<std::string>();
        const auto path = url.substr(url.find("/s/"));

        auto redeemed = well_formed(lambda::handle_event(
            service,
            asking(retarget(event, "GET", path, "", std::nullopt), "application/json").dump(),
            "inv"));
        REQUIRE(redeemed["statusCode"] == 200);
        CHECK(json::parse(redeemed["body"].get<std::string>())["encrypted"] == true);

        auto page = json::parse(lambda::handle_event(
            service, asking(retarget(event, "GET", path, "", std::nullopt), "text/html").dump(),
            "inv"));
        CHECK(page["statusCode"] == 200);
        CHECK(page["headers"]["Content-Type"] == "text/html; charset=utf-8");
        CHECK(page["headers"]["Referrer-Policy"] == "no-referrer");
        CHECK(page["body"].get<std::string>().find("data-encrypted=\"true\"") != std::string::npos);
        auto script = json::parse(lambda::handle_event(
            service, retarget(event, "GET", "/s/e2e.js", "", std::nullopt).dump(), "inv"));
        CHECK(script["statusCode"] == 200);
        CHECK(script["body"].get<std::string>().find("presignE2E") != std::string::npos);
    }
    CHECK(files >= 3);
}

TEST_CASE(
    "events: rawQueryString goes through the service's decoder, on the shared table (as presign "
    "serve)") {
    auto service = make_service(false);
    const auto rows =
        query_table::rows(svc::caller_prefix(service.settings(), std::string("alice")));
    REQUIRE(rows.size() >= 10);
    for (const auto& r : rows) {
        CAPTURE(r.raw);
        json event = {{"version", "2.0"},
                      {"rawPath", "/downloads"},
                      {"rawQueryString", r.raw},
                      {"headers", {{"origin", "https://app.example.com"}}},
                      {"requestContext",
                       {{"http", {{"method", "GET"}}},
                        {"authorizer", {{"jwt", {{"claims", {{"sub", "alice"}}}}}}}}}};
        auto translated = lambda::translate_event(event.dump(), "inv");
        auto answer = well_formed(lambda::handle_event(service, event.dump(), "inv"));
        if (r.error) {
            REQUIRE(translated.problem.has_value());
            CHECK(translated.problem->status == 400);
            CHECK(translated.problem->code == "invalid_query");
            CHECK(translated.problem->message.find(*r.error) != std::string::npos);
            CHECK(answer["statusCode"] == 400);
            CHECK(json::parse(answer["body"].get<std::string>())["error"]["code"] ==
                  "invalid_query");
            // The refusal still carries CORS for the page.
            CHECK(answer["headers"]["Access-Control-Allow-Origin"] == "https://app.example.com");
        } else {
            REQUIRE_FALSE(translated.problem.has_value());
            CHECK(translated.request.query == r.query);
            CHECK(answer["statusCode"] == 200);
        }
    }
}

TEST_CASE("events: the multipart routes through every sample event format") {
    const auto found = events_dir();
    if (!found) return;  // reported missing: the binary exits as skipped
    const std::filesystem::path& dir = *found;
    auto open = make_service(true);
    int files = 0;
    for (const auto& entry : std::filesystem::directory_iterator(dir)) {
        if (entry.path().extension() != ".json") continue;
        auto name = entry.path().filename().string();
        CAPTURE(name);
        auto text = read_file(entry.path());
        auto translated = lambda::translate_event(text, "inv-1");
        if (translated.problem) continue;  // the sample with a broken body (see above)
        ++files;
        auto event = json::parse(text);
        auto prefix = svc::caller_prefix(open.settings(), translated.request.identity);
        auto call = [&](const std::string& method, const std::string& path,
                        const std::string& query, const std::optional<std::string>& body) {
            auto res = well_formed(lambda::handle_event(
                open, retarget(event, method, path, query, body).dump(), "inv"));
            CHECK_MESSAGE(res["statusCode"] == 200, res["body"]);
            return json::parse(res["body"].get<std::string>());
        };
        auto plan = call("POST", "/uploads", "", R"({"filename":"big.iso","size":104857600})");
        CHECK(plan["multipart"] == true);
        CHECK(plan["partCount"] == 13);
        CHECK(plan["key"].get<std::string>().starts_with(prefix));
        json ask = {{"plan", plan["plan"]}, {"uploadId", "upload-1"}, {"partNumbers", {13, 1}}};
        auto parts = call("POST", "/uploads/parts", "", ask.dump());
        REQUIRE(parts["parts"].size() == 2);
        CHECK(parts["parts"][0]["headers"]["Content-Length"] == "4194304");
        auto listed = call(
            "GET", "/uploads/parts",
            "plan=" + sigv4::uri_encode(plan["plan"].get<std::string>()) + "&uploadId=upload-1",
            std::nullopt);
        CHECK(listed["method"] == "GET");
        json finish = {{"plan", plan["plan"]}, {"uploadId", "upload-1"}};
        auto complete = call("POST", "/uploads/complete", "", finish.dump());
        CHECK(complete["method"] == "POST");
        CHECK(complete["headers"]["If-None-Match"] == "*");  // a Complete never overwrites
        CHECK(call("POST", "/uploads/abort", "", finish.dump())["method"] == "DELETE");
        auto preflight = well_formed(lambda::handle_event(
            open, retarget(event, "OPTIONS", "/uploads/parts", "", std::nullopt).dump(), "inv"));
        CHECK(preflight["statusCode"] == 204);
        ask["partNumbers"] = {0};
        auto refused = well_formed(lambda::handle_event(
            open, retarget(event, "POST", "/uploads/parts", "", ask.dump()).dump(), "inv"));
        CHECK(refused["statusCode"] == 400);
    }
    CHECK(files >= 5);
}

TEST_CASE(
    "events: with a page config, GET / and the page's files are the embedded page, same origin as "
    "the API") {
    auto service = make_service(false);
    const std::string config = R"({"issuer":"https://idp.example","clientId":"page-client"})";
    auto get = [&](const std::string& path, std::optional<std::string_view> page) {
        const json event = {
            {"version", "2.0"},
            {"routeKey", "GET " + path},
            {"rawPath", path},
            {"rawQueryString", ""},
            {"headers", {{"host", "abc.execute-api.eu-west-1.amazonaws.com"}}},
            {"requestContext",
             {{"http", {{"method", "GET"}, {"path", path}}}, {"stage", "$default"}}},
            {"isBase64Encoded", false}};
        return json::parse(lambda::handle_event(service, event.dump(), "inv-page", page));
    };
    const auto assets = presign::web::assets();
    if (assets.empty()) {
        MESSAGE("skipped: built without adapters/web");
        return;
    }
    auto index = get("/", config);
    CHECK(index["statusCode"] == 200);
    CHECK(index["headers"]["Content-Type"] == "text/html; charset=utf-8");
    CHECK(index["headers"]["X-Frame-Options"] == "DENY");
    CHECK(index["body"].get<std::string>().find("<html") != std::string::npos);
    for (const auto& file : assets) {
        CAPTURE(file.path);
        auto answer = get(std::string(file.path), config);
        CHECK(answer["statusCode"] == 200);
        CHECK(answer["body"].get<std::string>() == file.data);
    }
    auto settings = get("/config.json", config);
    CHECK(settings["statusCode"] == 200);
    CHECK(json::parse(settings["body"].get<std::string>()) == json::parse(config));
    CHECK(json::parse(get("/config.json", std::string("{}"))["body"].get<std::string>()) ==
          json::object());
    // Without a page config (and for any other path) the service answers as before.
    CHECK(get("/", std::nullopt)["statusCode"] == 404);
    CHECK(get("/nothing.js", config)["statusCode"] == 404);
    CHECK(get("/files", config)["statusCode"] == 401);  // a private route: the service, unsigned in
    CHECK(presign::web::page_config("", "x") == "{}");
    CHECK(json::parse(presign::web::page_config("https://i", "c")) ==
          json{{"issuer", "https://i"}, {"clientId", "c"}});
    CHECK(json::parse(presign::web::page_config(
              "https://i", "c", "https://d.auth.eu-west-1.amazoncognito.com/logout")) ==
          json{{"issuer", "https://i"},
               {"clientId", "c"},
               {"logoutEndpoint", "https://d.auth.eu-west-1.amazoncognito.com/logout"}});
}
