// SPDX-License-Identifier: Apache-2.0
#include <doctest/doctest.h>

#include <cctype>
#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <regex>
#include <set>

#include "presign/service.hpp"
#include "support/query_table.hpp"

using nlohmann::json;
namespace svc = presign::service;

namespace {

constexpr std::string_view access_key = "AKIDEXAMPLE";
constexpr std::string_view secret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
constexpr std::string_view token = "FwoGZXIvYXdzEXAMPLESESSIONTOKEN";

using env_map = std::map<std::string, std::string, std::less<>>;

env_map base_env() {
    return {{"BUCKET_NAME", "files-bucket"},
            {"AWS_REGION", "eu-west-1"},
            {"ALLOWED_ORIGINS", "https://app.example.com, http://localhost:8080"},
            {"ALLOWED_CONTENT_TYPES", "image/*, text/plain,application/pdf"},
            {"MAX_UPLOAD_BYTES", "1048576"}};
}

sigv4::result<svc::config> load(const env_map& env) {
    return svc::config::from_environment([&](std::string_view name) -> std::optional<std::string> {
        auto it = env.find(name);
        if (it == env.end()) return std::nullopt;
        return it->second;
    });
}

svc::config config_of(const env_map& env = base_env()) {
    auto cfg = load(env);
    REQUIRE_MESSAGE(cfg.has_value(), (cfg ? "" : cfg.error().message));
    return *cfg;
}

svc::credentials_source session_credentials() {
    return []() -> sigv4::result<sigv4::credentials> {
        return sigv4::credentials::make(access_key, secret, token);
    };
}

struct fixture {
    std::vector<std::string> log;
    svc::service service;

    explicit fixture(const env_map& env = base_env())
        : service(config_of(env), session_credentials(),
                  [this](std::string_view line) { log.emplace_back(line); }) {}

    svc::response call(std::string method, std::string path, std::string body = {},
                       std::optional<std::string> identity = "alice",
                       std::vector<sigv4::header> headers = {},
                       std::vector<sigv4::query_param> query = {}) {
        svc::request req;
        req.method = std::move(method);
        req.path = std::move(path);
        req.body = std::move(body);
        req.identity = std::move(identity);
        req.headers = std::move(headers);
        req.query = std::move(query);
        req.request_id = "req-1";
        return service.handle(req);
    }

    svc::response upload(const json& body, std::optional<std::string> identity = "alice") {
        return call("POST", "/uploads", body.dump(), std::move(identity));
    }

    svc::response download(std::string key, std::optional<std::string> identity = "alice",
                           std::string param = "key") {
        return call("GET", "/downloads", {}, std::move(identity), {},
                    {{std::move(param), std::move(key)}});
    }
};

const std::string* header_of(const svc::response& res, std::string_view name) {
    for (const auto& h : res.headers) {
        if (h.name.size() != name.size()) continue;
        bool same = true;
        for (std::size_t i = 0; i < name.size(); ++i)
            same = same && std::tolower(static_cast<unsigned char>(h.name[i])) ==
                               std::tolower(static_cast<unsigned char>(name[i]));
        if (same) return &h.value;
    }
    return nullptr;
}

std::string error_code(const svc::response& res) {
    auto body = json::parse(res.body);
    REQUIRE(body.contains("error"));
    CHECK(body["error"]["message"].is_string());
    return body["error"]["code"].get<std::string>();
}

json good_upload() {
    return {{"filename", "photo.png"}, {"contentType", "image/png"}, {"size", 1234}};
}

// Splits "https://host/path?query" into host and request target.
std::pair<std::string, std::string> host_and_target(const std::string& url) {
    auto scheme_end = url.find("://");
    REQUIRE(scheme_end != std::string::npos);
    auto path_start = url.find('/', scheme_end + 3);
    return {url.substr(scheme_end + 3, path_start - scheme_end - 3), url.substr(path_start)};
}

sigv4::result<sigv4::verified_request, sigv4::verify_error> verify_url(
    const std::string& method, const std::string& url, std::vector<sigv4::header> headers) {
    auto [host, target] = host_and_target(url);
    sigv4::received_request req;
    req.method = method;
    req.target = target;
    headers.push_back({"host", host});
    req.headers = std::move(headers);
    sigv4::verify_options options;
    options.region = "eu-west-1";
    return sigv4::verify(
        req,
        [key = sigv4::known_key{*sigv4::secret_key::from(secret), std::string(token)}](
            std::string_view id) -> const sigv4::known_key* {
            return id == access_key ? &key : nullptr;
        },
        options);
}

}  // namespace

TEST_CASE("config: defaults and parsing") {
    auto cfg = config_of({{"BUCKET_NAME", "files-bucket"}});
    CHECK(cfg.bucket == "files-bucket");
    CHECK(cfg.key_prefix.empty());
    CHECK(cfg.url_expires == std::chrono::seconds(300));
    CHECK(cfg.max_upload_bytes == (5ull << 30));
    CHECK(cfg.allowed_content_types.empty());
    CHECK(cfg.allowed_origins.empty());
    CHECK_FALSE(cfg.allow_anonymous);
    CHECK(cfg.endpoint.region == "us-east-1");
    CHECK(cfg.endpoint.url.empty());
    CHECK(cfg.endpoint.style == sigv4::s3::addressing::automatic);

    auto full = config_of({{"BUCKET_NAME", "files-bucket"},
                           {"KEY_PREFIX", "uploads"},
                           {"URL_EXPIRES", "900"},
                           {"MAX_UPLOAD_BYTES", "10"},
                           {"ALLOWED_CONTENT_TYPES", "Image/*, text/plain"},
                           {"ALLOWED_ORIGINS", "https://A.example.com,http://localhost:8080"},
                           {"ALLOW_ANONYMOUS", "TRUE"},
                           {"AWS_REGION", "eu-central-1"},
                           {"S3_ENDPOINT", "http://127.0.0.1:9000"},
                           {"S3_PATH_STYLE", "true"}});
    CHECK(full.key_prefix == "uploads/");
    CHECK(full.url_expires == std::chrono::seconds(900));
    CHECK(full.max_upload_bytes == 10);
    CHECK(full.allowed_content_types == std::vector<std::string>{"image/*", "text/plain"});
    CHECK(full.allowed_origins ==
          std::vector<std::string>{"https://a.example.com", "http://localhost:8080"});
    CHECK(full.allow_anonymous);
    CHECK(full.endpoint.region == "eu-central-1");
    CHECK(full.endpoint.url == "http://127.0.0.1:9000");
    CHECK(full.endpoint.style == sigv4::s3::addressing::path);
}

