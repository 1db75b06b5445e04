// SPDX-License-Identifier: Apache-2.0
#include "presign/http/server.hpp"

#include <sys/sendfile.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <thread>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace presign::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;

bool iequals(std::string_view a, std::string_view b) noexcept {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) ==
                      std::tolower(static_cast<unsigned char>(y));
           });
}

const std::string* request_head::find(std::string_view name) const noexcept {
    for (const auto& header : headers) {
        if (iequals(header.name, name)) return &header.value;
    }
    return nullptr;
}

std::string_view request_head::value(std::string_view name) const noexcept {
    const std::string* found = find(name);
    return found == nullptr ? std::string_view{} : std::string_view(*found);
}

std::string_view request_head::raw_path() const noexcept {
    const std::string_view all = target;
    return all.substr(0, all.find('?'));
}

std::string_view request_head::raw_query() const noexcept {
    const std::string_view all = target;
    const auto mark = all.find('?');
    return mark == std::string_view::npos ? std::string_view{} : all.substr(mark + 1);
}

void response::set_header(std::string_view name, std::string_view value) {
    std::erase_if(headers, [&](const sigv4::header& h) { return iequals(h.name, name); });
    add_header(name, value);
}

void response::add_header(std::string_view name, std::string_view value) {
    headers.push_back({std::string(name), std::string(value)});
}

decision decision::respond(response answer) {
    decision d;
    d.answer = std::move(answer);
    return d;
}

decision decision::read_body(std::unique_ptr<body_sink> sink, std::uint64_t body_limit) {
    decision d;
    d.sink = std::move(sink);
    d.body_limit = body_limit;
    return d;
}

namespace {

/// Bytes of a request body read per step: a body starts with the small size (a slow client
/// holds little), and a read that fills it grows it to the large one (a fast client costs fewer
/// system calls, wake-ups and timer updates). A streamed response body is written per step of
/// source_buffer_size.
constexpr std::size_t body_buffer_size = 64 << 10;
constexpr std::size_t large_body_buffer_size = 256 << 10;
constexpr std::size_t source_buffer_size = 256 << 10;
/// Bytes asked of one sendfile(2) call (it sends what the socket takes, then says EAGAIN).
constexpr std::size_t max_sendfile_step = 8 << 20;
/// After an answer that closes the connection, unread request bytes are read and dropped for
/// this long (at most max_drained_body), so the client reads the answer instead of a reset.
constexpr auto linger_time = std::chrono::seconds(2);
/// What a lingering close reads at the most. Only raw bytes into the fixed chunk buffer, for at
/// most linger_time, so it costs no memory; it is larger than max_drained_body so that a client
/// still sending the rest of a body of a few MiB (an upload whose disk write failed mid-body, a
/// refused large PUT) reads the answer instead of a reset that discards it.
constexpr std::uint64_t max_lingered_bytes = 8u << 20;

std::string_view reason_phrase(int status) {
    const auto reason = bhttp::obsolete_reason(static_cast<bhttp::status>(status));
    return {reason.data(), reason.size()};
}

bool bodyless_status(int status) {
    return (status >= 100 && status < 200) || status == 204 || status == 304;
}

}  // namespace

struct detail::listener {
    server_options options;
    handler handle;
    asio::io_context context;
    tcp::acceptor acceptor{context};
    std::atomic<bool> running{false};
    std::atomic<bool> stopping{false};

    listener(server_options opts, handler h) : options(std::move(opts)), handle(std::move(h)) {}

    void accept();
};

namespace {

class session : public std::enable_shared_from_this<session> {
  public:
    session(tcp::socket socket, detail::listener* owner)
        : stream_(std::move(socket)), owner_(owner), limits_(owner_->options.deadlines) {}

    void start() { wait_for_request(); }

  private:
    // ---- reading a request head ---------------------------------------------------------

