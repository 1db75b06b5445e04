// SPDX-License-Identifier: Apache-2.0
// presign_http (presign/http/server.hpp) on 127.0.0.1, port 0, spoken to with raw sockets: what
// goes on the wire is asserted byte by byte (framing, pipelining, bodies as sent, the layer's own
// refusals, deadlines), not what a client library makes of it.
#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <presign/http/server.hpp>

namespace http = presign::http;
using namespace std::chrono_literals;

namespace {

/// A server on a free port of 127.0.0.1, running on its own threads until destroyed.
class running_server {
  public:
    running_server(http::handler handle, http::limits limits = {},
                   http::error_renderer render = {}) {
        ::signal(SIGPIPE, SIG_IGN);
        http::server_options options;
        options.threads = 2;
        options.deadlines = limits;
        options.render_error = std::move(render);
        server_ = std::make_unique<http::server>(std::move(options), std::move(handle));
        auto bound = server_->bind("127.0.0.1", 0);
        REQUIRE(bound.has_value());
        port_ = *bound;
        thread_ = std::thread([this] { server_->run(); });
        for (int i = 0; i < 400 && !server_->is_running(); ++i) std::this_thread::sleep_for(5ms);
    }
    ~running_server() {
        while (!server_->is_running()) std::this_thread::sleep_for(5ms);
        server_->stop();
        thread_.join();
    }
    running_server(const running_server&) = delete;
    running_server& operator=(const running_server&) = delete;
    [[nodiscard]] int port() const { return port_; }

  private:
    std::unique_ptr<http::server> server_;
    std::thread thread_;
    int port_ = 0;
};

struct parsed_response {
    int status = 0;
    std::string head;  ///< status line and header lines, as received
    std::vector<std::pair<std::string, std::string>> headers;  ///< names lowercased
    std::string body;
    [[nodiscard]] const std::string* header(std::string_view name) const {
        for (const auto& [n, v] : headers) {
            if (n == name) return &v;
        }
        return nullptr;
    }
};

/// One client connection with a read buffer, so pipelined answers are read one by one.
class connection {
  public:
    explicit connection(int port) : fd_(::socket(AF_INET, SOCK_STREAM, 0)) {
        REQUIRE(fd_ >= 0);
        sockaddr_in address{};
        address.sin_family = AF_INET;
        address.sin_port = htons(static_cast<std::uint16_t>(port));
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        REQUIRE(::connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
    }
    ~connection() { ::close(fd_); }
    connection(const connection&) = delete;
    connection& operator=(const connection&) = delete;

    void send(std::string_view bytes) {
        while (!bytes.empty()) {
            const ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
            REQUIRE(n > 0);
            bytes.remove_prefix(static_cast<std::size_t>(n));
        }
    }

    /// The next response; `bodyless` for an answer to HEAD. Nothing when the connection closed
    /// (or nothing came within 10 s) before a whole response.
    std::optional<parsed_response> read(bool bodyless = false) {
        std::size_t end = 0;
        while ((end = buffer_.find("\r\n\r\n")) == std::string::npos) {
            if (!fill(10s)) return std::nullopt;
        }
        parsed_response out;
        out.head = buffer_.substr(0, end);
        buffer_.erase(0, end + 4);
        std::size_t line_end = out.head.find("\r\n");
        const std::string status_line = out.head.substr(0, line_end);
        if (!status_line.starts_with("HTTP/1.1 ") || status_line.size() < 12) return std::nullopt;
        out.status = std::stoi(status_line.substr(9, 3));
        while (line_end != std::string::npos) {
            const std::size_t start = line_end + 2;
            line_end = out.head.find("\r\n", start);
            const std::string line = out.head.substr(
                start, line_end == std::string::npos ? std::string::npos : line_end - start);
            const auto colon = line.find(':');
            if (colon == std::string::npos) continue;
            std::string name = line.substr(0, colon);
            std::transform(name.begin(), name.end(), name.begin(),
                           [](unsigned char c) { return std::tolower(c); });
            std::string value = line.substr(colon + 1);
            value.erase(0, value.find_first_not_of(' '));
            out.headers.emplace_back(std::move(name), std::move(value));
        }
        const std::string* length = out.header("content-length");
        if (!bodyless && length != nullptr) {
            const std::size_t wanted = std::stoul(*length);
            while (buffer_.size() < wanted) {
                if (!fill(10s)) return std::nullopt;
            }
            out.body = buffer_.substr(0, wanted);
            buffer_.erase(0, wanted);
        }
        return out;
    }

    /// Whether the server closes the connection within `limit` (bytes it still sends are kept).
    bool closed_within(std::chrono::milliseconds limit) {
        const auto deadline = std::chrono::steady_clock::now() + limit;
        for (;;) {
            const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                deadline - std::chrono::steady_clock::now());
            if (left.count() <= 0) return false;
            pollfd wanted{fd_, POLLIN, 0};
            if (::poll(&wanted, 1, static_cast<int>(left.count())) <= 0) return false;
            char chunk[4096];
            const ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
            if (n <= 0) return true;
            buffer_.append(chunk, static_cast<std::size_t>(n));
        }
    }