TEST_CASE("config: a missing or invalid setting is an error naming it") {
    struct row {
        const char* variable;
        const char* value;  // nullptr: remove the variable
    };
    const row rows[] = {
        {"BUCKET_NAME", nullptr},
        {"BUCKET_NAME", ""},
        {"BUCKET_NAME", "No_Such..bucket"},
        {"URL_EXPIRES", "0"},
        {"URL_EXPIRES", "604801"},
        {"URL_EXPIRES", "5m"},
        {"MAX_UPLOAD_BYTES", "-1"},
        {"MAX_UPLOAD_BYTES", "0"},
        {"MAX_UPLOAD_BYTES", "5497558138881"},  // above 5 TiB
        {"MAX_UPLOAD_BYTES", "lots"},
        {"ALLOWED_CONTENT_TYPES", "image"},
        {"ALLOWED_CONTENT_TYPES", "image/png, text/ plain"},
        {"ALLOWED_ORIGINS", "app.example.com"},
        {"ALLOWED_ORIGINS", "https://app.example.com/path"},
        {"ALLOW_ANONYMOUS", "maybe"},
        {"AWS_REGION", "EU WEST"},
        {"S3_ENDPOINT", "ftp://example.com"},
        {"S3_PATH_STYLE", "sometimes"},
        {"KEY_PREFIX", "/abs/"},
        {"KEY_PREFIX", "a/../b/"},
    };
    for (const auto& r : rows) {
        auto env = base_env();
        if (r.value == nullptr) {
            env.erase(r.variable);
        } else {
            env[r.variable] = r.value;
        }
        CAPTURE(r.variable);
        CAPTURE((r.value ? r.value : "(unset)"));
        auto cfg = load(env);
        REQUIRE_FALSE(cfg.has_value());
        CHECK(cfg.error().message.find(r.variable) != std::string::npos);
    }
}

TEST_CASE("routes: methods, paths and statuses") {
    fixture f;
    struct row {
        const char* method;
        const char* path;
        int status;
        const char* code;  // empty for success
    };
    const row rows[] = {
        {"POST", "/uploads", 200, ""},
        {"POST", "/uploads/", 200, ""},
        {"GET", "/uploads", 405, "method_not_allowed"},
        {"PUT", "/uploads", 405, "method_not_allowed"},
        {"OPTIONS", "/uploads", 204, ""},
        {"GET", "/downloads", 200, ""},
        {"POST", "/downloads", 405, "method_not_allowed"},
        {"DELETE", "/downloads", 405, "method_not_allowed"},
        {"OPTIONS", "/downloads", 204, ""},
        {"GET", "/files", 200, ""},
        {"GET", "/files/", 200, ""},
        {"DELETE", "/files", 200, ""},
        {"OPTIONS", "/files", 204, ""},
        {"POST", "/files", 405, "method_not_allowed"},
        {"PUT", "/files", 405, "method_not_allowed"},
        {"GET", "/files/x", 404, "not_found"},
        {"GET", "/", 404, "not_found"},
        {"GET", "/uploadsx", 404, "not_found"},
        {"POST", "/hello/world", 404, "not_found"},
        {"GET", "/downloads/../uploads", 404, "not_found"},
    };
    for (const auto& r : rows) {
        CAPTURE(r.method);
        CAPTURE(r.path);
        auto res = f.call(r.method, r.path, good_upload().dump(), "alice", {},
                          {{"key", "users/alice/0123/photo.png"}});
        CHECK(res.status == r.status);
        REQUIRE(header_of(res, "Content-Type") != nullptr);
        CHECK(*header_of(res, "Content-Type") == "application/json");
        if (r.status == 204) {
            CHECK(res.body.empty());
        } else if (*r.code != '\0') {
            CHECK(error_code(res) == r.code);
        } else {
            CHECK(json::parse(res.body).contains("url"));
        }
        if (r.status == 405) {
            REQUIRE(header_of(res, "Allow") != nullptr);
            CHECK(header_of(res, "Allow")->find("OPTIONS") != std::string::npos);
        }
    }
}

TEST_CASE("CORS: only listed origins, on every response, never * unless configured") {
    fixture f;
    struct row {
        const char* origin;  // nullptr: no Origin header
        const char* method;
        const char* path;
        std::optional<std::string> identity;
        const char* expected_allow_origin;  // nullptr: no header
    };
    const row rows[] = {
        {"https://app.example.com", "POST", "/uploads", "alice", "https://app.example.com"},
        {"http://localhost:8080", "OPTIONS", "/uploads", std::nullopt, "http://localhost:8080"},
        {"https://app.example.com", "POST", "/uploads", std::nullopt,
         "https://app.example.com"},                                                         // 401
        {"https://app.example.com", "GET", "/nowhere", "alice", "https://app.example.com"},  // 404
        {"https://evil.example.com", "POST", "/uploads", "alice", nullptr},
        {"https://app.example.com.evil.com", "OPTIONS", "/uploads", "alice", nullptr},
        {"null", "POST", "/uploads", "alice", nullptr},
        {nullptr, "POST", "/uploads", "alice", nullptr},
    };
    for (const auto& r : rows) {
        CAPTURE((r.origin ? r.origin : "(none)"));
        CAPTURE(r.method);
        std::vector<sigv4::header> headers;
        if (r.origin) headers.push_back({"origin", r.origin});
        auto res = f.call(r.method, r.path, good_upload().dump(), r.identity, headers);
        REQUIRE(header_of(res, "Vary") != nullptr);
        CHECK(*header_of(res, "Vary") == "Origin");
        auto allow = header_of(res, "Access-Control-Allow-Origin");
        if (r.expected_allow_origin == nullptr) {
            CHECK(allow == nullptr);
        } else {
            REQUIRE(allow != nullptr);
            CHECK(*allow == r.expected_allow_origin);
        }
    }

    auto preflight =
        f.call("OPTIONS", "/uploads", {}, std::nullopt, {{"Origin", "https://app.example.com"}});
    CHECK(preflight.status == 204);
    REQUIRE(header_of(preflight, "Access-Control-Allow-Methods") != nullptr);
    CHECK(*header_of(preflight, "Access-Control-Allow-Methods") == "POST, OPTIONS");
    REQUIRE(header_of(preflight, "Access-Control-Allow-Headers") != nullptr);
    CHECK(header_of(preflight, "Access-Control-Allow-Headers")->find("Content-Type") !=
          std::string::npos);

    auto env = base_env();
    env["ALLOWED_ORIGINS"] = "*";
    fixture star(env);
    auto any = star.call("POST", "/uploads", good_upload().dump(), "alice",
                         {{"Origin", "https://x.example"}});
    REQUIRE(header_of(any, "Access-Control-Allow-Origin") != nullptr);
    CHECK(*header_of(any, "Access-Control-Allow-Origin") == "*");
}

