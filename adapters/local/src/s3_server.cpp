// SPDX-License-Identifier: Apache-2.0
#include "presign/local/s3_server.hpp"

#include <arpa/inet.h>
#include <netdb.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <ctime>
#include <limits>
#include <map>
#include <optional>

#include <httplib.h>
#include <sigv4/encoding.hpp>
#include <sigv4/s3.hpp>
#include <sigv4/time.hpp>

#include "legacy_signature.hpp"
#include "presign/local/list_objects.hpp"
#include "presign/local/object_store.hpp"
#include "s3_xml.hpp"

namespace presign::local {
namespace {

using detail::add_element;
using detail::iso_date;
using detail::s3_namespace;
using detail::xml_declaration;
using detail::xml_escape;

constexpr std::string_view exposed_headers =
    "ETag, Content-Length, Content-Range, Content-Type, Last-Modified, x-amz-request-id, "
    "x-amz-id-2, x-amz-checksum-sha256";
constexpr std::string_view allowed_methods = "GET, PUT, HEAD, POST, DELETE";
/// A refused upload's body is read and dropped up to this size, so the client sees the answer
/// instead of a reset connection; beyond it the connection is closed.
constexpr std::uint64_t max_drained_body = 8ull << 20;
constexpr std::size_t max_small_body = 1 << 20;
constexpr std::size_t read_chunk = 1 << 20;

std::string http_date(std::int64_t unix_seconds) {
    const std::time_t t = static_cast<std::time_t>(unix_seconds);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buffer[64];
    const std::size_t n = std::strftime(buffer, sizeof buffer, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    return std::string(buffer, n);
}

bool is_lower_hex64(std::string_view text) {
    return text.size() == 64 && std::all_of(text.begin(), text.end(), [](char c) {
               return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
           });
}

std::optional<std::uint64_t> parse_u64(std::string_view text) {
    std::uint64_t value = 0;
    if (text.empty()) return std::nullopt;
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (error != std::errc{} || end != text.data() + text.size()) return std::nullopt;
    return value;
}

bool iequals(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) ==
                      std::tolower(static_cast<unsigned char>(y));
           });
}

bool istarts_with(std::string_view text, std::string_view prefix) {
    return text.size() >= prefix.size() && iequals(text.substr(0, prefix.size()), prefix);
}

/// Splits a decoded path "/bucket/key" into bucket and key (either may be empty).
std::pair<std::string, std::string> split_path(std::string_view path) {
    if (!path.empty() && path.front() == '/') path.remove_prefix(1);
    const auto slash = path.find('/');
    if (slash == std::string_view::npos) return {std::string(path), {}};
    return {std::string(path.substr(0, slash)), std::string(path.substr(slash + 1))};
}

/// A single byte range "bytes=a-b", "bytes=a-" or "bytes=-n" resolved against `size`.
struct byte_range {
    std::uint64_t first = 0;
    std::uint64_t length = 0;
};
enum class range_kind { none, satisfiable, unsatisfiable };

range_kind resolve_range(std::string_view header, std::uint64_t size, byte_range& out) {
    if (header.empty()) return range_kind::none;
    if (!istarts_with(header, "bytes=")) return range_kind::none;
    std::string_view spec = header.substr(6);
    // S3 serves the whole object for multiple ranges; so do we.
    if (spec.find(',') != std::string_view::npos) return range_kind::none;
    const auto dash = spec.find('-');
    if (dash == std::string_view::npos) return range_kind::none;
    const auto first_text = spec.substr(0, dash);
    const auto last_text = spec.substr(dash + 1);
    if (first_text.empty()) {
        const auto suffix = parse_u64(last_text);
        if (!suffix) return range_kind::none;
        if (*suffix == 0 || size == 0) return range_kind::unsatisfiable;
        const std::uint64_t length = std::min(*suffix, size);
        out = {size - length, length};
        return range_kind::satisfiable;
    }
    const auto first = parse_u64(first_text);
    if (!first) return range_kind::none;
    std::uint64_t last = size == 0 ? 0 : size - 1;
    if (!last_text.empty()) {
        const auto parsed = parse_u64(last_text);
        if (!parsed || *parsed < *first) return range_kind::none;
        last = std::min(*parsed, last);
    }
    if (*first >= size) return range_kind::unsatisfiable;
    out = {*first, last - *first + 1};
    return range_kind::satisfiable;
}

std::string query_value(const std::vector<sigv4::query_param>& query, std::string_view name) {
    for (const auto& q : query) {
        if (q.name == name) return q.value;
    }
    return {};
}

bool has_query(const std::vector<sigv4::query_param>& query, std::string_view name) {
    return std::any_of(query.begin(), query.end(), [&](const auto& q) { return q.name == name; });
}