    [[nodiscard]] const std::string& unread() const { return buffer_; }

  private:
    bool fill(std::chrono::milliseconds limit) {
        pollfd wanted{fd_, POLLIN, 0};
        if (::poll(&wanted, 1, static_cast<int>(limit.count())) <= 0) return false;
        char chunk[16384];
        const ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
        if (n <= 0) return false;
        buffer_.append(chunk, static_cast<std::size_t>(n));
        return true;
    }

    int fd_;
    std::string buffer_;
};

/// Collects a body and answers 200 with it, the way it ended in X-End, and the head's framing.
class echo_sink final : public http::body_sink {
  public:
    explicit echo_sink(const http::request_head& head) : head_(head) {}
    bool write(const char* data, std::size_t size) override {
        body_.append(data, size);
        return body_.find("STOP") == std::string::npos;
    }
    http::response finish(http::body_end end) override {
        http::response res;
        res.status = end == http::body_end::too_large ? 413 : 200;
        res.add_header("X-End", end == http::body_end::complete  ? "complete"
                                : end == http::body_end::stopped ? "stopped"
                                                                 : "too_large");
        res.add_header("X-Chunked", head_.chunked ? "yes" : "no");
        res.body = std::move(body_);
        return res;
    }

  private:
    const http::request_head& head_;
    std::string body_;
};

http::response text(int status, std::string body) {
    http::response res;
    res.status = status;
    res.add_header("Content-Type", "text/plain");
    res.body = std::move(body);
    return res;
}

/// The routes the tests speak to.
http::decision route(const http::request_head& head) {
    const std::string_view path = head.raw_path();
    if (path == "/echo")
        return http::decision::read_body(std::make_unique<echo_sink>(head), 1 << 20);
    if (path == "/small") return http::decision::read_body(std::make_unique<echo_sink>(head), 16);
    if (path == "/throw") throw std::runtime_error("a handler bug");
    if (path == "/204") return http::decision::respond(text(204, "dropped"));
    if (path == "/304") return http::decision::respond(text(304, "dropped"));
    if (path == "/inject") {
        http::response res = text(200, "ok");
        res.add_header("X-Value", "a\r\nInjected: yes\r\n\r\nbody");
        res.add_header("Content-Length", "999");  // the layer computes its own
        return http::decision::respond(std::move(res));
    }
    if (path == "/stream") {
        http::response res;
        res.source_length = 300000;
        res.source = [](std::uint64_t offset, char* out, std::size_t size) {
            for (std::size_t i = 0; i < size; ++i)
                out[i] = static_cast<char>('a' + (offset + i) % 26);
            return static_cast<long>(size);
        };
        return http::decision::respond(std::move(res));
    }
    return http::decision::respond(text(200, std::string(head.method) + " " + head.target));
}

http::limits tiny_limits() {
    http::limits limits;
    limits.head_timeout = 300ms;
    limits.body_progress_window = 300ms;
    limits.body_progress_bytes = 1024;
    limits.idle_timeout = 300ms;
    limits.max_head_bytes = 1024;
    return limits;
}

std::string get(std::string_view target, std::string_view extra = {}) {
    return "GET " + std::string(target) + " HTTP/1.1\r\nHost: t\r\n" + std::string(extra) + "\r\n";
}

}  // namespace

TEST_CASE("pipelined requests are answered in order on one connection") {
    running_server server(route);
    connection c(server.port());
    c.send(get("/a") + get("/b?x=1") +
           "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\nabc" + get("/c"));
    for (const std::string expected : {"GET /a", "GET /b?x=1", "abc", "GET /c"}) {
        auto res = c.read();
        REQUIRE(res);
        CHECK(res->status == 200);
        CHECK(res->body == expected);
    }
}

