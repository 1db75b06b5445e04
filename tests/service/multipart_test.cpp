// SPDX-License-Identifier: Apache-2.0
// Multipart uploads through the service: the plan, every /uploads/* route, the plan token's
// binding to its caller, and the exact errors for bad input.
#include <doctest/doctest.h>

#include <map>
#include <nlohmann/json.hpp>

#include "presign/service.hpp"
#include "upload_plan.hpp"

using nlohmann::json;
namespace svc = presign::service;

namespace {

constexpr std::string_view access_key = "AKIDEXAMPLE";
constexpr std::string_view secret_key = "multipart-test-secret";
constexpr std::string_view link_secret = "a link secret of at least thirty-two bytes!";
constexpr std::uint64_t mib = 1ull << 20;

using env_map = std::map<std::string, std::string, std::less<>>;

env_map multipart_env() {
    return {{"BUCKET_NAME", "files-bucket"},
            {"AWS_REGION", "eu-west-1"},
            {"MAX_UPLOAD_BYTES", "5497558138880"},
            {"LINK_SECRET", std::string(link_secret)}};
}

svc::config config_of(const env_map& env) {
    auto cfg =
        svc::config::from_environment([&](std::string_view name) -> std::optional<std::string> {
            auto it = env.find(name);
            if (it == env.end()) return std::nullopt;
            return it->second;
        });
    REQUIRE_MESSAGE(cfg.has_value(), (cfg ? "" : cfg.error().message));
    return *cfg;
}

struct fixture {
    svc::service service;
    explicit fixture(const env_map& env = multipart_env())
        : service(config_of(env), [] { return sigv4::credentials::make(access_key, secret_key); },
                  {}) {}

    svc::response call(std::string method, std::string path, const json& body,
                       std::string identity = "alice", std::vector<sigv4::query_param> query = {}) {
        svc::request req;
        req.method = std::move(method);
        req.path = std::move(path);
        if (!body.is_null()) req.body = body.dump();
        req.identity = std::move(identity);
        req.query = std::move(query);
        return service.handle(req);
    }
    json start(std::uint64_t size, std::string identity = "alice", bool ask = false) {
        json body = {{"filename", "video.mp4"}, {"contentType", "video/mp4"}, {"size", size}};
        if (ask) body["multipart"] = true;
        auto res = call("POST", "/uploads", body, std::move(identity));
        REQUIRE_MESSAGE(res.status == 200, res.body);
        return json::parse(res.body);
    }
};

std::string error_of(const svc::response& res) {
    return json::parse(res.body)["error"]["code"].get<std::string>();
}

auto verify_url(const std::string& method, const std::string& url,
                std::vector<sigv4::header> headers = {}) {
    auto authority = url.find("://") + 3;
    auto path = url.find('/', authority);
    sigv4::received_request req;
    req.method = method;
    req.target = url.substr(path);
    headers.push_back({"host", url.substr(authority, path - authority)});
    req.headers = std::move(headers);
    sigv4::verify_options options;
    options.region = "eu-west-1";
    static const sigv4::known_key key{*sigv4::secret_key::from(secret_key), {}};
    return sigv4::verify(
        req, [](std::string_view) -> const sigv4::known_key* { return &key; }, options);
}

std::string query_value(const std::string& url, const std::string& name) {
    auto at = url.find(name + "=");
    REQUIRE(at != std::string::npos);
    auto start = at + name.size() + 1;
    return url.substr(start, url.find('&', start) - start);
}

}  // namespace

