// SPDX-License-Identifier: Apache-2.0
// The Runtime API client and loop against an in-test Runtime API on 127.0.0.1.
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "fake_runtime_api.hpp"
#include "presign/lambda/runtime.hpp"

using nlohmann::json;
using presign::testing::fake_runtime_api;
namespace lambda = presign::lambda;

namespace {

lambda::loop_options stop_after(std::uint64_t invocations,
                                std::vector<std::string>* log = nullptr) {
    lambda::loop_options options;
    options.max_invocations = invocations;
    options.max_next_failures = 1;
    options.log = [log](std::string_view line) {
        if (log) log->emplace_back(line);
    };
    return options;
}

}  // namespace

TEST_CASE("runtime: next, handler, response; invocation headers and trace id") {
    fake_runtime_api api;
    auto deadline_ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(
            (std::chrono::system_clock::now() + std::chrono::seconds(30)).time_since_epoch())
            .count();
    api.push({"req-1",
              R"({"hello":"world"})",
              {{"Lambda-Runtime-Deadline-Ms", std::to_string(deadline_ms)},
               {"Lambda-Runtime-Trace-Id",
                "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"},
               {"Lambda-Runtime-Invoked-Function-Arn",
                "arn:aws:lambda:us-east-1:123456789012:function:presign"}}});

    lambda::runtime_client client(api.address());
    std::optional<lambda::invocation> seen;
    std::string trace_env;
    int rc = lambda::run(
        client,
        [&](const lambda::invocation& inv) {
            seen = inv;
            const char* trace = std::getenv("_X_AMZN_TRACE_ID");
            trace_env = trace ? trace : "";
            return std::string(R"({"statusCode":200})");
        },
        stop_after(1));
    CHECK(rc == 0);
    REQUIRE(seen.has_value());
    CHECK(seen->request_id == "req-1");
    CHECK(seen->payload == R"({"hello":"world"})");
    CHECK(seen->function_arn == "arn:aws:lambda:us-east-1:123456789012:function:presign");
    CHECK(trace_env ==
          "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1");
    REQUIRE(seen->deadline.has_value());
    CHECK(std::chrono::duration_cast<std::chrono::milliseconds>(seen->deadline->time_since_epoch())
              .count() == deadline_ms);
    CHECK(seen->remaining() > std::chrono::seconds(20));
    CHECK(seen->remaining() <= std::chrono::seconds(30));

    REQUIRE(api.wait_for_posts(1));
    auto posts = api.posts();
    REQUIRE(posts.size() == 1);
    CHECK(posts[0].kind == "response");
    CHECK(posts[0].request_id == "req-1");
    CHECK(posts[0].body == R"({"statusCode":200})");
}

TEST_CASE("runtime: header names are matched case-insensitively; only the request id is required") {
    fake_runtime_api api;
    api.push({"",
              "{}",
              {{"lambda-runtime-aws-request-id", "lower-1"},
               {"LAMBDA-RUNTIME-DEADLINE-MS", "1700000000000"},
               {"lambda-runtime-trace-id", "Root=1-abc"}}});
    api.push({"",
              "{}",
              {{"LaMbDa-RuNtImE-AwS-ReQuEsT-Id", "mixed-2"},
               {"Lambda-Runtime-Deadline-Ms", "99999999999999999"}}});
    lambda::runtime_client client(api.address());
    std::vector<lambda::invocation> seen;
    std::vector<std::string> traces;
    int rc = lambda::run(
        client,
        [&](const lambda::invocation& inv) {
            seen.push_back(inv);
            const char* trace = std::getenv("_X_AMZN_TRACE_ID");
            traces.emplace_back(trace ? trace : "(unset)");
            return std::string("{}");
        },
        stop_after(2));
    CHECK(rc == 0);
    REQUIRE(seen.size() == 2);
    CHECK(seen[0].request_id == "lower-1");
    REQUIRE(seen[0].deadline.has_value());
    CHECK(
        std::chrono::duration_cast<std::chrono::milliseconds>(seen[0].deadline->time_since_epoch())
            .count() == 1700000000000);
    CHECK(seen[0].remaining() == std::chrono::milliseconds(0));  // long past
    CHECK(traces[0] == "Root=1-abc");
    CHECK(seen[1].request_id == "mixed-2");
    CHECK_FALSE(seen[1].deadline.has_value());  // beyond what the clock can hold: ignored
    CHECK(traces[1] == "(unset)");  // no trace header: the previous one does not leak over
    REQUIRE(api.wait_for_posts(2));
    auto posts = api.posts();
    CHECK(posts[0].request_id == "lower-1");
    CHECK(posts[1].request_id == "mixed-2");
}

