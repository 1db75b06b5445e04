// SPDX-License-Identifier: Apache-2.0
// The share-link routes of presign/service.hpp: POST /shares, GET and POST /s/<token>, the
// recipient page and its files; every bad token the same 404; what the log may hold.
#include <doctest/doctest.h>

#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "presign/service.hpp"

using nlohmann::json;
namespace svc = presign::service;
namespace tok = presign::token;
using namespace std::chrono_literals;

namespace {

constexpr std::string_view secret_a = "share-link-secret-A-0123456789abcdef0123456789";
constexpr std::string_view secret_b = "share-link-secret-B-0123456789abcdef0123456789";
constexpr std::string_view alice_key = "uploads/users/alice/0123/report <1>.pdf";
constexpr std::string_view base_url = "https://api.example.com/prod";

using env_map = std::map<std::string, std::string, std::less<>>;

env_map share_env() {
    return {{"BUCKET_NAME", "files-bucket"},
            {"AWS_REGION", "eu-west-1"},
            {"KEY_PREFIX", "uploads/"},
            {"URL_EXPIRES", "300"},
            {"LINK_SECRET", std::string(secret_a)}};
}

sigv4::result<svc::config> load(const env_map& env) {
    return svc::config::from_environment([&](std::string_view name) -> std::optional<std::string> {
        auto it = env.find(name);
        if (it == env.end()) return std::nullopt;
        return it->second;
    });
}

struct shares {
    std::vector<std::string> log;
    svc::service service;

    explicit shares(const env_map& env = share_env())
        : service(
              *load(env),
              []() -> sigv4::result<sigv4::credentials> {
                  return sigv4::credentials::make("AKIDEXAMPLE",
                                                  "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY");
              },
              [this](std::string_view line) { log.emplace_back(line); }) {}

    svc::response call(std::string method, std::string path, std::string body = {},
                       std::string accept = {}, std::optional<std::string> identity = "alice") {
        svc::request req;
        req.method = std::move(method);
        req.path = std::move(path);
        req.body = std::move(body);
        req.identity = std::move(identity);
        if (!accept.empty()) req.headers.push_back({"Accept", std::move(accept)});
        req.request_id = "req-1";
        req.base_url = std::string(base_url);
        return service.handle(req);
    }

    // POST /shares; returns the path of the link ("/s/<token>").
    std::string share(json body) {
        auto res = call("POST", "/shares", body.dump());
        REQUIRE_MESSAGE(res.status == 200, res.body);
        auto doc = json::parse(res.body);
        auto url = doc["url"].get<std::string>();
        REQUIRE(url.starts_with(std::string(base_url) + "/s/"));
        return url.substr(base_url.size());
    }
};

std::string header(const svc::response& res, std::string_view name) {
    for (const auto& h : res.headers)
        if (h.name == name) return h.value;
    return {};
}

json body_of(const svc::response& res) {
    return json::parse(res.body, nullptr, false);
}

std::string sealed(std::string_view secret, std::string_view payload,
                   sigv4::sys_seconds expires_at) {
    tok::keyring keys(*tok::secret::from_text(secret));
    tok::contents what;
    what.expires_at = expires_at;
    what.payload = payload;
    return *tok::seal(keys, what);
}

sigv4::sys_seconds now() {
    return std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now());
}

void check_recipient_headers(const svc::response& res) {
    CHECK(header(res, "Referrer-Policy") == "no-referrer");
    CHECK(header(res, "X-Robots-Tag") == "noindex");
    CHECK(header(res, "Cache-Control") == "no-store");
}

}  // namespace

