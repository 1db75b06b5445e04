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

#include <presign/http/server.hpp>
#include <sigv4/encoding.hpp>
#include <sigv4/s3.hpp>
#include <sigv4/time.hpp>

#include "legacy_signature.hpp"
#include "presign/local/list_objects.hpp"
#include "presign/local/multipart_listing.hpp"
#include "presign/local/object_store.hpp"
#include "presign/local/upload_sweeper.hpp"
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
constexpr std::size_t max_small_body = 1 << 20;

std::string http_date(std::int64_t unix_seconds) {
    const std::time_t t = static_cast<std::time_t>(unix_seconds);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buffer[64];
    const std::size_t n = std::strftime(buffer, sizeof buffer, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    return std::string(buffer, n);
}

/// An HTTP-date (IMF-fixdate, the obsolete RFC 850 and asctime forms; RFC 9110 section 5.6.7)
/// as unix seconds; nullopt when it is none of them (the condition is then ignored).
std::optional<std::int64_t> parse_http_date(std::string_view text) {
    static constexpr const char* formats[] = {"%a, %d %b %Y %H:%M:%S GMT",
                                              "%A, %d-%b-%y %H:%M:%S GMT", "%a %b %e %H:%M:%S %Y"};
    const std::string copy(text);
    for (const char* format : formats) {
        std::tm tm{};
        const char* end = ::strptime(copy.c_str(), format, &tm);
        if (end != nullptr && *end == '\0') return static_cast<std::int64_t>(::timegm(&tm));
    }
    return std::nullopt;
}

std::string_view trim(std::string_view text) {
    while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
    while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
    return text;
}

/// Whether an If-Match / If-None-Match list ("*", or entity tags, quoted or not, weak or not)
/// names `etag` (quoted, as stored).
bool etag_matches(std::string_view list, std::string_view etag) {
    const auto unquote = [](std::string_view tag) {
        tag = trim(tag);
        if (tag.starts_with("W/")) tag.remove_prefix(2);
        if (tag.size() >= 2 && tag.front() == '"' && tag.back() == '"')
            tag = tag.substr(1, tag.size() - 2);
        return tag;
    };
    const std::string_view wanted = unquote(etag);
    while (!list.empty()) {
        const auto comma = list.find(',');
        const std::string_view item = trim(list.substr(0, comma));
        if (item == "*" || (!item.empty() && unquote(item) == wanted)) return true;
        if (comma == std::string_view::npos) break;
        list.remove_prefix(comma + 1);
    }
    return false;
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

using http::iequals;

/// Orders header names case-insensitively.
struct iless {
    bool operator()(const std::string& a, const std::string& b) const {
        return std::lexicographical_compare(a.begin(), a.end(), b.begin(), b.end(),
                                            [](char x, char y) {
                                                return std::tolower(static_cast<unsigned char>(x)) <
                                                       std::tolower(static_cast<unsigned char>(y));
                                            });
    }
};

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
        std::transform(id.begin(), id.end(), id.begin(), [](char c) {
            return static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        });
        return id;
    }

  private:
    std::string prefix_;
    std::atomic<std::uint64_t> next_{1};
};

/// The request's path, percent-decoded (as sent when it does not decode).
std::string decoded_path(const http::request_head& req) {
    auto decoded = sigv4::percent_decode(req.raw_path());
    return decoded ? std::move(*decoded) : std::string(req.raw_path());
}

/// What a handler knows about the request it is answering, and the answer it builds. A handler
/// that needs the body sets `sink` (and `body_limit`) instead of answering.
struct exchange {
    const http::request_head& req;
    http::response res;
    std::string request_id;
    std::string bucket;
    std::string key;
    bool head = false;
    std::unique_ptr<http::body_sink> sink;
    std::uint64_t body_limit = 0;

    exchange(const http::request_head& request, std::string id)
        : req(request), request_id(std::move(id)), head(request.method == "HEAD") {
        std::tie(bucket, key) = split_path(decoded_path(request));
    }
    /// The same request, with an empty answer: what a body sink answers through.
    exchange(const exchange& other)
        : req(other.req),
          request_id(other.request_id),
          bucket(other.bucket),
          key(other.key),
          head(other.head) {}
};