TEST_CASE("bodies reach the handler exactly as sent") {
    running_server server(route);
    SUBCASE("chunked framing is removed, nothing else") {
        connection c(server.port());
        c.send(
            "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
            "5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nTrailer: x\r\n\r\n" +
            get("/after"));
        auto res = c.read();
        REQUIRE(res);
        CHECK(res->body == "hello world");
        CHECK(*res->header("x-chunked") == "yes");
        CHECK(*res->header("x-end") == "complete");
        auto after = c.read();
        REQUIRE(after);
        CHECK(after->body == "GET /after");
    }
    SUBCASE("Content-Encoding is never decoded, and not added to the answer") {
        static const unsigned char gzipped[] = {
            0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0xff, 0xcb, 0x48, 0xcd, 0xc9,
            0xc9, 0x57, 0xc8, 0x40, 0x90, 0x00, 0x80, 0x88, 0xf9, 0xe5, 0x11, 0x00, 0x00, 0x00};
        const std::string body(reinterpret_cast<const char*>(gzipped), sizeof gzipped);
        for (const char* encoding : {"gzip", "br", "deflate"}) {
            connection c(server.port());
            c.send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Encoding: " + std::string(encoding) +
                   "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body);
            auto res = c.read();
            REQUIRE(res);
            CHECK(res->body == body);
            CHECK(res->header("content-encoding") == nullptr);
        }
    }
    SUBCASE("a sink that stops reading: stopped") {
        connection c(server.port());
        c.send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 8\r\n\r\nSTOPrest");
        auto res = c.read();
        REQUIRE(res);
        CHECK(*res->header("x-end") == "stopped");
    }
}

TEST_CASE("a body over the handler's limit ends as too_large") {
    running_server server(route);
    SUBCASE("declared by Content-Length: answered before the body is sent") {
        connection c(server.port());
        c.send("POST /small HTTP/1.1\r\nHost: t\r\nContent-Length: 100000\r\n\r\n");
        auto res = c.read();
        REQUIRE(res);
        CHECK(res->status == 413);
        CHECK(*res->header("x-end") == "too_large");
        CHECK(res->body.empty());  // nothing was read
    }
    SUBCASE("counted on the bytes of a chunked body") {
        connection c(server.port());
        c.send(
            "POST /small HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
            "a\r\n0123456789\r\na\r\n0123456789\r\n0\r\n\r\n");
        auto res = c.read();
        REQUIRE(res);
        CHECK(*res->header("x-end") == "too_large");
        CHECK(res->body.size() <= 16);
    }
}

TEST_CASE("requests the layer refuses itself: 431, 400, 500, through the error renderer") {
    std::atomic<int> rendered{0};
    running_server server(route, tiny_limits(), [&](int status, const http::request_head*) {
        ++rendered;
        return text(status, "rendered " + std::to_string(status));
    });
    SUBCASE("a head over max_head_bytes: 431, closed") {
        connection c(server.port());
        c.send(get("/", "X-Big: " + std::string(2000, 'x') + "\r\n"));
        auto res = c.read();
        REQUIRE(res);
        CHECK(res->status == 431);
        CHECK(res->body == "rendered 431");
        CHECK(*res->header("connection") == "close");
        CHECK(c.closed_within(5s));
    }
    SUBCASE("malformed heads: 400, closed") {
        for (const char* bad :
             {"GARBAGE\r\n\r\n", "GET / HTTP/1.1\r\nNo colon here\r\n\r\n",
              "GET / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
              "POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"}) {
            connection c(server.port());
            c.send(bad);
            auto res = c.read();
            REQUIRE_MESSAGE(res, bad);
            CHECK_MESSAGE(res->status == 400, bad);
            CHECK(c.closed_within(5s));
        }
    }
    SUBCASE("a handler that throws: 500, closed, the server goes on") {
        connection c(server.port());
        c.send(get("/throw") + get("/never"));
        auto res = c.read();
        REQUIRE(res);
        CHECK(res->status == 500);
        CHECK(res->body == "rendered 500");
        CHECK(c.closed_within(5s));
        connection next(server.port());
        next.send(get("/fine"));
        auto fine = next.read();
        REQUIRE(fine);
        CHECK(fine->status == 200);
    }
    CHECK(rendered > 0);
}

TEST_CASE("framing of answers: HEAD, 204 and 304, a handler's Content-Length and CR/LF") {
    running_server server(route);
    connection c(server.port());
    SUBCASE("HEAD: the body's Content-Length, no body") {
        c.send("HEAD /stream HTTP/1.1\r\nHost: t\r\n\r\n" + get("/next"));
        auto head = c.read(true);
        REQUIRE(head);
        CHECK(*head->header("content-length") == "300000");
        auto next = c.read();  // would read the body's bytes as a status line if any were sent
        REQUIRE(next);
        CHECK(next->body == "GET /next");
    }
    SUBCASE("204 and 304: no Content-Length, no body") {
        c.send(get("/204") + get("/304") + get("/next"));
        for (const int status : {204, 304}) {
            auto res = c.read(true);
            REQUIRE(res);
            CHECK(res->status == status);
            CHECK(res->header("content-length") == nullptr);
        }
        auto next = c.read();
        REQUIRE(next);
        CHECK(next->body == "GET /next");
    }
    SUBCASE("a streamed body arrives whole") {
        c.send(get("/stream"));
        auto res = c.read();
        REQUIRE(res);
        REQUIRE(res->body.size() == 300000);
        CHECK(res->body.substr(0, 3) == "abc");
        CHECK(res->body[299999] == static_cast<char>('a' + 299999 % 26));
    }
    SUBCASE("CR and LF in a handler's header value are dropped; its Content-Length is replaced") {
        c.send(get("/inject"));
        auto res = c.read();
        REQUIRE(res);
        CHECK(*res->header("x-value") == "aInjected: yesbody");
        CHECK(res->header("injected") == nullptr);
        CHECK(*res->header("content-length") == "2");
        CHECK(res->body == "ok");
        CHECK(std::count_if(res->headers.begin(), res->headers.end(),
                            [](const auto& h) { return h.first == "content-length"; }) == 1);
    }
}