TEST_CASE("plan: part size >= 8 MiB in whole MiB, at most 10,000 parts, the last the remainder") {
    using presign::service::detail::plan_upload;
    struct row {
        std::uint64_t size, part_size;
        std::uint32_t count;
        std::uint64_t last;
    };
    for (auto r :
         std::vector<row>{{0, 8 * mib, 1, 0},
                          {1, 8 * mib, 1, 1},
                          {8 * mib, 8 * mib, 1, 8 * mib},
                          {8 * mib + 1, 8 * mib, 2, 1},
                          {300 * mib, 8 * mib, 38, 4 * mib},
                          {80000 * mib, 8 * mib, 10000, 8 * mib},
                          {80000 * mib + 1, 9 * mib, 8889, 80000 * mib + 1 - 8888 * 9 * mib},
                          {5ull << 40, 525 * mib, 9987, (5ull << 40) - 9986 * 525 * mib}}) {
        CAPTURE(r.size);
        auto plan = plan_upload("k", r.size);
        CHECK(plan.part_size == r.part_size);
        CHECK(plan.part_count() == r.count);
        CHECK(plan.part_count() <= 10000);
        CHECK(plan.part_bytes(1) == (r.count == 1 ? r.last : r.part_size));
        CHECK(plan.part_bytes(r.count) == r.last);
    }
}

TEST_CASE(
    "POST /uploads: above the threshold or when asked, a plan with a presigned "
    "CreateMultipartUpload") {
    fixture f;
    auto small = f.call("POST", "/uploads", {{"filename", "a.txt"}, {"size", 10}});
    CHECK(json::parse(small.body)["method"] == "PUT");  // below the 64 MiB default: one PUT
    auto at_threshold = f.call("POST", "/uploads", {{"filename", "a.bin"}, {"size", 64 * mib}});
    CHECK(json::parse(at_threshold.body)["method"] == "PUT");

    auto plan = f.start(300 * mib);
    CHECK(plan["multipart"] == true);
    CHECK(plan["method"] == "POST");
    CHECK(plan["size"] == 300 * mib);
    CHECK(plan["partSize"] == 8 * mib);
    CHECK(plan["partCount"] == 38);
    CHECK(plan["headers"]["Content-Type"] == "video/mp4");
    const std::string key = plan["key"];
    CHECK(key.starts_with("users/alice/"));
    CHECK(key.ends_with("/video.mp4"));
    CHECK(plan["url"].get<std::string>().find("?uploads=&X-Amz-") != std::string::npos);
    CHECK(plan["planExpiresAt"].is_string());
    auto verified = verify_url("POST", plan["url"], {{"Content-Type", "video/mp4"}});
    REQUIRE(verified);
    CHECK(verified->path == "/" + key);

    auto asked = f.start(10, "alice", true);
    CHECK(asked["partCount"] == 1);
    CHECK(asked["partSize"] == 8 * mib);

    // 5 TiB is allowed; above is not; a file above 5 GiB always goes in parts whatever the
    // threshold.
    CHECK(f.start(5ull << 40)["partCount"] == 9987);
    auto too_big = f.call("POST", "/uploads", {{"filename", "a"}, {"size", (5ull << 40) + 1}});
    CHECK(too_big.status == 413);
    auto env = multipart_env();
    env["MULTIPART_THRESHOLD"] = "5368709120";
    fixture high(env);
    CHECK(high.start((5ull << 30) + 1)["multipart"] == true);
    // false asks for one PUT, which S3 allows up to 5 GiB only.
    auto single =
        f.call("POST", "/uploads", {{"filename", "a"}, {"size", 200 * mib}, {"multipart", false}});
    CHECK(json::parse(single.body)["method"] == "PUT");
    auto huge = f.call("POST", "/uploads",
                       {{"filename", "a"}, {"size", (5ull << 30) + 1}, {"multipart", false}});
    CHECK(json::parse(huge.body)["multipart"] == true);
    auto not_bool =
        f.call("POST", "/uploads", {{"filename", "a"}, {"size", 10}, {"multipart", "yes"}});
    CHECK(not_bool.status == 400);
    CHECK(error_of(not_bool) == "invalid_multipart");
}