/// A body handed to a handler's `on_write`, answered by its `on_finish` through the exchange.
class exchange_sink final : public http::body_sink {
  public:
    using writer = std::function<bool(const char* data, std::size_t size)>;
    using finisher = std::function<void(exchange& ex, http::body_end end)>;
    exchange_sink(const exchange& ex, writer on_write, finisher on_finish)
        : ex_(ex), on_write_(std::move(on_write)), on_finish_(std::move(on_finish)) {}
    bool write(const char* data, std::size_t size) override { return on_write_(data, size); }
    http::response finish(http::body_end end) override {
        on_finish_(ex_, end);
        return std::move(ex_.res);
    }

  private:
    exchange ex_;
    writer on_write_;
    finisher on_finish_;
};

/// Reads a small body (multipart completion, bucket configuration) into memory, then answers.
void read_small_body(exchange& ex, std::size_t limit,
                     std::function<void(exchange&, std::string&, http::body_end)> then) {
    auto body = std::make_shared<std::string>();
    ex.body_limit = limit;
    ex.sink = std::make_unique<exchange_sink>(
        ex,
        [body](const char* data, std::size_t size) {
            body->append(data, size);
            return true;
        },
        [body, then = std::move(then)](exchange& answer, http::body_end end) {
            then(answer, *body, end);
        });
}

/// The bytes [first, first + length) of an object as a file body for sendfile(2): one file, or
/// the pieces of a multipart object's part files that the range covers.
http::file_body file_body_of(const open_object& object, std::uint64_t first, std::uint64_t length) {
    const auto& pieces = object.pieces();
    http::file_body body;
    if (pieces.empty()) return body;
    body.fd = pieces.front().fd;
    if (pieces.size() == 1) {
        body.offset = first;
        return body;
    }
    std::uint64_t start = 0;  // where the current piece starts in the object
    for (const auto& piece : pieces) {
        if (length == 0) break;
        if (first < start + piece.size) {
            const std::uint64_t offset = first - start;
            const std::uint64_t take = std::min(length, piece.size - offset);
            body.segments.push_back({piece.fd, offset, take});
            first += take;
            length -= take;
        }
        start += piece.size;
    }
    return body;
}

}  // namespace

struct s3_server::impl {
    s3_server_options options;
    object_store store;
    request_ids ids;
    upload_sweeper sweeper;
    http::server server;

    explicit impl(s3_server_options opts)
        : options(std::move(opts)),
          store(options.data_dir),
          sweeper(store, options.abandoned_upload_age, std::chrono::hours(1), options.log),
          server(http_options(options),
                 [this](const http::request_head& req) { return handle(req); }) {}

    http::server_options http_options(const s3_server_options& opts) {
        http::server_options out;
        out.threads = std::max<std::size_t>(opts.threads, 1);
        out.deadlines = opts.deadlines;
        out.render_error = [this](int status, const http::request_head* head) {
            return render_error(status, head);
        };
        return out;
    }

    http::decision handle(const http::request_head& req) {
        exchange ex(req, ids.next());
        if (req.method == "OPTIONS") {
            preflight(ex);
        } else {
            dispatch(ex);
        }
        if (ex.sink) return http::decision::read_body(std::move(ex.sink), ex.body_limit);
        return http::decision::respond(std::move(ex.res));
    }

