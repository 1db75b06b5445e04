// SPDX-License-Identifier: Apache-2.0
// presign's URLs against a real S3 engine: Ceph's RADOS Gateway, brought up by rgw-cluster.sh.
// The cluster's DIR/env (RGW_CLUSTER_DIR) names the endpoint and keys; without it every case is
// skipped (exit 77). Everything talks to RGW through cpp-httplib, signed by the sigv4 library.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cctype>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include <httplib.h>
#include <nlohmann/json.hpp>
#include <sigv4/sigv4.hpp>

#ifdef PRESIGN_RGW_HAVE_SERVICE
#include <presign/service.hpp>
#endif

extern char** environ;

namespace {

namespace s3 = sigv4::s3;
using namespace std::chrono_literals;

struct cluster_info {
    std::string endpoint;  // http://127.0.0.1:PORT
    std::string host;      // 127.0.0.1:PORT, as signed
    int port = 0;
    std::string access_key;
    std::string secret_key;
    std::string region;
    std::string role_arn;
    std::string sts_endpoint;  // the gateway with STS on: session credentials work only there
};

cluster_info cluster;  // filled by main() before any test runs

bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (std::tolower(static_cast<unsigned char>(a[i])) !=
            std::tolower(static_cast<unsigned char>(b[i])))
            return false;
    return true;
}

/// A suffix that differs between runs, so a case can rerun against the same cluster.
std::string run_suffix() {
    static const std::string suffix =
        std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(
                           std::chrono::system_clock::now().time_since_epoch())
                           .count());
    return suffix;
}

std::optional<std::map<std::string, std::string>> read_env_file(const std::string& path) {
    std::ifstream in(path);
    if (!in) return std::nullopt;
    std::map<std::string, std::string> values;
    for (std::string line; std::getline(in, line);) {
        auto equals = line.find('=');
        if (equals == std::string::npos) continue;
        auto value = line.substr(equals + 1);
        if (value.size() >= 2 && value.front() == '"' && value.back() == '"')
            value = value.substr(1, value.size() - 2);
        values[line.substr(0, equals)] = value;
    }
    return values;
}

sigv4::credentials user_credentials() {
    auto creds = sigv4::credentials::make(cluster.access_key, cluster.secret_key);
    REQUIRE(creds.has_value());
    return *creds;
}

s3::endpoint rgw_endpoint(std::string region = cluster.region, std::string url = cluster.endpoint) {
    s3::endpoint where;
    where.url = std::move(url);
    where.style = s3::addressing::path;
    where.region = std::move(region);
    return where;
}

struct reply {
    int status = 0;
    std::string body;
    httplib::Headers headers;
    std::string transport_error;

    [[nodiscard]] std::string header(const std::string& name) const {
        auto found = headers.find(name);  // httplib compares names case-insensitively
        return found == headers.end() ? std::string{} : found->second;
    }
    /// The <Code> of RGW's error XML, empty when there is none.
    [[nodiscard]] std::string s3_code() const {
        auto open = body.find("<Code>");
        auto close = body.find("</Code>");
        if (open == std::string::npos || close == std::string::npos || close < open) return {};
        return body.substr(open + 6, close - open - 6);
    }
};

/// Sends METHOD to a URL on the cluster with exactly these headers (Host and Content-Length are the
/// client's: httplib sets them from the URL and the body, as a browser or curl would).
reply send(const std::string& method, const std::string& url,
           const std::vector<sigv4::header>& headers, const std::string& body = {}) {
    const std::string& endpoint =
        url.rfind(cluster.sts_endpoint + "/", 0) == 0 ? cluster.sts_endpoint : cluster.endpoint;
    REQUIRE_MESSAGE(url.rfind(endpoint + "/", 0) == 0, "URL outside the cluster: " << url);
    httplib::Client client("127.0.0.1", std::stoi(endpoint.substr(endpoint.rfind(':') + 1)));
    client.set_url_encode(false);  // the URL is already in wire form; send it byte for byte
    client.set_connection_timeout(10, 0);
    client.set_read_timeout(30, 0);
    client.set_write_timeout(30, 0);
    httplib::Request request;
    request.method = method;
    request.path = url.substr(endpoint.size());
    for (const auto& h : headers) {
        if (iequals(h.name, "host") || iequals(h.name, "content-length")) continue;
        request.headers.emplace(h.name, h.value);
    }
    request.body = body;
    reply out;
    auto result = client.send(request);
    if (!result) {
        out.transport_error = httplib::to_string(result.error());
        return out;
    }
    out.status = result->status;
    out.body = result->body;
    out.headers = result->headers;
    return out;
}

reply send(const sigv4::presigned_request& presigned, const std::string& body = {}) {
    return send(presigned.method, presigned.url, presigned.headers, body);
}