    /// Waits for a request's first byte (the idle deadline; the head deadline for a connection's
    /// first request), then reads the head within the head deadline.
    void wait_for_request() {
        head_.reset();
        sink_.reset();
        body_unread_ = false;
        direct_ = false;
        direct_body_left_ = 0;
        // Between requests a connection keeps no body-sized buffer: the chunk is allocated again
        // for the next body, and the head's buffer gives back what a chunked body reserved.
        chunk_ = std::vector<char>();
        if (buffer_.capacity() > 4096) buffer_.shrink_to_fit();
        if (buffer_.size() > 0) return read_head();  // pipelined: the next request is here
        stream_.expires_after(first_request_ ? limits_.head_timeout : limits_.idle_timeout);
        first_request_ = false;
        auto self = shared_from_this();
        stream_.async_read_some(buffer_.prepare(1024), [self](beast::error_code ec, std::size_t n) {
            if (ec) return self->close_now();
            self->buffer_.commit(n);
            self->stream_.expires_after(self->limits_.head_timeout);
            self->read_head();
        });
    }

    void read_head() {
        parser_.emplace();
        parser_->header_limit(limits_.max_head_bytes);
        // The handler sets the body limit once it has seen the head (a declared length over it
        // is answered then); Beast's default would refuse it while parsing the head.
        parser_->body_limit(boost::none);
        auto self = shared_from_this();
        bhttp::async_read_header(stream_, buffer_, *parser_,
                                 [self](beast::error_code ec, std::size_t) { self->on_head(ec); });
    }

    void on_head(beast::error_code ec) {
        if (ec == bhttp::error::end_of_stream || ec == beast::error::timeout ||
            ec == asio::error::eof || ec == asio::error::connection_reset ||
            ec == asio::error::operation_aborted) {
            return close_now();
        }
        if (ec == bhttp::error::header_limit) return refuse(431);
        if (ec) return refuse(400);

        auto& message = parser_->get();
        head_.emplace();
        head_->method = std::string(message.method_string());
        head_->target = std::string(message.target());
        head_->version = message.version();
        for (const auto& field : message) {
            head_->headers.push_back(
                {std::string(field.name_string()), std::string(field.value())});
        }
        if (const auto length = parser_->content_length()) head_->content_length = *length;
        head_->chunked = parser_->chunked();
        keep_alive_ = message.keep_alive();
        // A body of a declared length is read straight into the chunk, past the parser (which
        // would read it through buffer_ in steps of that buffer's capacity, and copy it once
        // more); chunked framing goes through the parser.
        direct_ = !head_->chunked;
        direct_body_left_ = head_->content_length.value_or(0);
        expect_continue_ = iequals(head_->value("Expect"), "100-continue");

        decision next;
        try {
            next = owner_->handle(*head_);
        } catch (...) {
            next = decision::respond(error_response(500));
        }
        if (next.answer) {
            body_unread_ = !body_done();
            return send(std::move(*next.answer));
        }
        if (!next.sink) return send(error_response(500));
        sink_ = std::move(next.sink);
        parser_->body_limit(next.body_limit);
        if (parser_->is_done()) return finish_body(body_end::complete);
        // The declared length alone is over the limit: answer before the client sends it.
        if (head_->content_length && *head_->content_length > next.body_limit) {
            body_unread_ = true;
            return finish_body(body_end::too_large);
        }
        progress_ = 0;
        stream_.expires_after(limits_.body_progress_window);
        if (expect_continue_) {
            static constexpr std::string_view continue_line = "HTTP/1.1 100 Continue\r\n\r\n";
            auto self = shared_from_this();
            return asio::async_write(stream_,
                                     asio::buffer(continue_line.data(), continue_line.size()),
                                     [self](beast::error_code write_ec, std::size_t) {
                                         if (write_ec) return self->close_now();
                                         self->read_body();
                                     });
        }
        read_body();
    }

    // ---- reading a body into the handler's sink -----------------------------------------

    /// Points the parser's buffer body at chunk_ for the next read (of a body read or drained
    /// through the parser, chunked or of unknown length).
    void aim_parser_at_chunk() {
        // The parser reads as much as buffer_'s free capacity; give it the chunk's size.
        buffer_.reserve(chunk_.size());
        auto& body = parser_->get().body();
        body.data = chunk_.data();
        body.size = chunk_.size();
        body.more = true;
    }