    /// S3's answers to requests the HTTP layer refuses itself.
    http::response render_error(int status, const http::request_head* head) {
        static const http::request_head unparsed{};
        exchange ex(head != nullptr ? *head : unparsed, ids.next());
        if (head == nullptr) ex.bucket.clear(), ex.key.clear();
        if (status == 431) {
            send_error(ex,
                       s3_error{400, "RequestHeaderSectionTooLarge",
                                "Your request header section exceeds the maximum allowed size."});
        } else if (status == 400) {
            send_error(ex, s3_error{400, "BadRequest",
                                    "An error occurred when parsing the HTTP request."});
        } else {
            send_error(ex, s3_error{});
        }
        return std::move(ex.res);
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
                           [&](const std::string& allowed) {
                               return allowed == "*" || allowed == origin;
                           }) ||
               (options.origin_check && options.origin_check(origin));
    }

    void add_cors_headers(const http::request_head& req, http::response& res) const {
        const std::string* origin_header = req.find("Origin");
        if (origin_header == nullptr) return;
        const std::string& origin = *origin_header;
        if (!origin_allowed(origin)) return;
        res.set_header("Access-Control-Allow-Origin", origin);
        res.set_header("Access-Control-Allow-Methods", std::string(allowed_methods));
        res.set_header("Access-Control-Expose-Headers", std::string(exposed_headers));
        res.set_header("Vary",
                       "Origin, Access-Control-Request-Headers, Access-Control-Request-Method");
    }

    void send_xml(exchange& ex, int status, std::string xml) {
        ex.res.status = status;
        if (ex.head) {
            // HEAD answers carry no body (S3 sends only the status for HEAD errors).
            ex.res.set_header("Content-Type", "application/xml");
            return;
        }
        ex.res.set_header("Content-Type", "application/xml");
        ex.res.body = std::move(xml);
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
        received.headers = ex.req.headers;
        received.body = sigv4::payload::from_hash({});
        sigv4::verify_options verify_options;
        verify_options.region = options.region;
        verify_options.service = "s3";
        auto verified = sigv4::verify(received, options.keys, verify_options);
        if (verified) return std::move(verified).value();

        const sigv4::verify_error& failure = verified.error();
        if ((failure.code == sigv4::errc::missing_security_header ||
             failure.code == sigv4::errc::authorization_header_malformed) &&
            detail::is_sigv2_request(ex.req.target, ex.req.value("Authorization"))) {
            send_error(ex,
                       s3_error{400, "InvalidRequest", std::string(detail::sigv2_refusal_message)});
            return std::nullopt;
        }
        s3_error error{sigv4::http_status(failure.code),
                       std::string(sigv4::s3_error_code(failure.code)), failure.message};
        std::string extra;
        switch (failure.code) {
            case sigv4::errc::signature_does_not_match:
                error.message =
                    "The request signature we calculated does not match the signature you "
                    "provided. "
                    "Check your key and signing method.";
                if (!failure.string_to_sign.empty())
                    add_element(extra, "StringToSign", failure.string_to_sign);
                if (!failure.canonical_request.empty()) {
                    add_element(extra, "CanonicalRequest", failure.canonical_request);
                }
                break;
            case sigv4::errc::request_expired:
                error.message = "Request has expired";
                break;
            case sigv4::errc::request_not_yet_valid:
                error.message = "Request is not valid yet";
                break;
            case sigv4::errc::invalid_access_key_id:
                error.message = "The AWS Access Key Id you provided does not exist in our records.";
                break;
            case sigv4::errc::missing_security_header:
                if (error.code == "AccessDenied") error.message = "Access Denied";
                break;
            default:
                break;
        }
        if (error.code.empty()) error.code = "AccessDenied";
        send_error(ex, error, extra);
        return std::nullopt;
    }

    // ---- dispatch ------------------------------------------------------------------------

    void dispatch(exchange& ex) {
        const http::request_head& req = ex.req;
        auto verified = authenticate(ex);
        if (!verified) return;
        std::tie(ex.bucket, ex.key) = split_path(verified->path);
        const std::string& method = req.method;
        const auto& query = verified->query;

        if (ex.bucket.empty()) {
            if (method == "GET" || method == "HEAD") return list_buckets(ex);
            return method_not_allowed(ex);
        }
        if (ex.key.empty()) {
            if (method == "PUT") return create_bucket(ex);
            if (method == "HEAD") return head_bucket(ex);
            if (method == "DELETE") return delete_bucket(ex);
            if (method == "GET") {
                if (has_query(query, "location")) return bucket_location(ex);
                if (has_query(query, "uploads")) return list_multipart_uploads(ex, query);
                if (has_query(query, "versions") || has_query(query, "versioning") ||
                    has_query(query, "policy") || has_query(query, "acl") ||
                    has_query(query, "cors")) {
                    return not_implemented(ex);
                }
                return list_objects(ex, query);
            }
            return not_implemented(ex);
        }
        if (has_query(query, "acl") || has_query(query, "tagging") || has_query(query, "torrent") ||
            has_query(query, "retention") || has_query(query, "legal-hold")) {
            return not_implemented(ex);
        }
        if (method == "POST" && has_query(query, "uploads")) return create_multipart(ex);
        if (has_query(query, "uploadId")) {
            const std::string upload_id = query_value(query, "uploadId");
            if (method == "PUT" && has_query(query, "partNumber")) {
                const auto number = parse_u64(query_value(query, "partNumber"));
                const int part = number && *number <= 10000 ? static_cast<int>(*number) : 0;
                return put_object(ex, *verified, upload_id, part);
            }
            if (method == "POST") return complete_multipart(ex, upload_id);
            if (method == "DELETE") return abort_multipart(ex, upload_id);
            if (method == "GET") return list_parts(ex, query, upload_id);
            return not_implemented(ex);
        }
        if (method == "GET" || method == "HEAD") return get_object(ex, query);
        if (method == "PUT") return put_object(ex, *verified, {}, 0);
        if (method == "DELETE") return delete_object(ex);
        return method_not_allowed(ex);
    }

    void method_not_allowed(exchange& ex) {
        ex.res.set_header("Allow", "GET, PUT, HEAD, DELETE");
        send_error(ex, s3_error{405, "MethodNotAllowed",
                                "The specified method is not allowed against this resource."});
    }

    void not_implemented(exchange& ex) {
        send_error(ex, s3_error{501, "NotImplemented",
                                "A header or query you provided implies functionality that is not "
                                "implemented by presign's local store."});
    }

    // ---- buckets -------------------------------------------------------------------------

    void list_buckets(exchange& ex) {
        add_common_headers(ex);
        std::string xml(xml_declaration);
        xml += "<ListAllMyBucketsResult xmlns=\"";
        xml += s3_namespace;
        xml += "\"><Owner><ID>local</ID><DisplayName>local</DisplayName></Owner><Buckets>";
        for (const auto& name : store.list_buckets()) {
            struct stat info {};
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

    void create_bucket(exchange& ex) {
        // The optional CreateBucketConfiguration names a region; any is accepted locally.
        read_small_body(ex, max_small_body,
                        [this](exchange& answer, std::string&, http::body_end end) {
                            if (end != http::body_end::complete)
                                return send_error(answer, too_big_request());
                            if (auto created = store.create_bucket(answer.bucket); !created) {
                                return send_error(answer, created.error());
                            }
                            add_common_headers(answer);
                            answer.res.set_header("Location", "/" + answer.bucket);
                            answer.res.status = 200;
                            log(answer, 200);
                        });
    }

    static s3_error too_big_request() {
        return s3_error{400, "MaxMessageLengthExceeded", "Your request was too big."};
    }

    void head_bucket(exchange& ex) {
        if (!store.bucket_exists(ex.bucket)) {
            return send_error(ex,
                              s3_error{404, "NoSuchBucket", "The specified bucket does not exist"});
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
            return send_error(ex,
                              s3_error{404, "NoSuchBucket", "The specified bucket does not exist"});
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
        send_listing(ex, list_objects_xml(store, ex.bucket, request));
    }

    /// ListMultipartUploads and ListParts (see multipart_listing.hpp).
    void list_multipart_uploads(exchange& ex, const std::vector<sigv4::query_param>& query) {
        list_uploads_request request;
        request.prefix = query_value(query, "prefix");
        request.delimiter = query_value(query, "delimiter");
        request.key_marker = query_value(query, "key-marker");
        request.upload_id_marker = query_value(query, "upload-id-marker");
        if (has_query(query, "max-uploads"))
            request.max_uploads = query_value(query, "max-uploads");
        send_listing(ex, list_multipart_uploads_xml(store, ex.bucket, request));
    }
    void list_parts(exchange& ex, const std::vector<sigv4::query_param>& query,
                    const std::string& upload_id) {
        list_parts_request request;
        request.upload_id = upload_id;
        if (has_query(query, "max-parts")) request.max_parts = query_value(query, "max-parts");
        if (has_query(query, "part-number-marker"))
            request.part_number_marker = query_value(query, "part-number-marker");
        send_listing(ex, list_parts_xml(store, ex.bucket, ex.key, request));
    }
    void send_listing(exchange& ex, store_result<std::string> xml) {
        if (!xml) return send_error(ex, xml.error());
        add_common_headers(ex);
        send_xml(ex, 200, std::move(*xml));
        log(ex, 200);
    }

    // ---- objects -------------------------------------------------------------------------

    /// A conditional request's verdict on `info` (RFC 9110 section 13.2.2, as S3 applies it):
    /// 0 to go on, 412 (precondition failed, `failed` names the header) or 304 (not modified).
    int evaluate_conditions(const exchange& ex, const object_info& info,
                            std::string_view& failed) const {
        const auto& req = ex.req;
        if (const std::string* if_match = req.find("If-Match")) {
            if (!etag_matches(*if_match, info.etag)) {
                failed = "If-Match";
                return 412;
            }
        } else if (const std::string* since = req.find("If-Unmodified-Since")) {
            const auto date = parse_http_date(*since);
            if (date && info.last_modified > *date) {
                failed = "If-Unmodified-Since";
                return 412;
            }
        }
        const bool read = req.method == "GET" || req.method == "HEAD";
        if (const std::string* if_none_match = req.find("If-None-Match")) {
            if (etag_matches(*if_none_match, info.etag)) {
                failed = "If-None-Match";
                return read ? 304 : 412;
            }
        } else if (const std::string* since = req.find("If-Modified-Since");
                   since != nullptr && read) {
            const auto date = parse_http_date(*since);
            if (date && *date <= std::time(nullptr) && info.last_modified <= *date) {
                failed = "If-Modified-Since";
                return 304;
            }
        }
        return 0;
    }

    void precondition_failed(exchange& ex, std::string_view condition) {
        std::string extra;
        add_element(extra, "Condition", condition);
        send_error(ex,
                   s3_error{412, "PreconditionFailed",
                            "At least one of the pre-conditions you specified did not hold"},
                   extra);
    }

    void not_modified(exchange& ex, const object_info& info) {
        add_common_headers(ex);
        ex.res.set_header("ETag", info.etag);
        ex.res.set_header("Last-Modified", http_date(info.last_modified));
        ex.res.status = 304;
        log(ex, 304);
    }

    void get_object(exchange& ex, const std::vector<sigv4::query_param>& query) {
        auto opened = store.open(ex.bucket, ex.key);
        if (!opened) return send_error(ex, opened.error());
        auto object = std::make_shared<open_object>(std::move(opened).value());
        const object_info& info = object->info();

        std::string_view failed;
        if (const int verdict = evaluate_conditions(ex, info, failed); verdict == 412) {
            return precondition_failed(ex, failed);
        } else if (verdict == 304) {
            return not_modified(ex, info);
        }

        // A Range S3 cannot parse ("bytes=5-2", "items=0-1") is ignored: the whole object.
        byte_range range{0, info.size};
        const std::string_view range_header = ex.req.value("Range");
        const auto kind = resolve_range(range_header, info.size, range);
        if (kind == range_kind::unsatisfiable) {
            ex.res.set_header("Content-Range", "bytes */" + std::to_string(info.size));
            std::string extra;
            add_element(extra, "RangeRequested", range_header);
            add_element(extra, "ActualObjectSize", std::to_string(info.size));
            return send_error(
                ex, s3_error{416, "InvalidRange", "The requested range is not satisfiable"}, extra);
        }

        add_common_headers(ex);
        auto& res = ex.res;
        res.set_header("ETag", info.etag);
        res.set_header("Last-Modified", http_date(info.last_modified));
        res.set_header("Accept-Ranges", "bytes");
        if (!info.checksum_sha256.empty() &&
            iequals(ex.req.value("x-amz-checksum-mode"), "ENABLED") && kind == range_kind::none) {
            res.set_header("x-amz-checksum-sha256", info.checksum_sha256);
        }
        std::map<std::string, std::string, iless> headers;
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
            if (has_query(query, parameter))
                headers[std::string(header)] = query_value(query, parameter);
        }
        if (has_query(query, "response-content-type"))
            content_type = query_value(query, "response-content-type");
        for (const auto& [name, value] : headers) res.set_header(name, value);
        res.set_header("Content-Type", content_type);

        int status = 200;
        if (kind == range_kind::satisfiable) {
            status = 206;
            res.set_header("Content-Range", "bytes " + std::to_string(range.first) + "-" +
                                                std::to_string(range.first + range.length - 1) +
                                                "/" + std::to_string(info.size));
        }
        res.status = status;
        const std::uint64_t first = range.first;
        res.source_length = range.length;
        res.source = [object, first](std::uint64_t offset, char* out, std::size_t size) {
            return object->read_at(first + offset, out, size);
        };
        res.file = file_body_of(*object, first, range.length);
        res.file.owner = object;
        log(ex, status);
    }

    /// PutObject, or UploadPart when `upload_id` is set.
    void put_object(exchange& ex, const sigv4::verified_request& verified,
                    const std::string& upload_id, int part_number) {
        const auto& req = ex.req;
        if (req.has("x-amz-copy-source")) return not_implemented(ex);
        if (!req.content_length) {
            send_error(ex, s3_error{411, "MissingContentLength",
                                    "You must provide the Content-Length HTTP header."});
            ex.res.close = true;
            return;
        }
        const std::uint64_t length = *req.content_length;
        std::string content_sha256 = verified.kind == sigv4::verified_request::auth::header
                                         ? verified.payload_hash
                                         : std::string(req.value("x-amz-content-sha256"));
        if (istarts_with(content_sha256, "STREAMING-") ||
            req.value("Content-Encoding").find("aws-chunked") != std::string_view::npos) {
            return send_error(
                ex, s3_error{501, "NotImplemented",
                             "aws-chunked uploads (STREAMING-* payloads) are not supported by "
                             "presign's local store; send the body with its SHA-256 or "
                             "UNSIGNED-PAYLOAD."});
        }
        if (content_sha256 == "UNSIGNED-PAYLOAD") content_sha256.clear();
        if (!content_sha256.empty() && !is_lower_hex64(content_sha256)) {
            return send_error(
                ex, s3_error{400, "InvalidArgument",
                             "x-amz-content-sha256 must be UNSIGNED-PAYLOAD or a valid sha256 "
                             "value."});
        }
        upload_expectations expect;
        expect.content_length = length;
        expect.content_sha256_hex = content_sha256;
        expect.checksum_sha256 = std::string(req.value("x-amz-checksum-sha256"));
        expect.content_md5 = std::string(req.value("Content-MD5"));
        if (!expect.checksum_sha256.empty()) {
            auto decoded = sigv4::base64_decode(expect.checksum_sha256);
            if (!decoded || decoded->size() != 32) {
                return send_error(ex,
                                  s3_error{400, "InvalidRequest",
                                           "Value for x-amz-checksum-sha256 header is invalid."});
            }
        }
        if (!expect.content_md5.empty()) {
            auto decoded = sigv4::base64_decode(expect.content_md5);
            if (!decoded || decoded->size() != 16) {
                return send_error(ex, s3_error{400, "InvalidDigest",
                                               "The Content-MD5 you specified was invalid."});
            }
        }
        if (length > options.max_object_bytes) {
            std::string extra;
            add_element(extra, "ProposedSize", std::to_string(length));
            add_element(extra, "MaxSizeAllowed", std::to_string(options.max_object_bytes));
            send_error(ex,
                       s3_error{400, "EntityTooLarge",
                                "Your proposed upload exceeds the maximum allowed size"},
                       extra);
            ex.res.close = true;
            return;
        }
        // S3's conditional writes: checked before the body is read and again before the commit.
        const bool conditional =
            upload_id.empty() && (req.has("If-None-Match") || req.has("If-Match"));
        if (conditional && !write_allowed(ex)) return;
        std::vector<sigv4::header> stored;
        for (const auto& [name, value] : req.headers) {
            if (is_stored_header(name)) stored.push_back({name, value});
        }
        auto started =
            upload_id.empty()
                ? store.begin_upload(ex.bucket, ex.key, std::string(req.value("Content-Type")),
                                     std::move(stored))
                : store.begin_part(ex.bucket, ex.key, upload_id, part_number);
        if (!started) return send_error(ex, started.error());
        struct upload_state {
            pending_upload upload;
            upload_expectations expect;
            std::optional<s3_error> write_error;
        };
        auto state = std::make_shared<upload_state>(
            upload_state{std::move(started).value(), std::move(expect), {}});
        state->upload.hash_sha256(!state->expect.content_sha256_hex.empty() ||
                                  !state->expect.checksum_sha256.empty());
        ex.body_limit = length;
        ex.sink = std::make_unique<exchange_sink>(
            ex,
            [state](const char* data, std::size_t size) {
                if (auto written = state->upload.write(data, size); !written) {
                    state->write_error = written.error();
                    return false;
                }
                return true;
            },
            [this, state, conditional](exchange& answer, http::body_end end) {
                if (state->write_error) return send_error(answer, *state->write_error);
                if (end != http::body_end::complete) {
                    return send_error(
                        answer, s3_error{400, "IncompleteBody",
                                         "You did not provide the number of bytes specified by the "
                                         "Content-Length HTTP header."});
                }
                std::string_view failed;
                if (conditional) state->expect.precondition = commit_check(answer, failed);
                auto committed = state->upload.commit(state->expect);
                if (!committed) return send_write_error(answer, committed.error(), failed);
                add_common_headers(answer);
                answer.res.set_header("ETag", committed->etag);
                if (!committed->checksum_sha256.empty()) {
                    answer.res.set_header("x-amz-checksum-sha256", committed->checksum_sha256);
                }
                answer.res.status = 200;
                log(answer, 200);
            });
    }

    /// A write's (PUT's, CompleteMultipartUpload's) If-None-Match ("*" only, as S3) and If-Match
    /// against the key's current object (nullptr: none): nothing when the write may happen, else
    /// S3's refusal: 412 PreconditionFailed (`failed` names the header), or 404 NoSuchKey for
    /// If-Match on a missing key.
    std::optional<s3_error> write_refusal(const exchange& ex, const object_info* current,
                                          std::string_view& failed) const {
        if (current == nullptr) {
            if (!ex.req.has("If-Match")) return std::nullopt;
            return s3_error{404, "NoSuchKey", "The specified key does not exist."};
        }
        if (evaluate_conditions(ex, *current, failed) == 0) return std::nullopt;
        return s3_error{412, "PreconditionFailed",
                        "At least one of the pre-conditions you specified did not hold"};
    }

    /// The store's check of a write's conditions at its commit, atomic with it (`ex` and `failed`
    /// must outlive the commit).
    presign::local::write_precondition commit_check(const exchange& ex,
                                                    std::string_view& failed) const {
        return [this, &ex, &failed](const object_info* current) {
            return write_refusal(ex, current, failed);
        };
    }

    /// Answers a refused write: a failed precondition names its header, as S3 does.
    void send_write_error(exchange& ex, const s3_error& error, std::string_view failed) {
        if (error.status == 412 && !failed.empty()) return precondition_failed(ex, failed);
        send_error(ex, error);
    }

    /// A write's If-None-Match may only be "*" (S3 answers 501 to an entity tag); answers and
    /// returns false otherwise.
    bool if_none_match_supported(exchange& ex) {
        const std::string* if_none_match = ex.req.find("If-None-Match");
        if (if_none_match == nullptr || trim(*if_none_match) == "*") return true;
        send_error(ex,
                   s3_error{501, "NotImplemented",
                            "A header you provided implies functionality that is not implemented"});
        return false;
    }

    /// A write's conditions checked when its head arrives, so a write bound to fail is refused
    /// before its body is read (the store checks again at the commit); answers and returns false
    /// when the write must not happen.
    bool write_allowed(exchange& ex) {
        if (!if_none_match_supported(ex)) return false;
        auto current = store.stat(ex.bucket, ex.key);
        if (!current && current.error().code != "NoSuchKey") {
            send_error(ex, current.error());
            return false;
        }
        std::string_view failed;
        if (auto refused = write_refusal(ex, current ? &*current : nullptr, failed)) {
            send_write_error(ex, *refused, failed);
            return false;
        }
        return true;
    }

    void create_multipart(exchange& ex) {
        read_small_body(
            ex, max_small_body, [this](exchange& answer, std::string&, http::body_end end) {
                if (end != http::body_end::complete) return send_error(answer, too_big_request());
                std::vector<sigv4::header> stored;
                for (const auto& [name, value] : answer.req.headers) {
                    if (is_stored_header(name)) stored.push_back({name, value});
                }
                auto created = store.create_multipart(answer.bucket, answer.key,
                                                      std::string(answer.req.value("Content-Type")),
                                                      std::move(stored));
                if (!created) return send_error(answer, created.error());
                add_common_headers(answer);
                std::string xml(xml_declaration);
                xml += "<InitiateMultipartUploadResult xmlns=\"";
                xml += s3_namespace;
                xml += "\">";
                add_element(xml, "Bucket", answer.bucket);
                add_element(xml, "Key", answer.key);
                add_element(xml, "UploadId", *created);
                xml += "</InitiateMultipartUploadResult>";
                send_xml(answer, 200, std::move(xml));
                log(answer, 200);
            });
    }

    /// The text between <name> and </name> from `from` on; advances `from` past it.
    static std::optional<std::string> element(std::string_view xml, std::string_view name,
                                              std::size_t& from, std::size_t limit) {
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
            {"&quot;", "\""}, {"&#34;", "\""}, {"&apos;", "'"},
            {"&lt;", "<"},    {"&gt;", ">"},   {"&amp;", "&"}};
        for (const auto& [entity, plain] : entities) {
            for (auto at = text.find(entity); at != std::string::npos; at = text.find(entity, at)) {
                text.replace(at, entity.size(), plain);
                at += plain.size();
            }
        }
        return text;
    }

    void complete_multipart(exchange& ex, const std::string& upload_id) {
        read_small_body(ex, 4 * max_small_body,
                        [this, upload_id](exchange& answer, std::string& body, http::body_end end) {
                            if (end != http::body_end::complete)
                                return send_error(answer, too_big_request());
                            complete_multipart(answer, upload_id, body);
                        });
    }

    void complete_multipart(exchange& ex, const std::string& upload_id,
                            const std::string& xml_body) {
        const s3_error malformed{
            400, "MalformedXML",
            "The XML you provided was not well-formed or did not validate against our "
            "published schema"};
        const std::string* body = &xml_body;
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
            if (!number || !etag || *number < 1 || *number > 10000)
                return send_error(ex, malformed);
            parts.push_back({static_cast<int>(*number), xml_unescape(*etag)});
            at = end + 7;
        }
        // S3's conditional writes apply to CompleteMultipartUpload as to PutObject; the store
        // checks them after the upload id (NoSuchUpload comes first) and again, atomically, at the
        // commit.
        std::string_view failed;
        const bool conditional = ex.req.has("If-None-Match") || ex.req.has("If-Match");
        if (conditional && !if_none_match_supported(ex)) return;
        auto completed =
            store.complete_multipart(ex.bucket, ex.key, upload_id, parts,
                                     conditional ? commit_check(ex, failed) : write_precondition{});
        if (!completed) return send_write_error(ex, completed.error(), failed);
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

    void preflight(exchange& ex) {
        const auto& req = ex.req;
        if (!req.has("Origin")) {
            return send_error(ex,
                              s3_error{400, "BadRequest",
                                       "Insufficient information. Origin request header needed."});
        }
        const std::string_view method = req.value("Access-Control-Request-Method");
        const bool method_ok = method == "GET" || method == "PUT" || method == "HEAD" ||
                               method == "POST" || method == "DELETE";
        if (!origin_allowed(std::string(req.value("Origin"))) || !method_ok) {
            return send_error(ex,
                              s3_error{403, "AccessForbidden",
                                       "CORSResponse: This CORS request is not allowed. This is "
                                       "usually because the evalution of Origin, request method / "
                                       "Access-Control-Request-Method or "
                                       "Access-Control-Request-Headers are not whitelisted by the "
                                       "resource's CORS spec."});
        }
        add_common_headers(ex);
        if (const std::string* asked = req.find("Access-Control-Request-Headers")) {
            ex.res.set_header("Access-Control-Allow-Headers", *asked);
        }
        ex.res.set_header("Access-Control-Max-Age", "3000");
        ex.res.status = 200;
        log(ex, 200);
    }
};

bool port_in_use(const std::string& host, int port) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    addrinfo* found = nullptr;
    if (::getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &found) != 0)
        return false;
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

s3_server::s3_server(s3_server_options options)
    : impl_(std::make_unique<impl>(std::move(options))) {}

s3_server::~s3_server() {
    stop();
}

sigv4::result<int, std::string> s3_server::bind(const std::string& host, int port) {
    return impl_->server.bind(host, port);
}

bool s3_server::listen() {
    impl_->server.run();
    return true;
}

void s3_server::stop() {
    impl_->server.stop();
}

bool s3_server::is_running() const {
    return impl_->server.is_running();
}

bool s3_server::ensure_bucket(std::string_view bucket) {
    return static_cast<bool>(impl_->store.create_bucket(bucket));
}

}  // namespace presign::local