TEST_CASE("POST /uploads/parts: exact lengths signed, numbers checked against the plan") {
    fixture f;
    auto plan = f.start(20 * mib + 5, "alice", true);  // parts of 8, 8 and 4 MiB + 5 bytes
    REQUIRE(plan["partCount"] == 3);
    json ask = {{"plan", plan["plan"]}, {"uploadId", "2~upload.ID_1-x"}, {"partNumbers", {3, 1}}};
    auto res = f.call("POST", "/uploads/parts", ask);
    REQUIRE_MESSAGE(res.status == 200, res.body);
    auto doc = json::parse(res.body);
    REQUIRE(doc["parts"].size() == 2);
    CHECK(doc["key"] == plan["key"]);
    CHECK(doc["expiresIn"] == 300);
    const std::vector<std::pair<int, std::uint64_t>> expected = {{3, 4 * mib + 5}, {1, 8 * mib}};
    for (std::size_t i = 0; i < 2; ++i) {
        const auto& part = doc["parts"][i];
        CAPTURE(i);
        CHECK(part["partNumber"] == expected[i].first);
        CHECK(part["size"] == expected[i].second);
        CHECK(part["method"] == "PUT");
        CHECK(part["headers"]["Content-Length"] == std::to_string(expected[i].second));
        const std::string url = part["url"];
        CHECK(query_value(url, "partNumber") == std::to_string(expected[i].first));
        CHECK(query_value(url, "uploadId") == "2~upload.ID_1-x");
        CHECK(verify_url("PUT", url, {{"Content-Length", std::to_string(expected[i].second)}}));
        auto longer =
            verify_url("PUT", url, {{"Content-Length", std::to_string(expected[i].second + 1)}});
        REQUIRE_FALSE(longer);
        CHECK(longer.error().code == sigv4::errc::signature_does_not_match);
    }

    auto refused = [&](json numbers) {
        json body = ask;
        body["partNumbers"] = std::move(numbers);
        auto r = f.call("POST", "/uploads/parts", body);
        CHECK(r.status == 400);
        return error_of(r);
    };
    CHECK(refused({0}) == "invalid_part_numbers");
    CHECK(refused({10001}) == "invalid_part_numbers");
    CHECK(refused({4}) == "invalid_part_numbers");  // beyond the plan's 3 parts
    CHECK(refused({1, 2, 1}) == "invalid_part_numbers");
    CHECK(refused({-1}) == "invalid_part_numbers");
    CHECK(refused({1.5}) == "invalid_part_numbers");
    CHECK(refused({"1"}) == "invalid_part_numbers");
    CHECK(refused(json::array()) == "invalid_part_numbers");
    CHECK(refused(1) == "invalid_part_numbers");
    auto many = f.start(8000 * mib);
    json hundred_one = json::array();
    for (int i = 1; i <= 101; ++i) hundred_one.push_back(i);
    json body = {{"plan", many["plan"]}, {"uploadId", "u"}, {"partNumbers", hundred_one}};
    CHECK(error_of(f.call("POST", "/uploads/parts", body)) == "invalid_part_numbers");
    hundred_one.erase(100);
    body["partNumbers"] = hundred_one;
    auto hundred = f.call("POST", "/uploads/parts", body);
    CHECK(hundred.status == 200);
    CHECK(json::parse(hundred.body)["parts"].size() == 100);

    for (const std::string& bad_id : std::vector<std::string>{
             "", "has space", "a&b", "x?y", std::string(1025, 'a'), "caf\xc3\xa9"}) {
        CAPTURE(bad_id);
        json with_id = ask;
        with_id["uploadId"] = bad_id;
        auto r = f.call("POST", "/uploads/parts", with_id);
        CHECK(r.status == 400);
        CHECK(error_of(r) == "invalid_upload_id");
    }
    json without_id = ask;
    without_id.erase("uploadId");
    CHECK(error_of(f.call("POST", "/uploads/parts", without_id)) == "invalid_upload_id");
    CHECK(error_of(f.call("POST", "/uploads/parts", json("not an object"))) == "invalid_json");
}

