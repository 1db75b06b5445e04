// SPDX-License-Identifier: Apache-2.0
// The HTTP/1.1 server both listeners of `presign serve` run on (the API and page, the local S3
// store), over Boost.Beast. It owns the decisions a storage server must own: bodies are handed to
// the handler exactly as sent (chunked framing removed, Content-Encoding never decoded), within
// a body limit counted on the bytes actually read; every stream has deadlines (request head,
// body progress, idle keep-alive, writes); connections wait asynchronously, so idle ones cost
// a socket and a small buffer; pipelined requests are answered in order; and each response is
// written by this layer: status line, headers and exactly the body, in one gathered write.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <sigv4/request.hpp>
#include <sigv4/result.hpp>

namespace presign::http {

namespace detail {
struct listener;
}

/// A request line and its header fields as received: nothing decoded, nothing added.
struct request_head {
    std::string method;                  ///< as sent ("GET", "PUT", ...)
    std::string target;                  ///< raw request-target ("/bucket/key?x=1"), not decoded
    unsigned version = 11;               ///< 10 for HTTP/1.0, 11 for HTTP/1.1
    std::vector<sigv4::header> headers;  ///< in order, names as sent, repeated names kept
    std::optional<std::uint64_t> content_length;  ///< when the request carries Content-Length
    bool chunked = false;                         ///< Transfer-Encoding: chunked

    /// The first value of `name` (case-insensitive), or nullptr.
    [[nodiscard]] const std::string* find(std::string_view name) const noexcept;
    /// The first value of `name`, or "" when absent.
    [[nodiscard]] std::string_view value(std::string_view name) const noexcept;
    [[nodiscard]] bool has(std::string_view name) const noexcept { return find(name) != nullptr; }
    /// The target's path, before any '?', not decoded.
    [[nodiscard]] std::string_view raw_path() const noexcept;
    /// The target's query, after the first '?', not decoded ("" when none).
    [[nodiscard]] std::string_view raw_query() const noexcept;
    [[nodiscard]] bool has_body() const noexcept {
        return chunked || content_length.value_or(0) > 0;
    }
};

/// Fills `out` with up to `size` bytes of a streamed body starting `offset` bytes into it;
/// returns the count, 0 only at the end, -1 on an error (the connection is then closed).
using body_source = std::function<long(std::uint64_t offset, char* out, std::size_t size)>;

/// A body sent from an open regular file with sendfile(2), without copying it through the
/// process: `response::source_length` bytes from `offset`. The layer falls back to
/// `response::source` when the kernel cannot send from this file (nothing sent yet), and closes
/// the connection, as for a source, when the file ends before that length.
struct file_body {
    int fd = -1;  ///< readable, kept open by `owner` until the response is written
    std::uint64_t offset = 0;
    std::shared_ptr<const void> owner;  ///< holds the descriptor(s) open (released after the write)
    /// One piece of a body kept in several files.
    struct segment {
        int fd = -1;
        std::uint64_t offset = 0;
        std::uint64_t length = 0;
    };
    /// When not empty, the body is these pieces one after the other (a multipart object's parts;
    /// their lengths add up to `response::source_length`) and `fd`, the first one's, only says
    /// that a file body is there: `offset` is then unused.
    std::vector<segment> segments;
};

struct response {
    int status = 200;
    /// The handler's headers. The layer adds Content-Length and Connection itself (and drops
    /// either if the handler set it).
    std::vector<sigv4::header> headers;
    std::string body;                 ///< a body in memory, or:
    body_source source;               ///< a body streamed from `source` (a file), when set
    file_body file;                   ///< or sent from this file (fd >= 0), `source` its fallback
    std::uint64_t source_length = 0;  ///< the length of a streamed or file body
    /// An answer to HEAD: Content-Length is the body's length, no body is sent.
    bool head = false;
    /// Close the connection after this response.
    bool close = false;