TEST_CASE("config: SHARE_MAX_SECONDS and LINK_SECRET") {
    auto env = share_env();
    auto cfg = load(env);
    REQUIRE(cfg.has_value());
    CHECK(cfg->share_max == 604800s);
    CHECK(cfg->link_keys.has_value());
    for (std::string bad : {"59", "2592001", "7d", "-1", ""}) {
        env["SHARE_MAX_SECONDS"] = bad;
        auto failed = load(env);
        if (bad.empty()) {
            CHECK(failed.has_value());
            continue;
        }
        REQUIRE_FALSE(failed.has_value());
        CHECK(failed.error().message.starts_with("SHARE_MAX_SECONDS"));
    }
    env["SHARE_MAX_SECONDS"] = "2592000";
    CHECK(load(env)->share_max == 2592000s);
    env["LINK_SECRET"] = "short";
    auto short_secret = load(env);
    REQUIRE_FALSE(short_secret.has_value());
    CHECK(short_secret.error().message.starts_with("LINK_SECRET"));
    CHECK(short_secret.error().message.find("short") ==
          std::string::npos);  // never echoes the value
    env["LINK_SECRET"] = std::string(secret_a);
    env["LINK_SECRET_PREVIOUS"] = "x";
    CHECK(load(env).error().message.starts_with("LINK_SECRET_PREVIOUS"));
}

TEST_CASE("POST /shares: a lasting link to one of the caller's own files") {
    shares s;
    auto res = s.call("POST", "/shares", json{{"key", alice_key}}.dump());
    REQUIRE(res.status == 200);
    CHECK(header(res, "Content-Type") == "application/json");
    auto doc = body_of(res);
    CHECK(doc["expiresIn"] == 86400);
    CHECK(doc["passwordRequired"] == false);
    CHECK(doc["filename"] == "report <1>.pdf");
    auto expires_at = sigv4::parse_iso8601(doc["expiresAt"].get<std::string>());
    REQUIRE(expires_at.has_value());
    CHECK(*expires_at - now() <= 86400s);
    CHECK(*expires_at - now() >= 86398s);
    CHECK(doc["url"].get<std::string>().starts_with("https://api.example.com/prod/s/"));

    auto hour =
        body_of(s.call("POST", "/shares", json{{"key", alice_key}, {"expiresIn", 3600}}.dump()));
    CHECK(hour["expiresIn"] == 3600);
    auto most = s.call("POST", "/shares", json{{"key", alice_key}, {"expiresIn", 604800}}.dump());
    CHECK(most.status == 200);

    struct bad_case {
        json body;
        int status;
        std::string code;
    };
    const bad_case cases[] = {
        {json{{"key", alice_key}, {"expiresIn", 604801}}, 400, "invalid_expires_in"},
        {json{{"key", alice_key}, {"expiresIn", 0}}, 400, "invalid_expires_in"},
        {json{{"key", alice_key}, {"expiresIn", -5}}, 400, "invalid_expires_in"},
        {json{{"key", alice_key}, {"expiresIn", "3600"}}, 400, "invalid_expires_in"},
        {json{{"key", alice_key}, {"expiresIn", 1.5}}, 400, "invalid_expires_in"},
        {json{{"key", "uploads/users/bob/0123/x.pdf"}}, 403, "key_outside_prefix"},
        {json{{"key", "uploads/users/alice/"}}, 400, "invalid_key"},
        {json{{"key", "uploads/users/alice/../bob/x"}}, 400, "invalid_key"},
        {json{{"key", 5}}, 400, "invalid_key"},
        {json::object(), 400, "invalid_key"},
        {json{{"key", alice_key}, {"password", 5}}, 400, "invalid_password"},
        {json{{"key", alice_key}, {"password", std::string(1025, 'p')}}, 400, "invalid_password"},
        {json::array(), 400, "invalid_json"},
    };
    for (const auto& c : cases) {
        CAPTURE(c.body.dump());
        auto bad = s.call("POST", "/shares", c.body.dump());
        CHECK(bad.status == c.status);
        CHECK(body_of(bad)["error"]["code"] == c.code);
    }
    CHECK(s.call("POST", "/shares", "{not json").status == 400);
    CHECK(s.call("POST", "/shares", json{{"key", alice_key}}.dump(), {}, std::nullopt).status ==
          401);
    CHECK(s.call("GET", "/shares").status == 405);

    auto env = share_env();
    env["SHARE_MAX_SECONDS"] = "3600";
    shares capped(env);
    auto over =
        capped.call("POST", "/shares", json{{"key", alice_key}, {"expiresIn", 3601}}.dump());
    CHECK(over.status == 400);
    CHECK(body_of(over)["error"]["message"].get<std::string>().find("1..3600") !=
          std::string::npos);
    CHECK(body_of(capped.call("POST", "/shares", json{{"key", alice_key}}.dump()))["expiresIn"] ==
          3600);

    env = share_env();
    env.erase("LINK_SECRET");
    shares disabled(env);
    auto off = disabled.call("POST", "/shares", json{{"key", alice_key}}.dump());
    CHECK(off.status == 503);
    CHECK(body_of(off)["error"]["code"] == "shares_disabled");
    CHECK(disabled.call("GET", "/s/AAAA", {}, "application/json").status == 503);
}