    void read_body() {
        if (chunk_.size() < body_buffer_size) chunk_.resize(body_buffer_size);
        if (direct_) return read_direct(&session::on_direct_body);
        aim_parser_at_chunk();
        auto self = shared_from_this();
        bhttp::async_read_some(stream_, buffer_, *parser_,
                               [self](beast::error_code ec, std::size_t) { self->on_body(ec); });
    }

    /// Reads the next bytes of a body of declared length into chunk_ (those already in buffer_
    /// first, without a system call); `then(ec, count)` follows on this session's strand.
    void read_direct(void (session::*then)(beast::error_code, std::size_t)) {
        const auto want =
            static_cast<std::size_t>(std::min<std::uint64_t>(direct_body_left_, chunk_.size()));
        if (buffer_.size() > 0) {
            const std::size_t take =
                asio::buffer_copy(asio::buffer(chunk_.data(), want), buffer_.data());
            buffer_.consume(take);
            return (this->*then)({}, take);
        }
        auto self = shared_from_this();
        stream_.async_read_some(
            asio::buffer(chunk_.data(), want),
            [self, then](beast::error_code ec, std::size_t n) { ((*self).*then)(ec, n); });
    }

    void on_direct_body(beast::error_code ec, std::size_t got) {
        direct_body_left_ -= got;
        if (!hand_to_sink(got)) return;
        if (got == chunk_.size() && chunk_.size() < large_body_buffer_size)
            chunk_.resize(large_body_buffer_size);
        if (ec) {
            sink_.reset();  // the client went away or missed the progress deadline
            return close_now();
        }
        if (direct_body_left_ == 0) return finish_body(body_end::complete);
        read_body();
    }

    /// Gives the `got` bytes at the start of chunk_ to the sink; false when it stopped reading
    /// (the answer is then on its way).
    bool hand_to_sink(std::size_t got) {
        if (got == 0) return true;
        progress_ += got;
        if (progress_ >= limits_.body_progress_bytes) {
            progress_ = 0;
            stream_.expires_after(limits_.body_progress_window);
        }
        bool accepted = false;
        try {
            accepted = sink_->write(chunk_.data(), got);
        } catch (...) {
        }
        if (!accepted) {
            body_unread_ = !body_done();
            finish_body(body_end::stopped);
        }
        return accepted;
    }

    /// Whether every byte of the current request's body was read.
    [[nodiscard]] bool body_done() const {
        return direct_ ? direct_body_left_ == 0 : parser_->is_done();
    }

    void on_body(beast::error_code ec) {
        if (ec == bhttp::error::need_buffer) ec = {};
        const std::size_t got = chunk_.size() - parser_->get().body().size;
        if (!hand_to_sink(got)) return;
        if (ec == bhttp::error::body_limit) {
            body_unread_ = true;
            return finish_body(body_end::too_large);
        }
        if (ec) {
            // The client went away, missed the progress deadline or sent broken chunked
            // framing: the sink is dropped unanswered (an upload is discarded).
            sink_.reset();
            if (ec == bhttp::error::bad_chunk || ec == bhttp::error::bad_chunk_extension)
                return refuse(400);
            return close_now();
        }
        if (parser_->is_done()) return finish_body(body_end::complete);
        read_body();
    }

    void finish_body(body_end end) {
        response answer;
        try {
            answer = sink_->finish(end);
        } catch (...) {
            answer = error_response(500);
        }
        sink_.reset();
        send(std::move(answer));
    }

    // ---- writing a response -------------------------------------------------------------

    response error_response(int status) {
        response answer;
        answer.status = status;
        if (owner_->options.render_error) {
            try {
                answer = owner_->options.render_error(status, head_ ? &*head_ : nullptr);
            } catch (...) {
                answer = response{};
                answer.status = status;
            }
        }
        answer.close = true;
        return answer;
    }

    /// Answers a request the layer could not take (malformed, head too large) and closes.
    void refuse(int status) {
        body_unread_ = true;
        send(error_response(status));
    }