/// A header-signed request (bucket operations), as the library signs it for S3.
reply send_signed(const sigv4::credentials& creds, const std::string& method,
                  const std::string& path, const std::string& body = {}) {
    sigv4::http_request request;
    request.method = method;
    request.scheme = "http";
    request.host = cluster.host;
    request.path = path;
    request.body = sigv4::payload::from_body(body);
    auto signed_request = s3::sign_request(creds, request, cluster.region);
    REQUIRE_MESSAGE(signed_request.has_value(), signed_request.error().message);
    return send(method, cluster.endpoint + s3::encode_key(path), signed_request->headers, body);
}

void create_bucket(const std::string& bucket) {
    auto created = send_signed(user_credentials(), "PUT", "/" + bucket);
    INFO(created.body);
    REQUIRE(created.transport_error.empty());
    REQUIRE(created.status == 200);
}

/// Bytes of every value, in a deterministic shuffle, `size` long.
std::string test_bytes(std::size_t size, std::uint32_t seed) {
    std::mt19937 generator(seed);
    std::string bytes(size, '\0');
    for (auto& byte : bytes) byte = static_cast<char>(generator() & 0xffU);
    return bytes;
}

sigv4::presigned_request presign_url(const sigv4::credentials& creds, std::string_view method,
                                     const std::string& bucket, const std::string& key,
                                     const s3::object_options& options = {},
                                     const s3::endpoint& where = rgw_endpoint()) {
    auto presigned = s3::presign_object(creds, method, bucket, key, where, options);
    REQUIRE_MESSAGE(presigned.has_value(), presigned.error().message);
    return *presigned;
}

/// The URL with query parameter NAME's value replaced (or the parameter removed when nullopt).
std::string with_query_param(const std::string& url, const std::string& name,
                             const std::optional<std::string>& value) {
    auto question = url.find('?');
    REQUIRE(question != std::string::npos);
    std::string out = url.substr(0, question);
    std::string_view query(url);
    query.remove_prefix(question + 1);
    char separator = '?';
    bool found = false;
    while (!query.empty()) {
        auto amp = query.find('&');
        auto pair = query.substr(0, amp);
        query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
        if (pair.substr(0, pair.find('=')) == name) {
            found = true;
            if (!value) continue;
            out += separator + name + "=" + *value;
        } else {
            out += separator;
            out += pair;
        }
        separator = '&';
    }
    REQUIRE_MESSAGE(found, name << " not in " << url);
    return out;
}

std::string query_param(const std::string& url, const std::string& name) {
    auto start = url.find(name + "=");
    REQUIRE(start != std::string::npos);
    start += name.size() + 1;
    return url.substr(start, url.find('&', start) - start);
}

std::string header_value(const std::vector<sigv4::header>& headers, std::string_view name) {
    for (const auto& h : headers)
        if (iequals(h.name, name)) return h.value;
    return {};
}

std::string xml_escape(std::string_view text) {
    std::string out;
    for (char c : text) {
        switch (c) {
            case '&':
                out += "&amp;";
                break;
            case '<':
                out += "&lt;";
                break;
            case '>':
                out += "&gt;";
                break;
            case '"':
                out += "&quot;";
                break;
            case '\'':
                out += "&apos;";
                break;
            default:
                out += c;
        }
    }
    return out;
}

/// RGW 16 percent-decodes a response-content-disposition value once more than S3 does, so the
/// RFC 5987 filename* of attachment_disposition() comes back decoded (AWS returns it as signed).
std::string as_rgw_answers_disposition(const std::string& disposition) {
    auto decoded = sigv4::percent_decode(disposition);
    REQUIRE(decoded.has_value());
    return *decoded;
}

std::string xml_text(const std::string& xml, const std::string& tag) {
    auto open = xml.find("<" + tag + ">");
    auto close = xml.find("</" + tag + ">");
    if (open == std::string::npos || close == std::string::npos) return {};
    open += tag.size() + 2;
    return xml.substr(open, close - open);
}

// Keys S3 clients get wrong: spaces, '+', unicode (NFC and emoji), repeated and trailing slashes.
const std::vector<std::string> awkward_keys = {
    "shared files/report 2024+final (v2).txt",
    "a+b=c&d;e,f@g$h'i!j*k~l.bin",
    "\xc3\xbcnic\xc3\xb8"
    "d\xc3\xa9/\xe6\x96\x87\xe4\xbb\xb6 \xf0\x9f\x98\x80.dat",
    "double//slash///key//end",
    "mixed//dir with space/+plus+/\xc3\xa9t\xc3\xa9 2024.tar.gz",
};

}  // namespace