TEST_CASE("identity: per-user prefixes, anonymous only when allowed") {
    fixture f;
    auto anonymous_upload = f.upload(good_upload(), std::nullopt);
    CHECK(anonymous_upload.status == 401);
    CHECK(error_code(anonymous_upload) == "unauthorized");
    auto anonymous_download = f.download("shared/x/a.txt", std::nullopt);
    CHECK(anonymous_download.status == 401);
    CHECK(error_code(anonymous_download) == "unauthorized");
    auto empty_identity = f.upload(good_upload(), "");
    CHECK(empty_identity.status == 401);
    CHECK(error_code(empty_identity) == "unauthorized");

    auto env = base_env();
    env["ALLOW_ANONYMOUS"] = "true";
    env["KEY_PREFIX"] = "files/";
    fixture open(env);
    auto shared = open.upload(good_upload(), std::nullopt);
    REQUIRE(shared.status == 200);
    CHECK(json::parse(shared.body)["key"].get<std::string>().starts_with("files/shared/"));
    auto user = open.upload(good_upload(), "alice");
    REQUIRE(user.status == 200);
    CHECK(json::parse(user.body)["key"].get<std::string>().starts_with("files/users/alice/"));

    auto cfg = config_of();
    struct row {
        const char* id;
        const char* prefix;
    };
    const row rows[] = {
        {"alice", "users/alice/"},
        {"a1b2c3d4-5678-90ab-cdef-1234567890ab", "users/a1b2c3d4-5678-90ab-cdef-1234567890ab/"},
        {"bob@example.com", "users/bob@example.com/"},
        {"..", "users/_2E_2E/"},
        {".", "users/_2E/"},
        {"../../etc", "users/.._2F.._2Fetc/"},
        {"a/b", "users/a_2Fb/"},
        {"a_2Fb", "users/a_5F2Fb/"},
        {"arn:aws:iam::123456789012:user/alice",
         "users/arn_3Aaws_3Aiam_3A_3A123456789012_3Auser_2Falice/"},
        {"auth0|42", "users/auth0_7C42/"},
        {"\xc3\xa9", "users/_C3_A9/"},
    };
    for (const auto& r : rows) {
        CAPTURE(r.id);
        auto prefix = svc::caller_prefix(cfg, std::string(r.id));
        CHECK(prefix == r.prefix);
        CHECK_FALSE(svc::key_problem(prefix + "x").has_value());
    }
    auto long_id = std::string(200, 'x');
    auto hashed = svc::caller_prefix(cfg, long_id);
    CHECK(hashed.starts_with("users/_sha256-"));
    CHECK(hashed.size() == std::string("users/_sha256-").size() + 64 + 1);
}

namespace {

std::string lower_hex_sha256(std::string_view text) {
    return sigv4::hex_encode(sigv4::sha256_of(text));
}

// The escaped spelling of an id, written independently of the service (the oracle for short ids).
std::string escape_oracle(std::string_view id) {
    bool only_dots = id.find_first_not_of('.') == std::string_view::npos;
    std::string out;
    for (unsigned char c : id) {
        if (std::isalnum(c) || c == '-' || c == '@' || (c == '.' && !only_dots)) {
            out.push_back(static_cast<char>(c));
        } else {
            char buf[4];
            std::snprintf(buf, sizeof buf, "_%02X", c);
            out += buf;
        }
    }
    return out;
}

}  // namespace

TEST_CASE(
    "identity: a caller named like another caller's hashed prefix gets a different prefix "
    "(regression)") {
    // The attack: the victim's id escapes to more than 128 bytes, so its prefix is a hash; the
    // attacker signs in with an id that spells that hash. It must not get the victim's prefix,
    // nor a download link for the victim's file.
    fixture f;
    auto victim = std::string(129, 'x');
    auto upload = f.upload(good_upload(), victim);
    REQUIRE(upload.status == 200);
    auto victim_key = json::parse(upload.body)["key"].get<std::string>();
    for (std::string attacker :
         {"sha256-" + lower_hex_sha256(victim), "_sha256-" + lower_hex_sha256(victim),
          "_5Fsha256-" + lower_hex_sha256(victim)}) {
        CAPTURE(attacker);
        CHECK(svc::caller_prefix(f.service.settings(), attacker) !=
              svc::caller_prefix(f.service.settings(), victim));
        auto res = f.download(victim_key, attacker);
        CHECK(res.status == 403);
        CHECK(error_code(res) == "key_outside_prefix");
    }
    CHECK(f.download(victim_key, victim).status == 200);
}

