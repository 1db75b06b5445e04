// SPDX-License-Identifier: Apache-2.0
// presign_local over HTTP on 127.0.0.1: signatures (presigned and header), objects, ranges,
// errors as S3 writes them, CORS, key safety and concurrent uploads.
#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <httplib.h>
#include <presign/http/server.hpp>
#include <presign/local/object_store.hpp>
#include <presign/local/s3_server.hpp>
#include <sigv4/sigv4.hpp>

namespace fs = std::filesystem;
using presign::local::s3_server;
using presign::local::s3_server_options;

namespace {

constexpr std::string_view access_key_id = "AKIDLOCALSTORETEST";
constexpr std::string_view secret = "local-store-test-secret/with+symbols";
constexpr std::string_view bucket = "presign";

sigv4::credentials test_credentials() {
    return sigv4::credentials::make(access_key_id, secret).value();
}

fs::path make_temp_dir() {
    std::string pattern = (fs::temp_directory_path() / "presign-local-test-XXXXXX").string();
    const char* made = ::mkdtemp(pattern.data());
    REQUIRE(made != nullptr);
    return fs::path(made);
}

/// A store on a free port of 127.0.0.1, with a data dir inside a scratch parent directory (so a
/// test can prove nothing was written beside it).
class running_store {
  public:
    explicit running_store(const presign::http::limits& deadlines = {})
        : parent_(make_temp_dir()), data_(parent_ / "data") {
        ::signal(SIGPIPE, SIG_IGN);
        s3_server_options options;
        options.deadlines = deadlines;
        options.data_dir = data_;
        options.region = "us-east-1";
        options.allowed_origins = {"http://127.0.0.1:8080"};
        options.max_object_bytes = 64ull << 20;
        if (std::getenv("LOCAL_STORE_TEST_LOG") != nullptr) {
            options.log = [](std::string_view line) {
                std::fprintf(stderr, "%.*s\n", static_cast<int>(line.size()), line.data());
            };
        }
        const auto creds = test_credentials();
        options.keys = [id = creds.access_key_id, known = sigv4::known_key{creds.secret, {}}](
                           std::string_view asked) -> const sigv4::known_key* {
            return asked == id ? &known : nullptr;
        };
        server_ = std::make_unique<s3_server>(options);
        auto bound = server_->bind("127.0.0.1", 0);
        REQUIRE(bound.has_value());
        port_ = *bound;
        REQUIRE(server_->ensure_bucket(bucket));
        thread_ = std::thread([this] { server_->listen(); });
        for (int i = 0; i < 200 && !server_->is_running(); ++i) {
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }
    }
    ~running_store() {
        while (thread_.joinable() && !server_->is_running()) {
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }
        server_->stop();
        thread_.join();
        std::error_code ignored;
        fs::remove_all(parent_, ignored);
    }
    running_store(const running_store&) = delete;
    running_store& operator=(const running_store&) = delete;

    [[nodiscard]] int port() const { return port_; }
    [[nodiscard]] const fs::path& parent() const { return parent_; }
    [[nodiscard]] const fs::path& data() const { return data_; }
    [[nodiscard]] sigv4::s3::endpoint endpoint() const {
        return {"us-east-1", "http://127.0.0.1:" + std::to_string(port_),
                sigv4::s3::addressing::path};
    }
    [[nodiscard]] httplib::Client client() const {
        httplib::Client c("127.0.0.1", port_);
        c.set_url_encode(false);
        c.set_read_timeout(60);
        c.set_write_timeout(60);
        return c;
    }

  private:
    fs::path parent_;
    fs::path data_;
    std::unique_ptr<s3_server> server_;
    std::thread thread_;
    int port_ = 0;
};

/// The request target (path and query) of a presigned URL.
std::string target_of(const std::string& url) {
    const auto scheme = url.find("://");
    const auto slash = url.find('/', scheme + 3);
    return url.substr(slash);
}

/// The headers to send with a presigned request, minus those httplib sets itself.
httplib::Headers headers_of(const sigv4::presigned_request& presigned) {
    httplib::Headers headers;
    for (const auto& h : presigned.headers) {
        const std::string name = h.name;
        if (name == "content-length" || name == "Content-Length" || name == "content-type" ||
            name == "Content-Type") {
            continue;
        }
        headers.emplace(h.name, h.value);
    }
    return headers;
}

std::string content_type_of(const sigv4::presigned_request& presigned) {
    for (const auto& h : presigned.headers) {
        if (h.name == "content-type" || h.name == "Content-Type") return h.value;
    }
    return {};
}

sigv4::presigned_request presign_url(const running_store& store, std::string_view method,
                                     std::string_view key, sigv4::s3::object_options options = {}) {
    auto presigned = sigv4::s3::presign_object(test_credentials(), method, bucket, key,
                                               store.endpoint(), options);
    REQUIRE_MESSAGE(presigned.has_value(), presigned.error().message);
    return std::move(presigned).value();
}

httplib::Result put_presigned(const running_store& store, std::string_view key,
                              const std::string& body, sigv4::s3::object_options options = {}) {
    if (!options.content_length) options.content_length = body.size();
    if (options.content_type.empty()) options.content_type = "application/octet-stream";
    const auto presigned = presign_url(store, "PUT", key, options);
    return store.client().Put(target_of(presigned.url), headers_of(presigned), body,
                              content_type_of(presigned));
}

httplib::Result get_presigned(const running_store& store, std::string_view key,
                              const httplib::Headers& extra = {},
                              sigv4::s3::object_options options = {}) {
    const auto presigned = presign_url(store, "GET", key, options);
    return store.client().Get(target_of(presigned.url), extra);
}

/// The text of <Code> in an S3 error body.
std::string error_code(const httplib::Result& result) {
    if (!result) return "<no response>";
    const auto open = result->body.find("<Code>");
    const auto close = result->body.find("</Code>");
    if (open == std::string::npos || close == std::string::npos) return "<no code>";
    return result->body.substr(open + 6, close - open - 6);
}

std::string random_bytes(std::size_t size, unsigned seed) {
    std::mt19937 generator(seed);
    std::string out(size, '\0');
    for (auto& c : out) c = static_cast<char>(generator() & 0xff);
    return out;
}

/// Every regular file under `root`, relative.
std::set<std::string> files_under(const fs::path& root) {
    std::set<std::string> out;
    for (const auto& entry : fs::recursive_directory_iterator(root)) {
        if (entry.is_regular_file()) out.insert(fs::relative(entry.path(), root).string());
    }
    return out;
}

/// Objects visible in the bucket (metadata files) and leftovers in its tmp directory.
std::size_t object_count(const running_store& store) {
    std::size_t count = 0;
    for (const auto& entry :
         fs::directory_iterator(store.data() / "buckets" / bucket / "objects")) {
        if (entry.path().extension() == ".meta") ++count;
    }
    return count;
}
std::size_t temp_count(const running_store& store) {
    std::size_t count = 0;
    for ([[maybe_unused]] const auto& entry :
         fs::directory_iterator(store.data() / "buckets" / bucket / "tmp")) {
        ++count;
    }
    return count;
}

/// A connection to 127.0.0.1:port whose reads give up after `timeout_s` seconds.
int connect_loopback(int port, int timeout_s = 10) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(fd >= 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<std::uint16_t>(port));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
    timeval timeout{timeout_s, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    return fd;
}

/// Sends all of `bytes` (or as much as the peer takes before it closes).
void send_all(int fd, std::string_view bytes) {
    while (!bytes.empty()) {
        const ssize_t n = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
        if (n <= 0) return;
        bytes.remove_prefix(static_cast<std::size_t>(n));
    }
}

/// Everything the peer sends until it closes (or the read timeout), then closes `fd`.
std::string read_until_close(int fd) {
    std::string answer;
    char buffer[4096];
    for (ssize_t n; (n = ::recv(fd, buffer, sizeof buffer, 0)) > 0;)
        answer.append(buffer, static_cast<std::size_t>(n));
    ::close(fd);
    return answer;
}

/// Sends raw bytes on a fresh connection and returns whatever comes back before close.
std::string raw_exchange(int port, const std::string& request, bool half_close = true) {
    const int fd = connect_loopback(port);
    send_all(fd, request);
    if (half_close) ::shutdown(fd, SHUT_WR);
    return read_until_close(fd);
}

/// A header-signed request (Authorization), as the SDKs send it.
struct signed_call {
    std::string method;
    std::string path;  // decoded
    std::vector<sigv4::query_param> query;
    std::string body;
    std::vector<sigv4::header> headers;
};

httplib::Headers sign_headers(const running_store& store, const signed_call& call,
                              std::string_view signed_body) {
    sigv4::http_request request;
    request.method = call.method;
    request.scheme = "http";
    request.host = "127.0.0.1:" + std::to_string(store.port());
    request.path = call.path;
    request.query = call.query;
    request.headers = call.headers;
    request.body = sigv4::payload::from_body(std::string(signed_body));
    auto signed_request = sigv4::s3::sign_request(test_credentials(), request, "us-east-1");
    REQUIRE_MESSAGE(signed_request.has_value(), signed_request.error().message);
    httplib::Headers headers;
    for (const auto& h : call.headers) headers.emplace(h.name, h.value);
    for (const auto& h : signed_request->headers) headers.emplace(h.name, h.value);
    return headers;
}

std::string target_for(const signed_call& call) {
    std::string target = sigv4::s3::encode_key(call.path);
    char separator = '?';
    for (const auto& q : call.query) {
        target += separator;
        target += sigv4::uri_encode(q.name) + "=" + sigv4::uri_encode(q.value);
        separator = '&';
    }
    return target;
}

}  // namespace

