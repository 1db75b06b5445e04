// SPDX-License-Identifier: Apache-2.0
// The Runtime API client and the invocation loop.
//
// The client speaks HTTP/1.1 over one loopback socket itself: Debian's cpp-httplib ships only the
// declarations in httplib.h (the implementation lives in libcpp-httplib.so), and `bootstrap` must
// be one static ELF. The Runtime API's exchanges are few and simple (GET /next, three POSTs).
#include "presign/lambda/runtime.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <thread>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace presign::lambda {
namespace {

constexpr std::string_view api_prefix = "/2018-06-01/runtime";
// Invocation payloads are at most 6 MB (sync) or 256 KB (async); anything far larger is an error.
constexpr std::size_t max_body_bytes = 32u << 20;

char lower(char c) noexcept {
    return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c;
}

bool iequals(std::string_view a, std::string_view b) noexcept {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(),
                                              [](char x, char y) { return lower(x) == lower(y); });
}

std::string_view trim(std::string_view s) noexcept {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
        s.remove_suffix(1);
    return s;
}

// Request ids are UUIDs; anything else is percent-encoded so it stays one path segment.
std::string path_segment(std::string_view id) {
    static constexpr char digits[] = "0123456789ABCDEF";
    std::string out;
    for (char c : id) {
        auto u = static_cast<unsigned char>(c);
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '_' || c == '.' || c == '~') {
            out.push_back(c);
        } else {
            out.push_back('%');
            out.push_back(digits[u >> 4]);
            out.push_back(digits[u & 15]);
        }
    }
    return out;
}

struct http_header {
    std::string name;
    std::string value;
};

struct http_response {
    int status = 0;
    std::vector<http_header> headers;
    std::string body;

    [[nodiscard]] const std::string* header(std::string_view name) const noexcept {
        for (const auto& h : headers)
            if (iequals(h.name, name)) return &h.value;
        return nullptr;
    }
};

std::optional<std::uint64_t> parse_number(std::string_view text, int base = 10) {
    std::uint64_t value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value, base);
    if (ec != std::errc{} || end != text.data() + text.size() || text.empty()) return std::nullopt;
    return value;
}

/// An IPv4 or IPv6 literal with the port, or nothing when `host` is not one (inet_pton: no NSS).
std::optional<sockaddr_storage> numeric_address(const std::string& host, std::uint16_t port) {
    sockaddr_storage address{};
    auto* v4 = reinterpret_cast<sockaddr_in*>(&address);
    auto* v6 = reinterpret_cast<sockaddr_in6*>(&address);
    if (::inet_pton(AF_INET, host.c_str(), &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons(port);
        return address;
    }
    if (::inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons(port);
        return address;
    }
    return std::nullopt;
}

/// The addresses /etc/hosts gives `name` (case-insensitive, in file order); "localhost" is
/// 127.0.0.1 and ::1 when the file does not list it.
std::vector<sockaddr_storage> hosts_file_addresses(const std::string& name, std::uint16_t port) {
    std::vector<sockaddr_storage> found;
    if (FILE* hosts = std::fopen("/etc/hosts", "re")) {
        char line[1024];
        while (std::fgets(line, sizeof line, hosts) != nullptr) {
            std::string_view rest(line);
            rest = rest.substr(0, rest.find_first_of("#\n"));
            std::vector<std::string_view> words;
            while (!rest.empty()) {
                const auto start = rest.find_first_not_of(" \t\r");
                if (start == std::string_view::npos) break;
                rest.remove_prefix(start);
                const auto end = rest.find_first_of(" \t\r");
                words.push_back(rest.substr(0, end));
                rest = end == std::string_view::npos ? std::string_view{} : rest.substr(end);
            }
            const bool listed = words.size() > 1 &&
                                std::any_of(words.begin() + 1, words.end(),
                                            [&](std::string_view w) { return iequals(w, name); });
            if (!listed) continue;
            if (auto address = numeric_address(std::string(words[0]), port))
                found.push_back(*address);
        }
        std::fclose(hosts);
    }
    if (found.empty() && iequals(name, "localhost")) {
        for (const char* loopback : {"127.0.0.1", "::1"})
            found.push_back(*numeric_address(loopback, port));
    }
    return found;
}

}  // namespace

std::chrono::milliseconds invocation::remaining() const {
    if (!deadline) return std::chrono::hours(24);
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        *deadline - std::chrono::system_clock::now());
    return std::max(left, std::chrono::milliseconds(0));
}