TEST_CASE("identity: caller_prefix is injective on random and adversarial ids (property)") {
    auto cfg = config_of();
    std::map<std::string, std::string> owner_of_prefix;  // prefix -> the id that got it
    std::size_t checked = 0;
    auto check = [&](const std::string& id) {
        if (id.empty()) return;
        auto prefix = svc::caller_prefix(cfg, id);
        REQUIRE(prefix.starts_with("users/"));
        REQUIRE(prefix.ends_with("/"));
        auto middle = std::string_view(prefix).substr(6, prefix.size() - 7);
        CHECK(middle.find('/') == std::string_view::npos);  // no prefix can nest inside another
        CHECK_FALSE(svc::key_problem(prefix + "x").has_value());
        auto escaped = escape_oracle(id);
        if (escaped.size() <= 128) {
            CHECK(middle == escaped);
        } else {
            CHECK(middle == "_sha256-" + lower_hex_sha256(id));
        }
        auto [it, inserted] = owner_of_prefix.emplace(prefix, id);
        if (!inserted && it->second != id)
            FAIL_CHECK("ids '" << it->second << "' and '" << id << "' share " << prefix);
        ++checked;
    };

    // Adversarial: ids that look like escapes or hashes, around the 128-byte boundary, for ids
    // whose own escape is hashed.
    std::vector<std::string> long_ids;
    for (std::size_t n : {43u, 44u, 126u, 127u, 128u, 129u, 130u, 200u, 1000u}) {
        long_ids.push_back(std::string(n, 'x'));
        long_ids.push_back(std::string(n, '_'));
        long_ids.push_back(std::string(n, '.'));
        long_ids.push_back(std::string(n / 3 + 1, '/'));
    }
    for (const auto& id : long_ids) {
        check(id);
        auto hex = lower_hex_sha256(id);
        std::string upper = hex;
        for (auto& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        for (const std::string& look_alike :
             {"sha256-" + hex, "_sha256-" + hex, "_5Fsha256-" + hex, "sha256-" + upper,
              "_sha256-" + upper, escape_oracle(id), "_sha256-" + hex + "x",
              std::string("_sha256-") + hex.substr(1)})
            check(look_alike);
    }
    // An escape exactly at the boundary: 128 bytes kept, 129 hashed.
    check(std::string(42, '/') + "ab");  // 126 + 2
    check(std::string(42, '/') + "abc");
    check(std::string(42, '/') + "a");
    check("_" + std::string(127, 'a'));  // "_5F" + 127 = 130: hashed
    check("_" + std::string(125, 'a'));  // 128: kept
    for (const char* id :
         {".", "..", "...", "_2E", "_2E_2E", "_", "_5F", "a_2Fb", "a/b", "A_2fb", "-", "@"})
        check(id);

    // Random ids from an alphabet rich in the escape's own characters, of lengths around the
    // boundary.
    std::mt19937_64 rng(20261207);
    const std::string alphabet = "aZ09._-@/_F5s\x80\xc3\xa9 +%:|";
    for (int i = 0; i < 20000; ++i) {
        std::size_t length = 1 + rng() % 140;
        std::string id;
        for (std::size_t j = 0; j < length; ++j) id.push_back(alphabet[rng() % alphabet.size()]);
        check(id);
    }
    CHECK(checked > 20000);
}

TEST_CASE("uploads: input validation table") {
    fixture f;
    auto with = [](const char* field, json value) {
        auto body = good_upload();
        if (value.is_discarded()) {
            body.erase(field);
        } else {
            body[field] = std::move(value);
        }
        return body.dump();
    };
    const json missing = json(json::value_t::discarded);
    struct row {
        std::string body;
        int status;
        const char* code;
    };
    const std::vector<row> rows = {
        {"not json", 400, "invalid_json"},
        {"[1,2]", 400, "invalid_json"},
        {"", 400, "invalid_json"},
        {"{\"filename\": \"a\"" + std::string(20000, ' ') + "}", 400, "invalid_json"},
        {with("filename", missing), 400, "invalid_filename"},
        {with("filename", 12), 400, "invalid_filename"},
        {with("filename", ""), 400, "invalid_filename"},
        {with("filename", "dir/"), 400, "invalid_filename"},
        {with("filename", ".."), 400, "invalid_filename"},
        {with("filename", "a/.."), 400, "invalid_filename"},
        {with("filename", "\x01\x02"), 400, "invalid_filename"},
        {with("filename", std::string(256, 'a')), 400, "invalid_filename"},
        {with("size", missing), 400, "invalid_size"},
        {with("size", -1), 400, "invalid_size"},
        {with("size", 1.5), 400, "invalid_size"},
        {with("size", "10"), 400, "invalid_size"},
        {with("size", true), 400, "invalid_size"},
        {with("size", nullptr), 400, "invalid_size"},
        {with("size", 1048577), 413, "too_large"},
        {with("size", 18446744073709551615ull), 413, "too_large"},
        {with("contentType", "text/html"), 415, "content_type_not_allowed"},
        {with("contentType", "image"), 415, "content_type_not_allowed"},
        {with("contentType", "image/png\r\nx-evil: 1"), 415, "content_type_not_allowed"},
        {with("contentType", "imagex/png"), 415, "content_type_not_allowed"},
        {with("contentType", missing), 415, "content_type_not_allowed"},  // octet-stream not listed
        {with("contentType", 5), 415, "content_type_not_allowed"},
        {with("sha256", "not base64!"), 400, "invalid_checksum"},
        {with("sha256", "AAAA"), 400, "invalid_checksum"},
        {with("sha256", 7), 400, "invalid_checksum"},
    };
    for (const auto& r : rows) {
        CAPTURE(r.body.substr(0, 120));
        auto res = f.call("POST", "/uploads", r.body);
        CHECK(res.status == r.status);
        CHECK(error_code(res) == r.code);
    }

    // A refused type is told which types are allowed (the page lists them).
    const auto refused = f.call("POST", "/uploads", with("contentType", "text/html"));
    CHECK(json::parse(refused.body)["error"]["message"] ==
          "files of this type cannot be uploaded here; allowed types: image/*, text/plain, "
          "application/pdf");

    const std::vector<std::string> accepted = {
        with("size", 0),
        with("size", 1048576),
        with("contentType", "IMAGE/JPEG"),
        with("contentType", "text/plain; charset=utf-8"),
        with("contentType", "application/pdf"),
        with("sha256", "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="),
        with("sha256", nullptr)};
    for (const auto& body : accepted) {
        CAPTURE(body);
        CHECK(f.call("POST", "/uploads", body).status == 200);
    }
}

TEST_CASE("uploads: server-chosen key, clean file name, exact response shape") {
    fixture f;
    struct row {
        const char* given;
        const char* clean;
    };
    const row rows[] = {
        {"photo.png", "photo.png"},
        {"C:\\Users\\me\\photo.png", "photo.png"},
        {"../../etc/passwd", "passwd"},
        {"/abs/path/x.txt", "x.txt"},
        {"r\xc3\xa9sum\xc3\xa9 final.pdf", "r\xc3\xa9sum\xc3\xa9 final.pdf"},
        {"a\x01"
         "b\x7f"
         "c.txt",
         "abc.txt"},
        {"  spaced.txt  ", "spaced.txt"},
        {"\xe6\x96\x87\xe4\xbb\xb6.png", "\xe6\x96\x87\xe4\xbb\xb6.png"},
        {"\xe2\x80\xae"
         "gnp.exe",
         "gnp.exe"},  // U+202E: would show as "exe.png"
    };
    std::regex key_shape("users/alice/[0-9a-f]{32}/(.+)");
    std::set<std::string> keys;
    for (const auto& r : rows) {
        CAPTURE(r.given);
        auto body = good_upload();
        body["filename"] = r.given;
        auto res = f.upload(body);
        REQUIRE(res.status == 200);
        auto doc = json::parse(res.body);
        auto key = doc["key"].get<std::string>();
        std::smatch m;
        REQUIRE(std::regex_match(key, m, key_shape));
        CHECK(m[1].str() == r.clean);
        keys.insert(key);
    }
    CHECK(keys.size() == std::size(rows));  // a fresh random id every time
    CHECK(svc::clean_file_name("\xff\xfe.txt") == std::nullopt);

    auto body = good_upload();
    body["sha256"] = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=";
    auto before = sigv4::now();
    auto res = f.upload(body);
    REQUIRE(res.status == 200);
    auto doc = json::parse(res.body);
    std::set<std::string> fields;
    for (const auto& [name, value] : doc.items()) fields.insert(name);
    CHECK(fields ==
          std::set<std::string>{"method", "url", "headers", "key", "expiresIn", "expiresAt"});
    CHECK(doc["method"] == "PUT");
    CHECK(doc["expiresIn"] == 300);
    auto expires_at = sigv4::parse_iso8601(doc["expiresAt"].get<std::string>());
    REQUIRE(expires_at.has_value());
    CHECK(doc["expiresAt"].get<std::string>().ends_with("Z"));
    CHECK(*expires_at >= before + std::chrono::seconds(300));
    CHECK(*expires_at <= sigv4::now() + std::chrono::seconds(300));
    std::map<std::string, std::string> headers;
    for (const auto& [name, value] : doc["headers"].items()) {
        std::string lower = name;
        for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        headers[lower] = value.get<std::string>();
    }
    CHECK(headers == std::map<std::string, std::string>{{"content-type", "image/png"},
                                                        {"content-length", "1234"},
                                                        {"if-none-match", "*"},
                                                        {"x-amz-checksum-sha256", body["sha256"]}});
    auto url = doc["url"].get<std::string>();
    CHECK(url.starts_with("https://files-bucket.s3.eu-west-1.amazonaws.com/users/alice/"));
    CHECK(url.find("X-Amz-Security-Token=") != std::string::npos);
}

TEST_CASE("filenames and keys that lie: bidi controls and line/paragraph separators (regression)") {
    // Unicode's Bidi_Control characters and U+2028/U+2029, in UTF-8. "\u202egnp.exe" shows as
    // "exe.png" in the page and in the download dialog.
    const std::pair<const char*, const char*> hidden[] = {
        {"U+061C", "\xd8\x9c"},     {"U+200E", "\xe2\x80\x8e"}, {"U+200F", "\xe2\x80\x8f"},
        {"U+2028", "\xe2\x80\xa8"}, {"U+2029", "\xe2\x80\xa9"}, {"U+202A", "\xe2\x80\xaa"},
        {"U+202B", "\xe2\x80\xab"}, {"U+202C", "\xe2\x80\xac"}, {"U+202D", "\xe2\x80\xad"},
        {"U+202E", "\xe2\x80\xae"}, {"U+2066", "\xe2\x81\xa6"}, {"U+2067", "\xe2\x81\xa7"},
        {"U+2068", "\xe2\x81\xa8"}, {"U+2069", "\xe2\x81\xa9"},
    };
    for (const auto& [name, utf8] : hidden) {
        CAPTURE(name);
        const std::string c = utf8;
        CHECK(svc::clean_file_name(c + "gnp.exe") == "gnp.exe");
        CHECK(svc::clean_file_name("photo" + c + "gnp.exe") == "photognp.exe");
        CHECK(svc::clean_file_name("a.txt" + c) == "a.txt");
        CHECK(svc::clean_file_name(c + c) == std::nullopt);  // nothing left
        CHECK(svc::clean_file_name(" " + c + " ") == std::nullopt);
        auto problem = svc::key_problem("users/alice/x/" + c + "gnp.exe");
        REQUIRE(problem.has_value());
        CHECK(problem->find("bidirectional") != std::string::npos);
        CHECK(svc::key_problem("users/alice/x/a" + c + "/b.txt").has_value());
    }
    // Neighbours of those code points are ordinary characters and stay.
    for (const char* kept : {"\xd8\x9b", "\xd8\x9d", "\xe2\x80\x8d", "\xe2\x80\x90", "\xe2\x80\xa7",
                             "\xe2\x80\xaf", "\xe2\x81\xa5", "\xe2\x81\xaa", "\xe2\x80\x94"}) {
        CAPTURE(kept);
        CHECK(svc::clean_file_name(std::string("a") + kept + ".txt") ==
              std::string("a") + kept + ".txt");
        CHECK_FALSE(svc::key_problem(std::string("users/alice/x/a") + kept + ".txt").has_value());
    }
    // Through the routes: the upload's key and the download's filename are the honest name; a
    // client-given key that carries U+202E is refused.
    fixture f;
    auto body = good_upload();
    body["filename"] =
        "\xe2\x80\xae"
        "gnp.exe";
    auto res = f.upload(body);
    REQUIRE(res.status == 200);
    auto key = json::parse(res.body)["key"].get<std::string>();
    CHECK(key.ends_with("/gnp.exe"));
    auto download = f.download(key);
    REQUIRE(download.status == 200);
    CHECK(json::parse(download.body)["filename"] == "gnp.exe");
    auto lying = f.download(
        "users/alice/x/\xe2\x80\xae"
        "gnp.exe");
    CHECK(lying.status == 400);
    CHECK(error_code(lying) == "invalid_key");
}

TEST_CASE("uploads: the URL verifies with the library verifier, and only with the signed headers") {
    fixture f;
    auto body = good_upload();
    body["sha256"] = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=";
    auto doc = json::parse(f.upload(body).body);
    std::vector<sigv4::header> headers;
    for (const auto& [name, value] : doc["headers"].items())
        headers.push_back({name, value.get<std::string>()});

    auto ok = verify_url("PUT", doc["url"], headers);
    REQUIRE_MESSAGE(ok.has_value(), (ok ? "" : ok.error().message));
    CHECK(ok->path == "/" + doc["key"].get<std::string>());
    // If-None-Match: * is signed: the ticket writes once (regression: a ticket could be replayed,
    // each replay keeping another version).
    for (const char* name :
         {"content-length", "content-type", "host", "if-none-match", "x-amz-checksum-sha256"}) {
        CAPTURE(name);
        CHECK(std::find(ok->signed_headers.begin(), ok->signed_headers.end(), name) !=
              ok->signed_headers.end());
    }

    auto bigger = headers;
    for (auto& h : bigger)
        if (h.name == "Content-Length" || h.name == "content-length") h.value = "999999";
    auto refused = verify_url("PUT", doc["url"], bigger);
    REQUIRE_FALSE(refused.has_value());
    CHECK(refused.error().code == sigv4::errc::signature_does_not_match);

    auto unconditional = headers;
    std::erase_if(unconditional, [](const sigv4::header& h) { return h.name == "If-None-Match"; });
    REQUIRE(unconditional.size() + 1 == headers.size());
    auto overwrite = verify_url("PUT", doc["url"], unconditional);
    REQUIRE_FALSE(overwrite.has_value());
    CHECK(overwrite.error().code == sigv4::errc::signature_does_not_match);

    auto wrong_method = verify_url("GET", doc["url"], headers);
    REQUIRE_FALSE(wrong_method.has_value());
    CHECK(wrong_method.error().code == sigv4::errc::signature_does_not_match);
}

TEST_CASE("downloads: key validation table and prefix isolation") {
    fixture f;
    struct row {
        std::string key;
        int status;
        const char* code;
    };
    const std::vector<row> rows = {
        {"", 400, "invalid_key"},
        {"/users/alice/x/a.txt", 400, "invalid_key"},
        {"users/alice/../bob/a.txt", 400, "invalid_key"},
        {"users/alice/x/..", 400, "invalid_key"},
        {"..", 400, "invalid_key"},
        {"users/alice/./a.txt", 400, "invalid_key"},
        {std::string("users/alice/x/a\0b.txt", 21), 400, "invalid_key"},
        {"users/alice/x/a\nb.txt", 400, "invalid_key"},
        {"users/alice/x/a\x7f.txt", 400, "invalid_key"},
        {"users/alice/x/\xc2\x85.txt", 400, "invalid_key"},
        {"users/alice/x/\xff.txt", 400, "invalid_key"},
        {"users/alice/" + std::string(1020, 'a'), 400, "invalid_key"},
        {"users/alice/", 400, "invalid_key"},
        {"users/alice/x/", 400, "invalid_key"},
        {"users/bob/x/a.txt", 403, "key_outside_prefix"},
        {"users/alice2/x/a.txt", 403, "key_outside_prefix"},
        {"users/alic", 403, "key_outside_prefix"},
        {"shared/x/a.txt", 403, "key_outside_prefix"},
        {"a.txt", 403, "key_outside_prefix"},
    };
    for (const auto& r : rows) {
        CAPTURE(r.key);
        auto res = f.download(r.key);
        CHECK(res.status == r.status);
        CHECK(error_code(res) == r.code);
    }
    auto missing = f.call("GET", "/downloads", {}, "alice", {}, {{"other", "x"}});
    CHECK(missing.status == 400);
    CHECK(error_code(missing) == "invalid_key");

    CHECK(f.download("users/alice/" + std::string(1012, 'a')).status == 200);  // exactly 1024 bytes
    CHECK(f.download("users/alice/x/r\xc3\xa9sum\xc3\xa9 (1).pdf").status == 200);
}

TEST_CASE("downloads: attachment disposition, legacy file=, URL verifies and carries the token") {
    fixture f;
    for (const char* param : {"key", "file"}) {
        CAPTURE(param);
        auto res = f.download("users/alice/0123abcd/r\xc3\xa9sum\xc3\xa9 <x>.html", "alice", param);
        REQUIRE(res.status == 200);
        auto doc = json::parse(res.body);
        std::set<std::string> fields;
        for (const auto& [name, value] : doc.items()) fields.insert(name);
        CHECK(fields == std::set<std::string>{"url", "filename", "expiresIn", "expiresAt"});
        CHECK(doc["filename"] == "r\xc3\xa9sum\xc3\xa9 <x>.html");
        CHECK(doc["expiresIn"] == 300);
        auto url = doc["url"].get<std::string>();
        CHECK(url.find("response-content-disposition=attachment") != std::string::npos);
        CHECK(url.find("X-Amz-Security-Token=") != std::string::npos);
        auto ok = verify_url("GET", url, {});
        REQUIRE_MESSAGE(ok.has_value(), (ok ? "" : ok.error().message));
        auto disposition = std::find_if(
            ok->query.begin(), ok->query.end(),
            [](const sigv4::query_param& q) { return q.name == "response-content-disposition"; });
        REQUIRE(disposition != ok->query.end());
        CHECK(disposition->value ==
              sigv4::s3::attachment_disposition("r\xc3\xa9sum\xc3\xa9 <x>.html"));
    }
}

TEST_CASE("signing: credential failures become signing_failed, custom endpoints are used") {
    auto failing = []() -> sigv4::result<sigv4::credentials> {
        return sigv4::fail(sigv4::errc::credentials_expired, "expired");
    };
    svc::service broken(config_of(), failing, {});
    svc::request req;
    req.method = "POST";
    req.path = "/uploads";
    req.body = good_upload().dump();
    req.identity = "alice";
    auto res = broken.handle(req);
    CHECK(res.status == 500);
    CHECK(error_code(res) == "signing_failed");

    auto env = base_env();
    env["S3_ENDPOINT"] = "http://127.0.0.1:9000";
    env["S3_PATH_STYLE"] = "true";
    fixture local(env);
    auto doc = json::parse(local.upload(good_upload()).body);
    CHECK(doc["url"].get<std::string>().starts_with(
        "http://127.0.0.1:9000/files-bucket/users/alice/"));
}

TEST_CASE("log: one JSON line per request, never a secret, token, signature or URL") {
    fixture f;
    (void)f.upload(good_upload());
    (void)f.download("users/bob/x/a.txt");
    (void)f.call("GET", "/nowhere");
    svc::request req;
    req.method = "POST";
    req.path = "/uploads";
    req.request_id = "req-9";
    (void)f.service.reject(req, 400, "invalid_json", "the request body is not valid base64");
    REQUIRE(f.log.size() == 4);

    auto first = json::parse(f.log[0]);
    CHECK(first["requestId"] == "req-1");
    CHECK(first["route"] == "POST /uploads");
    CHECK(first["status"] == 200);
    CHECK(first["key"].get<std::string>().starts_with("users/alice/"));
    CHECK(first["durationUs"].is_number_integer());
    CHECK_FALSE(first.contains("error"));
    auto second = json::parse(f.log[1]);
    CHECK(second["status"] == 403);
    CHECK(second["error"] == "key_outside_prefix");
    CHECK(json::parse(f.log[2])["status"] == 404);
    auto fourth = json::parse(f.log[3]);
    CHECK(fourth["requestId"] == "req-9");
    CHECK(fourth["error"] == "invalid_json");
    for (const auto& line : f.log) {
        CAPTURE(line);
        CHECK(line.find('\n') == std::string::npos);
        for (std::string_view secret_part :
             {secret, token, std::string_view("X-Amz-Signature"),
              std::string_view("X-Amz-Credential"), std::string_view("https://")})
            CHECK(line.find(secret_part) == std::string::npos);
    }
}

TEST_CASE("content types: wildcard matching") {
    const std::vector<std::string> patterns = {"image/*", "text/plain"};
    CHECK(svc::content_type_allowed("image/png", patterns));
    CHECK(svc::content_type_allowed("Image/SVG+xml", patterns));
    CHECK(svc::content_type_allowed("text/plain;charset=utf-8", patterns));
    CHECK_FALSE(svc::content_type_allowed("text/html", patterns));
    CHECK_FALSE(svc::content_type_allowed("image", patterns));
    CHECK_FALSE(svc::content_type_allowed("", patterns));
    CHECK(svc::content_type_allowed("anything/else", {}));
    CHECK(svc::content_type_allowed("anything/else", {"*/*"}));
    CHECK_FALSE(svc::content_type_allowed("bad type/x", {}));
}

TEST_CASE("json: append_json_string writes exactly what nlohmann's dump writes") {
    auto reference = [](std::string_view text) {
        return json(text).dump(-1, ' ', false, json::error_handler_t::replace);
    };
    auto ours = [](std::string_view text) {
        std::string out = "prefix:";
        svc::append_json_string(out, text);
        CHECK(out.starts_with("prefix:"));
        return out.substr(7);
    };
    for (int byte = 0; byte < 256; ++byte) {
        std::string text = "a" + std::string(1, static_cast<char>(byte)) + "z";
        CAPTURE(byte);
        CHECK(ours(text) == reference(text));
    }
    const std::vector<std::string> texts = {"",
                                            "plain",
                                            "\"quoted\" and \\backslash\\",
                                            "line\nfeed\r\ttab\b\f\x01\x1f\x7f",
                                            "caf\xc3\xa9 \xe6\x96\x87 \xf0\x9f\x98\x80",
                                            "bad \xff utf-8",
                                            "cut \xe6\x96",
                                            "overlong \xc0\xaf",
                                            "surrogate \xed\xa0\x80",
                                            "</script>",
                                            std::string("nul\0inside", 10),
                                            std::string(5000, '"')};
    for (const auto& text : texts) {
        CAPTURE(text);
        CHECK(ours(text) == reference(text));
        CHECK(json::parse(ours(text), nullptr, false).is_string());
    }
    // Special bytes at every position of the eight-byte words the fast path reads.
    for (std::size_t offset = 0; offset < 24; ++offset) {
        for (std::string special :
             {"\"", "\\", "\n", "\x01", "\x1f", " ", "~", "\x7f", "\xc3\xa9", "\xff", "\x80"}) {
            auto text = std::string(offset, 'x') + special + std::string(offset % 11, 'y');
            CAPTURE(text);
            CHECK(ours(text) == reference(text));
        }
    }
    std::mt19937 random(7);
    for (int i = 0; i < 2000; ++i) {
        std::string text(random() % 70, ' ');
        for (auto& c : text)
            c = static_cast<char>(random() % 4 == 0 ? random() % 256 : 32 + random() % 95);
        CHECK(ours(text) == reference(text));
    }
}

TEST_CASE(
    "uploads: the body is read as a JSON document would be (repeated names, nesting, escapes)") {
    fixture f;
    struct row {
        std::string body;
        int status;
        const char* code;  // "" for success
    };
    const std::vector<row> rows = {
        // The last of repeated members counts.
        {R"({"filename":"a.png","size":1,"size":-1,"contentType":"image/png"})", 400,
         "invalid_size"},
        {R"({"filename":"a.png","size":-1,"size":1,"contentType":"image/png"})", 200, ""},
        {R"({"filename":"a.png","filename":7,"size":1,"contentType":"image/png"})", 400,
         "invalid_filename"},
        {R"({"filename":"a.png","size":1,"contentType":"text/html","contentType":"image/png"})",
         200, ""},
        {R"({"filename":"a.png","size":1,"contentType":"image/png","sha256":"AAAA","sha256":null})",
         200, ""},
        // Members of nested objects and arrays are not the body's.
        {R"({"meta":{"filename":"a.png","size":1},"list":[{"size":-1}],"filename":"b.png","size":2,
            "contentType":"image/png"})",
         200, ""},
        {R"({"meta":{"filename":"a.png","size":1,"contentType":"image/png"}})", 400,
         "invalid_filename"},
        {R"({"filename":["a.png"],"size":1})", 400, "invalid_filename"},
        {R"({"filename":"a.png","size":{"bytes":1}})", 400, "invalid_size"},
        {R"({"filename":"a.png","size":[1],"contentType":"image/png"})", 400, "invalid_size"},
        {R"({"filename":"a.png","size":1,"contentType":["image/png"]})", 415,
         "content_type_not_allowed"},
        {R"({"filename":"a.png","size":1,"contentType":"image/png","sha256":{}})", 400,
         "invalid_checksum"},
        // Numbers: only a non-negative integer is a size.
        {R"({"filename":"a.png","size":-0,"contentType":"image/png"})", 400, "invalid_size"},
        {R"({"filename":"a.png","size":1e3,"contentType":"image/png"})", 400, "invalid_size"},
        {R"({"filename":"a.png","size":18446744073709551616,"contentType":"image/png"})", 400,
         "invalid_size"},
        {R"({"filename":"a.png","size":0,"contentType":"image/png"})", 200, ""},
        // Escapes are decoded; an explicit null or empty content type means the default.
        {R"({"filename":"\u0061\u002epng","size":1,"contentType":"image\/png"})", 200, ""},
        {R"({"filename":"a.png","size":1,"contentType":null})", 415, "content_type_not_allowed"},
        {R"({"filename":"a.png","size":1,"contentType":""})", 415, "content_type_not_allowed"},
        // Not one JSON object.
        {R"({"filename":"a.png","size":1,"contentType":"image/png"} {})", 400, "invalid_json"},
        {R"({"filename":"a.png","size":1,"contentType":"image/png",})", 400, "invalid_json"},
        {R"("just a string")", 400, "invalid_json"},
        {R"({"filename":"\ud800.png","size":1})", 400, "invalid_json"},
        {"{\"filename\":\"\xff.png\",\"size\":1}", 400, "invalid_json"},
    };
    for (const auto& r : rows) {
        CAPTURE(r.body);
        auto res = f.call("POST", "/uploads", r.body);
        CHECK(res.status == r.status);
        if (res.status != 200) CHECK(error_code(res) == r.code);
    }
    auto res =
        f.call("POST", "/uploads",
               R"({"filename":"\u00e9t\u00e9 \"x\".png","size":1,"contentType":"image/png"})");
    REQUIRE(res.status == 200);
    auto doc = json::parse(res.body);
    CHECK(doc["key"].get<std::string>().ends_with("/\xc3\xa9t\xc3\xa9 \"x\".png"));
    CHECK(doc["url"].get<std::string>().find("%C3%A9t%C3%A9%20%22x%22.png?") != std::string::npos);
}