TEST_CASE("plan tokens: another caller's, tampered, expired, other purpose or secret are refused") {
    fixture f;
    auto plan = f.start(100 * mib);
    const std::string token = plan["plan"];
    auto parts_with = [&](const std::string& plan_text, std::string identity = "alice") {
        return f.call("POST", "/uploads/parts",
                      {{"plan", plan_text}, {"uploadId", "u1"}, {"partNumbers", {1}}},
                      std::move(identity));
    };
    CHECK(parts_with(token).status == 200);

    auto bob = parts_with(token, "bob");
    CHECK(bob.status == 403);
    CHECK(error_of(bob) == "plan_not_yours");
    for (const char* route : {"/uploads/complete", "/uploads/abort"}) {
        auto r = f.call("POST", route, {{"plan", token}, {"uploadId", "u1"}}, "bob");
        CHECK(r.status == 403);
        CHECK(error_of(r) == "plan_not_yours");
    }
    auto bob_lists =
        f.call("GET", "/uploads/parts", nullptr, "bob", {{"plan", token}, {"uploadId", "u1"}});
    CHECK(bob_lists.status == 403);

    std::vector<std::string> bad = {"", "x", token.substr(0, token.size() - 1),
                                    std::string(3000, 'A')};
    for (std::size_t i = 0; i < token.size(); i += 7) {
        std::string flipped = token;
        flipped[i] = flipped[i] == 'A' ? 'B' : 'A';
        bad.push_back(flipped);
    }
    namespace tok = presign::token;
    const tok::keyring keys(*tok::secret::from_text(link_secret));
    auto now = std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now());
    auto alice_plan = presign::service::detail::plan_upload(plan["key"], 100 * mib);
    bad.push_back(*presign::service::detail::seal_plan(keys, alice_plan,
                                                       now - std::chrono::seconds(1)));  // expired
    std::string payload = tok::open(keys, token, tok::purpose::upload_plan, now)->payload;
    bad.push_back(*tok::seal(
        keys, {tok::purpose::share_link, now + std::chrono::hours(1), payload, std::nullopt}));
    const tok::keyring other(
        *tok::secret::from_text("another secret of at least thirty-two bytes"));
    bad.push_back(
        *presign::service::detail::seal_plan(other, alice_plan, now + std::chrono::hours(1)));
    for (const auto& text : bad) {
        CAPTURE(text);
        auto r = parts_with(text);
        CHECK(r.status == 400);
        CHECK(error_of(r) == "invalid_plan");
    }
    // A fresh token for the same plan works: the refusals above were about the tokens only.
    CHECK(parts_with(
              *presign::service::detail::seal_plan(keys, alice_plan, now + std::chrono::hours(1)))
              .status == 200);
}

TEST_CASE("complete, abort and list: presigned for the plan's key and upload id only") {
    fixture f;
    auto plan = f.start(100 * mib);
    const std::string key = plan["key"];
    auto complete =
        f.call("POST", "/uploads/complete", {{"plan", plan["plan"]}, {"uploadId", "UP1"}});
    REQUIRE_MESSAGE(complete.status == 200, complete.body);
    auto c = json::parse(complete.body);
    CHECK(c["method"] == "POST");
    CHECK(c["key"] == key);
    CHECK(c["partCount"] == 13);
    CHECK(query_value(c["url"], "uploadId") == "UP1");
    // Write once: If-None-Match: * is signed, so the store refuses a Complete over an existing
    // object, and a client that leaves the header out is refused too.
    CHECK(c["headers"] == json{{"If-None-Match", "*"}});
    CHECK(verify_url("POST", c["url"], {{"If-None-Match", "*"}})->path == "/" + key);
    CHECK_FALSE(verify_url("POST", c["url"]));
    CHECK_FALSE(verify_url("DELETE", c["url"], {{"If-None-Match", "*"}}));

    auto abort = f.call("POST", "/uploads/abort", {{"plan", plan["plan"]}, {"uploadId", "UP1"}});
    REQUIRE(abort.status == 200);
    auto a = json::parse(abort.body);
    CHECK(a["method"] == "DELETE");
    CHECK(verify_url("DELETE", a["url"])->path == "/" + key);

    auto list = f.call("GET", "/uploads/parts", nullptr, "alice",
                       {{"plan", plan["plan"]}, {"uploadId", "UP1"}, {"partNumberMarker", "5"}});
    REQUIRE_MESSAGE(list.status == 200, list.body);
    auto l = json::parse(list.body);
    CHECK(l["method"] == "GET");
    CHECK(query_value(l["url"], "part-number-marker") == "5");
    CHECK(verify_url("GET", l["url"])->path == "/" + key);
    auto bad_marker =
        f.call("GET", "/uploads/parts", nullptr, "alice",
               {{"plan", plan["plan"]}, {"uploadId", "UP1"}, {"partNumberMarker", "x"}});
    CHECK(bad_marker.status == 400);
    auto no_plan = f.call("GET", "/uploads/parts", nullptr, "alice", {{"uploadId", "UP1"}});
    CHECK(no_plan.status == 400);
    CHECK(error_of(no_plan) == "invalid_plan");
}