// One keep-alive HTTP/1.1 connection to the Runtime API.
struct runtime_client::connection {
    std::string host;
    std::string port;
    int fd = -1;
    std::string buffer;  // bytes read past the previous response

    ~connection() { close(); }

    void close() noexcept {
        if (fd >= 0) ::close(fd);
        fd = -1;
        buffer.clear();
    }

    // The Runtime API address is numeric ("127.0.0.1:9001") and is parsed as such. getaddrinfo is
    // never called: in a static binary it loads the host's NSS libraries at run time, which must
    // match the glibc it was built with (Debian 12's, not Amazon Linux 2023's), and glibc warns at
    // link time. A name is looked up in /etc/hosts only ("localhost" is loopback without one).
    bool open(std::string& error) {
        close();
        const auto port_number = parse_number(port);
        if (!port_number || *port_number == 0 || *port_number > 65535) {
            error = "the Runtime API address " + host + ":" + port + " has no valid port";
            return false;
        }
        std::vector<sockaddr_storage> candidates;
        if (auto numeric = numeric_address(host, static_cast<std::uint16_t>(*port_number))) {
            candidates.push_back(*numeric);
        } else {
            candidates = hosts_file_addresses(host, static_cast<std::uint16_t>(*port_number));
            if (candidates.empty()) {
                error = "cannot resolve the Runtime API address " + host + ":" + port +
                        ": not a numeric address and not in /etc/hosts";
                return false;
            }
        }
        int last_errno = 0;
        for (const auto& address : candidates) {
            const socklen_t size =
                address.ss_family == AF_INET ? sizeof(sockaddr_in) : sizeof(sockaddr_in6);
            const int s = ::socket(address.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
            if (s >= 0 && ::connect(s, reinterpret_cast<const sockaddr*>(&address), size) == 0) {
                int one = 1;
                ::setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                fd = s;
                return true;
            }
            last_errno = errno;
            if (s >= 0) ::close(s);
        }
        error = "cannot connect to the Runtime API at " + host + ":" + port + ": " +
                std::strerror(last_errno);
        return false;
    }

    bool send_all(std::string_view data) noexcept {
        while (!data.empty()) {
            auto n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) return false;
            data.remove_prefix(static_cast<std::size_t>(n));
        }
        return true;
    }