TEST_CASE("uploads: random ids stay unique and well formed across many requests") {
    fixture f;
    std::set<std::string> ids;
    for (int i = 0; i < 100; ++i) {  // more than one batch of drawn randomness
        auto res = f.upload(good_upload());
        REQUIRE(res.status == 200);
        auto key = json::parse(res.body)["key"].get<std::string>();
        auto id = key.substr(std::string("users/alice/").size(), 32);
        CHECK(id.find_first_not_of("0123456789abcdef") == std::string::npos);
        CHECK(key == "users/alice/" + id + "/photo.png");
        ids.insert(id);
    }
    CHECK(ids.size() == 100);
}

TEST_CASE("responses: exact error body and member order of the success bodies") {
    fixture f;
    auto res = f.call("GET", "/nowhere");
    CHECK(res.status == 404);
    CHECK(
        res.body ==
        R"({"error":{"code":"not_found","message":"no such route; use POST /uploads, GET /downloads or GET /files"}})");
    res = f.call("PUT", "/uploads\"\n");
    CHECK(res.status == 404);
    res = f.call("PUT", "/uploads/");
    CHECK(res.status == 405);
    CHECK(res.body ==
          R"({"error":{"code":"method_not_allowed","message":"use POST for /uploads/"}})");

    res = f.upload(good_upload());
    REQUIRE(res.status == 200);
    CHECK(res.body.starts_with(R"({"method":"PUT","url":"https://)"));
    CHECK(res.body.find(R"(,"expiresIn":300,"expiresAt":")") != std::string::npos);
    CHECK(res.body.ends_with("Z\"}"));
}

namespace {

std::string query_of(const sigv4::verified_request& verified, std::string_view name) {
    for (const auto& q : verified.query)
        if (q.name == name) return q.value;
    return "<absent>";
}

}  // namespace

TEST_CASE("files: GET /files presigns a ListObjectsV2 of exactly the caller's prefix") {
    fixture f;
    for (const char* who : {"alice", "bob"}) {
        CAPTURE(who);
        auto res = f.call("GET", "/files", {}, who);
        REQUIRE(res.status == 200);
        auto doc = json::parse(res.body);
        std::set<std::string> fields;
        for (const auto& [name, value] : doc.items()) fields.insert(name);
        CHECK(fields == std::set<std::string>{"method", "url", "prefix", "maxKeys", "expiresIn",
                                              "expiresAt"});
        CHECK(doc["method"] == "GET");
        CHECK(doc["prefix"] == std::string("users/") + who + "/");
        CHECK(doc["maxKeys"] == 1000);
        CHECK(doc["expiresIn"] == 300);
        const auto url = doc["url"].get<std::string>();
        CHECK(url.starts_with(
            "https://files-bucket.s3.eu-west-1.amazonaws.com/?list-type=2&prefix=users%2F"));
        auto ok = verify_url("GET", url, {});
        REQUIRE_MESSAGE(ok.has_value(), (ok ? "" : ok.error().message));
        CHECK(ok->path == "/");
        CHECK(query_of(*ok, "list-type") == "2");
        CHECK(query_of(*ok, "prefix") == std::string("users/") + who + "/");
        CHECK(query_of(*ok, "max-keys") == "1000");
        CHECK(query_of(*ok, "encoding-type") == "url");
        CHECK(query_of(*ok, "continuation-token") == "<absent>");
        CHECK(query_of(*ok, "delimiter") == "<absent>");
        CHECK(std::find(ok->signed_headers.begin(), ok->signed_headers.end(), "host") !=
              ok->signed_headers.end());

        // The prefix is inside the signature: widening it, or adding start-after, breaks it.
        std::string widened = url;
        widened.replace(widened.find("prefix=users%2F"), 15, "prefix=");
        auto refused = verify_url("GET", widened, {});
        REQUIRE_FALSE(refused.has_value());
        CHECK(refused.error().code == sigv4::errc::signature_does_not_match);
    }
    CHECK(f.log.back().find("\"route\":\"GET /files\"") != std::string::npos);
    CHECK(f.log.back().find("X-Amz-Signature") == std::string::npos);

    auto anonymous = f.call("GET", "/files", {}, std::nullopt);
    CHECK(anonymous.status == 401);
    CHECK(error_code(anonymous) == "unauthorized");
    auto env = base_env();
    env["ALLOW_ANONYMOUS"] = "true";
    fixture open(env);
    auto shared = open.call("GET", "/files", {}, std::nullopt);
    REQUIRE(shared.status == 200);
    CHECK(json::parse(shared.body)["prefix"] == "shared/");
}

TEST_CASE("files: the cursor is passed through as continuation-token, bounded and printable") {
    fixture f;
    struct row {
        std::string cursor;
        int status;  // 200: passed through; 400: invalid_cursor
    };
    const std::vector<row> rows = {
        {"1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=", 200},
        {std::string(1024, 'A'), 200},
        {"!~", 200},
        {std::string(1025, 'A'), 400},
        {"has space", 400},
        {"tab\there", 400},
        {"new\nline", 400},
        {std::string("nul\0x", 5), 400},
        {"del\x7f", 400},
        {"caf\xc3\xa9", 400},
        {"\xff", 400},
    };
    for (const auto& r : rows) {
        CAPTURE(r.cursor);
        auto res = f.call("GET", "/files", {}, "alice", {}, {{"cursor", r.cursor}});
        CHECK(res.status == r.status);
        if (r.status != 200) {
            CHECK(error_code(res) == "invalid_cursor");
            CHECK(json::parse(res.body).count("url") == 0);  // never a signature for something else
            continue;
        }
        auto ok = verify_url("GET", json::parse(res.body)["url"], {});
        REQUIRE(ok.has_value());
        CHECK(query_of(*ok, "continuation-token") == r.cursor);
        CHECK(query_of(*ok, "prefix") == "users/alice/");
    }
    // An empty cursor is the first page.
    auto first = f.call("GET", "/files", {}, "alice", {}, {{"cursor", ""}});
    REQUIRE(first.status == 200);
    CHECK(query_of(*verify_url("GET", json::parse(first.body)["url"], {}), "continuation-token") ==
          "<absent>");
}

TEST_CASE("files: DELETE /files presigns DeleteObject of the caller's own files only") {
    fixture f;
    const std::string key = "users/alice/0123abcd/r\xc3\xa9sum\xc3\xa9 + 100% (1).pdf";
    auto res = f.call("DELETE", "/files", {}, "alice", {}, {{"key", key}});
    REQUIRE(res.status == 200);
    auto doc = json::parse(res.body);
    std::set<std::string> fields;
    for (const auto& [name, value] : doc.items()) fields.insert(name);
    CHECK(fields == std::set<std::string>{"method", "url", "key", "expiresIn", "expiresAt"});
    CHECK(doc["method"] == "DELETE");
    CHECK(doc["key"] == key);
    auto ok = verify_url("DELETE", doc["url"], {});
    REQUIRE_MESSAGE(ok.has_value(), (ok ? "" : ok.error().message));
    CHECK(ok->path == "/" + key);
    auto as_get = verify_url("GET", doc["url"], {});
    REQUIRE_FALSE(as_get.has_value());
    CHECK(as_get.error().code == sigv4::errc::signature_does_not_match);

    // Bob may not delete Alice's file; the same key validation as downloads applies.
    struct row {
        std::string who, key;
        int status;
        const char* code;
    };
    const std::vector<row> rows = {
        {"bob", key, 403, "key_outside_prefix"},
        {"alice", "users/alice2/x/a.txt", 403, "key_outside_prefix"},
        {"alice", "users/alice/../bob/x/a.txt", 400, "invalid_key"},
        {"alice", "users/alice/", 400, "invalid_key"},
        {"alice", "users/alice/x/", 400, "invalid_key"},
        {"alice", "", 400, "invalid_key"},
        {"alice", "users/alice/x/a\nb", 400, "invalid_key"},
    };
    for (const auto& r : rows) {
        CAPTURE(r.who);
        CAPTURE(r.key);
        auto refused = f.call("DELETE", "/files", {}, r.who, {}, {{"key", r.key}});
        CHECK(refused.status == r.status);
        CHECK(error_code(refused) == r.code);
    }
    auto missing = f.call("DELETE", "/files", {}, "alice");
    CHECK(missing.status == 400);
    CHECK(error_code(missing) == "invalid_key");
    CHECK(f.call("DELETE", "/files", {}, std::nullopt, {}, {{"key", key}}).status == 401);

    auto preflight =
        f.call("OPTIONS", "/files", {}, std::nullopt, {{"Origin", "https://app.example.com"}});
    CHECK(preflight.status == 204);
    REQUIRE(header_of(preflight, "Access-Control-Allow-Methods") != nullptr);
    CHECK(*header_of(preflight, "Access-Control-Allow-Methods") == "GET, DELETE, OPTIONS");
    auto wrong = f.call("PUT", "/files");
    REQUIRE(header_of(wrong, "Allow") != nullptr);
    CHECK(*header_of(wrong, "Allow") == "GET, DELETE, OPTIONS");
}

TEST_CASE("files: a listed key names its file after the last '/' (the page's display name)") {
    // The page has only the listing: the key layout must carry the cleaned name as its last
    // segment, whatever the client called the file.
    fixture f;
    for (const char* given :
         {"photo.png", "C:\\docs\\a b+c%d.txt", "dir/sub/\xe6\x96\x87\xe4\xbb\xb6.png", "  x.y  ",
          "name with / slash"}) {
        CAPTURE(given);
        auto body = good_upload();
        body["filename"] = given;
        body["contentType"] = "text/plain";
        auto res = f.upload(body);
        REQUIRE(res.status == 200);
        const auto key = json::parse(res.body)["key"].get<std::string>();
        CHECK(key.substr(key.rfind('/') + 1) == svc::clean_file_name(given).value());
    }
}

TEST_CASE(
    "query decoding: the transports' one decoder, on the shared table (regression: '+' and "
    "'%zz')") {
    const auto rows = query_table::rows("users/alice/");
    REQUIRE(rows.size() >= 10);
    for (const auto& r : rows) {
        CAPTURE(r.raw);
        auto decoded = svc::parse_query(r.raw);
        if (r.error) {
            REQUIRE_FALSE(decoded.has_value());
            CHECK(decoded.error().message.find(*r.error) != std::string::npos);
            CHECK(svc::query_error::code == "invalid_query");
            CHECK(svc::query_error::status == 400);
        } else {
            REQUIRE(decoded.has_value());
            CHECK(*decoded == r.query);
        }
    }
    CHECK(svc::parse_query("")->empty());
    CHECK(svc::parse_query("&&&")->empty());
    // Client text in the message stays short and printable.
    auto control = svc::parse_query("key=%\n\x01");
    REQUIRE_FALSE(control.has_value());
    CHECK(control.error().message.find("'%?"
                                       "?'") != std::string::npos);
}