    void send(response answer) {
        response_ = std::move(answer);
        // An unread body is dropped (bounded) to keep the connection; a larger one, or one the
        // client waits to send (Expect: 100-continue), ends the connection after the answer.
        if (body_unread_ && (expect_continue_ || !head_ || head_->chunked ||
                             head_->content_length.value_or(0) > limits_.max_drained_body)) {
            response_.close = true;
        }
        close_after_ = response_.close || !keep_alive_ || owner_->stopping;
        if (head_ && head_->method == "HEAD") response_.head = true;

        std::string& text = head_text_;
        text.clear();
        text += "HTTP/1.1 ";
        text += std::to_string(response_.status);
        text += ' ';
        text += reason_phrase(response_.status);
        text += "\r\n";
        for (const auto& header : response_.headers) {
            if (iequals(header.name, "Content-Length") || iequals(header.name, "Connection") ||
                iequals(header.name, "Transfer-Encoding")) {
                continue;
            }
            // A header value never ends the head early (CR/LF from a handler are dropped).
            text += header.name;
            text += ": ";
            for (const char c : header.value) {
                if (c != '\r' && c != '\n') text += c;
            }
            text += "\r\n";
        }
        const bool no_body = bodyless_status(response_.status);
        if (!no_body) {
            text += "Content-Length: ";
            text += std::to_string(response_.body_length());
            text += "\r\n";
        }
        if (close_after_) {
            text += "Connection: close\r\n";
        } else if (head_ && head_->version == 10) {
            text += "Connection: keep-alive\r\n";
        }
        text += "\r\n";

        sent_ = 0;
        segment_ = 0;
        segment_start_ = 0;
        stream_.expires_after(limits_.write_timeout);
        const bool with_body = !no_body && !response_.head;
        send_from_file_ = with_body && response_.file.fd >= 0;
        // A file body follows the head, sent by the kernel (continue_source).
        if (send_from_file_) return write_parts(asio::const_buffer{});
        if (with_body && response_.source) {
            if (response_.source_length == 0) return write_parts(asio::const_buffer{});
            if (source_buffer_.size() < source_buffer_size)
                source_buffer_.resize(source_buffer_size);
            const auto want = static_cast<std::size_t>(
                std::min<std::uint64_t>(response_.source_length, source_buffer_.size()));
            const long got = response_.source(0, source_buffer_.data(), want);
            if (got <= 0) return close_now();
            sent_ = static_cast<std::uint64_t>(got);
            return write_parts(asio::buffer(source_buffer_.data(), static_cast<std::size_t>(got)));
        }
        write_parts(with_body ? asio::buffer(response_.body) : asio::const_buffer{});
    }

    /// The head and the first part of the body in one gathered write.
    void write_parts(asio::const_buffer body) {
        const std::array<asio::const_buffer, 2> parts{asio::buffer(head_text_), body};
        auto self = shared_from_this();
        asio::async_write(stream_, parts, [self](beast::error_code ec, std::size_t) {
            if (ec) return self->close_now();
            self->continue_source();
        });
    }

    void continue_source() {
        if (send_from_file_ && sent_ < response_.source_length) return send_file();
        const bool streaming =
            response_.source && !response_.head && !bodyless_status(response_.status);
        if (streaming && sent_ < response_.source_length) {
            if (source_buffer_.size() < source_buffer_size)
                source_buffer_.resize(source_buffer_size);
            const auto want = static_cast<std::size_t>(
                std::min<std::uint64_t>(response_.source_length - sent_, source_buffer_.size()));
            const long got = response_.source(sent_, source_buffer_.data(), want);
            if (got <= 0) return close_now();
            sent_ += static_cast<std::uint64_t>(got);
            stream_.expires_after(limits_.write_timeout);
            auto self = shared_from_this();
            return asio::async_write(
                stream_, asio::buffer(source_buffer_.data(), static_cast<std::size_t>(got)),
                [self](beast::error_code ec, std::size_t) {
                    if (ec) return self->close_now();
                    self->continue_source();
                });
        }
        after_response();
    }