TEST_CASE("Connection: close and HTTP/1.0 keep-alive") {
    running_server server(route);
    SUBCASE("Connection: close is answered with it, then the server closes") {
        connection c(server.port());
        c.send(get("/a", "Connection: close\r\n") + get("/ignored"));
        auto res = c.read();
        REQUIRE(res);
        CHECK(*res->header("connection") == "close");
        CHECK(c.closed_within(5s));
        CHECK(c.unread().empty());  // the pipelined request after it is not answered
    }
    SUBCASE("HTTP/1.0 with keep-alive keeps the connection, and says so") {
        connection c(server.port());
        c.send("GET /one HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
        auto first = c.read();
        REQUIRE(first);
        CHECK(*first->header("connection") == "keep-alive");
        c.send("GET /two HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
        auto second = c.read();
        REQUIRE(second);
        CHECK(second->body == "GET /two");
    }
    SUBCASE("HTTP/1.0 without keep-alive closes") {
        connection c(server.port());
        c.send("GET /one HTTP/1.0\r\n\r\n");
        auto res = c.read();
        REQUIRE(res);
        CHECK(*res->header("connection") == "close");
        CHECK(c.closed_within(5s));
    }
}

TEST_CASE("deadlines close slow and idle connections (tiny limits)") {
    running_server server(route, tiny_limits());
    SUBCASE("a head that never completes is closed after head_timeout, unanswered") {
        connection c(server.port());
        c.send("GET / HTTP/1.1\r\nHost: t\r\n");
        CHECK(c.closed_within(5s));
        CHECK(c.unread().empty());
    }
    SUBCASE("a head sent a byte at a time does not get more time") {
        connection c(server.port());
        const std::string head = get("/slow");
        bool closed = false;
        for (std::size_t i = 0; i < head.size() && !closed; ++i) {
            c.send(head.substr(i, 1));
            closed = c.closed_within(100ms);
        }
        CHECK((closed || c.closed_within(5s)));
        CHECK(c.unread().empty());
    }
    SUBCASE("a body slower than body_progress_bytes per window is dropped") {
        connection c(server.port());
        c.send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 100000\r\n\r\n0123456789");
        CHECK(c.closed_within(5s));
        CHECK(c.unread().empty());
    }
    SUBCASE("an idle kept-alive connection is closed after idle_timeout") {
        connection c(server.port());
        c.send(get("/a"));
        REQUIRE(c.read());
        CHECK(c.closed_within(5s));
    }
    SUBCASE("a connection that never sends is closed") {
        connection c(server.port());
        CHECK(c.closed_within(5s));
    }
    // The server still answers.
    connection fresh(server.port());
    fresh.send(get("/alive"));
    auto res = fresh.read();
    REQUIRE(res);
    CHECK(res->body == "GET /alive");
}

TEST_CASE("Expect: 100-continue: the interim answer only when the handler reads the body") {
    running_server server(route);
    connection c(server.port());
    SUBCASE("a body the handler reads: 100 Continue, then the answer") {
        c.send(
            "POST /echo HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n");
        auto interim = c.read(true);
        REQUIRE(interim);
        CHECK(interim->status == 100);
        c.send("hello");
        auto res = c.read();
        REQUIRE(res);
        CHECK(res->status == 200);
        CHECK(res->body == "hello");
    }
    SUBCASE("a declared length over the limit: the refusal at once, no 100, then closed") {
        c.send(
            "POST /small HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: "
            "100000\r\n\r\n");
        auto res = c.read();
        REQUIRE(res);
        CHECK(res->status == 413);
        CHECK(*res->header("connection") == "close");
        CHECK(c.closed_within(5s));
    }
    SUBCASE("answered from the head: no 100, the body is never asked for, closed") {
        c.send(
            "PUT /answered HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: "
            "5\r\n\r\n");
        auto res = c.read();
        REQUIRE(res);
        CHECK(res->status == 200);
        CHECK(res->body == "PUT /answered");
        CHECK(*res->header("connection") == "close");
        CHECK(c.closed_within(5s));
    }
}