    /// Replaces every header called `name` (case-insensitive) with one `name: value`.
    void set_header(std::string_view name, std::string_view value);
    void add_header(std::string_view name, std::string_view value);
    [[nodiscard]] std::uint64_t body_length() const noexcept {
        return source || file.fd >= 0 ? source_length : body.size();
    }
};

/// How a request body ended for its sink.
enum class body_end {
    complete,   ///< every byte was read and given to write()
    stopped,    ///< write() returned false
    too_large,  ///< the body went past the handler's limit (Content-Length or bytes read)
};

/// Receives a request body as it arrives. Destroyed without finish() when the client goes away
/// or misses a deadline (nothing is answered then). Called on one thread at a time.
class body_sink {
  public:
    virtual ~body_sink() = default;
    /// The next bytes of the body exactly as sent. Returning false stops reading: finish(stopped)
    /// follows and the rest of the body is discarded (bounded) or the connection closed.
    [[nodiscard]] virtual bool write(const char* data, std::size_t size) = 0;
    /// Called once when the body ended; returns the answer.
    [[nodiscard]] virtual response finish(body_end end) = 0;
};

/// What a handler decides from a request head: answer now (the body, if any, is never handed
/// to anyone: it is discarded up to the drain limit or the connection is closed), or read the
/// body into a sink, at most `body_limit` bytes.
struct decision {
    std::optional<response> answer;
    std::unique_ptr<body_sink> sink;
    std::uint64_t body_limit = 0;

    static decision respond(response answer);
    static decision read_body(std::unique_ptr<body_sink> sink, std::uint64_t body_limit);
};

/// Called for each request head, on one of the server's threads. The head stays valid until the
/// response to it is written (a sink may keep a reference). Handlers of different connections
/// run concurrently; a handler that blocks (on the disk) holds one thread.
using handler = std::function<decision(const request_head& head)>;

/// The answer to a request the layer refuses itself (status 400 malformed, 431 head too large,
/// 500 when a handler threw); the listener renders it in its own format (S3 XML, JSON) and may
/// choose another status. `head` is null when the head could not be parsed. The connection is
/// closed after it.
using error_renderer = std::function<response(int status, const request_head* head)>;

struct limits {
    /// A request head must arrive completely within this time of its first byte (and of the
    /// connection's start for a connection's first request).
    std::chrono::milliseconds head_timeout{std::chrono::seconds(10)};
    /// A body must progress at least `body_progress_bytes` in each window.
    std::chrono::milliseconds body_progress_window{std::chrono::seconds(10)};
    std::size_t body_progress_bytes = 1024;
    /// A kept-alive connection is closed when no new request starts within this time.
    std::chrono::milliseconds idle_timeout{std::chrono::seconds(30)};
    /// Each write of a response (at most one buffer of a streamed body) must finish in time.
    std::chrono::milliseconds write_timeout{std::chrono::seconds(60)};
    /// Largest request head (request line and fields).
    std::uint32_t max_head_bytes = 64 << 10;
    /// An unread body up to this size is discarded so the connection can be kept; beyond it the
    /// connection is closed after the answer.
    std::uint64_t max_drained_body = 1 << 20;
};

struct server_options {
    limits deadlines;
    std::size_t threads = 4;      ///< threads running the connections and the handlers
    error_renderer render_error;  ///< empty: bare status, no body
};

/// One listener. Thread-safe: stop() may be called from any thread while run() runs.
class server {
  public:
    server(server_options options, handler handle);
    ~server();
    server(const server&) = delete;
    server& operator=(const server&) = delete;

    /// Binds host:port (port 0: any free port) with SO_REUSEADDR but never SO_REUSEPORT (a port
    /// another server holds is refused) and a SOMAXCONN backlog. Returns the bound port or a
    /// message ("address already in use" when taken).
    [[nodiscard]] sigv4::result<int, std::string> bind(const std::string& host, int port);
    /// Accepts and serves until stop(), on `threads` threads (this one included).
    void run();
    void stop();
    [[nodiscard]] bool is_running() const noexcept;

  private:
    std::unique_ptr<detail::listener> impl_;
};

/// Case-insensitive ASCII comparison of header names and tokens.
[[nodiscard]] bool iequals(std::string_view a, std::string_view b) noexcept;

}  // namespace presign::http