TEST_CASE("rgw: bucket created with a header-signed request") {
    const std::string bucket = "presign-bucket-ops";
    create_bucket(bucket);

    auto head = send_signed(user_credentials(), "HEAD", "/" + bucket);
    CHECK(head.status == 200);
    auto listing = send_signed(user_credentials(), "GET", "/" + bucket);
    CHECK(listing.status == 200);
    CHECK(listing.body.find("<ListBucketResult") != std::string::npos);

    SUBCASE("a wrong secret is refused with SignatureDoesNotMatch") {
        auto wrong = sigv4::credentials::make(cluster.access_key, cluster.secret_key + "x");
        REQUIRE(wrong.has_value());
        auto refused = send_signed(*wrong, "PUT", "/presign-bucket-refused");
        CHECK(refused.status == 403);
        CHECK(refused.s3_code() == "SignatureDoesNotMatch");
        CHECK(send_signed(user_credentials(), "HEAD", "/presign-bucket-refused").status == 404);
    }
    SUBCASE("an unknown access key is refused with InvalidAccessKeyId") {
        auto unknown = sigv4::credentials::make("PRESIGNUNKNOWNKEY000", cluster.secret_key);
        REQUIRE(unknown.has_value());
        auto refused = send_signed(*unknown, "GET", "/" + bucket);
        CHECK(refused.status == 403);
        CHECK(refused.s3_code() == "InvalidAccessKeyId");
    }
}

TEST_CASE("rgw: presigned PUT and GET round-trip awkward keys") {
    const std::string bucket = "presign-roundtrip";
    create_bucket(bucket);
    auto creds = user_credentials();
    std::uint32_t seed = 1;
    for (const auto& key : awkward_keys) {
        CAPTURE(key);
        const auto bytes = test_bytes(70000 + seed * 1111, seed);
        ++seed;
        auto put = presign_url(creds, "PUT", bucket, key);
        CAPTURE(put.url);
        const bool url_has_double_slash =
            put.url.find("//", put.url.find("://") + 3) != std::string::npos;
        CHECK(url_has_double_slash == (key.find("//") != std::string::npos));
        auto stored = send(put, bytes);
        INFO(stored.body);
        REQUIRE(stored.status == 200);

        auto get = presign_url(creds, "GET", bucket, key);
        auto fetched = send(get);
        REQUIRE(fetched.status == 200);
        CHECK(fetched.body.size() == bytes.size());
        CHECK(fetched.body == bytes);

        // The key really is the one asked for: the listing names it, unencoded.
        auto listing = send_signed(creds, "GET", "/" + bucket);
        CHECK(listing.body.find("<Key>" + xml_escape(key) + "</Key>") != std::string::npos);
    }

    SUBCASE("download_filename becomes the Content-Disposition RGW answers with") {
        const std::string key = awkward_keys[2];
        s3::object_options options;
        options.download_filename = "r\xc3\xa9sum\xc3\xa9 \"final\".pdf";
        auto fetched = send(presign_url(creds, "GET", bucket, key, options));
        CHECK(fetched.status == 200);
        CHECK(fetched.header("Content-Disposition") ==
              as_rgw_answers_disposition(s3::attachment_disposition(options.download_filename)));
    }
    SUBCASE("the zonegroup name as region signs as well as us-east-1") {
        // RGW derives the signing key from the region in the credential scope, whatever it is.
        const std::string key = awkward_keys[0];
        auto fetched = send(presign_url(creds, "GET", bucket, key, {}, rgw_endpoint("default")));
        CHECK(fetched.status == 200);
    }
    SUBCASE("presigned HEAD and DELETE") {
        const std::string key = awkward_keys[3];
        auto head = send(presign_url(creds, "HEAD", bucket, key));
        CHECK(head.status == 200);
        CHECK(head.header("Content-Length") == std::to_string(70000 + 4 * 1111));
        CHECK(send(presign_url(creds, "DELETE", bucket, key)).status == 204);
        auto gone = send(presign_url(creds, "GET", bucket, key));
        CHECK(gone.status == 404);
        CHECK(gone.s3_code() == "NoSuchKey");
    }
}

TEST_CASE("rgw: signed content-length and content-type are enforced") {
    const std::string bucket = "presign-upload-policy";
    create_bucket(bucket);
    auto creds = user_credentials();
    const std::string key = "policy/upload \xc3\xa9+1 " + run_suffix() + ".txt";
    const std::string body = test_bytes(4096, 42);

    s3::object_options options;
    options.content_type = "text/plain; charset=utf-8";
    options.content_length = body.size();
    auto put = presign_url(creds, "PUT", bucket, key, options);
    REQUIRE(header_value(put.headers, "content-type") == options.content_type);
    REQUIRE(header_value(put.headers, "content-length") == std::to_string(body.size()));
    CHECK(query_param(put.url, "X-Amz-SignedHeaders") == "content-length%3Bcontent-type%3Bhost");

    auto expect_refused = [&](const reply& refused) {
        INFO(refused.body);
        CHECK(refused.status == 403);
        CHECK(refused.s3_code() == "SignatureDoesNotMatch");
    };
    SUBCASE("one byte more") {
        expect_refused(send(put, body + "x"));
    }
    SUBCASE("one byte less") {
        expect_refused(send(put, body.substr(1)));
    }
    SUBCASE("empty body") {
        expect_refused(send(put, {}));
    }
    SUBCASE("another content type") {
        auto headers = put.headers;
        for (auto& h : headers)
            if (h.name == "Content-Type" || h.name == "content-type") h.value = "text/html";
        expect_refused(send("PUT", put.url, headers, body));
    }
    SUBCASE("no content type") {
        expect_refused(send("PUT", put.url, {}, body));
    }
    SUBCASE("the signed size and type") {
        auto stored = send(put, body);
        INFO(stored.body);
        CHECK(stored.status == 200);
        auto fetched = send(presign_url(creds, "GET", bucket, key));
        CHECK(fetched.status == 200);
        CHECK(fetched.body == body);
        CHECK(fetched.header("Content-Type") == options.content_type);
        return;
    }
    // Nothing was stored by a refused upload.
    auto absent = send(presign_url(creds, "GET", bucket, key));
    CHECK(absent.status == 404);
    CHECK(absent.s3_code() == "NoSuchKey");
}