TEST_CASE("routes: methods, preflight and a service without a token secret") {
    fixture f;
    auto pre = f.call("OPTIONS", "/uploads/parts", nullptr);
    CHECK(pre.status == 204);
    bool listed = false;
    for (const auto& h : pre.headers)
        if (h.name == "Access-Control-Allow-Methods") listed = h.value == "GET, POST, OPTIONS";
    CHECK(listed);
    CHECK(f.call("PUT", "/uploads/parts", nullptr).status == 405);
    CHECK(f.call("GET", "/uploads/complete", nullptr).status == 405);
    CHECK(f.call("GET", "/uploads/abort", nullptr).status == 405);
    CHECK(f.call("POST", "/uploads/complete", {{"plan", "x"}}, "").status == 401);  // anonymous

    auto env = multipart_env();
    env.erase("LINK_SECRET");
    fixture keyless(env);
    auto disabled = keyless.call("POST", "/uploads", {{"filename", "a"}, {"size", 100 * mib}});
    CHECK(disabled.status == 503);
    CHECK(error_of(disabled) == "multipart_disabled");
    CHECK(keyless.call("POST", "/uploads", {{"filename", "a"}, {"size", 10}}).status == 200);
    CHECK(error_of(keyless.call("POST", "/uploads/complete", {{"plan", "x"}, {"uploadId", "u"}})) ==
          "multipart_disabled");
}

TEST_CASE("config: MULTIPART_THRESHOLD, MAX_UPLOAD_BYTES up to 5 TiB, LINK_SECRET length") {
    auto load = [](env_map env) {
        return svc::config::from_environment(
            [&](std::string_view name) -> std::optional<std::string> {
                auto it = env.find(name);
                if (it == env.end()) return std::nullopt;
                return it->second;
            });
    };
    auto env = multipart_env();
    CHECK(load(env)->multipart_threshold == 64 * mib);
    env["MULTIPART_THRESHOLD"] = "0";
    CHECK(load(env)->multipart_threshold == 0);
    for (const char* bad : {"-1", "5368709121", "x", "1.5"}) {
        env["MULTIPART_THRESHOLD"] = bad;
        auto cfg = load(env);
        REQUIRE_FALSE(cfg);
        CHECK(cfg.error().message.find("MULTIPART_THRESHOLD") != std::string::npos);
    }
    env = multipart_env();
    env["MAX_UPLOAD_BYTES"] = "5497558138881";
    CHECK_FALSE(load(env));
    env = multipart_env();
    env["LINK_SECRET"] = "too short";
    auto weak = load(env);
    REQUIRE_FALSE(weak);
    CHECK(weak.error().message.find("LINK_SECRET") != std::string::npos);
    CHECK(weak.error().message.find("too short") == std::string::npos);  // a secret is never echoed
}