TEST_CASE("GET /s/<token>: redirect for curl, JSON when asked, the recipient page for browsers") {
    shares s;
    auto link = s.share({{"key", alice_key}});

    auto redirect = s.call("GET", link, {}, {}, std::nullopt);  // public: no identity needed
    CHECK(redirect.status == 302);
    CHECK(redirect.body.empty());
    check_recipient_headers(redirect);
    auto location = header(redirect, "Location");
    CHECK(
        location.starts_with("https://files-bucket.s3.eu-west-1.amazonaws.com/uploads/users/alice/"
                             "0123/report%20%3C1%3E.pdf?"));
    CHECK(location.find("response-content-disposition=attachment") != std::string::npos);
    CHECK(location.find("X-Amz-Expires=300&") != std::string::npos);
    CHECK(s.call("GET", link, {}, "*/*").status == 302);

    auto as_json = s.call("GET", link, {}, "application/json", std::nullopt);
    CHECK(as_json.status == 200);
    check_recipient_headers(as_json);
    auto doc = body_of(as_json);
    CHECK(doc["url"].get<std::string>().find("X-Amz-Signature=") != std::string::npos);
    CHECK(doc["filename"] == "report <1>.pdf");
    CHECK(doc["expiresAt"].is_string());

    auto page = s.call("GET", link, {}, "text/html,application/xhtml+xml,*/*;q=0.8", std::nullopt);
    CHECK(page.status == 200);
    check_recipient_headers(page);
    CHECK(header(page, "Content-Type") == "text/html; charset=utf-8");
    CHECK(page.body.find("report &lt;1&gt;.pdf") != std::string::npos);
    CHECK(page.body.find("report <1>") == std::string::npos);
    CHECK(page.body.find("data-state=\"ready\"") != std::string::npos);
    CHECK(page.body.find("data-password=\"none\"") != std::string::npos);
    CHECK(page.body.find("data-head-url=\"https://files-bucket.s3.eu-west-1.amazonaws.com/uploads/"
                         "users/alice/") != std::string::npos);
    CHECK(page.body.find("script-src 'self'; style-src 'self'") != std::string::npos);
    // The page may connect to its own origin and the store's only (where the key could go).
    CHECK(page.body.find("connect-src 'self' https://files-bucket.s3.eu-west-1.amazonaws.com;") !=
          std::string::npos);
    CHECK(page.body.find("{{") == std::string::npos);

    // A POST without a password on a link without one downloads too (the page uses it).
    auto posted = s.call("POST", link, "{}", "application/json", std::nullopt);
    CHECK(posted.status == 200);
    CHECK(s.call("POST", link, "{}", {}, std::nullopt).status == 303);
    CHECK(s.call("PUT", link, {}, {}, std::nullopt).status == 405);
    CHECK(s.call("OPTIONS", link, {}, {}, std::nullopt).status == 204);
    CHECK(s.call("GET", link + "/", {}, "application/json").status == 200);
}

