// SPDX-License-Identifier: Apache-2.0
// "Your files" between two callers, end to end: the service signs, the local store checks every
// signature. Alice and Bob each list and delete only their own prefix; a ticket re-targeted at
// another key or prefix fails the store's signature check.
#include <doctest/doctest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <regex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <httplib.h>
#include <nlohmann/json.hpp>
#include <presign/local/s3_server.hpp>
#include <presign/service.hpp>
#include <sigv4/sigv4.hpp>

namespace fs = std::filesystem;
using nlohmann::json;
namespace svc = presign::service;

namespace {

constexpr std::string_view access_key_id = "AKIDFILESISOLATION";
constexpr std::string_view secret = "files-isolation-secret/with+symbols";

sigv4::credentials test_credentials() {
    return sigv4::credentials::make(access_key_id, secret).value();
}

/// The store on a free port of 127.0.0.1 and the service signing for it.
class files_world {
  public:
    files_world() {
        ::signal(SIGPIPE, SIG_IGN);
        std::string pattern = (fs::temp_directory_path() / "presign-files-test-XXXXXX").string();
        REQUIRE(::mkdtemp(pattern.data()) != nullptr);
        dir_ = pattern;
        presign::local::s3_server_options options;
        options.data_dir = dir_ / "data";
        options.region = "us-east-1";
        const auto creds = test_credentials();
        options.keys = [id = creds.access_key_id, known = sigv4::known_key{creds.secret, {}}](
                           std::string_view asked) -> const sigv4::known_key* {
            return asked == id ? &known : nullptr;
        };
        server_ = std::make_unique<presign::local::s3_server>(options);
        auto bound = server_->bind("127.0.0.1", 0);
        REQUIRE(bound.has_value());
        port_ = *bound;
        REQUIRE(server_->ensure_bucket("files"));
        thread_ = std::thread([this] { server_->listen(); });
        for (int i = 0; i < 200 && !server_->is_running(); ++i)
            std::this_thread::sleep_for(std::chrono::milliseconds(5));

        const std::map<std::string, std::string, std::less<>> env = {
            {"BUCKET_NAME", "files"},
            {"AWS_REGION", "us-east-1"},
            {"S3_ENDPOINT", "http://127.0.0.1:" + std::to_string(port_)},
            {"S3_PATH_STYLE", "true"}};
        auto cfg =
            svc::config::from_environment([&](std::string_view name) -> std::optional<std::string> {
                auto it = env.find(name);
                if (it == env.end()) return std::nullopt;
                return it->second;
            });
        REQUIRE_MESSAGE(cfg.has_value(), (cfg ? "" : cfg.error().message));
        service_ = std::make_unique<svc::service>(
            *cfg, []() -> sigv4::result<sigv4::credentials> { return test_credentials(); },
            svc::log_sink{});
    }
    ~files_world() {
        while (thread_.joinable() && !server_->is_running())
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
        server_->stop();
        thread_.join();
        std::error_code ignored;
        fs::remove_all(dir_, ignored);
    }
    files_world(const files_world&) = delete;
    files_world& operator=(const files_world&) = delete;

    /// The service's answer to `method path?query` from `who`: (status, JSON body).
    std::pair<int, json> api(const std::string& who, const std::string& method,
                             const std::string& path, std::vector<sigv4::query_param> query = {},
                             std::string body = {}) const {
        svc::request req;
        req.method = method;
        req.path = path;
        req.query = std::move(query);
        req.body = std::move(body);
        req.identity = who;
        auto res = service_->handle(req);
        return {res.status, res.body.empty() ? json() : json::parse(res.body)};
    }

    /// Sends a presigned request to the store: (status, body).
    std::pair<int, std::string> send(const std::string& method, const std::string& url,
                                     const httplib::Headers& headers = {},
                                     const std::string& body = {}) const {
        httplib::Client client("127.0.0.1", port_);
        client.set_url_encode(false);
        const std::string target = url.substr(url.find('/', url.find("://") + 3));
        auto res = [&] {
            if (method == "GET") return client.Get(target, headers);
            if (method == "DELETE") return client.Delete(target, headers);
            std::string type = "application/octet-stream";
            httplib::Headers rest;
            for (const auto& [name, value] : headers) {
                if (name == "Content-Type")
                    type = value;
                else if (name != "Content-Length")
                    rest.emplace(name, value);
            }
            return client.Put(target, rest, body, type);
        }();
        REQUIRE(res);
        return {res->status, res->body};
    }

    std::string upload(const std::string& who, const std::string& filename,
                       const std::string& content) const {
        auto [status, ticket] = api(
            who, "POST", "/uploads", {},
            json{{"filename", filename}, {"contentType", "text/plain"}, {"size", content.size()}}
                .dump());
        REQUIRE(status == 200);
        httplib::Headers headers;
        for (const auto& [name, value] : ticket["headers"].items())
            headers.emplace(name, value.get<std::string>());
        REQUIRE(send("PUT", ticket["url"], headers, content).first == 200);
        return ticket["key"];
    }