TEST_CASE("rgw: tampered expired and wrong-method URLs are refused") {
    const std::string bucket = "presign-refusals";
    create_bucket(bucket);
    auto creds = user_credentials();
    const std::string key = "refusals/a file+1.txt";
    const std::string body = "the object the bad URLs try to reach\n";
    REQUIRE(send(presign_url(creds, "PUT", bucket, key), body).status == 200);

    auto get = presign_url(creds, "GET", bucket, key);
    REQUIRE(send(get).status == 200);

    auto expect = [](const reply& refused, int status, const std::string& code) {
        INFO(refused.body);
        CHECK(refused.status == status);
        CHECK(refused.s3_code() == code);
    };

    SUBCASE("tampered signature") {
        auto signature = query_param(get.url, "X-Amz-Signature");
        signature.back() = signature.back() == '0' ? '1' : '0';
        expect(send("GET", with_query_param(get.url, "X-Amz-Signature", signature), {}), 403,
               "SignatureDoesNotMatch");
    }
    SUBCASE("tampered key") {
        auto url = get.url;
        url.replace(url.find("a%20file"), 8, "b%20file");
        expect(send("GET", url, {}), 403, "SignatureDoesNotMatch");
    }
    SUBCASE("lengthened expiry") {
        expect(send("GET", with_query_param(get.url, "X-Amz-Expires", "604800"), {}), 403,
               "SignatureDoesNotMatch");
    }
    SUBCASE("another signed-headers list") {
        expect(send("GET", with_query_param(get.url, "X-Amz-SignedHeaders", "host%3Brange"),
                    {{"Range", "bytes=0-1"}}),
               403, "SignatureDoesNotMatch");
    }
    SUBCASE("an added query parameter") {
        expect(send("GET", get.url + "&response-content-type=text%2Fhtml", {}), 403,
               "SignatureDoesNotMatch");
    }
    SUBCASE("unknown access key") {
        auto credential = query_param(get.url, "X-Amz-Credential");
        credential.replace(0, cluster.access_key.size(), "PRESIGNUNKNOWNKEY000");
        expect(send("GET", with_query_param(get.url, "X-Amz-Credential", credential), {}), 403,
               "InvalidAccessKeyId");
    }
    SUBCASE("expired") {
        s3::object_options options;
        options.signing_time = sigv4::now() - 1h;
        options.expires = 60s;
        expect(send(presign_url(creds, "GET", bucket, key, options)), 403, "AccessDenied");
    }
    SUBCASE("expired one second ago") {
        s3::object_options options;
        options.signing_time = sigv4::now() - 11s;
        options.expires = 10s;
        expect(send(presign_url(creds, "GET", bucket, key, options)), 403, "AccessDenied");
    }
    SUBCASE("the GET URL used to PUT") {
        expect(send("PUT", get.url, {}, "overwritten"), 403, "SignatureDoesNotMatch");
    }
    SUBCASE("the GET URL used to DELETE") {
        expect(send("DELETE", get.url, {}), 403, "SignatureDoesNotMatch");
    }
    SUBCASE("the GET URL used for HEAD") {
        auto refused = send("HEAD", get.url, {});
        CHECK(refused.status == 403);  // no body on HEAD, so no code to read
    }
    SUBCASE("the PUT URL used to GET") {
        auto put = presign_url(creds, "PUT", bucket, key);
        expect(send("GET", put.url, {}), 403, "SignatureDoesNotMatch");
    }
    SUBCASE("the PUT URL for another key") {
        auto put = presign_url(creds, "PUT", bucket, key + ".other");
        auto url = put.url;
        url.replace(url.find(".other"), 6, "");
        expect(send("PUT", url, {}, "overwritten"), 403, "SignatureDoesNotMatch");
    }
    // Whatever was refused, the object is intact.
    auto fetched = send(get);
    CHECK(fetched.status == 200);
    CHECK(fetched.body == body);
}