    /// Sends the file body with sendfile(2) on the socket's own descriptor (the bytes go from
    /// the page cache to the socket without a copy through this process) while the socket
    /// takes them; waits (within the write deadline) when it is full.
    void send_file() {
        auto& socket = stream_.socket();
        beast::error_code ec;
        socket.native_non_blocking(true, ec);
        if (ec) return close_now();
        // A bounded number of steps, then the other work of this thread gets its turn.
        for (int step = 0; step < 16; ++step) {
            int fd = response_.file.fd;
            auto offset = static_cast<off_t>(response_.file.offset + sent_);
            std::uint64_t left = response_.source_length - sent_;
            if (!response_.file.segments.empty()) {
                const auto& segments = response_.file.segments;
                // sent_ only grows: move on from the segment the last step was in.
                while (segment_ < segments.size() &&
                       sent_ >= segment_start_ + segments[segment_].length) {
                    segment_start_ += segments[segment_].length;
                    ++segment_;
                }
                if (segment_ == segments.size()) return close_now();  // shorter than announced
                const auto& segment = segments[segment_];
                fd = segment.fd;
                offset = static_cast<off_t>(segment.offset + (sent_ - segment_start_));
                left = std::min(left, segment.length - (sent_ - segment_start_));
            }
            const auto want =
                static_cast<std::size_t>(std::min<std::uint64_t>(left, max_sendfile_step));
            const ssize_t n = ::sendfile(socket.native_handle(), fd, &offset, want);
            if (n > 0) {
                sent_ += static_cast<std::uint64_t>(n);
                if (sent_ == response_.source_length) return after_response();
                continue;
            }
            if (n == 0) return close_now();  // the file ended before the announced length
            if (errno == EINTR) continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) return wait_writable();
            if ((errno == EINVAL || errno == ENOSYS) && sent_ == 0 && response_.source) {
                send_from_file_ = false;  // a file the kernel cannot send from: read and write it
                return continue_source();
            }
            return close_now();
        }
        auto self = shared_from_this();
        asio::post(stream_.get_executor(), [self] { self->send_file(); });
    }

    /// Waits until the socket takes more bytes, at most the write deadline.
    void wait_writable() {
        if (!write_timer_) write_timer_.emplace(stream_.get_executor());
        const std::uint64_t wait = ++write_waits_;
        write_timer_->expires_after(limits_.write_timeout);
        auto self = shared_from_this();
        write_timer_->async_wait([self, wait](beast::error_code ec) {
            if (ec || wait != self->write_waits_) return;  // the socket became writable in time
            self->close_now();
        });
        stream_.socket().async_wait(tcp::socket::wait_write, [self](beast::error_code ec) {
            ++self->write_waits_;
            self->write_timer_->cancel();
            if (ec) return self->close_now();
            self->send_file();
        });
    }

    void after_response() {
        response_ = response{};
        if (source_buffer_.size() > 0 && owner_->stopping) source_buffer_ = {};
        if (close_after_) return linger_close();
        if (body_unread_) return drain();
        wait_for_request();
    }

    /// Reads and drops the rest of a refused body (at most max_drained_body, never decoded),
    /// then waits for the next request.
    void drain() {
        if (chunk_.size() < body_buffer_size) chunk_.resize(body_buffer_size);
        stream_.expires_after(limits_.body_progress_window);
        if (direct_) return read_direct(&session::on_drained);
        parser_->body_limit(boost::none);
        aim_parser_at_chunk();
        auto self = shared_from_this();
        bhttp::async_read_some(stream_, buffer_, *parser_,
                               [self](beast::error_code ec, std::size_t) {
                                   if (ec == bhttp::error::need_buffer) ec = {};
                                   self->on_drained(ec, 0);
                               });
    }

    void on_drained(beast::error_code ec, std::size_t got) {
        if (direct_) direct_body_left_ -= got;
        if (ec) return close_now();
        if (body_done()) {
            body_unread_ = false;
            return wait_for_request();
        }
        drain();
    }

    /// Closes after an answer: stop sending, then read and drop what the client still sends for
    /// a moment, so it reads the answer rather than a reset.
    void linger_close() {
        beast::error_code ignored;
        stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
        if (chunk_.size() < body_buffer_size) chunk_.resize(body_buffer_size);
        buffer_.clear();
        lingered_ = 0;
        stream_.expires_after(linger_time);
        linger_read();
    }

    void linger_read() {
        auto self = shared_from_this();
        stream_.async_read_some(asio::buffer(chunk_), [self](beast::error_code ec, std::size_t n) {
            self->lingered_ += n;
            if (ec ||
                self->lingered_ > std::max(max_lingered_bytes, self->limits_.max_drained_body))
                return self->close_now();
            self->linger_read();
        });
    }