TEST_CASE("runtime: a handler exception becomes an error post and the loop goes on") {
    fake_runtime_api api;
    api.push({"boom-1", "{}", {}});
    api.push({"int-2", "{}", {}});
    api.push({"fine-3", "{}", {}});
    lambda::runtime_client client(api.address());
    int calls = 0;
    int rc = lambda::run(
        client,
        [&](const lambda::invocation& inv) -> std::string {
            ++calls;
            if (inv.request_id == "boom-1") throw std::runtime_error("handler exploded");
            if (inv.request_id == "int-2") throw 42;
            return "{\"ok\":true}";
        },
        stop_after(3));
    CHECK(rc == 0);
    CHECK(calls == 3);
    REQUIRE(api.wait_for_posts(3));
    auto posts = api.posts();
    REQUIRE(posts.size() == 3);
    CHECK(posts[0].kind == "error");
    CHECK(posts[0].request_id == "boom-1");
    CHECK(posts[0].error_type == "Handler.Exception");
    auto doc = json::parse(posts[0].body);
    CHECK(doc["errorMessage"] == "handler exploded");
    CHECK(doc["errorType"] == "Handler.Exception");
    CHECK(doc["stackTrace"] == json::array());
    CHECK(posts[1].kind == "error");
    CHECK(posts[1].request_id == "int-2");
    CHECK(json::parse(posts[1].body)["errorType"] == "Handler.Exception");
    CHECK(posts[2].kind == "response");
    CHECK(posts[2].request_id == "fine-3");
    CHECK(posts[2].body == "{\"ok\":true}");
}

TEST_CASE("runtime: a response refused with 413 becomes an error post and the loop goes on") {
    fake_runtime_api api;
    api.push({"big-1", "{}", {}});
    api.push({"small-2", "{}", {}});
    api.refuse_response_as_too_large("big-1");
    lambda::runtime_client client(api.address());
    std::vector<std::string> log;
    int rc = lambda::run(
        client,
        [&](const lambda::invocation& inv) {
            return inv.request_id == "big-1" ? std::string(7 << 20, 'x') : std::string("{}");
        },
        stop_after(2, &log));
    CHECK(rc == 0);
    REQUIRE(api.wait_for_posts(2));
    auto posts = api.posts();
    REQUIRE(posts.size() == 2);
    CHECK(posts[0].kind == "error");
    CHECK(posts[0].request_id == "big-1");
    CHECK(posts[0].error_type == "Function.ResponseSizeTooLarge");
    CHECK(json::parse(posts[0].body)["errorType"] == "Function.ResponseSizeTooLarge");
    CHECK(posts[1].kind == "response");
    CHECK(posts[1].request_id == "small-2");
    REQUIRE(log.size() == 1);
    CHECK(log[0].find("too large") != std::string::npos);
}

TEST_CASE("runtime: init error and error posts carry the error type header and document") {
    fake_runtime_api api;
    lambda::runtime_client client(api.address());
    auto result =
        client.post_init_error("Runtime.InvalidConfiguration", "BUCKET_NAME: is required");
    CHECK(result.status == 202);
    CHECK(result.accepted());
    auto posts = api.posts();
    REQUIRE(posts.size() == 1);
    CHECK(posts[0].kind == "init_error");
    CHECK(posts[0].error_type == "Runtime.InvalidConfiguration");
    CHECK(posts[0].content_type == "application/json");
    auto doc = json::parse(posts[0].body);
    CHECK(doc == json{{"errorMessage", "BUCKET_NAME: is required"},
                      {"errorType", "Runtime.InvalidConfiguration"},
                      {"stackTrace", json::array()}});

    // Request ids are percent-encoded into one path segment (the server decodes them back).
    auto odd = client.post_error("a b+c", "Handler.Exception", "x");
    CHECK(odd.status == 202);
    posts = api.posts();
    REQUIRE(posts.size() == 2);
    CHECK(posts[1].request_id == "a b+c");
}