TEST_CASE("rgw: session-token credentials from RGW STS AssumeRole") {
    const std::string bucket = "presign-sts";
    create_bucket(bucket);

    // AssumeRole, signed by the library as the "sts" service (form body, signed payload hash).
    const std::string form =
        "Action=AssumeRole&Version=2011-06-15&RoleSessionName=presign-rgw-test"
        "&DurationSeconds=900&RoleArn=" +
        sigv4::uri_encode(cluster.role_arn);
    sigv4::http_request request;
    request.method = "POST";
    request.scheme = "http";
    request.host = cluster.sts_endpoint.substr(std::string_view("http://").size());
    request.path = "/";
    request.headers = {{"Content-Type", "application/x-www-form-urlencoded; charset=utf-8"}};
    request.body = sigv4::payload::from_body(form);
    auto options = sigv4::signing_options::for_service(cluster.region, "sts");
    auto signed_request = sigv4::sign(user_credentials(), request, options);
    REQUIRE(signed_request.has_value());
    auto headers = request.headers;
    headers.insert(headers.end(), signed_request->headers.begin(), signed_request->headers.end());
    auto assumed = send("POST", cluster.sts_endpoint + "/", headers, form);
    INFO(assumed.body);
    REQUIRE(assumed.status == 200);

    auto expiration = sigv4::parse_iso8601(xml_text(assumed.body, "Expiration"));
    REQUIRE(expiration.has_value());
    CHECK(*expiration > sigv4::now() + 10min);
    CHECK(*expiration <= sigv4::now() + 16min);
    auto session = sigv4::credentials::make(xml_text(assumed.body, "AccessKeyId"),
                                            xml_text(assumed.body, "SecretAccessKey"),
                                            xml_text(assumed.body, "SessionToken"), *expiration);
    REQUIRE(session.has_value());
    REQUIRE_FALSE(session->session_token.empty());

    const std::string key = "sts/temporary \xc3\xa9+key.bin";
    const auto sts_gateway = rgw_endpoint(cluster.region, cluster.sts_endpoint);
    const auto bytes = test_bytes(30000, 7);
    auto put = presign_url(*session, "PUT", bucket, key, {}, sts_gateway);
    REQUIRE(put.url.find("X-Amz-Security-Token=") != std::string::npos);
    auto stored = send(put, bytes);
    INFO(stored.body);
    REQUIRE(stored.status == 200);
    auto get = presign_url(*session, "GET", bucket, key, {}, sts_gateway);
    auto fetched = send(get);
    CHECK(fetched.status == 200);
    CHECK(fetched.body == bytes);

    SUBCASE("the URL without its token") {
        // The temporary access key id means nothing to RGW without the token it came with.
        auto refused =
            send("GET", with_query_param(get.url, "X-Amz-Security-Token", std::nullopt), {});
        CHECK(refused.status == 403);
        CHECK(refused.s3_code() == "AccessDenied");
    }
    SUBCASE("a token that is not base64") {
        auto token = query_param(get.url, "X-Amz-Security-Token");
        auto refused =
            send("GET", with_query_param(get.url, "X-Amz-Security-Token", "%21" + token), {});
        CHECK(refused.status == 400);
        CHECK(refused.s3_code() == "InvalidArgument");
    }
    SUBCASE("the token of the session with long-term keys") {
        auto mixed = sigv4::credentials::make(cluster.access_key, cluster.secret_key,
                                              session->session_token);
        REQUIRE(mixed.has_value());
        auto refused = send(presign_url(*mixed, "GET", bucket, key, {}, sts_gateway));
        CHECK(refused.status == 403);
    }
    SUBCASE("a URL may not outlive the credentials") {
        s3::object_options long_lived;
        long_lived.expires = 3600s;
        auto refused = s3::presign_get(*session, bucket, key, sts_gateway, long_lived);
        REQUIRE_FALSE(refused.has_value());
        CHECK(refused.error().code == sigv4::errc::credentials_expire_first);
        long_lived.clamp_expiry = true;
        auto clamped = presign_url(*session, "GET", bucket, key, long_lived, sts_gateway);
        CHECK(clamped.expires_at == *expiration);
        CHECK(send(clamped).status == 200);
    }
}

namespace {

struct process_result {
    int exit_code = -1;
    std::string out;
};

/// Runs a program (no shell) with exactly `env`, and captures its stdout.
process_result run_program(const std::vector<std::string>& argv,
                           const std::vector<std::string>& env) {
    std::array<int, 2> pipe_fds{};
    REQUIRE(::pipe(pipe_fds.data()) == 0);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], STDOUT_FILENO);
    posix_spawn_file_actions_addclose(&actions, pipe_fds[0]);
    posix_spawn_file_actions_addclose(&actions, pipe_fds[1]);
    posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    std::vector<char*> envp;
    for (const auto& e : env) envp.push_back(const_cast<char*>(e.c_str()));
    envp.push_back(nullptr);
    pid_t pid = 0;
    int spawned = posix_spawn(&pid, args[0], &actions, nullptr, args.data(), envp.data());
    posix_spawn_file_actions_destroy(&actions);
    ::close(pipe_fds[1]);
    process_result result;
    if (spawned != 0) {
        ::close(pipe_fds[0]);
        return result;
    }
    std::array<char, 4096> buffer{};
    for (ssize_t n; (n = ::read(pipe_fds[0], buffer.data(), buffer.size())) > 0;)
        result.out.append(buffer.data(), static_cast<std::size_t>(n));
    ::close(pipe_fds[0]);
    int status = 0;
    ::waitpid(pid, &status, 0);
    result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return result;
}

}  // namespace