    /// Every key the caller's listing shows, page after page (keys decoded from encoding-type=url).
    std::vector<std::string> list(const std::string& who) const {
        std::vector<std::string> keys;
        std::string cursor;
        for (int page = 0; page < 10; ++page) {
            std::vector<sigv4::query_param> query;
            if (!cursor.empty()) query.push_back({"cursor", cursor});
            auto [status, ticket] = api(who, "GET", "/files", query);
            REQUIRE(status == 200);
            auto [s3_status, xml] = send("GET", ticket["url"]);
            REQUIRE(s3_status == 200);
            static const std::regex key("<Key>([^<]*)</Key>");
            for (auto it = std::sregex_iterator(xml.begin(), xml.end(), key);
                 it != std::sregex_iterator(); ++it) {
                keys.push_back(form_decode((*it)[1]));
            }
            static const std::regex next("<NextContinuationToken>([^<]*)</NextContinuationToken>");
            std::smatch m;
            if (!std::regex_search(xml, m, next)) return keys;
            cursor = m[1];
        }
        FAIL("more pages than expected");
        return keys;
    }

    static std::string form_decode(std::string text) {
        for (auto& c : text)
            if (c == '+') c = ' ';
        auto decoded = sigv4::percent_decode(text);
        REQUIRE(decoded.has_value());
        return *decoded;
    }

  private:
    fs::path dir_;
    std::unique_ptr<presign::local::s3_server> server_;
    std::unique_ptr<svc::service> service_;
    std::thread thread_;
    int port_ = 0;
};

std::string replaced(std::string text, const std::string& from, const std::string& to) {
    const auto at = text.find(from);
    REQUIRE(at != std::string::npos);
    return text.replace(at, from.size(), to);
}

}  // namespace

TEST_CASE("two callers: each lists and deletes only their own files") {
    files_world world;
    const std::vector<std::string> names = {"a b.txt", "a+b.txt", "100%.csv",
                                            "\xed\x95\x9c\xea\xb8\x80 \xe2\x98\x83.txt",
                                            "&<>\"'.txt"};
    std::set<std::string> alice_keys;
    for (const auto& name : names)
        alice_keys.insert(world.upload("alice", name, "alice's " + name));
    const std::string bob_key = world.upload("bob", "a b.txt", "bob's");

    const auto alice_listed = world.list("alice");
    CHECK(std::set<std::string>(alice_listed.begin(), alice_listed.end()) == alice_keys);
    CHECK(alice_listed.size() == names.size());
    CHECK(world.list("bob") == std::vector<std::string>{bob_key});
    std::set<std::string> shown;
    for (const auto& key : alice_listed) shown.insert(key.substr(key.rfind('/') + 1));
    CHECK(shown == std::set<std::string>(names.begin(), names.end()));

    // Bob asks the API to delete Alice's file: refused before anything is signed.
    const std::string alice_key = *alice_keys.begin();
    auto [refused_status, refused] = world.api("bob", "DELETE", "/files", {{"key", alice_key}});
    CHECK(refused_status == 403);
    CHECK(refused["error"]["code"] == "key_outside_prefix");
    CHECK_FALSE(refused.contains("url"));

    // Bob's ticket for his own file, re-targeted at Alice's: the store refuses the signature.
    auto [bob_status, bob_ticket] = world.api("bob", "DELETE", "/files", {{"key", bob_key}});
    REQUIRE(bob_status == 200);
    const std::string bob_url = bob_ticket["url"];
    const std::string retargeted =
        replaced(bob_url, sigv4::s3::encode_key(bob_key), sigv4::s3::encode_key(alice_key));
    auto [retargeted_status, retargeted_body] = world.send("DELETE", retargeted);
    CHECK(retargeted_status == 403);
    CHECK(retargeted_body.find("<Code>SignatureDoesNotMatch</Code>") != std::string::npos);

    // Bob's listing ticket re-targeted at Alice's prefix, or at everyone's.
    auto [list_status, list_ticket] = world.api("bob", "GET", "/files");
    REQUIRE(list_status == 200);
    for (const std::string& other :
         {std::string("prefix=users%2Falice%2F"), std::string("prefix=")}) {
        CAPTURE(other);
        auto [status, body] =
            world.send("GET", replaced(list_ticket["url"], "prefix=users%2Fbob%2F", other));
        CHECK(status == 403);
        CHECK(body.find("<Code>SignatureDoesNotMatch</Code>") != std::string::npos);
        CHECK(body.find(alice_key.substr(alice_key.rfind('/') + 1)) == std::string::npos);
    }
    CHECK(world.list("alice").size() == names.size());

    // Alice deletes her own file: 204, twice; the listing follows.
    auto [own_status, own_ticket] = world.api("alice", "DELETE", "/files", {{"key", alice_key}});
    REQUIRE(own_status == 200);
    CHECK(world.send("DELETE", own_ticket["url"]).first == 204);
    CHECK(world.send("DELETE", own_ticket["url"]).first == 204);
    const auto after = world.list("alice");
    CHECK(after.size() == names.size() - 1);
    CHECK(std::find(after.begin(), after.end(), alice_key) == after.end());
    CHECK(world.list("bob") == std::vector<std::string>{bob_key});
}