TEST_CASE("a presigned PUT stores the bytes and a presigned GET returns them") {
    running_store store;
    const std::string body = random_bytes(3 << 20, 1);
    auto put = put_presigned(store, "folder/some file+name.bin", body);
    REQUIRE(put);
    CHECK(put->status == 200);
    const std::string etag = put->get_header_value("ETag");
    CHECK(etag.size() == 34);
    CHECK(etag.front() == '"');

    auto get = get_presigned(store, "folder/some file+name.bin");
    REQUIRE(get);
    CHECK(get->status == 200);
    CHECK(get->body == body);
    CHECK(get->get_header_value("ETag") == etag);
    CHECK(get->get_header_value("Content-Type") == "application/octet-stream");
    CHECK(get->get_header_value("Content-Length") == std::to_string(body.size()));
    CHECK(!get->get_header_value("x-amz-request-id").empty());

    const auto head = presign_url(store, "HEAD", "folder/some file+name.bin");
    auto head_result = store.client().Head(target_of(head.url));
    REQUIRE(head_result);
    CHECK(head_result->status == 200);
    CHECK(head_result->body.empty());
    CHECK(head_result->get_header_value("Content-Length") == std::to_string(body.size()));
    CHECK(head_result->get_header_value("ETag") == etag);
}

/// The status codes of the responses in `answers`, in order, space-separated, framed by their
/// Content-Length; the body of the last one in `last_body`.
std::string response_statuses(const std::string& answers, std::string* last_body = nullptr) {
    std::string statuses;
    std::size_t at = 0;
    while (answers.compare(at, 9, "HTTP/1.1 ") == 0) {
        statuses += (statuses.empty() ? "" : " ") + answers.substr(at + 9, 3);
        const auto head_end = answers.find("\r\n\r\n", at);
        if (head_end == std::string::npos) break;
        const auto length_at = answers.find("Content-Length: ", at);
        const std::size_t length =
            length_at < head_end ? std::stoul(answers.substr(length_at + 16, 20)) : 0;
        if (last_body != nullptr) *last_body = answers.substr(head_end + 4, length);
        at = head_end + 4 + length;
    }
    return statuses;
}

/// A raw PUT request (head and body) of a presigned URL, kept alive unless `close`.
std::string raw_put(const running_store& store, std::string_view key, const std::string& body,
                    bool tamper = false) {
    sigv4::s3::object_options options;
    options.content_length = body.size();
    options.content_type = "application/octet-stream";
    std::string target = target_of(presign_url(store, "PUT", key, options).url);
    if (tamper) target.back() = target.back() == '0' ? '1' : '0';
    return "PUT " + target + " HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(store.port()) +
           "\r\nContent-Type: application/octet-stream\r\nContent-Length: " +
           std::to_string(body.size()) + "\r\n\r\n" + body;
}

TEST_CASE("bodies in pieces and pipelined after each other are read exactly (the body read path)") {
    // The store reads a body of declared length past the HTTP parser: the bytes that came with
    // the head first, then straight from the socket, never past the body's end (the next
    // request's bytes stay for it), also when a refused body is drained.
    running_store store;
    const std::string large = random_bytes((1u << 20) + 3, 41);  // grows the read buffer
    const std::string small = random_bytes(70000, 42);
    const std::string refused = random_bytes(5000, 43);
    const std::string get_target = target_of(presign_url(store, "GET", "pieces/small").url);
    const std::string requests =
        raw_put(store, "pieces/large", large) + raw_put(store, "pieces/small", small) +
        raw_put(store, "pieces/refused", refused, true) + "GET " + get_target +
        " HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(store.port()) +
        "\r\nConnection: close\r\n\r\n";
    SUBCASE("all in one stream") {
        const std::string answers = raw_exchange(store.port(), requests);
        std::string last_body;
        CHECK(response_statuses(answers, &last_body) == "200 200 403 200");
        CHECK(last_body == small);
    }
    SUBCASE("sent in uneven pieces with pauses") {
        const int fd = connect_loopback(store.port());
        std::size_t sent = 0;
        std::size_t piece = 1;
        while (sent < requests.size()) {
            const std::size_t size = std::min(requests.size() - sent, piece);
            const ssize_t n = ::send(fd, requests.data() + sent, size, MSG_NOSIGNAL);
            REQUIRE(n > 0);
            sent += static_cast<std::size_t>(n);
            piece = piece * 7 + 13;  // 1, 20, 153, ... then large pieces
            if (piece > (300u << 10)) piece = 4093;
            if (sent < 4096 || sent % 5 == 0)
                std::this_thread::sleep_for(std::chrono::milliseconds(1));
        }
        const std::string answers = read_until_close(fd);
        std::string last_body;
        CHECK(response_statuses(answers, &last_body) == "200 200 403 200");
        CHECK(last_body == small);
    }
    auto get = get_presigned(store, "pieces/large");
    REQUIRE(get);
    CHECK(get->status == 200);
    CHECK(get->body == large);
    CHECK(get_presigned(store, "pieces/refused")->status == 404);
    CHECK(temp_count(store) == 0);
}

TEST_CASE("an empty object") {
    running_store store;
    auto put = put_presigned(store, "empty", "");
    REQUIRE(put);
    CHECK(put->status == 200);
    CHECK(put->get_header_value("ETag") == "\"d41d8cd98f00b204e9800998ecf8427e\"");
    auto get = get_presigned(store, "empty");
    REQUIRE(get);
    CHECK(get->status == 200);
    CHECK(get->body.empty());
}