TEST_CASE("the recipient page's files are served beside the links; nothing else is") {
    shares s;
    auto script = s.call("GET", "/s/share.js", {}, {}, std::nullopt);
    CHECK(script.status == 200);
    CHECK(header(script, "Content-Type") == "text/javascript; charset=utf-8");
    CHECK(script.body.find("use strict") != std::string::npos);
    auto format = s.call("GET", "/s/format.js", {}, {}, std::nullopt);  // shared with the main page
    CHECK(format.status == 200);
    CHECK(format.body.find("presignFormat") != std::string::npos);
    auto style = s.call("GET", "/s/style.css", {}, {}, std::nullopt);
    CHECK(style.status == 200);
    CHECK(header(style, "Content-Type") == "text/css; charset=utf-8");
    for (std::string other :
         {"/s/index.html", "/s/app.js", "/s/share.html", "/s/../app.js", "/s/x.js"})
        CHECK(s.call("GET", other, {}, {}, std::nullopt).status == 404);
    CHECK(s.call("POST", "/s/share.js", {}, {}, std::nullopt).status == 404);
}

TEST_CASE(
    "every bad token is the same 404: tampered, truncated, padded, expired, foreign, too long") {
    shares s;
    auto link = s.share({{"key", alice_key}});
    auto token = link.substr(3);
    const std::string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

    std::vector<std::string> bad;
    for (std::size_t i = 0; i < token.size(); ++i) {
        auto changed = token;
        changed[i] = changed[i] == 'A' ? 'B' : 'A';
        bad.push_back(changed);
    }
    for (std::size_t length : {std::size_t{0}, std::size_t{1}, token.size() / 2, token.size() - 1})
        bad.push_back(token.substr(0, length));
    bad.push_back(token + "=");
    bad.push_back(token + "==");
    bad.push_back(token + "A");
    bad.push_back(sealed(secret_a, alice_key, now() - 1s));     // expired
    bad.push_back(sealed(secret_b, alice_key, now() + 3600s));  // another secret
    bad.push_back(
        sealed(secret_a, "elsewhere/users/alice/x.pdf", now() + 3600s));  // outside KEY_PREFIX
    bad.push_back(
        sealed(secret_a, "uploads/users/alice/../../x", now() + 3600s));     // not a valid key
    bad.push_back(sealed(secret_a, "uploads/users/alice/", now() + 3600s));  // a folder
    bad.push_back(std::string(tok::max_token_chars + 1, 'A'));               // too long
    bad.push_back(std::string(64 * 1024, 'A'));
    bad.push_back("not a token");

    std::set<std::string> json_bodies, text_bodies, pages;
    for (const auto& candidate : bad) {
        CAPTURE(candidate.substr(0, 80));
        auto as_json = s.call("GET", "/s/" + candidate, {}, "application/json", std::nullopt);
        CHECK(as_json.status == 404);
        check_recipient_headers(as_json);
        json_bodies.insert(as_json.body);
        auto plain = s.call("GET", "/s/" + candidate, {}, {}, std::nullopt);
        CHECK(plain.status == 404);
        CHECK(header(plain, "Location").empty());
        text_bodies.insert(plain.body);
        auto page = s.call("GET", "/s/" + candidate, {}, "text/html", std::nullopt);
        CHECK(page.status == 404);
        check_recipient_headers(page);
        pages.insert(page.body);
        CHECK(s.call("POST", "/s/" + candidate, R"({"password":"x"})", "application/json",
                     std::nullopt)
                  .status == 404);
    }
    CHECK(json_bodies.size() == 1);
    CHECK(text_bodies.size() == 1);
    CHECK(pages.size() == 1);
    CHECK(body_of(s.call("GET", "/s/" + bad.front(), {}, "application/json"))["error"]["code"] ==
          "not_found");
    CHECK(pages.begin()->find("This link has expired or does not exist.") != std::string::npos);
    CHECK(pages.begin()->find("data-state=\"missing\"") != std::string::npos);
    CHECK(pages.begin()->find("connect-src 'self' ;") !=
          std::string::npos);  // no link: no store either
}