TEST_CASE(
    "runtime: transport failures are reported, not thrown; the loop gives up after the limit") {
    {
        fake_runtime_api api(std::chrono::milliseconds(50));
        api.push({"", "{}", {}});  // no request id at all
        lambda::runtime_client client(api.address());
        std::string error;
        CHECK_FALSE(client.next(error).has_value());
        CHECK(error.find("Request-Id") != std::string::npos);
        error.clear();
        CHECK_FALSE(client.next(error).has_value());  // nothing queued: the fake answers 500
        CHECK(error.find("HTTP 500") != std::string::npos);
    }
    // Nobody listens on this port any more.
    int dead_port = 0;
    {
        fake_runtime_api gone;
        dead_port = gone.port();
    }
    lambda::runtime_client client("127.0.0.1:" + std::to_string(dead_port));
    std::string error;
    CHECK_FALSE(client.next(error).has_value());
    CHECK(error.find("cannot connect") != std::string::npos);
    auto posted = client.post_response("x", "{}");
    CHECK(posted.status == 0);
    CHECK_FALSE(posted.error.empty());
    std::vector<std::string> log;
    auto options = stop_after(0, &log);
    options.max_next_failures = 2;
    int calls = 0;
    CHECK(lambda::run(
              client, [&](const lambda::invocation&) { return std::to_string(++calls); },
              options) == 1);
    CHECK(calls == 0);
    CHECK(log.size() == 2);
}

TEST_CASE("runtime: the address is numeric or a name from /etc/hosts, never resolved through NSS") {
    fake_runtime_api api;
    const std::string port = std::to_string(api.port());
    // A numeric address and a name (localhost: /etc/hosts, or loopback when the file lacks it).
    for (const std::string& address :
         std::vector<std::string>{"127.0.0.1:" + port, "localhost:" + port, "LocalHost:" + port}) {
        CAPTURE(address);
        api.push({"req-" + address, R"({"n":1})", {}});
        lambda::runtime_client client(address);
        std::string error;
        auto invocation = client.next(error);
        REQUIRE_MESSAGE(invocation.has_value(), error);
        CHECK(invocation->request_id == "req-" + address);
    }
    for (const std::string& address : std::vector<std::string>{
             "no-such-runtime.invalid:" + port, "127.0.0.1:0", "127.0.0.1:99999", "127.0.0.1:x"}) {
        CAPTURE(address);
        lambda::runtime_client client(address);
        std::string error;
        CHECK_FALSE(client.next(error).has_value());
        CHECK((error.find("not a numeric address and not in /etc/hosts") != std::string::npos ||
               error.find("no valid port") != std::string::npos));
    }
}

TEST_CASE(
    "runtime: the static bootstrap links no NSS resolver (no getaddrinfo, no glibc warning)") {
    std::ifstream in(PRESIGN_BOOTSTRAP_PATH, std::ios::binary);
    REQUIRE(in);
    const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    REQUIRE(bytes.size() > 1000);
    // The symbol (and glibc's NSS lookup tables it would pull in) is absent from the binary.
    CHECK(bytes.find("getaddrinfo") == std::string::npos);
    CHECK(bytes.find("gethostbyname") == std::string::npos);
}