    // Reads more bytes into `buffer`; false on EOF or error.
    bool fill() {
        char chunk[16384];
        for (;;) {
            auto n = ::recv(fd, chunk, sizeof chunk, 0);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) return false;
            buffer.append(chunk, static_cast<std::size_t>(n));
            return true;
        }
    }

    // Takes the next CRLF-terminated line out of the buffer.
    bool read_line(std::string& line) {
        std::size_t end;
        while ((end = buffer.find("\r\n")) == std::string::npos) {
            if (buffer.size() > 64 * 1024 || !fill()) return false;
        }
        line.assign(buffer, 0, end);
        buffer.erase(0, end + 2);
        return true;
    }

    bool read_exact(std::size_t size, std::string& out) {
        while (buffer.size() < size)
            if (!fill()) return false;
        out.append(buffer, 0, size);
        buffer.erase(0, size);
        return true;
    }

    bool read_response(http_response& res, std::string& error, bool& got_anything) {
        std::string line;
        got_anything = false;
        if (!read_line(line)) {
            got_anything = !buffer.empty();
            error = "the Runtime API closed the connection";
            return false;
        }
        got_anything = true;
        // "HTTP/1.1 200 OK"
        auto space = line.find(' ');
        auto status = space == std::string::npos
                          ? std::nullopt
                          : parse_number(std::string_view(line).substr(space + 1, 3));
        if (!line.starts_with("HTTP/1.") || !status) {
            error = "the Runtime API sent a malformed status line";
            return false;
        }
        res.status = static_cast<int>(*status);
        for (;;) {
            if (!read_line(line)) {
                error = "the Runtime API's response headers were cut short";
                return false;
            }
            if (line.empty()) break;
            auto colon = line.find(':');
            if (colon == std::string::npos) continue;
            res.headers.push_back({std::string(trim(std::string_view(line).substr(0, colon))),
                                   std::string(trim(std::string_view(line).substr(colon + 1)))});
        }
        const std::string* encoding = res.header("Transfer-Encoding");
        if (encoding != nullptr && encoding->find("chunked") != std::string::npos) {
            for (;;) {
                if (!read_line(line)) return error = "a chunked body was cut short", false;
                auto size =
                    parse_number(trim(std::string_view(line).substr(0, line.find(';'))), 16);
                if (!size || res.body.size() + *size > max_body_bytes)
                    return error = "a malformed or oversized chunk", false;
                if (*size == 0) {
                    while (read_line(line) && !line.empty()) {
                    }
                    break;
                }
                if (!read_exact(*size, res.body) || !read_line(line))
                    return error = "a chunked body was cut short", false;
            }
        } else if (const std::string* length = res.header("Content-Length")) {
            auto size = parse_number(*length);
            if (!size || *size > max_body_bytes)
                return error = "a malformed or oversized Content-Length", false;
            if (!read_exact(*size, res.body)) return error = "the body was cut short", false;
        } else if (res.status != 204 && res.status != 304) {
            // No length: the body runs to the end of the connection.
            while (fill())
                if (buffer.size() > max_body_bytes) return error = "an oversized body", false;
            res.body = std::move(buffer);
            close();
            return true;
        }
        const std::string* connection_header = res.header("Connection");
        if (connection_header != nullptr && iequals(*connection_header, "close")) close();
        return true;
    }

    // One request/response; a stale keep-alive connection is reopened once.
    bool exchange(std::string_view method, const std::string& target,
                  const std::vector<http_header>& headers, std::string_view body,
                  http_response& res, std::string& error) {
        std::string head;
        head.reserve(256 + target.size());
        head.append(method).append(" ").append(target).append(" HTTP/1.1\r\nHost: ");
        head.append(host).append(":").append(port).append("\r\nUser-Agent: presign-lambda/0.1\r\n");
        for (const auto& h : headers)
            head.append(h.name).append(": ").append(h.value).append("\r\n");
        if (method != "GET")
            head.append("Content-Length: ").append(std::to_string(body.size())).append("\r\n");
        head.append("\r\n");

        for (int attempt = 0; attempt < 2; ++attempt) {
            bool reused = fd >= 0;
            if (fd < 0 && !open(error)) return false;
            // One write for small requests: the Runtime API sees the whole request at once.
            bool sent = body.size() <= 64 * 1024 ? send_all(head + std::string(body))
                                                 : send_all(head) && send_all(body);
            bool got_anything = false;
            res = http_response{};
            if (sent && read_response(res, error, got_anything)) return true;
            close();
            // Retry only when a reused connection turned out dead before answering anything.
            if (!reused || got_anything) {
                if (!sent)
                    error = "cannot send to the Runtime API: " + std::string(std::strerror(errno));
                return false;
            }
        }
        return false;
    }

    api_result post(const std::string& target, const std::vector<http_header>& headers,
                    std::string_view body) {
        api_result out;
        http_response res;
        if (exchange("POST", target, headers, body, res, out.error)) {
            out.status = res.status;
            out.body = std::move(res.body);
        }
        return out;
    }
};

runtime_client::runtime_client(std::string_view api_address)
    : connection_(std::make_unique<connection>()) {
    auto colon = api_address.rfind(':');
    if (colon == std::string_view::npos || api_address.find(']', colon) != std::string_view::npos) {
        connection_->host = std::string(api_address);
        connection_->port = "80";
    } else {
        connection_->host = std::string(api_address.substr(0, colon));
        connection_->port = std::string(api_address.substr(colon + 1));
    }
    if (connection_->host.size() > 2 && connection_->host.front() == '[' &&
        connection_->host.back() == ']')
        connection_->host = connection_->host.substr(1, connection_->host.size() - 2);
}

runtime_client::~runtime_client() = default;

std::optional<invocation> runtime_client::next(std::string& error) {
    http_response res;
    if (!connection_->exchange("GET", std::string(api_prefix) + "/invocation/next", {}, {}, res,
                               error))
        return std::nullopt;
    if (res.status != 200) {
        error = "the Runtime API answered /next with HTTP " + std::to_string(res.status);
        return std::nullopt;
    }
    invocation inv;
    for (const auto& h : res.headers) {
        if (iequals(h.name, "Lambda-Runtime-Aws-Request-Id")) {
            inv.request_id = h.value;
        } else if (iequals(h.name, "Lambda-Runtime-Trace-Id")) {
            inv.trace_id = h.value;
        } else if (iequals(h.name, "Lambda-Runtime-Invoked-Function-Arn")) {
            inv.function_arn = h.value;
        } else if (iequals(h.name, "Lambda-Runtime-Client-Context")) {
            inv.client_context = h.value;
        } else if (iequals(h.name, "Lambda-Runtime-Cognito-Identity")) {
            inv.cognito_identity = h.value;
        } else if (iequals(h.name, "Lambda-Runtime-Deadline-Ms")) {
            // A deadline the clock cannot represent (past year 2262) counts as malformed.
            constexpr auto latest = std::chrono::duration_cast<std::chrono::milliseconds>(
                                        std::chrono::system_clock::duration::max())
                                        .count();
            if (auto ms = parse_number(h.value); ms && *ms < static_cast<std::uint64_t>(latest))
                inv.deadline = std::chrono::system_clock::time_point(
                    std::chrono::duration_cast<std::chrono::system_clock::duration>(
                        std::chrono::milliseconds(static_cast<std::int64_t>(*ms))));
        }
    }
    if (inv.request_id.empty()) {
        error = "the Runtime API sent an invocation without Lambda-Runtime-Aws-Request-Id";
        return std::nullopt;
    }
    inv.payload = std::move(res.body);
    return inv;
}