TEST_CASE("passwords: required, wrong is 403 (page again), right downloads; never logged") {
    shares s;
    const std::string password = "tr0ub4dor&3";
    auto link = s.share({{"key", alice_key}, {"password", password}});

    auto page = s.call("GET", link, {}, "text/html", std::nullopt);
    CHECK(page.status == 200);
    CHECK(page.body.find("data-password=\"required\"") != std::string::npos);
    CHECK(page.body.find("report &lt;1&gt;.pdf") != std::string::npos);

    auto no_password = s.call("GET", link, {}, "application/json", std::nullopt);
    CHECK(no_password.status == 403);
    CHECK(body_of(no_password)["error"]["code"] == "password_required");
    CHECK(s.call("GET", link, {}, {}, std::nullopt).status == 403);  // curl: no redirect without it

    auto wrong = s.call("POST", link, json{{"password", "tr0ub4dor&4"}}.dump(), "application/json",
                        std::nullopt);
    CHECK(wrong.status == 403);
    check_recipient_headers(wrong);
    CHECK(body_of(wrong)["error"]["code"] == "wrong_password");
    auto wrong_page =
        s.call("POST", link, json{{"password", ""}}.dump(), "text/html", std::nullopt);
    CHECK(wrong_page.status == 403);
    CHECK(wrong_page.body.find("data-state=\"wrong-password\"") != std::string::npos);
    CHECK(wrong_page.body.find("That password is not right.") != std::string::npos);
    CHECK(s.call("POST", link, R"({"password":5})", "application/json", std::nullopt).status ==
          400);
    CHECK(s.call("POST", link, "nonsense", "application/json", std::nullopt).status == 400);

    auto right =
        s.call("POST", link, json{{"password", password}}.dump(), "application/json", std::nullopt);
    CHECK(right.status == 200);
    CHECK(body_of(right)["url"].get<std::string>().find("X-Amz-Signature=") != std::string::npos);
    auto right_curl = s.call("POST", link, json{{"password", password}}.dump(), {}, std::nullopt);
    CHECK(right_curl.status == 303);
    CHECK_FALSE(header(right_curl, "Location").empty());

    for (const auto& line : s.log) {
        CAPTURE(line);
        CHECK(line.find(password) == std::string::npos);
        CHECK(line.find(link.substr(3, 16)) == std::string::npos);
        CHECK(line.find(secret_a) == std::string::npos);
    }
}

TEST_CASE("the log names a link by a short hash of its token, never the token") {
    shares s;
    auto link = s.share({{"key", alice_key}});
    auto token = link.substr(3);
    s.log.clear();
    (void)s.call("GET", link, {}, {}, std::nullopt);
    auto changed = link;  // one character changed in the middle: authentic framing, wrong MAC
    changed[changed.size() / 2] = changed[changed.size() / 2] == 'A' ? 'B' : 'A';
    (void)s.call("GET", changed, {}, {}, std::nullopt);
    (void)s.call("GET", "/s/" + std::string(5000, 'Q'), {}, {}, std::nullopt);
    REQUIRE(s.log.size() == 3);
    auto first = json::parse(s.log[0]);
    CHECK(first["route"] == "GET /s/~" + tok::log_label(token));
    CHECK(first["status"] == 302);
    auto second = json::parse(s.log[1]);
    CHECK(second["status"] == 404);
    CHECK(second["reason"] == "forged");
    CHECK(json::parse(s.log[2])["reason"] == "too_long");
    for (const auto& line : s.log) {
        CHECK(line.find(token.substr(0, 12)) == std::string::npos);
        CHECK(line.size() < 400);
    }
}

TEST_CASE("rotation: a link under the previous secret works only while that secret is configured") {
    auto old_link = "/s/" + sealed(secret_a, alice_key, now() + 3600s);
    auto env = share_env();
    env["LINK_SECRET"] = std::string(secret_b);
    shares rotated(env);
    CHECK(rotated.call("GET", old_link, {}, {}, std::nullopt).status == 404);
    env["LINK_SECRET_PREVIOUS"] = std::string(secret_a);
    shares overlapping(env);
    CHECK(overlapping.call("GET", old_link, {}, {}, std::nullopt).status == 302);
    auto new_link = overlapping.share({{"key", alice_key}});
    CHECK(shares().call("GET", new_link, {}, {}, std::nullopt).status ==
          404);  // A alone does not know B
}