TEST_CASE("runtime: the keep-alive connection is reopened when the server closes it") {
    fake_runtime_api api;
    lambda::runtime_client client(api.address());
    // cpp-httplib's server closes a keep-alive connection after 5 requests; 12 invocations need
    // the client to notice and reconnect more than once.
    for (int i = 0; i < 12; ++i) api.push({"r" + std::to_string(i), std::to_string(i), {}});
    int rc = lambda::run(
        client, [](const lambda::invocation& inv) { return inv.payload; }, stop_after(12));
    CHECK(rc == 0);
    REQUIRE(api.wait_for_posts(12));
    auto posts = api.posts();
    for (int i = 0; i < 12; ++i) {
        CHECK(posts[static_cast<std::size_t>(i)].request_id == "r" + std::to_string(i));
        CHECK(posts[static_cast<std::size_t>(i)].body == std::to_string(i));
    }
}

namespace {

// A one-shot raw HTTP server: accepts one connection, reads the request head, sends `reply` as is
// and closes. For the framings cpp-httplib's server does not produce (chunked, read-to-close).
class raw_server {
  public:
    explicit raw_server(std::string reply) : reply_(std::move(reply)) {
        listener_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in address{};
        address.sin_family = AF_INET;
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        REQUIRE(::bind(listener_, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
        REQUIRE(::listen(listener_, 1) == 0);
        socklen_t size = sizeof address;
        ::getsockname(listener_, reinterpret_cast<sockaddr*>(&address), &size);
        port_ = ntohs(address.sin_port);
        thread_ = std::thread([this] {
            pollfd wait_for{listener_, POLLIN, 0};
            if (::poll(&wait_for, 1, 10000) != 1) return;  // bounded: 10 s
            int client = ::accept(listener_, nullptr, nullptr);
            if (client < 0) return;
            std::string request;
            char chunk[4096];
            while (request.find("\r\n\r\n") == std::string::npos) {
                auto n = ::recv(client, chunk, sizeof chunk, 0);
                if (n <= 0) break;
                request.append(chunk, static_cast<std::size_t>(n));
            }
            ::send(client, reply_.data(), reply_.size(), MSG_NOSIGNAL);
            ::close(client);
        });
    }
    ~raw_server() {
        if (thread_.joinable()) thread_.join();
        ::close(listener_);
    }
    [[nodiscard]] std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

  private:
    std::string reply_;
    int listener_ = -1;
    int port_ = 0;
    std::thread thread_;
};

}  // namespace

TEST_CASE("runtime: chunked and read-to-close bodies, lowercase headers") {
    {
        raw_server server(
            "HTTP/1.1 200 OK\r\nlambda-runtime-aws-request-id: chunked-1\r\ntransfer-encoding: "
            "chunked\r\n"
            "connection: close\r\n\r\n5;ext=1\r\n{\"a\":\r\n3\r\n12}\r\n0\r\n\r\n");
        lambda::runtime_client client(server.address());
        std::string error;
        auto inv = client.next(error);
        REQUIRE_MESSAGE(inv.has_value(), error);
        CHECK(inv->request_id == "chunked-1");
        CHECK(inv->payload == "{\"a\":12}");
    }
    {
        raw_server server(
            "HTTP/1.0 200 OK\r\nLambda-Runtime-Aws-Request-Id: eof-2\r\n\r\n{\"until\":\"close\"}");
        lambda::runtime_client client(server.address());
        std::string error;
        auto inv = client.next(error);
        REQUIRE_MESSAGE(inv.has_value(), error);
        CHECK(inv->request_id == "eof-2");
        CHECK(inv->payload == "{\"until\":\"close\"}");
    }
    {
        raw_server server(
            "HTTP/1.1 200 OK\r\nLambda-Runtime-Aws-Request-Id: cut-3\r\nContent-Length: "
            "100\r\n\r\n{\"short\"");
        lambda::runtime_client client(server.address());
        std::string error;
        CHECK_FALSE(client.next(error).has_value());
        CHECK(error.find("cut short") != std::string::npos);
    }
    {
        raw_server server("garbage\r\n\r\n");
        lambda::runtime_client client(server.address());
        std::string error;
        CHECK_FALSE(client.next(error).has_value());
        CHECK(error.find("malformed status line") != std::string::npos);
    }
}