#ifdef PRESIGN_RGW_CLI_PATH
namespace {

/// `presign METHOD s3://BUCKET/KEY --endpoint RGW --path-style --json`, credentials from the
/// environment only (no config files, no instance metadata).
nlohmann::json run_cli(const std::string& command, const std::string& bucket,
                       const std::string& key, const std::vector<std::string>& extra = {}) {
    std::vector<std::string> argv = {
        PRESIGN_RGW_CLI_PATH, command,          "s3://" + bucket + "/" + key,
        "--endpoint",         cluster.endpoint, "--path-style",
        "--region",           cluster.region,   "--json"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    const std::vector<std::string> env = {
        "AWS_ACCESS_KEY_ID=" + cluster.access_key,
        "AWS_SECRET_ACCESS_KEY=" + cluster.secret_key,
        "AWS_CONFIG_FILE=/nonexistent/config",
        "AWS_SHARED_CREDENTIALS_FILE=/nonexistent/credentials",
        "AWS_EC2_METADATA_DISABLED=true",
        "HOME=/nonexistent",
    };
    auto ran = run_program(argv, env);
    INFO("presign " << command << " printed: " << ran.out);
    REQUIRE(ran.exit_code == 0);
    auto json = nlohmann::json::parse(ran.out, nullptr, false);
    REQUIRE(json.is_object());
    REQUIRE(json.contains("url"));
    return json;
}

std::vector<sigv4::header> json_headers(const nlohmann::json& json) {
    std::vector<sigv4::header> headers;
    if (json.contains("headers"))
        for (const auto& [name, value] : json["headers"].items())
            headers.push_back({name, value.get<std::string>()});
    return headers;
}

}  // namespace

TEST_CASE("rgw: presigned multipart upload with signed part lengths and a conditional complete") {
    // RGW answers a refused part before reading its body and closes: a write then meets EPIPE.
    ::signal(SIGPIPE, SIG_IGN);
    const std::string bucket = "presign-multipart-" + run_suffix();
    create_bucket(bucket);
    const auto creds = user_credentials();
    const std::string key = "videos/holiday 2024+final.mp4";
    auto start = [&] {
        s3::object_options options;
        options.content_type = "video/mp4";
        auto created =
            s3::presign_create_multipart_upload(creds, bucket, key, rgw_endpoint(), options);
        REQUIRE(created.has_value());
        auto answer = send(*created);
        INFO(answer.body);
        REQUIRE(answer.status == 200);
        const auto id = xml_text(answer.body, "UploadId");
        REQUIRE_FALSE(id.empty());
        return id;
    };
    auto put_part = [&](const std::string& id, std::uint32_t number, const std::string& bytes,
                        std::size_t signed_size) {
        s3::object_options options;
        options.content_length = signed_size;
        auto part =
            s3::presign_upload_part(creds, bucket, key, rgw_endpoint(), id, number, options);
        REQUIRE(part.has_value());
        return send(*part, bytes);
    };
    auto complete = [&](const std::string& id,
                        const std::vector<std::pair<int, std::string>>& parts) {
        s3::object_options options;
        options.if_none_match_any = true;  // what POST /uploads/complete signs
        auto signed_complete =
            s3::presign_complete_multipart_upload(creds, bucket, key, rgw_endpoint(), id, options);
        REQUIRE(signed_complete.has_value());
        CHECK(header_value(signed_complete->headers, "if-none-match") == "*");
        std::string xml = "<CompleteMultipartUpload>";
        for (const auto& [number, etag] : parts) {
            xml += "<Part><PartNumber>" + std::to_string(number) + "</PartNumber><ETag>" +
                   xml_escape(etag) + "</ETag></Part>";
        }
        xml += "</CompleteMultipartUpload>";
        return send(*signed_complete, xml);
    };
    auto get_object = [&] { return send(presign_url(creds, "GET", bucket, key)); };

    const auto id = start();
    const std::string first = test_bytes(5 << 20, 31), last = test_bytes(1000, 32);
    // A body one byte longer or shorter than the signed Content-Length is refused (403, or RGW
    // closes the connection before reading it) and stores nothing.
    CHECK(put_part(id, 1, first + "x", first.size()).status != 200);
    CHECK(put_part(id, 1, first.substr(1), first.size()).status != 200);
    {
        auto none = s3::presign_list_parts(creds, bucket, key, rgw_endpoint(), id);
        REQUIRE(none.has_value());
        auto listing = send(*none);
        REQUIRE(listing.status == 200);
        CHECK(listing.body.find("<Part>") == std::string::npos);
    }
    auto p1 = put_part(id, 1, first, first.size());
    auto p2 = put_part(id, 2, last, last.size());
    REQUIRE(p1.status == 200);
    REQUIRE(p2.status == 200);

    s3::list_parts_options first_page;
    first_page.max_parts = 1;
    auto listed = s3::presign_list_parts(creds, bucket, key, rgw_endpoint(), id, first_page);
    REQUIRE(listed.has_value());
    auto list = send(*listed);
    REQUIRE(list.status == 200);
    CHECK(xml_text(list.body, "PartNumber") == "1");
    CHECK(xml_text(list.body, "IsTruncated") == "true");

    // The signed If-None-Match: * is accepted on a new key. (RGW 16.2 also accepts a part list out
    // of order, where S3 answers InvalidPartOrder; presign's clients always send it in order.)
    auto done = complete(id, {{1, p1.header("ETag")}, {2, p2.header("ETag")}});
    INFO(done.body);
    REQUIRE(done.status == 200);
    CHECK(done.s3_code().empty());
    auto got = get_object();
    REQUIRE(got.status == 200);
    CHECK(got.body == first + last);
    CHECK(got.header("Content-Type") == "video/mp4");

    // A second upload completed over the existing object with If-None-Match: *. S3 (and presign's
    // store) answer 412 and keep the object; RGW 16.2 accepts the signed header but does not
    // evaluate it on Complete, so the object is replaced. Either way the answer and the object
    // agree.
    const auto again = start();
    const std::string other = test_bytes(3000, 33);
    auto q1 = put_part(again, 1, other, other.size());
    REQUIRE(q1.status == 200);
    auto second = complete(again, {{1, q1.header("ETag")}});
    INFO(second.body);
    CHECK((second.status == 200 || second.status == 412));
    MESSAGE("RGW's answer to a Complete with If-None-Match: * over an existing object: "
            << second.status);
    CHECK(get_object().body == (second.status == 412 ? first + last : other));

    // Abort: the upload is gone afterwards.
    const auto aborted_id = start();
    auto aborted =
        s3::presign_abort_multipart_upload(creds, bucket, key, rgw_endpoint(), aborted_id);
    REQUIRE(aborted.has_value());
    CHECK(send(*aborted).status == 204);
    auto gone = s3::presign_list_parts(creds, bucket, key, rgw_endpoint(), aborted_id);
    REQUIRE(gone.has_value());
    const auto code = send(*gone).s3_code();
    CHECK(
        (code == "NoSuchUpload" || code == "NoSuchKey"));  // S3: NoSuchUpload; RGW 16.2: NoSuchKey
}

TEST_CASE("rgw: presign CLI put and get URLs round-trip") {
    const std::string bucket = "presign-cli";
    create_bucket(bucket);
    std::uint32_t seed = 100;
    for (const auto& key : awkward_keys) {
        CAPTURE(key);
        const auto bytes = test_bytes(50000 + seed, seed);
        ++seed;
        auto put = run_cli("put", bucket, key);
        CHECK(put["method"] == "PUT");
        auto stored = send("PUT", put["url"].get<std::string>(), json_headers(put), bytes);
        INFO(stored.body);
        REQUIRE(stored.status == 200);
        auto get = run_cli("get", bucket, key);
        auto fetched = send("GET", get["url"].get<std::string>(), json_headers(get));
        CHECK(fetched.status == 200);
        CHECK(fetched.body == bytes);
    }

    SUBCASE("--content-length and --content-type are enforced by RGW") {
        const std::string key = "cli/sized upload+1.txt";
        const std::string body = "exactly these bytes\n";
        auto put = run_cli(
            "put", bucket, key,
            {"--content-length", std::to_string(body.size()), "--content-type", "text/plain"});
        const auto url = put["url"].get<std::string>();
        const auto headers = json_headers(put);
        CHECK(header_value(headers, "content-type") == "text/plain");
        auto longer = send("PUT", url, headers, body + "!");
        CHECK(longer.status == 403);
        CHECK(longer.s3_code() == "SignatureDoesNotMatch");
        auto retyped = send("PUT", url, {{"Content-Type", "image/png"}}, body);
        CHECK(retyped.status == 403);
        CHECK(retyped.s3_code() == "SignatureDoesNotMatch");
        CHECK(send("PUT", url, headers, body).status == 200);
    }
}
#endif  // PRESIGN_RGW_CLI_PATH

#ifdef PRESIGN_RGW_HAVE_SERVICE
namespace {

presign::service::service make_service(const std::string& bucket) {
    const std::map<std::string, std::string, std::less<>> env = {
        {"BUCKET_NAME", bucket},
        {"S3_ENDPOINT", cluster.endpoint},
        {"S3_PATH_STYLE", "true"},
        {"AWS_REGION", cluster.region},
        {"ALLOWED_CONTENT_TYPES", "text/plain,image/*"},
        {"MAX_UPLOAD_BYTES", "1048576"},
        {"URL_EXPIRES", "300"},
    };
    auto settings = presign::service::config::from_environment(
        [&env](std::string_view name) -> std::optional<std::string> {
            auto found = env.find(name);
            if (found == env.end()) return std::nullopt;
            return found->second;
        });
    REQUIRE_MESSAGE(settings.has_value(), settings.error().message);
    CHECK(settings->endpoint.style == s3::addressing::path);
    return presign::service::service(
        *settings, [] { return sigv4::credentials::make(cluster.access_key, cluster.secret_key); });
}

nlohmann::json handle_json(const presign::service::service& svc,
                           const presign::service::request& req, int expected_status) {
    auto res = svc.handle(req);
    INFO(res.body);
    REQUIRE(res.status == expected_status);
    auto json = nlohmann::json::parse(res.body, nullptr, false);
    REQUIRE(json.is_object());
    return json;
}

}  // namespace

TEST_CASE("rgw: service POST /uploads and GET /downloads round-trip") {
    const std::string bucket = "presign-service";
    create_bucket(bucket);
    auto svc = make_service(bucket);
    const std::string filename = "quarterly report 2024+final \xc3\xa9t\xc3\xa9.txt";
    const std::string body = test_bytes(20000, 9);

    presign::service::request upload;
    upload.method = "POST";
    upload.path = "/uploads";
    upload.headers = {{"Content-Type", "application/json"}};
    upload.identity = "rgw-tester@example.com";
    upload.body =
        nlohmann::json{{"filename", filename}, {"contentType", "text/plain"}, {"size", body.size()}}
            .dump();
    auto answer = handle_json(svc, upload, 200);
    const auto url = answer["url"].get<std::string>();
    const auto key = answer["key"].get<std::string>();
    std::vector<sigv4::header> headers;
    for (const auto& [name, value] : answer["headers"].items())
        headers.push_back({name, value.get<std::string>()});
    CHECK(header_value(headers, "content-type") == "text/plain");
    CHECK(header_value(headers, "content-length") == std::to_string(body.size()));
    CHECK(header_value(headers, "if-none-match") == "*");

    SUBCASE("the ticket writes once: a replay gets 412 PreconditionFailed") {
        auto stored = send("PUT", url, headers, body);
        INFO(stored.body);
        REQUIRE(stored.status == 200);
        auto replayed = send("PUT", url, headers, body);
        CHECK(replayed.status == 412);
        CHECK(replayed.s3_code() == "PreconditionFailed");
    }
    SUBCASE("another size is refused") {
        auto refused = send("PUT", url, headers, body + "more");
        CHECK(refused.status == 403);
        CHECK(refused.s3_code() == "SignatureDoesNotMatch");
    }
    SUBCASE("another type is refused") {
        auto retyped = headers;
        for (auto& h : retyped)
            if (iequals(h.name, "content-type")) h.value = "image/png";
        auto refused = send("PUT", url, retyped, body);
        CHECK(refused.status == 403);
        CHECK(refused.s3_code() == "SignatureDoesNotMatch");
    }
    SUBCASE("the announced file round-trips") {
        auto stored = send("PUT", url, headers, body);
        INFO(stored.body);
        REQUIRE(stored.status == 200);

        presign::service::request download;
        download.method = "GET";
        download.path = "/downloads";
        download.query = {{"key", key}};
        download.identity = upload.identity;
        auto link = handle_json(svc, download, 200);
        auto fetched = send("GET", link["url"].get<std::string>(), {});
        CHECK(fetched.status == 200);
        CHECK(fetched.body == body);
        CHECK(fetched.header("Content-Type") == "text/plain");
        CHECK(fetched.header("Content-Disposition") ==
              as_rgw_answers_disposition(s3::attachment_disposition(filename)));
    }
}
#endif  // PRESIGN_RGW_HAVE_SERVICE

int main(int argc, char** argv) {
    const char* dir = std::getenv("RGW_CLUSTER_DIR");
    if (dir == nullptr || *dir == '\0') {
        std::puts("skipped: RGW_CLUSTER_DIR is not set (run through ctest -L rgw)");
        return 77;
    }
    auto env = read_env_file(std::string(dir) + "/env");
    if (!env) {
        std::printf(
            "skipped: no running RGW cluster (%s/env missing: rgw_cluster_start was skipped or "
            "failed)\n",
            dir);
        return 77;
    }
    cluster.endpoint = (*env)["RGW_ENDPOINT"];
    cluster.access_key = (*env)["RGW_ACCESS_KEY"];
    cluster.secret_key = (*env)["RGW_SECRET_KEY"];
    cluster.region = (*env)["RGW_REGION"];
    cluster.role_arn = (*env)["RGW_STS_ROLE_ARN"];
    cluster.sts_endpoint = (*env)["RGW_STS_ENDPOINT"];
    const std::string prefix = "http://127.0.0.1:";
    if (cluster.endpoint.rfind(prefix, 0) != 0 || cluster.sts_endpoint.rfind(prefix, 0) != 0 ||
        cluster.access_key.empty() || cluster.region.empty()) {
        std::printf("rgw_test: %s/env is malformed\n", dir);
        return 1;
    }
    cluster.host = cluster.endpoint.substr(std::string_view("http://").size());
    cluster.port = std::stoi(cluster.endpoint.substr(prefix.size()));

    doctest::Context context(argc, argv);
    return context.run();
}