api_result runtime_client::post_response(std::string_view request_id, std::string_view payload) {
    return connection_->post(
        std::string(api_prefix) + "/invocation/" + path_segment(request_id) + "/response",
        {{"Content-Type", "application/json"}}, payload);
}

api_result runtime_client::post_error(std::string_view request_id, std::string_view error_type,
                                      std::string_view message) {
    return connection_->post(
        std::string(api_prefix) + "/invocation/" + path_segment(request_id) + "/error",
        {{"Content-Type", "application/json"},
         {"Lambda-Runtime-Function-Error-Type", std::string(error_type)}},
        error_document(error_type, message));
}

api_result runtime_client::post_init_error(std::string_view error_type, std::string_view message) {
    return connection_->post(std::string(api_prefix) + "/init/error",
                             {{"Content-Type", "application/json"},
                              {"Lambda-Runtime-Function-Error-Type", std::string(error_type)}},
                             error_document(error_type, message));
}

std::string error_document(std::string_view error_type, std::string_view message) {
    nlohmann::json doc = {{"errorMessage", message},
                          {"errorType", error_type},
                          {"stackTrace", nlohmann::json::array()}};
    return doc.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

namespace {

void log_to_stderr(std::string_view line) noexcept {
    std::fprintf(stderr, "%.*s\n", static_cast<int>(line.size()), line.data());
}

}  // namespace

int run(runtime_client& client, const handler& handle, const loop_options& options) noexcept {
    const auto& log =
        options.log ? options.log : std::function<void(std::string_view)>(log_to_stderr);
    auto say = [&](std::string_view text) noexcept {
        try {
            log(text);
        } catch (...) {
        }
    };
    std::uint64_t served = 0;
    int failures = 0;
    while (options.max_invocations == 0 || served < options.max_invocations) {
        try {
            std::string error;
            auto inv = client.next(error);
            if (!inv) {
                say("presign-lambda: /next failed: " + error);
                if (++failures >= options.max_next_failures) return 1;
                std::this_thread::sleep_for(std::chrono::milliseconds(10 << std::min(failures, 8)));
                continue;
            }
            failures = 0;
            ++served;
            if (inv->trace_id.empty()) {
                ::unsetenv("_X_AMZN_TRACE_ID");
            } else {
                ::setenv("_X_AMZN_TRACE_ID", inv->trace_id.c_str(), 1);
            }

            std::string payload;
            std::string error_type;
            std::string error_message;
            try {
                payload = handle(*inv);
            } catch (const std::exception& e) {
                error_type = "Handler.Exception";
                error_message = e.what();
            } catch (...) {
                error_type = "Handler.Exception";
                error_message = "the handler threw a non-standard exception";
            }

            if (error_type.empty()) {
                auto posted = client.post_response(inv->request_id, payload);
                if (posted.status == 413) {
                    say("presign-lambda: response of " + std::to_string(payload.size()) +
                        " bytes refused as too large; posting an error");
                    error_type = "Function.ResponseSizeTooLarge";
                    error_message = "the response is larger than the Runtime API accepts (" +
                                    std::to_string(payload.size()) + " bytes)";
                } else if (!posted.accepted()) {
                    say("presign-lambda: posting the response failed: " +
                        (posted.status ? "HTTP " + std::to_string(posted.status) : posted.error));
                }
            }
            if (!error_type.empty()) {
                auto posted = client.post_error(inv->request_id, error_type, error_message);
                if (!posted.accepted())
                    say("presign-lambda: posting the error failed: " +
                        (posted.status ? "HTTP " + std::to_string(posted.status) : posted.error));
            }
        } catch (...) {
            // Out of memory or similar: note it and keep serving.
            say("presign-lambda: unexpected failure in the runtime loop");
            if (++failures >= options.max_next_failures) return 1;
        }
    }
    return 0;
}

}  // namespace presign::lambda