/// Headers S3 keeps with an object and returns on GET and HEAD.
bool is_stored_header(std::string_view name) {
    return iequals(name, "Content-Disposition") || iequals(name, "Content-Encoding") ||
           iequals(name, "Content-Language") || iequals(name, "Cache-Control") ||
           iequals(name, "Expires") || istarts_with(name, "x-amz-meta-");
}

class request_ids {
public:
    request_ids() : prefix_(random_hex(4)) {}
    std::string next() {
        char counter[17];
        std::snprintf(counter, sizeof counter, "%08llX",
                      static_cast<unsigned long long>(next_.fetch_add(1) & 0xffffffffu));
        std::string id = prefix_ + counter;
        std::transform(id.begin(), id.end(), id.begin(),
                       [](char c) { return static_cast<char>(std::toupper(static_cast<unsigned char>(c))); });
        return id;
    }

private:
    std::string prefix_;
    std::atomic<std::uint64_t> next_{1};
};

/// What a handler knows about the request it is answering.
struct exchange {
    const httplib::Request& req;
    httplib::Response& res;
    std::string request_id;
    std::string bucket;
    std::string key;
    bool head = false;
};

}  // namespace

void exclusive_socket_options(int socket) {
    // httplib's default adds SO_REUSEPORT, which would let a second server bind a port that is
    // already serving; SO_REUSEADDR alone still allows a quick restart.
    const int yes = 1;
    ::setsockopt(socket, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
}

struct s3_server::impl {
    s3_server_options options;
    object_store store;
    httplib::Server server;
    request_ids ids;
    int listen_socket = -1;

    explicit impl(s3_server_options opts)
        : options(std::move(opts)), store(options.data_dir) {
        const std::size_t threads = std::max<std::size_t>(options.threads, 4);
        server.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
        server.set_keep_alive_max_count(100);
        server.set_read_timeout(60);
        server.set_write_timeout(60);
        server.set_tcp_nodelay(true);
        server.set_socket_options([this](int socket) {
            exclusive_socket_options(socket);
            listen_socket = socket;
        });
        const std::string any = R"([\s\S]*)";  // any path, including decoded control bytes
        server.Get(any, [this](const httplib::Request& req, httplib::Response& res) {
            dispatch(req, res, nullptr);
        });
        server.Put(any, [this](const httplib::Request& req, httplib::Response& res) {
            dispatch(req, res, nullptr);
        });
        server.Put(any, [this](const httplib::Request& req, httplib::Response& res,
                               const httplib::ContentReader& reader) { dispatch(req, res, &reader); });
        server.Post(any, [this](const httplib::Request& req, httplib::Response& res) {
            dispatch(req, res, nullptr);
        });
        server.Post(any, [this](const httplib::Request& req, httplib::Response& res,
                                const httplib::ContentReader& reader) { dispatch(req, res, &reader); });
        server.Delete(any, [this](const httplib::Request& req, httplib::Response& res) {
            dispatch(req, res, nullptr);
        });
        server.Delete(any, [this](const httplib::Request& req, httplib::Response& res,
                                  const httplib::ContentReader& reader) {
            dispatch(req, res, &reader);
        });
        server.Options(any, [this](const httplib::Request& req, httplib::Response& res) {
            preflight(req, res);
        });
        // Refuse a bad signature before the client sends a large body.
        server.set_expect_100_continue_handler(
            [this](const httplib::Request& req, httplib::Response& res) {
                exchange ex{req, res, ids.next(), {}, {}, false};
                std::tie(ex.bucket, ex.key) = split_path(req.path);
                auto verified = authenticate(ex);
                if (!verified) {
                    res.set_header("Connection", "close");
                    return res.status;
                }
                return 100;
            });
        server.set_exception_handler(
            [this](const httplib::Request& req, httplib::Response& res, std::exception_ptr) {
                exchange ex{req, res, ids.next(), {}, {}, req.method == "HEAD"};
                send_error(ex, s3_error{});
            });
    }

    // ---- responses -----------------------------------------------------------------------

    void add_common_headers(exchange& ex) {
        ex.res.set_header("x-amz-request-id", ex.request_id);
        ex.res.set_header("x-amz-id-2", ex.request_id);
        ex.res.set_header("Server", "presign");
        add_cors_headers(ex.req, ex.res);
    }

    [[nodiscard]] bool origin_allowed(const std::string& origin) const {
        return std::any_of(options.allowed_origins.begin(), options.allowed_origins.end(),
                           [&](const std::string& allowed) { return allowed == "*" || allowed == origin; });
    }

    void add_cors_headers(const httplib::Request& req, httplib::Response& res) const {
        if (!req.has_header("Origin")) return;
        const std::string origin = req.get_header_value("Origin");
        if (!origin_allowed(origin)) return;
        res.set_header("Access-Control-Allow-Origin", origin);
        res.set_header("Access-Control-Allow-Methods", std::string(allowed_methods));
        res.set_header("Access-Control-Expose-Headers", std::string(exposed_headers));
        res.set_header("Vary", "Origin, Access-Control-Request-Headers, Access-Control-Request-Method");
    }

    void send_xml(exchange& ex, int status, std::string xml) {
        ex.res.status = status;
        if (ex.head) {
            // HEAD answers carry no body (S3 sends only the status for HEAD errors).
            ex.res.set_header("Content-Type", "application/xml");
            return;
        }
        ex.res.set_content(std::move(xml), "application/xml");
    }

    void send_error(exchange& ex, const s3_error& error, std::string_view extra_xml = {}) {
        add_common_headers(ex);
        std::string xml(xml_declaration);
        xml += "<Error>";
        add_element(xml, "Code", error.code);
        add_element(xml, "Message", error.message);
        if (!ex.bucket.empty()) add_element(xml, "BucketName", ex.bucket);
        if (!ex.key.empty()) add_element(xml, "Key", ex.key);
        if (!ex.bucket.empty()) {
            add_element(xml, "Resource", "/" + ex.bucket + (ex.key.empty() ? "" : "/" + ex.key));
        }
        xml += extra_xml;
        add_element(xml, "RequestId", ex.request_id);
        add_element(xml, "HostId", ex.request_id);
        xml += "</Error>";
        send_xml(ex, error.status, std::move(xml));
        log(ex, error.status);
    }

    void log(const exchange& ex, int status) const {
        if (!options.log) return;
        std::string line = "s3 " + ex.req.method + " /" + sigv4::uri_encode(ex.bucket) + "/" +
                           sigv4::uri_encode(ex.key, true) + " " + std::to_string(status);
        options.log(line);
    }

    // ---- authentication ------------------------------------------------------------------

    /// Verifies the signature; on failure fills the response with S3's error and returns nullopt.
    std::optional<sigv4::verified_request> authenticate(exchange& ex) {
        sigv4::received_request received;
        received.method = ex.req.method;
        received.target = ex.req.target;
        received.headers.reserve(ex.req.headers.size());
        for (const auto& [name, value] : ex.req.headers) {
            // httplib adds these for its own bookkeeping; they never came from the client.
            if (name == "REMOTE_ADDR" || name == "REMOTE_PORT" || name == "LOCAL_ADDR" ||
                name == "LOCAL_PORT") {
                continue;
            }
            received.headers.push_back({name, value});
        }
        received.body = sigv4::payload::from_hash({});
        sigv4::verify_options verify_options;
        verify_options.region = options.region;
        verify_options.service = "s3";
        auto verified = sigv4::verify(received, options.keys, verify_options);
        if (verified) return std::move(verified).value();

        const sigv4::verify_error& failure = verified.error();
        if ((failure.code == sigv4::errc::missing_security_header ||
             failure.code == sigv4::errc::authorization_header_malformed) &&
            detail::is_sigv2_request(ex.req.target, ex.req.get_header_value("Authorization"))) {
            send_error(ex, s3_error{400, "InvalidRequest", std::string(detail::sigv2_refusal_message)});
            return std::nullopt;
        }
        s3_error error{sigv4::http_status(failure.code), std::string(sigv4::s3_error_code(failure.code)),
                       failure.message};
        std::string extra;
        switch (failure.code) {
            case sigv4::errc::signature_does_not_match:
                error.message =
                    "The request signature we calculated does not match the signature you provided. "
                    "Check your key and signing method.";
                if (!failure.string_to_sign.empty()) add_element(extra, "StringToSign", failure.string_to_sign);
                if (!failure.canonical_request.empty()) {
                    add_element(extra, "CanonicalRequest", failure.canonical_request);
                }
                break;
            case sigv4::errc::request_expired: error.message = "Request has expired"; break;
            case sigv4::errc::request_not_yet_valid: error.message = "Request is not valid yet"; break;
            case sigv4::errc::invalid_access_key_id:
                error.message = "The AWS Access Key Id you provided does not exist in our records.";
                break;
            case sigv4::errc::missing_security_header:
                if (error.code == "AccessDenied") error.message = "Access Denied";
                break;
            default: break;
        }
        if (error.code.empty()) error.code = "AccessDenied";
        send_error(ex, error, extra);
        return std::nullopt;
    }

    // ---- dispatch ------------------------------------------------------------------------

    void dispatch(const httplib::Request& req, httplib::Response& res,
                  const httplib::ContentReader* reader) {
        // httplib applies Range itself to whatever the handler answers (errors included); this
        // store answers ranges itself, so switch that off. The Request object is not const.
        const_cast<httplib::Request&>(req).ranges.clear();
        exchange ex{req, res, ids.next(), {}, {}, req.method == "HEAD"};
        std::tie(ex.bucket, ex.key) = split_path(req.path);
        auto verified = authenticate(ex);
        if (!verified) {
            refuse_body(ex, reader);
            return;
        }
        std::tie(ex.bucket, ex.key) = split_path(verified->path);
        const std::string& method = req.method;
        const auto& query = verified->query;

        if (ex.bucket.empty()) {
            if (method == "GET" || method == "HEAD") return list_buckets(ex);
            return method_not_allowed(ex, reader);
        }
        if (ex.key.empty()) {
            if (method == "PUT") return create_bucket(ex, reader);
            if (method == "HEAD") return head_bucket(ex);
            if (method == "DELETE") return delete_bucket(ex);
            if (method == "GET") {
                if (has_query(query, "location")) return bucket_location(ex);
                if (has_query(query, "uploads") || has_query(query, "versions") ||
                    has_query(query, "versioning") || has_query(query, "policy") ||
                    has_query(query, "acl") || has_query(query, "cors")) {
                    return not_implemented(ex, reader);
                }
                return list_objects(ex, query);
            }
            return not_implemented(ex, reader);
        }
        if (has_query(query, "acl") || has_query(query, "tagging") || has_query(query, "torrent") ||
            has_query(query, "retention") || has_query(query, "legal-hold")) {
            return not_implemented(ex, reader);
        }
        if (method == "POST" && has_query(query, "uploads")) return create_multipart(ex, reader);
        if (has_query(query, "uploadId")) {
            const std::string upload_id = query_value(query, "uploadId");
            if (method == "PUT" && has_query(query, "partNumber")) {
                const auto number = parse_u64(query_value(query, "partNumber"));
                const int part = number && *number <= 10000 ? static_cast<int>(*number) : 0;
                return put_object(ex, *verified, reader, upload_id, part);
            }
            if (method == "POST") return complete_multipart(ex, upload_id, reader);
            if (method == "DELETE") return abort_multipart(ex, upload_id);
            return not_implemented(ex, reader);
        }
        if (method == "GET" || method == "HEAD") return get_object(ex, query);
        if (method == "PUT") return put_object(ex, *verified, reader, {}, 0);
        if (method == "DELETE") return delete_object(ex);
        return method_not_allowed(ex, reader);
    }

    /// Answers an error before the body was read: drop a small body so the client can read the
    /// answer, close the connection after a large one.
    void refuse_body(exchange& ex, const httplib::ContentReader* reader) {
        if (reader == nullptr) return;
        const auto length = parse_u64(ex.req.get_header_value("Content-Length"));
        if (length && *length <= max_drained_body) {
            (*reader)([](const char*, std::size_t) { return true; });
        } else {
            ex.res.set_header("Connection", "close");
        }
    }

    void method_not_allowed(exchange& ex, const httplib::ContentReader* reader) {
        ex.res.set_header("Allow", "GET, PUT, HEAD, DELETE");
        send_error(ex, s3_error{405, "MethodNotAllowed",
                                "The specified method is not allowed against this resource."});
        refuse_body(ex, reader);
    }

    void not_implemented(exchange& ex, const httplib::ContentReader* reader) {
        send_error(ex, s3_error{501, "NotImplemented",
                                "A header or query you provided implies functionality that is not "
                                "implemented by presign's local store."});
        refuse_body(ex, reader);
    }

    // ---- buckets -------------------------------------------------------------------------

    void list_buckets(exchange& ex) {
        add_common_headers(ex);
        std::string xml(xml_declaration);
        xml += "<ListAllMyBucketsResult xmlns=\"";
        xml += s3_namespace;
        xml += "\"><Owner><ID>local</ID><DisplayName>local</DisplayName></Owner><Buckets>";
        for (const auto& name : store.list_buckets()) {
            struct stat info{};
            const auto path = store.root() / "buckets" / name;
            const std::int64_t created = ::stat(path.c_str(), &info) == 0 ? info.st_mtime : 0;
            xml += "<Bucket>";
            add_element(xml, "Name", name);
            add_element(xml, "CreationDate", iso_date(created));
            xml += "</Bucket>";
        }
        xml += "</Buckets></ListAllMyBucketsResult>";
        send_xml(ex, 200, std::move(xml));
        log(ex, 200);
    }

    void create_bucket(exchange& ex, const httplib::ContentReader* reader) {
        if (reader != nullptr) {
            // The optional CreateBucketConfiguration names a region; any is accepted locally.
            std::size_t received = 0;
            (*reader)([&](const char*, std::size_t size) {
                received += size;
                return received <= max_small_body;
            });
        }
        if (auto created = store.create_bucket(ex.bucket); !created) {
            return send_error(ex, created.error());
        }
        add_common_headers(ex);
        ex.res.set_header("Location", "/" + ex.bucket);
        ex.res.status = 200;
        log(ex, 200);
    }

    void head_bucket(exchange& ex) {
        if (!store.bucket_exists(ex.bucket)) {
            return send_error(ex, s3_error{404, "NoSuchBucket", "The specified bucket does not exist"});
        }
        add_common_headers(ex);
        ex.res.set_header("x-amz-bucket-region", options.region);
        ex.res.status = 200;
        log(ex, 200);
    }

    void delete_bucket(exchange& ex) {
        if (auto deleted = store.delete_bucket(ex.bucket); !deleted) {
            return send_error(ex, deleted.error());
        }
        add_common_headers(ex);
        ex.res.status = 204;
        log(ex, 204);
    }

    void bucket_location(exchange& ex) {
        if (!store.bucket_exists(ex.bucket)) {
            return send_error(ex, s3_error{404, "NoSuchBucket", "The specified bucket does not exist"});
        }
        add_common_headers(ex);
        std::string xml(xml_declaration);
        xml += "<LocationConstraint xmlns=\"";
        xml += s3_namespace;
        xml += "\">";
        if (options.region != "us-east-1") xml += xml_escape(options.region);
        xml += "</LocationConstraint>";
        send_xml(ex, 200, std::move(xml));
        log(ex, 200);
    }

    /// ListObjectsV2 (list-type=2) and the original ListObjects (see list_objects.hpp).
    void list_objects(exchange& ex, const std::vector<sigv4::query_param>& query) {
        auto optional_value = [&](std::string_view name) -> std::optional<std::string> {
            if (!has_query(query, name)) return std::nullopt;
            return query_value(query, name);
        };
        list_request request;
        request.v2 = query_value(query, "list-type") == "2";
        request.prefix = query_value(query, "prefix");
        request.delimiter = query_value(query, "delimiter");
        request.max_keys = optional_value("max-keys");
        request.start_after = optional_value(request.v2 ? "start-after" : "marker");
        if (request.v2) request.continuation_token = optional_value("continuation-token");
        request.encoding_type = optional_value("encoding-type");
        request.fetch_owner = query_value(query, "fetch-owner") == "true";
        auto xml = list_objects_xml(store, ex.bucket, request);
        if (!xml) return send_error(ex, xml.error());
        add_common_headers(ex);
        send_xml(ex, 200, std::move(*xml));
        log(ex, 200);
    }

    // ---- objects -------------------------------------------------------------------------

    void get_object(exchange& ex, const std::vector<sigv4::query_param>& query) {
        auto opened = store.open(ex.bucket, ex.key);
        if (!opened) return send_error(ex, opened.error());
        auto object = std::make_shared<open_object>(std::move(opened).value());
        const object_info& info = object->info();

        byte_range range{0, info.size};
        const auto kind = resolve_range(ex.req.get_header_value("Range"), info.size, range);
        if (kind == range_kind::unsatisfiable) {
            ex.res.set_header("Content-Range", "bytes */" + std::to_string(info.size));
            std::string extra;
            add_element(extra, "RangeRequested", ex.req.get_header_value("Range"));
            add_element(extra, "ActualObjectSize", std::to_string(info.size));
            return send_error(ex, s3_error{416, "InvalidRange", "The requested range is not satisfiable"},
                              extra);
        }

        add_common_headers(ex);
        auto& res = ex.res;
        res.set_header("ETag", info.etag);
        res.set_header("Last-Modified", http_date(info.last_modified));
        res.set_header("Accept-Ranges", "bytes");
        if (!info.checksum_sha256.empty() && iequals(ex.req.get_header_value("x-amz-checksum-mode"), "ENABLED") &&
            kind == range_kind::none) {
            res.set_header("x-amz-checksum-sha256", info.checksum_sha256);
        }
        std::map<std::string, std::string, httplib::detail::ci> headers;
        for (const auto& h : info.stored_headers) headers[h.name] = h.value;
        std::string content_type = info.content_type;
        // Overrides a signed request may ask for (the share link's attachment disposition).
        static constexpr std::pair<std::string_view, std::string_view> overrides[] = {
            {"response-content-disposition", "Content-Disposition"},
            {"response-content-encoding", "Content-Encoding"},
            {"response-content-language", "Content-Language"},
            {"response-cache-control", "Cache-Control"},
            {"response-expires", "Expires"},
        };
        for (const auto& [parameter, header] : overrides) {
            if (has_query(query, parameter)) headers[std::string(header)] = query_value(query, parameter);
        }
        if (has_query(query, "response-content-type")) content_type = query_value(query, "response-content-type");
        for (const auto& [name, value] : headers) res.set_header(name, value);

        int status = 200;
        if (kind == range_kind::satisfiable) {
            status = 206;
            res.set_header("Content-Range", "bytes " + std::to_string(range.first) + "-" +
                                                std::to_string(range.first + range.length - 1) + "/" +
                                                std::to_string(info.size));
        }
        res.status = status;
        if (range.length == 0) {
            res.set_content(std::string(), content_type);
            log(ex, status);
            return;
        }
        const std::uint64_t first = range.first;
        auto buffer = std::make_shared<std::vector<char>>();
        res.set_content_provider(
            static_cast<std::size_t>(range.length), content_type,
            [object, buffer, first](std::size_t offset, std::size_t length, httplib::DataSink& sink) {
                if (buffer->empty()) buffer->resize(read_chunk);
                const std::size_t want = std::min(length, buffer->size());
                const long got = object->read_at(first + offset, buffer->data(), want);
                if (got <= 0) return false;
                return sink.write(buffer->data(), static_cast<std::size_t>(got));
            });
        log(ex, status);
    }

    /// PutObject, or UploadPart when `upload_id` is set.
    void put_object(exchange& ex, const sigv4::verified_request& verified,
                    const httplib::ContentReader* reader, const std::string& upload_id, int part_number) {
        const auto& req = ex.req;
        if (req.has_header("x-amz-copy-source")) return not_implemented(ex, reader);
        if (req.has_header("Transfer-Encoding") && !req.has_header("Content-Length")) {
            send_error(ex, s3_error{411, "MissingContentLength",
                                    "You must provide the Content-Length HTTP header."});
            ex.res.set_header("Connection", "close");
            return;
        }
        const auto length = parse_u64(req.get_header_value("Content-Length"));
        if (!length) {
            send_error(ex, s3_error{411, "MissingContentLength",
                                    "You must provide the Content-Length HTTP header."});
            ex.res.set_header("Connection", "close");
            return;
        }
        std::string content_sha256 = verified.kind == sigv4::verified_request::auth::header
                                         ? verified.payload_hash
                                         : req.get_header_value("x-amz-content-sha256");
        if (istarts_with(content_sha256, "STREAMING-") ||
            req.get_header_value("Content-Encoding").find("aws-chunked") != std::string::npos) {
            send_error(ex, s3_error{501, "NotImplemented",
                                    "aws-chunked uploads (STREAMING-* payloads) are not supported by "
                                    "presign's local store; send the body with its SHA-256 or "
                                    "UNSIGNED-PAYLOAD."});
            refuse_body(ex, reader);
            return;
        }
        if (content_sha256 == "UNSIGNED-PAYLOAD") content_sha256.clear();
        if (!content_sha256.empty() && !is_lower_hex64(content_sha256)) {
            send_error(ex, s3_error{400, "InvalidArgument",
                                    "x-amz-content-sha256 must be UNSIGNED-PAYLOAD or a valid sha256 "
                                    "value."});
            refuse_body(ex, reader);
            return;
        }
        upload_expectations expect;
        expect.content_length = *length;
        expect.content_sha256_hex = content_sha256;
        expect.checksum_sha256 = req.get_header_value("x-amz-checksum-sha256");
        expect.content_md5 = req.get_header_value("Content-MD5");
        if (!expect.checksum_sha256.empty()) {
            auto decoded = sigv4::base64_decode(expect.checksum_sha256);
            if (!decoded || decoded->size() != 32) {
                send_error(ex, s3_error{400, "InvalidRequest",
                                        "Value for x-amz-checksum-sha256 header is invalid."});
                refuse_body(ex, reader);
                return;
            }
        }
        if (!expect.content_md5.empty()) {
            auto decoded = sigv4::base64_decode(expect.content_md5);
            if (!decoded || decoded->size() != 16) {
                send_error(ex, s3_error{400, "InvalidDigest",
                                        "The Content-MD5 you specified was invalid."});
                refuse_body(ex, reader);
                return;
            }
        }
        if (*length > options.max_object_bytes) {
            std::string extra;
            add_element(extra, "ProposedSize", std::to_string(*length));
            add_element(extra, "MaxSizeAllowed", std::to_string(options.max_object_bytes));
            send_error(ex, s3_error{400, "EntityTooLarge",
                                    "Your proposed upload exceeds the maximum allowed size"},
                       extra);
            ex.res.set_header("Connection", "close");
            return;
        }
        std::vector<sigv4::header> stored;
        for (const auto& [name, value] : req.headers) {
            if (is_stored_header(name)) stored.push_back({name, value});
        }
        auto started = upload_id.empty()
                           ? store.begin_upload(ex.bucket, ex.key, req.get_header_value("Content-Type"),
                                                std::move(stored))
                           : store.begin_part(ex.bucket, ex.key, upload_id, part_number);
        if (!started) {
            send_error(ex, started.error());
            refuse_body(ex, reader);
            return;
        }
        pending_upload upload = std::move(started).value();
        upload.hash_sha256(!expect.content_sha256_hex.empty() || !expect.checksum_sha256.empty());
        std::optional<s3_error> write_error;
        if (reader != nullptr && *length > 0) {
            const bool drain_after_error = *length <= max_drained_body;
            const bool complete = (*reader)([&](const char* data, std::size_t size) {
                if (write_error) return drain_after_error;  // read and drop the rest, then answer
                if (upload.received() + size > *length) return false;
                if (auto written = upload.write(data, size); !written) {
                    write_error = written.error();
                    return drain_after_error;
                }
                return true;
            });
            if (!complete) ex.res.set_header("Connection", "close");
        }
        if (write_error) {
            send_error(ex, *write_error);
            if (*length > max_drained_body) ex.res.set_header("Connection", "close");
            return;
        }
        auto committed = upload.commit(expect);
        if (!committed) return send_error(ex, committed.error());
        add_common_headers(ex);
        ex.res.set_header("ETag", committed->etag);
        if (!committed->checksum_sha256.empty()) {
            ex.res.set_header("x-amz-checksum-sha256", committed->checksum_sha256);
        }
        ex.res.status = 200;
        log(ex, 200);
    }

    /// Reads a small request body (multipart completion, bucket configuration).
    static std::optional<std::string> read_small_body(const httplib::ContentReader* reader) {
        std::string body;
        if (reader == nullptr) return body;
        bool too_large = false;
        const bool complete = (*reader)([&](const char* data, std::size_t size) {
            if (body.size() + size > 4 * max_small_body) {
                too_large = true;
                return false;
            }
            body.append(data, size);
            return true;
        });
        if (!complete || too_large) return std::nullopt;
        return body;
    }

    void create_multipart(exchange& ex, const httplib::ContentReader* reader) {
        (void)read_small_body(reader);
        std::vector<sigv4::header> stored;
        for (const auto& [name, value] : ex.req.headers) {
            if (is_stored_header(name)) stored.push_back({name, value});
        }
        auto created = store.create_multipart(ex.bucket, ex.key, ex.req.get_header_value("Content-Type"),
                                              std::move(stored));
        if (!created) return send_error(ex, created.error());
        add_common_headers(ex);
        std::string xml(xml_declaration);
        xml += "<InitiateMultipartUploadResult xmlns=\"";
        xml += s3_namespace;
        xml += "\">";
        add_element(xml, "Bucket", ex.bucket);
        add_element(xml, "Key", ex.key);
        add_element(xml, "UploadId", *created);
        xml += "</InitiateMultipartUploadResult>";
        send_xml(ex, 200, std::move(xml));
        log(ex, 200);
    }

    /// The text between <name> and </name> from `from` on; advances `from` past it.
    static std::optional<std::string> element(std::string_view xml, std::string_view name, std::size_t& from,
                                              std::size_t limit) {
        const std::string open = "<" + std::string(name) + ">";
        const std::string close = "</" + std::string(name) + ">";
        const auto start = xml.find(open, from);
        if (start == std::string_view::npos || start >= limit) return std::nullopt;
        const auto end = xml.find(close, start);
        if (end == std::string_view::npos || end > limit) return std::nullopt;
        from = end + close.size();
        return std::string(xml.substr(start + open.size(), end - start - open.size()));
    }

    static std::string xml_unescape(std::string text) {
        static const std::pair<std::string_view, std::string_view> entities[] = {
            {"&quot;", "\""}, {"&#34;", "\""}, {"&apos;", "'"}, {"&lt;", "<"}, {"&gt;", ">"}, {"&amp;", "&"}};
        for (const auto& [entity, plain] : entities) {
            for (auto at = text.find(entity); at != std::string::npos; at = text.find(entity, at)) {
                text.replace(at, entity.size(), plain);
                at += plain.size();
            }
        }
        return text;
    }

    void complete_multipart(exchange& ex, const std::string& upload_id, const httplib::ContentReader* reader) {
        const s3_error malformed{400, "MalformedXML",
                                 "The XML you provided was not well-formed or did not validate against our "
                                 "published schema"};
        auto body = read_small_body(reader);
        if (!body) return send_error(ex, malformed);
        std::vector<object_store::completed_part> parts;
        std::size_t at = 0;
        for (;;) {
            const auto start = body->find("<Part>", at);
            if (start == std::string::npos) break;
            const auto end = body->find("</Part>", start);
            if (end == std::string::npos) return send_error(ex, malformed);
            std::size_t cursor = start;
            auto number_text = element(*body, "PartNumber", cursor, end);
            cursor = start;
            auto etag = element(*body, "ETag", cursor, end);
            const auto number = number_text ? parse_u64(*number_text) : std::nullopt;
            if (!number || !etag || *number < 1 || *number > 10000) return send_error(ex, malformed);
            parts.push_back({static_cast<int>(*number), xml_unescape(*etag)});
            at = end + 7;
        }
        auto completed = store.complete_multipart(ex.bucket, ex.key, upload_id, parts);
        if (!completed) return send_error(ex, completed.error());
        add_common_headers(ex);
        std::string xml(xml_declaration);
        xml += "<CompleteMultipartUploadResult xmlns=\"";
        xml += s3_namespace;
        xml += "\">";
        add_element(xml, "Location", "/" + ex.bucket + "/" + sigv4::s3::encode_key(ex.key));
        add_element(xml, "Bucket", ex.bucket);
        add_element(xml, "Key", ex.key);
        add_element(xml, "ETag", completed->etag);
        xml += "</CompleteMultipartUploadResult>";
        send_xml(ex, 200, std::move(xml));
        log(ex, 200);
    }

    void abort_multipart(exchange& ex, const std::string& upload_id) {
        if (auto aborted = store.abort_multipart(ex.bucket, ex.key, upload_id); !aborted) {
            return send_error(ex, aborted.error());
        }
        add_common_headers(ex);
        ex.res.status = 204;
        log(ex, 204);
    }

    void delete_object(exchange& ex) {
        if (auto removed = store.remove(ex.bucket, ex.key); !removed) {
            return send_error(ex, removed.error());
        }
        add_common_headers(ex);
        ex.res.status = 204;
        log(ex, 204);
    }

    // ---- CORS preflight ------------------------------------------------------------------

    void preflight(const httplib::Request& req, httplib::Response& res) {
        exchange ex{req, res, ids.next(), {}, {}, false};
        std::tie(ex.bucket, ex.key) = split_path(req.path);
        if (!req.has_header("Origin")) {
            return send_error(ex, s3_error{400, "BadRequest",
                                           "Insufficient information. Origin request header needed."});
        }
        const std::string method = req.get_header_value("Access-Control-Request-Method");
        const bool method_ok = method == "GET" || method == "PUT" || method == "HEAD" ||
                               method == "POST" || method == "DELETE";
        if (!origin_allowed(req.get_header_value("Origin")) || !method_ok) {
            return send_error(ex, s3_error{403, "AccessForbidden",
                                           "CORSResponse: This CORS request is not allowed. This is "
                                           "usually because the evalution of Origin, request method / "
                                           "Access-Control-Request-Method or "
                                           "Access-Control-Request-Headers are not whitelisted by the "
                                           "resource's CORS spec."});
        }
        add_common_headers(ex);
        if (req.has_header("Access-Control-Request-Headers")) {
            res.set_header("Access-Control-Allow-Headers",
                           req.get_header_value("Access-Control-Request-Headers"));
        }
        res.set_header("Access-Control-Max-Age", "3000");
        res.status = 200;
        log(ex, 200);
    }
};

bool port_in_use(const std::string& host, int port) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    addrinfo* found = nullptr;
    if (::getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &found) != 0) return false;
    bool in_use = false;
    for (addrinfo* at = found; at != nullptr && !in_use; at = at->ai_next) {
        const int fd = ::socket(at->ai_family, at->ai_socktype | SOCK_CLOEXEC, at->ai_protocol);
        if (fd < 0) continue;
        const int yes = 1;
        ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
        if (::bind(fd, at->ai_addr, at->ai_addrlen) != 0 && errno == EADDRINUSE) in_use = true;
        ::close(fd);
    }
    ::freeaddrinfo(found);
    return in_use;
}