TEST_CASE(
    "encrypted shares: the flag travels in the token; the page, JSON and POST /shares say so") {
    shares s;
    constexpr std::string_view e2e_key = "uploads/users/alice/0123/9f86d081884c7d65";
    auto posted = s.call("POST", "/shares", json{{"key", e2e_key}, {"encrypted", true}}.dump());
    REQUIRE(posted.status == 200);
    auto made = body_of(posted);
    CHECK(made["encrypted"] == true);
    auto link = made["url"].get<std::string>().substr(base_url.size());
    CHECK(body_of(s.call("POST", "/shares", json{{"key", alice_key}}.dump()))["encrypted"] ==
          false);
    CHECK(body_of(s.call("POST", "/shares",
                         json{{"key", alice_key}, {"encrypted", false}}.dump()))["encrypted"] ==
          false);
    CHECK(body_of(s.call("POST", "/shares",
                         json{{"key", alice_key}, {"encrypted", nullptr}}.dump()))["encrypted"] ==
          false);
    for (const json& bad : {json("true"), json(1), json(0), json::object(), json::array()}) {
        CAPTURE(bad.dump());
        auto refused =
            s.call("POST", "/shares", json{{"key", alice_key}, {"encrypted", bad}}.dump());
        CHECK(refused.status == 400);
        CHECK(body_of(refused)["error"]["code"] == "invalid_encrypted");
    }

    auto as_json = s.call("GET", link, {}, "application/json", std::nullopt);
    REQUIRE(as_json.status == 200);
    CHECK(body_of(as_json)["encrypted"] == true);
    CHECK(body_of(s.call("POST", link, "{}", "application/json", std::nullopt))["encrypted"] ==
          true);
    auto page = s.call("GET", link, {}, "text/html", std::nullopt);
    CHECK(page.status == 200);
    check_recipient_headers(page);
    CHECK(page.body.find("data-encrypted=\"true\"") != std::string::npos);
    CHECK(page.body.find("<script src=\"e2e.js\" defer></script>") != std::string::npos);
    CHECK(s.call("GET", link, {}, {}, std::nullopt).status ==
          302);  // curl still gets the (encrypted) object

    auto plain = s.share({{"key", alice_key}});
    CHECK(body_of(s.call("GET", plain, {}, "application/json", std::nullopt))["encrypted"] ==
          false);
    CHECK(
        s.call("GET", plain, {}, "text/html", std::nullopt).body.find("data-encrypted=\"false\"") !=
        std::string::npos);
    // The page that decrypts is served beside the links, like share.js.
    auto script = s.call("GET", "/s/e2e.js", {}, {}, std::nullopt);
    CHECK(script.status == 200);
    CHECK(header(script, "Content-Type") == "text/javascript; charset=utf-8");
    CHECK(script.body.find("presignE2E") != std::string::npos);

    // With a password: the flag survives the lock, and a wrong password reveals nothing more.
    auto locked = s.call("POST", "/shares",
                         json{{"key", e2e_key}, {"encrypted", true}, {"password", "pw"}}.dump());
    REQUIRE(locked.status == 200);
    CHECK(body_of(locked)["passwordRequired"] == true);
    CHECK(body_of(locked)["encrypted"] == true);
    auto locked_link = body_of(locked)["url"].get<std::string>().substr(base_url.size());
    auto locked_page = s.call("GET", locked_link, {}, "text/html", std::nullopt);
    CHECK(locked_page.body.find("data-encrypted=\"true\"") != std::string::npos);
    CHECK(locked_page.body.find("data-password=\"required\"") != std::string::npos);
    CHECK(s.call("POST", locked_link, json{{"password", "no"}}.dump(), "application/json",
                 std::nullopt)
              .status == 403);
    auto opened = s.call("POST", locked_link, json{{"password", "pw"}}.dump(), "application/json",
                         std::nullopt);
    CHECK(opened.status == 200);
    CHECK(body_of(opened)["encrypted"] == true);

    // The flag is authenticated: a plain token re-sealed as encrypted (or the reverse) is forged.
    auto bytes = *tok::base64url_decode(link.substr(3));
    bytes[14] = static_cast<char>(bytes[14] & ~0x02);
    CHECK(s.call("GET",
                 "/s/" + tok::base64url_encode(
                             {reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size()}),
                 {}, "application/json", std::nullopt)
              .status == 404);
}