TEST_CASE("Range: 206 with Content-Range, suffix ranges, 416 InvalidRange") {
    running_store store;
    const std::string body = "0123456789abcdefghij";
    REQUIRE(put_presigned(store, "range.txt", body)->status == 200);

    auto first = get_presigned(store, "range.txt", {{"Range", "bytes=2-5"}});
    REQUIRE(first);
    CHECK(first->status == 206);
    CHECK(first->body == "2345");
    CHECK(first->get_header_value("Content-Range") == "bytes 2-5/20");

    auto open_ended = get_presigned(store, "range.txt", {{"Range", "bytes=15-"}});
    CHECK(open_ended->status == 206);
    CHECK(open_ended->body == "fghij");

    auto suffix = get_presigned(store, "range.txt", {{"Range", "bytes=-3"}});
    CHECK(suffix->status == 206);
    CHECK(suffix->body == "hij");
    CHECK(suffix->get_header_value("Content-Range") == "bytes 17-19/20");

    auto past_end = get_presigned(store, "range.txt", {{"Range", "bytes=10-1000"}});
    CHECK(past_end->status == 206);
    CHECK(past_end->body == "abcdefghij");

    auto unsatisfiable = get_presigned(store, "range.txt", {{"Range", "bytes=20-30"}});
    REQUIRE(unsatisfiable);
    CHECK(unsatisfiable->status == 416);
    CHECK(error_code(unsatisfiable) == "InvalidRange");
    CHECK(unsatisfiable->get_header_value("Content-Range") == "bytes */20");
}

TEST_CASE("response-content-disposition and response-content-type are honoured on GET") {
    running_store store;
    sigv4::s3::object_options html;
    html.content_type = "text/html";
    REQUIRE(put_presigned(store, "page.html", "<b>hi</b>", html)->status == 200);
    sigv4::s3::object_options options;
    options.download_filename = "page.html";
    options.response_content_type = "application/octet-stream";
    auto get = get_presigned(store, "page.html", {}, options);
    REQUIRE(get);
    CHECK(get->status == 200);
    CHECK(get->get_header_value("Content-Disposition") ==
          sigv4::s3::attachment_disposition("page.html"));
    CHECK(get->get_header_value("Content-Type") == "application/octet-stream");

    auto plain = get_presigned(store, "page.html");
    CHECK(plain->get_header_value("Content-Type") == "text/html");
    CHECK(!plain->has_header("Content-Disposition"));
}

TEST_CASE("refused links: tampered, expired, wrong method, unknown key id, unsigned") {
    running_store store;
    REQUIRE(put_presigned(store, "secret.txt", "top secret")->status == 200);
    const auto good = presign_url(store, "GET", "secret.txt");

    SUBCASE("a changed signature") {
        std::string target = target_of(good.url);
        char& last = target.back();
        last = last == '0' ? '1' : '0';
        auto result = store.client().Get(target);
        REQUIRE(result);
        CHECK(result->status == 403);
        CHECK(error_code(result) == "SignatureDoesNotMatch");
        CHECK(result->body.find("<StringToSign>") != std::string::npos);
        CHECK(result->body.find("<CanonicalRequest>") != std::string::npos);
        CHECK(result->body.find("<RequestId>") != std::string::npos);
    }
    SUBCASE("another key in the same link") {
        std::string target = target_of(good.url);
        target.replace(target.find("secret.txt"), 10, "secret.txx");
        auto result = store.client().Get(target);
        REQUIRE(result);
        CHECK(result->status == 403);
        CHECK(error_code(result) == "SignatureDoesNotMatch");
    }
    SUBCASE("expired") {
        sigv4::s3::object_options options;
        options.signing_time = sigv4::now() - std::chrono::seconds(120);
        options.expires = std::chrono::seconds(60);
        auto result = get_presigned(store, "secret.txt", {}, options);
        REQUIRE(result);
        CHECK(result->status == 403);
        CHECK(error_code(result) == "AccessDenied");
        CHECK(result->body.find("Request has expired") != std::string::npos);
    }
    SUBCASE("a GET link used to PUT or DELETE") {
        auto put = store.client().Put(target_of(good.url), "overwritten", "text/plain");
        REQUIRE(put);
        CHECK(put->status == 403);
        CHECK(error_code(put) == "SignatureDoesNotMatch");
        auto del = store.client().Delete(target_of(good.url));
        REQUIRE(del);
        CHECK(del->status == 403);
        CHECK(error_code(del) == "SignatureDoesNotMatch");
        CHECK(get_presigned(store, "secret.txt")->body == "top secret");
    }
    SUBCASE("an unknown access key id") {
        auto other = sigv4::credentials::make("AKIDSOMEONEELSE", "whatever").value();
        auto presigned =
            sigv4::s3::presign_get(other, bucket, "secret.txt", store.endpoint()).value();
        auto result = store.client().Get(target_of(presigned.url));
        REQUIRE(result);
        CHECK(result->status == 403);
        CHECK(error_code(result) == "InvalidAccessKeyId");
    }
    SUBCASE("no signature at all") {
        auto result = store.client().Get("/presign/secret.txt");
        REQUIRE(result);
        CHECK(result->status == 403);
        CHECK(error_code(result) == "AccessDenied");
    }
}

TEST_CASE("SigV2 requests: 400 InvalidRequest saying what they are and how to switch") {
    running_store store;
    REQUIRE(put_presigned(store, "old.txt", "legacy")->status == 200);
    const auto check_refusal = [](const httplib::Result& result) {
        REQUIRE(result);
        CHECK(result->status == 400);
        CHECK(error_code(result) == "InvalidRequest");
        CHECK(result->body.find("Please use AWS4-HMAC-SHA256") != std::string::npos);
        CHECK(result->body.find("Signature Version 2") != std::string::npos);
        CHECK(result->body.find("signature_version = s3v4") != std::string::npos);
    };
    // The shape boto3 and `aws s3 presign` give in us-east-1 without signature_version = s3v4.
    const std::string sigv2_query =
        "AWSAccessKeyId=AKIDLOCALSTORETEST&Signature=k9tC%2BN6m2Ew%3D&Expires=1893456000";
    SUBCASE("a SigV2 presigned GET") {
        check_refusal(store.client().Get("/presign/old.txt?" + sigv2_query));
    }
    SUBCASE("a SigV2 presigned PUT") {
        check_refusal(store.client().Put("/presign/old.txt?" + sigv2_query, "new", "text/plain"));
        CHECK(get_presigned(store, "old.txt")->body == "legacy");
    }
    SUBCASE("Authorization: AWS id:signature") {
        check_refusal(store.client().Get("/presign/old.txt",
                                         {{"Authorization", "AWS AKIDLOCALSTORETEST:k9tC+N6m2Ew="},
                                          {"Date", "Mon, 07 Dec 2026 03:00:00 GMT"}}));
    }
    SUBCASE("not SigV2: only one of the two parameters, or a SigV4 header, keeps S3's answers") {
        auto half = store.client().Get("/presign/old.txt?Signature=abc");
        REQUIRE(half);
        CHECK(half->status == 403);
        CHECK(error_code(half) == "AccessDenied");
        auto v4 = store.client().Get("/presign/old.txt",
                                     {{"Authorization", "AWS4-HMAC-SHA256 nonsense"}});
        REQUIRE(v4);
        CHECK(v4->status == 400);
        CHECK(error_code(v4) == "AuthorizationHeaderMalformed");
    }
}