s3_server::s3_server(s3_server_options options) : impl_(std::make_unique<impl>(std::move(options))) {}

s3_server::~s3_server() { stop(); }

void widen_backlog(int socket) {
    // httplib listens with a backlog of 5: a burst of clients (32 parallel uploads, wrk's 64
    // connections) would overflow it. listen() again on the bound socket raises it.
    if (socket >= 0) ::listen(socket, SOMAXCONN);
}

sigv4::result<int, std::string> s3_server::bind(const std::string& host, int port) {
    if (port == 0) {
        const int bound = impl_->server.bind_to_any_port(host);
        if (bound > 0) {
            widen_backlog(impl_->listen_socket);
            return bound;
        }
    } else if (impl_->server.bind_to_port(host, port)) {
        widen_backlog(impl_->listen_socket);
        return port;
    }
    return sigv4::unexpected{std::string("cannot listen on ") + host + ":" + std::to_string(port) +
                             (port != 0 && port_in_use(host, port) ? ": address already in use" : "")};
}

bool s3_server::listen() { return impl_->server.listen_after_bind(); }

void s3_server::stop() {
    if (impl_->server.is_running()) impl_->server.stop();
}

bool s3_server::is_running() const { return impl_->server.is_running(); }

bool s3_server::ensure_bucket(std::string_view bucket) {
    return static_cast<bool>(impl_->store.create_bucket(bucket));
}

}  // namespace presign::local