    void close_now() {
        sink_.reset();
        if (write_timer_) write_timer_->cancel();
        beast::error_code ignored;
        stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
        stream_.socket().close(ignored);
    }

    beast::tcp_stream stream_;
    detail::listener* owner_;  ///< outlives every session (its io_context destroys them)
    const limits& limits_;
    beast::flat_buffer buffer_;
    std::optional<bhttp::request_parser<bhttp::buffer_body>> parser_;
    std::optional<request_head> head_;
    std::unique_ptr<body_sink> sink_;
    response response_;
    std::string head_text_;
    std::vector<char> chunk_;
    std::vector<char> source_buffer_;
    std::uint64_t sent_ = 0;
    std::size_t segment_ = 0;          ///< the file segment sent_ is in (segmented file bodies)
    std::uint64_t segment_start_ = 0;  ///< where that segment starts in the body
    /// The current response's body goes out with sendfile(2) (send_file).
    bool send_from_file_ = false;
    /// The write deadline of a sendfile wait, and a count that tells a stale expiry apart.
    std::optional<asio::steady_timer> write_timer_;
    std::uint64_t write_waits_ = 0;
    std::size_t progress_ = 0;
    /// The current body has a declared length and is read past the parser (read_direct).
    bool direct_ = false;
    std::uint64_t direct_body_left_ = 0;
    std::uint64_t lingered_ = 0;
    bool first_request_ = true;
    bool keep_alive_ = true;
    bool expect_continue_ = false;
    bool body_unread_ = false;
    bool close_after_ = false;
};

}  // namespace

void detail::listener::accept() {
    acceptor.async_accept(
        asio::make_strand(context), [self = this](beast::error_code ec, tcp::socket socket) {
            if (self->stopping) return;
            if (!ec) {
                beast::error_code ignored;
                socket.set_option(tcp::no_delay(true), ignored);
                std::make_shared<session>(std::move(socket), self)->start();
            } else if (ec == asio::error::operation_aborted || !self->acceptor.is_open()) {
                return;
            }
            // Out of descriptors (EMFILE) or a connection reset before accept: keep accepting.
            self->accept();
        });
}

server::server(server_options options, handler handle)
    : impl_(std::make_unique<detail::listener>(std::move(options), std::move(handle))) {}

// The io_context (destroyed with impl_) destroys the sessions still waiting, and their sinks.
server::~server() {
    stop();
}

sigv4::result<int, std::string> server::bind(const std::string& host, int port) {
    const std::string where = "cannot listen on " + host + ":" + std::to_string(port);
    beast::error_code ec;
    tcp::resolver resolver(impl_->context);
    const auto found = resolver.resolve(host, std::to_string(port), tcp::resolver::passive, ec);
    if (ec || found.empty()) return sigv4::unexpected{where + ": " + ec.message()};
    const tcp::endpoint endpoint = found.begin()->endpoint();
    auto& acceptor = impl_->acceptor;
    acceptor.open(endpoint.protocol(), ec);
    if (!ec) acceptor.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) acceptor.bind(endpoint, ec);
    if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
        beast::error_code ignored;
        acceptor.close(ignored);
        return sigv4::unexpected{where + (ec == asio::error::address_in_use
                                              ? ": address already in use"
                                              : ": " + ec.message())};
    }
    return static_cast<int>(acceptor.local_endpoint().port());
}

void server::run() {
    if (!impl_->acceptor.is_open()) return;
    impl_->running = true;
    impl_->accept();
    std::vector<std::thread> threads;
    const std::size_t count = std::max<std::size_t>(impl_->options.threads, 1);
    for (std::size_t i = 1; i < count; ++i) {
        threads.emplace_back([this] { impl_->context.run(); });
    }
    impl_->context.run();
    for (auto& thread : threads) thread.join();
    impl_->running = false;
}

void server::stop() {
    impl_->stopping = true;
    asio::post(impl_->context, [owner = impl_.get()] {
        beast::error_code ignored;
        owner->acceptor.close(ignored);
    });
    impl_->context.stop();
}

bool server::is_running() const noexcept {
    return impl_->running;
}

}  // namespace presign::http