TEST_CASE("missing objects and buckets: NoSuchKey, NoSuchBucket; DELETE answers 204") {
    running_store store;
    auto missing = get_presigned(store, "nothing-here");
    REQUIRE(missing);
    CHECK(missing->status == 404);
    CHECK(error_code(missing) == "NoSuchKey");
    CHECK(missing->body.find("<Key>nothing-here</Key>") != std::string::npos);

    auto presigned =
        sigv4::s3::presign_get(test_credentials(), "no-such-bucket", "x", store.endpoint()).value();
    auto no_bucket = store.client().Get(target_of(presigned.url));
    REQUIRE(no_bucket);
    CHECK(no_bucket->status == 404);
    CHECK(error_code(no_bucket) == "NoSuchBucket");

    REQUIRE(put_presigned(store, "doomed", "bye")->status == 200);
    const auto del = presign_url(store, "DELETE", "doomed");
    auto deleted = store.client().Delete(target_of(del.url));
    REQUIRE(deleted);
    CHECK(deleted->status == 204);
    CHECK(get_presigned(store, "doomed")->status == 404);
    auto again = store.client().Delete(target_of(presign_url(store, "DELETE", "doomed").url));
    CHECK(again->status == 204);
}

TEST_CASE("a size or checksum that differs from the signed one leaves no object") {
    running_store store;
    SUBCASE("more bytes than the signed content-length") {
        sigv4::s3::object_options options;
        options.content_length = 10;
        options.content_type = "application/octet-stream";
        const auto presigned = presign_url(store, "PUT", "sized", options);
        auto result = store.client().Put(target_of(presigned.url), headers_of(presigned),
                                         std::string(11, 'x'), "application/octet-stream");
        REQUIRE(result);
        CHECK(result->status == 403);
        CHECK(error_code(result) == "SignatureDoesNotMatch");
    }
    SUBCASE("a body that does not match x-amz-checksum-sha256") {
        const std::string body = "the real body";
        const auto digest = sigv4::sha256_of("another body");
        sigv4::s3::object_options options;
        options.checksum_sha256 = sigv4::base64_encode(digest);
        auto result = put_presigned(store, "sized", body, options);
        REQUIRE(result);
        CHECK(result->status == 400);
        CHECK(error_code(result) == "BadDigest");
    }
    SUBCASE("a body that does not match x-amz-content-sha256 (header auth)") {
        signed_call call{"PUT", "/presign/sized", {}, "body one", {}};
        auto headers = sign_headers(store, call, "body two");
        auto result = store.client().Put(target_for(call), headers, call.body, "");
        REQUIRE(result);
        CHECK(result->status == 400);
        CHECK(error_code(result) == "XAmzContentSHA256Mismatch");
    }
    SUBCASE("a connection that ends before Content-Length bytes") {
        sigv4::s3::object_options options;
        options.content_length = 1000;
        options.content_type = "application/octet-stream";
        const auto presigned = presign_url(store, "PUT", "sized", options);
        std::string request =
            "PUT " + target_of(presigned.url) +
            " HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(store.port()) +
            "\r\nContent-Type: application/octet-stream\r\nContent-Length: 1000\r\n\r\n" +
            std::string(400, 'y');
        raw_exchange(store.port(), request);
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    CHECK(object_count(store) == 0);
    CHECK(temp_count(store) == 0);
    CHECK(get_presigned(store, "sized")->status == 404);
}

TEST_CASE("a matching checksum is accepted and returned") {
    running_store store;
    const std::string body = "checked body";
    sigv4::s3::object_options options;
    options.checksum_sha256 = sigv4::base64_encode(sigv4::sha256_of(body));
    auto result = put_presigned(store, "checked", body, options);
    REQUIRE(result);
    CHECK(result->status == 200);
    CHECK(result->get_header_value("x-amz-checksum-sha256") == options.checksum_sha256);
}

TEST_CASE("header-signed requests: PUT with SHA-256 and UNSIGNED-PAYLOAD, buckets, listing") {
    running_store store;
    signed_call put{"PUT", "/presign/dir/a.txt", {}, "alpha", {{"Content-Type", "text/plain"}}};
    auto put_result =
        store.client().Put(target_for(put), sign_headers(store, put, put.body), put.body, "");
    REQUIRE(put_result);
    CHECK(put_result->status == 200);

    // UNSIGNED-PAYLOAD: sign with the literal instead of the body hash.
    {
        sigv4::http_request request;
        request.method = "PUT";
        request.scheme = "http";
        request.host = "127.0.0.1:" + std::to_string(store.port());
        request.path = "/presign/dir/b.txt";
        request.body = sigv4::payload::unsigned_payload();
        auto options = sigv4::signing_options::for_s3("us-east-1");
        auto signed_request = sigv4::sign(test_credentials(), request, options);
        REQUIRE(signed_request.has_value());
        httplib::Headers headers;
        for (const auto& h : signed_request->headers) headers.emplace(h.name, h.value);
        auto result = store.client().Put("/presign/dir/b.txt", headers, "bravo", "text/plain");
        REQUIRE(result);
        CHECK(result->status == 200);
    }

    signed_call list{"GET", "/presign", {{"list-type", "2"}, {"prefix", "dir/"}}, "", {}};
    auto listed = store.client().Get(target_for(list), sign_headers(store, list, ""));
    REQUIRE(listed);
    CHECK(listed->status == 200);
    CHECK(listed->body.find("<Key>dir/a.txt</Key>") != std::string::npos);
    CHECK(listed->body.find("<Key>dir/b.txt</Key>") != std::string::npos);
    CHECK(listed->body.find("<KeyCount>2</KeyCount>") != std::string::npos);

    signed_call delimited{"GET", "/presign", {{"list-type", "2"}, {"delimiter", "/"}}, "", {}};
    auto grouped = store.client().Get(target_for(delimited), sign_headers(store, delimited, ""));
    REQUIRE(grouped);
    CHECK(grouped->body.find("<CommonPrefixes><Prefix>dir/</Prefix></CommonPrefixes>") !=
          std::string::npos);
    CHECK(grouped->body.find("<Contents>") == std::string::npos);

    signed_call create{"PUT", "/second-bucket", {}, "", {}};
    auto created = store.client().Put(target_for(create), sign_headers(store, create, ""), "", "");
    REQUIRE(created);
    CHECK(created->status == 200);
    signed_call head{"HEAD", "/second-bucket", {}, "", {}};
    auto headed = store.client().Head(target_for(head), sign_headers(store, head, ""));
    REQUIRE(headed);
    CHECK(headed->status == 200);
    signed_call head_missing{"HEAD", "/missing-bucket", {}, "", {}};
    auto missing =
        store.client().Head(target_for(head_missing), sign_headers(store, head_missing, ""));
    REQUIRE(missing);
    CHECK(missing->status == 404);

    signed_call post{"POST", "/presign/dir/a.txt", {}, "", {}};
    auto posted = store.client().Post(target_for(post), sign_headers(store, post, ""), "", "");
    REQUIRE(posted);
    CHECK(posted->status == 405);
    CHECK(error_code(posted) == "MethodNotAllowed");

    signed_call streaming{"PUT", "/presign/dir/c.txt", {}, "", {}};
    {
        sigv4::http_request request;
        request.method = "PUT";
        request.scheme = "http";
        request.host = "127.0.0.1:" + std::to_string(store.port());
        request.path = "/presign/dir/c.txt";
        request.headers = {{"x-amz-decoded-content-length", "5"}};
        request.body = sigv4::payload::from_hash("STREAMING-AWS4-HMAC-SHA256-PAYLOAD");
        auto options = sigv4::signing_options::for_s3("us-east-1");
        auto signed_request = sigv4::sign(test_credentials(), request, options);
        if (signed_request) {
            httplib::Headers headers{{"x-amz-decoded-content-length", "5"}};
            for (const auto& h : signed_request->headers) headers.emplace(h.name, h.value);
            auto result = store.client().Put("/presign/dir/c.txt", headers, "chunk", "text/plain");
            REQUIRE(result);
            CHECK(result->status >= 400);
            CHECK(get_presigned(store, "dir/c.txt")->status == 404);
        }
    }
}

TEST_CASE("CORS: preflight for the page's origin, refused for others, ETag exposed") {
    running_store store;
    auto client = store.client();
    httplib::Headers preflight{
        {"Origin", "http://127.0.0.1:8080"},
        {"Access-Control-Request-Method", "PUT"},
        {"Access-Control-Request-Headers", "content-type,x-amz-checksum-sha256"}};
    auto allowed = client.Options("/presign/some/key", preflight);
    REQUIRE(allowed);
    CHECK(allowed->status == 200);
    CHECK(allowed->get_header_value("Access-Control-Allow-Origin") == "http://127.0.0.1:8080");
    CHECK(allowed->get_header_value("Access-Control-Allow-Headers") ==
          "content-type,x-amz-checksum-sha256");
    CHECK(allowed->get_header_value("Access-Control-Allow-Methods").find("PUT") !=
          std::string::npos);

    httplib::Headers evil{{"Origin", "http://evil.example"},
                          {"Access-Control-Request-Method", "PUT"}};
    auto refused = client.Options("/presign/some/key", evil);
    REQUIRE(refused);
    CHECK(refused->status == 403);
    CHECK(!refused->has_header("Access-Control-Allow-Origin"));

    REQUIRE(put_presigned(store, "cors", "x")->status == 200);
    auto get = get_presigned(store, "cors", {{"Origin", "http://127.0.0.1:8080"}});
    REQUIRE(get);
    CHECK(get->get_header_value("Access-Control-Allow-Origin") == "http://127.0.0.1:8080");
    CHECK(get->get_header_value("Access-Control-Expose-Headers").find("ETag") != std::string::npos);
    auto error = get_presigned(store, "missing", {{"Origin", "http://127.0.0.1:8080"}});
    CHECK(error->status == 404);
    CHECK(error->get_header_value("Access-Control-Allow-Origin") == "http://127.0.0.1:8080");
}

TEST_CASE("keys never name a file outside the data directory") {
    running_store store;
    const auto before = files_under(store.parent());
    struct key_case {
        std::string key;
        int put_status;
        const char* code;
    };
    const std::vector<key_case> table = {
        {"../escape", 200, ""},
        {"../../../../../../tmp/escape", 200, ""},
        {"%2e%2e/%2e%2e/escape", 200, ""},
        {"..\\..\\escape", 200, ""},
        {"/absolute/escape", 200, ""},
        {"a/./b/../c", 200, ""},
        {"dir/", 200, ""},
        {"..", 200, ""},
        {std::string("nul\0inside", 10), 0, ""},
        {std::string(1024, 'k'), 200, ""},
        {std::string(1025, 'k'), 400, "KeyTooLongError"},
        {std::string(300, '.') + "/" + std::string(300, '.'), 200, ""},
    };
    for (std::size_t i = 0; i < table.size(); ++i) {
        const auto& row = table[i];
        CAPTURE(row.key);
        const std::string body = "body " + std::to_string(i);
        // Presign what the library accepts; sign the rest in the header so the request arrives.
        sigv4::s3::object_options options;
        options.content_type = "text/plain";
        options.content_length = body.size();
        auto presigned = sigv4::s3::presign_object(test_credentials(), "PUT", bucket, row.key,
                                                   store.endpoint(), options);
        auto result = [&] {
            if (presigned) {
                return store.client().Put(target_of(presigned->url), headers_of(*presigned), body,
                                          "text/plain");
            }
            signed_call call{
                "PUT", "/presign/" + row.key, {}, body, {{"Content-Type", "text/plain"}}};
            sigv4::http_request request;
            request.method = "PUT";
            request.scheme = "http";
            request.host = "127.0.0.1:" + std::to_string(store.port());
            request.path = call.path;
            request.headers = call.headers;
            request.body = sigv4::payload::from_body(body);
            auto signed_request = sigv4::s3::sign_request(test_credentials(), request, "us-east-1");
            httplib::Headers headers{{"Content-Type", "text/plain"}};
            // The library will not sign a NUL in a path: that one goes unsigned.
            if (signed_request) {
                for (const auto& h : signed_request->headers) headers.emplace(h.name, h.value);
            }
            return store.client().Put(target_for(call), headers, body, "");
        }();
        REQUIRE(result);
        if (row.put_status == 0) {
            CHECK(result->status >= 400);
            CHECK(result->status < 500);
            continue;
        }
        CHECK(result->status == row.put_status);
        if (row.put_status == 200) {
            auto get = get_presigned(store, row.key);
            REQUIRE(get);
            CHECK(get->status == 200);
            CHECK(get->body == body);
        } else {
            CHECK(error_code(result) == row.code);
        }
    }
    // Every new file is inside data/, and every object file there has a hashed name.
    for (const auto& file : files_under(store.parent())) {
        if (before.count(file) != 0) continue;
        CAPTURE(file);
        CHECK(file.rfind("data/", 0) == 0);
        const auto name = fs::path(file).filename().string();
        if (fs::path(file).parent_path().filename() == "objects") {
            CHECK(name.size() >= 64);
            CHECK(name.find_first_not_of("0123456789abcdef.metadt") == std::string::npos);
        }
    }
    CHECK(!fs::exists("/tmp/escape"));
    CHECK(!fs::exists(store.parent() / "escape"));
    CHECK(!fs::exists(store.data() / "escape"));
}

TEST_CASE("raw request targets with dot segments are keys, not paths") {
    running_store store;
    signed_call call{"PUT", "/presign/../../outside", {}, "raw", {}};
    auto headers = sign_headers(store, call, call.body);
    std::string request =
        "PUT /presign/../../outside HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(store.port()) +
        "\r\nContent-Length: 3\r\nConnection: close\r\n";
    for (const auto& [name, value] : headers) request += name + ": " + value + "\r\n";
    request += "\r\nraw";
    const std::string answer = raw_exchange(store.port(), request, false);
    CHECK(answer.rfind("HTTP/1.1 200", 0) == 0);
    CHECK(!fs::exists(store.parent() / "outside"));
    CHECK(!fs::exists(store.data() / "outside"));
    auto get = get_presigned(store, "../../outside");
    REQUIRE(get);
    CHECK(get->body == "raw");
}

TEST_CASE("32 concurrent uploads: none lost or mixed up") {
    running_store store;
    constexpr int uploads = 32;
    std::vector<std::string> bodies;
    for (int i = 0; i < uploads; ++i)
        bodies.push_back(random_bytes((1 << 20) + static_cast<std::size_t>(i) * 977,
                                      100u + static_cast<unsigned>(i)));
    std::vector<int> statuses(uploads, 0);
    std::vector<std::thread> threads;
    std::atomic<int> ready{0};
    for (int i = 0; i < uploads; ++i) {
        threads.emplace_back([&, i] {
            const std::string key = "concurrent/" + std::to_string(i);
            sigv4::s3::object_options options;
            options.content_length = bodies[i].size();
            options.content_type = "application/octet-stream";
            auto presigned =
                sigv4::s3::presign_put(test_credentials(), bucket, key, store.endpoint(), options);
            if (!presigned) return;
            ready.fetch_add(1);
            while (ready.load() < uploads) std::this_thread::yield();
            auto client = store.client();
            auto result = client.Put(target_of(presigned->url), headers_of(*presigned), bodies[i],
                                     "application/octet-stream");
            statuses[i] = result ? result->status : -100 - static_cast<int>(result.error());
        });
    }
    for (auto& t : threads) t.join();
    for (int i = 0; i < uploads; ++i) {
        CAPTURE(i);
        CHECK(statuses[i] == 200);
        auto get = get_presigned(store, "concurrent/" + std::to_string(i));
        REQUIRE(get);
        CHECK(get->status == 200);
        CHECK(get->body == bodies[i]);
    }
    CHECK(object_count(store) == uploads);
    CHECK(temp_count(store) == 0);
}

TEST_CASE("concurrent PUTs of one key leave exactly one whole version") {
    running_store store;
    constexpr int writers = 8;
    std::vector<std::string> bodies;
    for (int i = 0; i < writers; ++i)
        bodies.push_back(std::string(256 << 10, static_cast<char>('a' + i)));
    std::vector<std::thread> threads;
    for (int i = 0; i < writers; ++i) {
        threads.emplace_back([&, i] { (void)put_presigned(store, "contended", bodies[i]); });
    }
    for (auto& t : threads) t.join();
    auto get = get_presigned(store, "contended");
    REQUIRE(get);
    CHECK(get->status == 200);
    CHECK(std::find(bodies.begin(), bodies.end(), get->body) != bodies.end());
    std::size_t data_files = 0;
    for (const auto& entry :
         fs::directory_iterator(store.data() / "buckets" / bucket / "objects")) {
        if (entry.path().extension() == ".data") ++data_files;
    }
    CHECK(data_files == 1);
}

namespace {

/// Sends the heads of `count` presigned PUTs of `key` (each signed with `options` plus its own
/// length), waits until the store has seen them all, then their bodies: every precondition
/// checked at the head passes, so only a check made at the commit can refuse the losers.
/// Returns each request's answer.
std::vector<std::string> racing_puts(const running_store& store, std::string_view key, int count,
                                     sigv4::s3::object_options options,
                                     const std::string& extra_headers) {
    std::vector<int> sockets;
    std::vector<std::string> bodies;
    for (int i = 0; i < count; ++i) {
        bodies.push_back(std::string(64 << 10, static_cast<char>('A' + i)));
        options.content_length = bodies.back().size();
        const auto presigned = presign_url(store, "PUT", key, options);
        const int fd = connect_loopback(store.port(), 20);
        const std::string head = "PUT " + target_of(presigned.url) +
                                 " HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(store.port()) +
                                 "\r\nContent-Length: " + std::to_string(bodies.back().size()) +
                                 "\r\n" + extra_headers + "Connection: close\r\n\r\n";
        send_all(fd, head);
        sockets.push_back(fd);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    std::vector<std::thread> senders;
    for (int i = 0; i < count; ++i) {
        senders.emplace_back([fd = sockets[i], &body = bodies[i]] { send_all(fd, body); });
    }
    for (auto& sender : senders) sender.join();
    std::vector<std::string> answers;
    for (const int fd : sockets) answers.push_back(read_until_close(fd));
    return answers;
}

std::size_t count_status(const std::vector<std::string>& answers, std::string_view status_line) {
    return static_cast<std::size_t>(
        std::count_if(answers.begin(), answers.end(),
                      [&](const std::string& answer) { return answer.starts_with(status_line); }));
}

}  // namespace

TEST_CASE(
    "conditional PUTs racing for one key: the condition is decided at the commit, exactly one "
    "wins") {
    running_store store;
    constexpr int writers = 12;
    sigv4::s3::object_options create_only;
    create_only.if_none_match_any = true;
    SUBCASE("If-None-Match: * on an absent key") {
        const auto answers =
            racing_puts(store, "race/create", writers, create_only, "If-None-Match: *\r\n");
        CHECK(count_status(answers, "HTTP/1.1 200 ") == 1);
        CHECK(count_status(answers, "HTTP/1.1 412 ") == writers - 1);
        for (const auto& answer : answers) {
            if (answer.starts_with("HTTP/1.1 412 ")) {
                CHECK(answer.find("<Code>PreconditionFailed</Code>") != std::string::npos);
                CHECK(answer.find("<Condition>If-None-Match</Condition>") != std::string::npos);
            }
        }
        auto get = get_presigned(store, "race/create");
        REQUIRE(get);
        CHECK(get->status == 200);
        CHECK(get->body.size() == 64u << 10);
        CHECK(get->body.find_first_not_of(get->body.front()) ==
              std::string::npos);  // one writer's bytes
    }
    SUBCASE("If-Match with the current ETag") {
        auto first = put_presigned(store, "race/swap", "original");
        REQUIRE(first);
        REQUIRE(first->status == 200);
        const std::string etag = first->get_header_value("ETag");
        sigv4::s3::object_options swap;
        swap.extra_headers = {{"If-Match", etag}};
        const auto answers =
            racing_puts(store, "race/swap", writers, swap, "If-Match: " + etag + "\r\n");
        CHECK(count_status(answers, "HTTP/1.1 200 ") == 1);
        CHECK(count_status(answers, "HTTP/1.1 412 ") == writers - 1);
        auto get = get_presigned(store, "race/swap");
        REQUIRE(get);
        CHECK(get->body.size() == 64u << 10);
    }
    std::size_t data_files = 0;
    for (const auto& entry :
         fs::directory_iterator(store.data() / "buckets" / bucket / "objects")) {
        if (entry.path().extension() == ".data") ++data_files;
    }
    CHECK(data_files == 1);  // the losers' bytes are gone
    CHECK(temp_count(store) == 0);
}

// ---- large uploads: hashing and writing on worker threads ---------------------------------

namespace {

/// Threads of this process (the store runs in it): a finished upload's workers are gone.
std::size_t thread_count() {
    std::size_t count = 0;
    for ([[maybe_unused]] const auto& entry : fs::directory_iterator("/proc/self/task")) ++count;
    return count;
}

/// Waits (at most 10 s) until `done()` holds.
template <class Condition>
bool eventually(Condition done) {
    for (int i = 0; i < 1000; ++i) {
        if (done()) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return done();
}

std::string md5_hex(const std::string& data) {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int size = 0;
    REQUIRE(EVP_Digest(data.data(), data.size(), digest, &size, EVP_md5(), nullptr) == 1);
    return sigv4::hex_encode(std::span<const unsigned char>(digest, size));
}

std::string md5_base64(const std::string& data) {
    const auto hex = md5_hex(data);
    std::vector<unsigned char> bytes;
    for (std::size_t i = 0; i < hex.size(); i += 2) {
        bytes.push_back(static_cast<unsigned char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
    }
    return sigv4::base64_encode(bytes);
}

/// Lowers this process's file size limit (writes beyond fail with EFBIG) until destroyed.
class file_size_limit {
  public:
    explicit file_size_limit(rlim_t bytes) {
        ::signal(SIGXFSZ, SIG_IGN);
        REQUIRE(::getrlimit(RLIMIT_FSIZE, &saved_) == 0);
        rlimit lowered = saved_;
        lowered.rlim_cur = bytes;
        REQUIRE(::setrlimit(RLIMIT_FSIZE, &lowered) == 0);
    }
    ~file_size_limit() { ::setrlimit(RLIMIT_FSIZE, &saved_); }
    file_size_limit(const file_size_limit&) = delete;
    file_size_limit& operator=(const file_size_limit&) = delete;

  private:
    rlimit saved_{};
};

}  // namespace

TEST_CASE("large uploads: ETag is the MD5, checksums checked, sizes around the buffer edges") {
    running_store store;
    const std::size_t sizes[] = {(256u << 10) - 1, 256u << 10, (256u << 10) + 1, 1u << 20,
                                 (5u << 20) + 12345};
    unsigned seed = 500;
    for (const std::size_t size : sizes) {
        CAPTURE(size);
        const std::string body = random_bytes(size, seed++);
        sigv4::s3::object_options options;
        options.checksum_sha256 = sigv4::base64_encode(sigv4::sha256_of(body));
        const std::string key = "edge/" + std::to_string(size);
        auto put = put_presigned(store, key, body, options);
        REQUIRE(put);
        CHECK(put->status == 200);
        CHECK(put->get_header_value("ETag") == "\"" + md5_hex(body) + "\"");
        auto get = get_presigned(store, key);
        REQUIRE(get);
        CHECK(get->status == 200);
        CHECK(get->body == body);
    }
    CHECK(temp_count(store) == 0);
}

TEST_CASE("large uploads: a wrong checksum or Content-MD5 leaves no object") {
    running_store store;
    const std::string body = random_bytes((3u << 20) + 7, 77);
    SUBCASE("x-amz-checksum-sha256 of other bytes") {
        sigv4::s3::object_options options;
        options.checksum_sha256 = sigv4::base64_encode(sigv4::sha256_of(body + "x"));
        auto put = put_presigned(store, "big", body, options);
        REQUIRE(put);
        CHECK(put->status == 400);
        CHECK(error_code(put) == "BadDigest");
    }
    SUBCASE("Content-MD5 of other bytes") {
        sigv4::s3::object_options options;
        options.content_length = body.size();
        options.content_type = "application/octet-stream";
        const auto presigned = presign_url(store, "PUT", "big", options);
        auto headers = headers_of(presigned);
        headers.emplace("Content-MD5", md5_base64(body + "x"));
        auto put =
            store.client().Put(target_of(presigned.url), headers, body, "application/octet-stream");
        REQUIRE(put);
        CHECK(put->status == 400);
        CHECK(error_code(put) == "BadDigest");
    }
    CHECK(object_count(store) == 0);
    CHECK(temp_count(store) == 0);
    CHECK(get_presigned(store, "big")->status == 404);
}

TEST_CASE("an aborted large upload leaves no temporary file and its workers exit") {
    running_store store;
    REQUIRE(put_presigned(store, "warm-up", "x")->status == 200);  // the thread pool runs
    const std::size_t threads_before = thread_count();
    sigv4::s3::object_options options;
    options.content_length = 8u << 20;
    options.content_type = "application/octet-stream";
    const auto presigned = presign_url(store, "PUT", "aborted", options);
    const int fd = connect_loopback(store.port());
    const std::string request = "PUT " + target_of(presigned.url) +
                                " HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(store.port()) +
                                "\r\nContent-Type: application/octet-stream\r\nContent-Length: " +
                                std::to_string(8u << 20) + "\r\n\r\n" + random_bytes(3u << 20, 9);
    send_all(fd, request);
    // The worker has started once the temporary file holds more than one buffer.
    CHECK(eventually([&] {
        for (const auto& entry :
             fs::directory_iterator(store.data() / "buckets" / bucket / "tmp")) {
            if (entry.file_size() >= (1u << 20)) return true;
        }
        return false;
    }));
    CHECK(thread_count() == threads_before + 2);  // its hashing and writing workers
    ::close(fd);
    CHECK(eventually([&] { return temp_count(store) == 0; }));
    CHECK(eventually([&] { return thread_count() == threads_before; }));
    CHECK(object_count(store) == 1);
}

TEST_CASE("a disk error met by a large upload's worker: 500 InternalError, no object, no file") {
    running_store store;
    REQUIRE(put_presigned(store, "warm-up", "x")->status == 200);  // the thread pool runs
    const std::size_t threads_before = thread_count();
    const std::string body = random_bytes(4u << 20, 11);
    auto put = [&] {
        file_size_limit limit(1u << 20);  // writes past 1 MiB fail with EFBIG
        return put_presigned(store, "too-big-for-disk", body);
    }();
    REQUIRE(put);
    CHECK(put->status == 500);
    CHECK(error_code(put) == "InternalError");
    CHECK(object_count(store) == 1);
    CHECK(temp_count(store) == 0);
    CHECK(eventually([&] { return thread_count() == threads_before; }));
    // The store still works afterwards, on the same connection pool.
    auto again = put_presigned(store, "too-big-for-disk", body);
    REQUIRE(again);
    CHECK(again->status == 200);
}

TEST_CASE("an object survives a restart of the store") {
    const fs::path parent = make_temp_dir();
    {
        s3_server_options options;
        options.data_dir = parent;
        presign::local::object_store first(parent);
        REQUIRE(first.create_bucket("presign").has_value());
        auto upload = first.begin_upload("presign", "kept", "text/plain", {});
        REQUIRE(upload.has_value());
        REQUIRE(upload->write("kept bytes", 10).has_value());
        presign::local::upload_expectations expect;
        expect.content_length = 10;
        REQUIRE(upload->commit(expect).has_value());
    }
    presign::local::object_store second(parent);
    auto opened = second.open("presign", "kept");
    REQUIRE(opened.has_value());
    char buffer[16] = {};
    CHECK(opened->read_at(0, buffer, sizeof buffer) == 10);
    CHECK(std::string(buffer, 10) == "kept bytes");
    CHECK(opened->info().content_type == "text/plain");
    fs::remove_all(parent);
}

namespace {

std::string raw_get(const running_store& store, std::string_view key, std::string_view extra = "") {
    return "GET " + target_of(presign_url(store, "GET", key).url) +
           " HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(store.port()) + "\r\n" +
           std::string(extra) + "\r\n";
}

/// Reads from `fd` in reads of at most `block` bytes, pausing after each, until the connection
/// ends (or the read timeout); closes `fd`.
std::string read_slowly_until_close(int fd, std::size_t block, std::chrono::milliseconds pause) {
    std::string answer;
    std::vector<char> buffer(block);
    for (ssize_t n; (n = ::recv(fd, buffer.data(), buffer.size(), 0)) > 0;) {
        answer.append(buffer.data(), static_cast<std::size_t>(n));
        std::this_thread::sleep_for(pause);
    }
    ::close(fd);
    return answer;
}

/// A GET of `key` read in small pieces with pauses (the socket fills and the server waits for it
/// many times) ends with exactly `body`.
void check_slow_reader_gets(const running_store& store, std::string_view key,
                            const std::string& body) {
    const int fd = connect_loopback(store.port());
    send_all(fd, raw_get(store, key, "Connection: close\r\n"));
    const std::string answer =
        read_slowly_until_close(fd, 256u << 10, std::chrono::milliseconds(2));
    REQUIRE(answer.size() > body.size());
    CHECK(answer.compare(answer.size() - body.size(), body.size(), body) == 0);
}

/// The data file of the store's only large object.
fs::path only_data_file(const running_store& store) {
    fs::path found;
    for (const auto& entry :
         fs::directory_iterator(store.data() / "buckets" / bucket / "objects")) {
        if (entry.path().extension() != ".meta" && entry.file_size() > 1000) found = entry.path();
    }
    REQUIRE(!found.empty());
    return found;
}

}  // namespace

TEST_CASE(
    "GET bodies sent from the file (sendfile): ranges, pipelined, slow readers, short files, "
    "stalled readers") {
    // The store hands a GET's file to the HTTP layer, which sends it with sendfile(2) and waits
    // for the socket when it is full.
    presign::http::limits deadlines;
    deadlines.write_timeout = std::chrono::milliseconds(700);
    running_store store(deadlines);
    const std::string body = random_bytes((6u << 20) + 321, 61);
    REQUIRE(put_presigned(store, "big.bin", body)->status == 200);

    SUBCASE("whole, ranged, HEAD and an empty object, pipelined on one connection") {
        REQUIRE(put_presigned(store, "empty", "")->status == 200);
        const std::string head_target = target_of(presign_url(store, "HEAD", "big.bin").url);
        const std::string requests =
            raw_get(store, "big.bin") +
            raw_get(store, "big.bin", "Range: bytes=1000000-5000000\r\n") + "HEAD " + head_target +
            " HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(store.port()) + "\r\n\r\n" +
            raw_get(store, "empty") +
            raw_get(store, "big.bin", "Range: bytes=-7\r\nConnection: close\r\n");
        const std::string answers = raw_exchange(store.port(), requests);
        std::size_t at = 0;
        auto next = [&](int status, std::string_view expected_body, bool head = false) {
            CAPTURE(status);
            REQUIRE(answers.compare(at, 12, "HTTP/1.1 " + std::to_string(status)) == 0);
            const auto head_end = answers.find("\r\n\r\n", at);
            REQUIRE(head_end != std::string::npos);
            const std::string fields = answers.substr(at, head_end - at);
            const auto length_at = fields.find("Content-Length: ");
            REQUIRE(length_at != std::string::npos);
            const std::size_t length = std::stoul(fields.substr(length_at + 16));
            CHECK(length == (head ? body.size() : expected_body.size()));
            const std::size_t sent = head ? 0 : length;
            CHECK(answers.compare(head_end + 4, sent, expected_body) == 0);
            at = head_end + 4 + sent;
        };
        next(200, body);
        next(206, std::string_view(body).substr(1000000, 4000001));
        next(200, "", true);
        next(200, "");
        next(206, std::string_view(body).substr(body.size() - 7));
        CHECK(at == answers.size());
    }
    SUBCASE("a slow reader gets every byte") {
        check_slow_reader_gets(store, "big.bin", body);
    }
    SUBCASE("a data file shorter than its metadata: the connection closes short, not padded") {
        fs::resize_file(only_data_file(store), 4u << 20);
        const std::string answer = raw_exchange(store.port(), raw_get(store, "big.bin"), false);
        CHECK(answer.starts_with("HTTP/1.1 200"));
        CHECK(answer.find("Content-Length: " + std::to_string(body.size()) + "\r\n") !=
              std::string::npos);
        const auto head_end = answer.find("\r\n\r\n");
        REQUIRE(head_end != std::string::npos);
        CHECK(answer.size() - head_end - 4 == (4u << 20));
        CHECK(answer.compare(head_end + 4, 4u << 20, body, 0, 4u << 20) == 0);
    }
    SUBCASE("a reader that stops reading is dropped after the write deadline") {
        const int fd = connect_loopback(store.port());
        send_all(fd, raw_get(store, "big.bin"));
        int small_buffer = 64 << 10;
        ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small_buffer, sizeof small_buffer);
        std::this_thread::sleep_for(std::chrono::milliseconds(2500));  // > write_timeout
        const std::string answer = read_until_close(fd);
        CHECK(answer.starts_with("HTTP/1.1 200"));
        CHECK(answer.size() < body.size());  // closed mid-body, not kept waiting
    }
    // The store still answers.
    auto again = get_presigned(store, "big.bin", {{"Range", "bytes=0-9"}});
    REQUIRE(again);
    CHECK(again->status == 206);
}

TEST_CASE(
    "a multipart object's GET goes out from its part files (sendfile per part): whole, ranges "
    "across parts, short part") {
    presign::http::limits deadlines;
    deadlines.write_timeout = std::chrono::milliseconds(700);
    running_store store(deadlines);
    // The parts are stored through a second store on the same directory (as a restarted serve
    // would find them), then read over HTTP.
    const std::string body = random_bytes((5u << 20) + 77 + (5u << 20) + 4099 + 513, 67);
    const std::size_t sizes[] = {(5u << 20) + 77, (5u << 20) + 4099, 513};
    {
        presign::local::object_store direct(store.data());
        auto id = direct.create_multipart(bucket, "parts.bin", "application/octet-stream", {});
        REQUIRE(id);
        std::vector<presign::local::object_store::completed_part> parts;
        std::size_t at = 0;
        for (int number = 1; number <= 3; ++number) {
            const std::size_t size = sizes[number - 1];
            auto part = direct.begin_part(bucket, "parts.bin", *id, number);
            REQUIRE(part);
            REQUIRE(part->write(body.data() + at, size));
            presign::local::upload_expectations expect;
            expect.content_length = size;
            auto stored = part->commit(expect);
            REQUIRE(stored);
            parts.push_back({number, stored->etag});
            at += size;
        }
        REQUIRE(direct.complete_multipart(bucket, "parts.bin", *id, parts));
    }
    const std::size_t boundary = sizes[0], second_end = sizes[0] + sizes[1];

    SUBCASE("whole and ranged, pipelined on one connection") {
        const std::string requests =
            raw_get(store, "parts.bin") +
            raw_get(store, "parts.bin",
                    "Range: bytes=" + std::to_string(boundary - 5) + "-" +
                        std::to_string(boundary + 4) + "\r\n") +
            raw_get(store, "parts.bin",
                    "Range: bytes=" + std::to_string(boundary + 10) + "-" +
                        std::to_string(second_end + 9) + "\r\n") +
            raw_get(store, "parts.bin",
                    "Range: bytes=100-" + std::to_string(second_end + 100) + "\r\n") +
            raw_get(store, "parts.bin", "Range: bytes=-600\r\nConnection: close\r\n");
        const std::string answers = raw_exchange(store.port(), requests);
        std::size_t at = 0;
        auto next = [&](int status, std::string_view expected_body) {
            CAPTURE(status);
            REQUIRE(answers.compare(at, 12, "HTTP/1.1 " + std::to_string(status)) == 0);
            const auto head_end = answers.find("\r\n\r\n", at);
            REQUIRE(head_end != std::string::npos);
            const std::string fields = answers.substr(at, head_end - at);
            CHECK(fields.find("ETag: \"") != std::string::npos);
            CHECK(fields.find("-3\"") != std::string::npos);
            const auto length_at = fields.find("Content-Length: ");
            REQUIRE(length_at != std::string::npos);
            CHECK(std::stoul(fields.substr(length_at + 16)) == expected_body.size());
            CHECK(answers.compare(head_end + 4, expected_body.size(), expected_body) == 0);
            at = head_end + 4 + expected_body.size();
        };
        const std::string_view all(body);
        next(200, all);
        next(206, all.substr(boundary - 5, 10));
        next(206, all.substr(boundary + 10, sizes[1]));
        next(206, all.substr(100, second_end + 1));
        next(206, all.substr(body.size() - 600));
        CHECK(at == answers.size());
    }
    SUBCASE("a slow reader gets every byte") {
        check_slow_reader_gets(store, "parts.bin", body);
    }
    SUBCASE("a part file shorter than recorded: the connection closes short, not padded") {
        fs::path first_part;
        for (const auto& entry :
             fs::directory_iterator(store.data() / "buckets" / bucket / "objects")) {
            if (entry.path().filename().string().ends_with(".1.data")) first_part = entry.path();
        }
        REQUIRE(!first_part.empty());
        fs::resize_file(first_part, 1u << 20);
        const std::string answer = raw_exchange(store.port(), raw_get(store, "parts.bin"), false);
        CHECK(answer.starts_with("HTTP/1.1 200"));
        const auto head_end = answer.find("\r\n\r\n");
        REQUIRE(head_end != std::string::npos);
        CHECK(answer.size() - head_end - 4 == (1u << 20));
        CHECK(answer.compare(head_end + 4, 1u << 20, body, 0, 1u << 20) == 0);
    }
}
