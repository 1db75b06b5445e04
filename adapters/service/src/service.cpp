// SPDX-License-Identifier: Apache-2.0
// The routes of the file-share service: POST /uploads, GET /downloads, OPTIONS preflight.
#include "presign/service.hpp"

#include <sys/random.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdio>
#include <stdexcept>
#include <nlohmann/json.hpp>

#include "text.hpp"

namespace presign::service {
namespace {

using json = nlohmann::json;
using detail::iequals;

constexpr std::size_t max_body_bytes = 16 * 1024;
constexpr std::size_t max_identity_bytes = 128;
constexpr std::string_view allowed_request_headers = "Authorization, Content-Type";

std::string dump(const json& value) {
    return value.dump(-1, ' ', false, json::error_handler_t::replace);
}

const std::string* find_header(const request& req, std::string_view name) noexcept {
    for (const auto& h : req.headers)
        if (iequals(h.name, name)) return &h.value;
    return nullptr;
}

const std::string* find_query(const request& req, std::string_view name) noexcept {
    for (const auto& q : req.query)
        if (q.name == name) return &q.value;
    return nullptr;
}

// Control characters: C0, DEL, and the C1 range U+0080..U+009F (UTF-8 "\xC2\x80".."\xC2\x9F").
// Returns the length of the control sequence at `i`, or 0.
std::size_t control_at(std::string_view text, std::size_t i) noexcept {
    auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x20 || c == 0x7F) return 1;
    if (c == 0xC2 && i + 1 < text.size()) {
        auto next = static_cast<unsigned char>(text[i + 1]);
        if (next >= 0x80 && next <= 0x9F) return 2;
    }
    return 0;
}

// 128 random bits from the kernel's CSPRNG (the source of /dev/urandom and of OpenSSL's RAND_bytes),
// without a file, so it works in a chroot, and without pulling OpenSSL's provider machinery into the
// static Lambda binary.
std::string random_id() {
    std::array<unsigned char, 16> bytes{};
    std::size_t filled = 0;
    while (filled < bytes.size()) {
        auto n = ::getrandom(bytes.data() + filled, bytes.size() - filled, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) throw std::runtime_error("getrandom failed");
        filled += static_cast<std::size_t>(n);
    }
    return sigv4::hex_encode(bytes);
}

struct failure {
    int status;
    std::string_view code;
    std::string message;
};

// What one request produced, for the response and the log line.
struct outcome {
    int status = 200;
    json body;                    // null for 204
    std::string_view error_code;  // empty on success
    std::string key;
    std::vector<sigv4::header> extra_headers;
};

outcome from_failure(failure f) {
    outcome out;
    out.status = f.status;
    out.error_code = f.code;
    out.body = json{{"error", {{"code", f.code}, {"message", std::move(f.message)}}}};
    return out;
}

std::string content_type_essence(std::string_view content_type) {
    return detail::to_lower(detail::trim(content_type.substr(0, content_type.find(';'))));
}

bool valid_content_type(std::string_view content_type) {
    if (content_type.empty() || content_type.size() > 255) return false;
    // Parameters may hold anything printable; no control bytes, no non-ASCII.
    for (char c : content_type) {
        auto u = static_cast<unsigned char>(c);
        if ((u < 0x20 && c != '\t') || u >= 0x7F) return false;
    }
    auto essence = content_type_essence(content_type);
    auto slash = essence.find('/');
    if (slash == std::string::npos) return false;
    return detail::is_token(std::string_view(essence).substr(0, slash)) &&
           detail::is_token(std::string_view(essence).substr(slash + 1));
}

class handler {
public:
    handler(const config& settings, const credentials_source& credentials, const request& req)
        : settings_(settings), credentials_(credentials), req_(req) {}

    outcome run() {
        std::string_view path = req_.path;
        if (path.size() > 1 && path.ends_with('/')) path.remove_suffix(1);
        if (path == "/uploads") return route("POST", [this] { return upload(); });
        if (path == "/downloads") return route("GET", [this] { return download(); });
        return from_failure({404, "not_found", "no such route; use POST /uploads or GET /downloads"});
    }

private:
    template <class Route>
    outcome route(std::string_view method, Route&& serve) {
        if (req_.method == "OPTIONS") {
            outcome out;
            out.status = 204;
            out.extra_headers.push_back({"Access-Control-Allow-Methods", std::string(method) + ", OPTIONS"});
            out.extra_headers.push_back({"Access-Control-Allow-Headers", std::string(allowed_request_headers)});
            out.extra_headers.push_back({"Access-Control-Max-Age", "600"});
            return out;
        }
        if (req_.method != method) {
            auto out = from_failure({405, "method_not_allowed",
                                     "use " + std::string(method) + " for " + req_.path});
            out.extra_headers.push_back({"Allow", std::string(method) + ", OPTIONS"});
            return out;
        }
        bool anonymous = !req_.identity || req_.identity->empty();
        if (anonymous && !settings_.allow_anonymous)
            return from_failure({401, "unauthorized", "sign in first: this API needs an authenticated caller"});
        return serve();
    }

    sigv4::result<sigv4::credentials> signing_credentials() const {
        if (!credentials_) return sigv4::fail(sigv4::errc::invalid_argument, "no credentials source");
        return credentials_();
    }

    sigv4::s3::object_options signing_options() const {
        sigv4::s3::object_options options;
        options.expires = settings_.url_expires;
        options.clamp_expiry = true;  // temporary credentials: a shorter link rather than an error
        return options;
    }

    outcome signed_outcome(const sigv4::result<sigv4::presigned_request>& signed_url, json body,
                           std::string key) const {
        if (!signed_url) return from_failure({500, "signing_failed", "could not sign the request"});
        auto expires_at = sigv4::format_iso8601(signed_url->expires_at);
        if (!expires_at) return from_failure({500, "signing_failed", "could not sign the request"});
        body["url"] = signed_url->url;
        body["expiresIn"] = signed_url->expires_in.count();
        body["expiresAt"] = *expires_at;
        outcome out;
        out.body = std::move(body);
        out.key = std::move(key);
        return out;
    }

    outcome upload() {
        if (req_.body.size() > max_body_bytes)
            return from_failure({400, "invalid_json", "the request body is larger than 16 KiB"});
        auto input = json::parse(req_.body, nullptr, false);
        if (input.is_discarded() || !input.is_object())
            return from_failure({400, "invalid_json",
                                 R"(send a JSON object {"filename","contentType","size","sha256"?})"});

        auto filename = input.find("filename");
        if (filename == input.end() || !filename->is_string())
            return from_failure({400, "invalid_filename", "filename is required and must be a string"});
        auto clean = clean_file_name(filename->get_ref<const std::string&>());
        if (!clean)
            return from_failure({400, "invalid_filename",
                                 "filename must be valid UTF-8, at most 255 bytes, and name a file"});

        auto size = input.find("size");
        if (size == input.end() || !size->is_number_integer())
            return from_failure({400, "invalid_size", "size is required: the file's length in bytes"});
        // The parser stores every non-negative integer as unsigned.
        if (!size->is_number_unsigned()) return from_failure({400, "invalid_size", "size cannot be negative"});
        auto bytes = size->get<std::uint64_t>();
        if (bytes > settings_.max_upload_bytes)
            return from_failure({413, "too_large", "the file is larger than the limit of " +
                                                       std::to_string(settings_.max_upload_bytes) + " bytes"});

        std::string content_type = "application/octet-stream";
        if (auto given = input.find("contentType"); given != input.end() && !given->is_null()) {
            if (!given->is_string())
                return from_failure({415, "content_type_not_allowed", "contentType must be a string"});
            if (!given->get_ref<const std::string&>().empty()) content_type = given->get<std::string>();
        }
        if (!content_type_allowed(content_type, settings_.allowed_content_types))
            return from_failure({415, "content_type_not_allowed",
                                 "files of this type cannot be uploaded here"});

        std::string checksum;
        if (auto given = input.find("sha256"); given != input.end() && !given->is_null()) {
            auto decoded = given->is_string() ? sigv4::base64_decode(given->get_ref<const std::string&>())
                                              : std::nullopt;
            if (!decoded || decoded->size() != 32)
                return from_failure({400, "invalid_checksum", "sha256 must be the base64 of a SHA-256 digest"});
            checksum = given->get<std::string>();
        }

        auto key = caller_prefix(settings_, req_.identity) + random_id() + "/" + *clean;
        auto creds = signing_credentials();
        if (!creds) return from_failure({500, "signing_failed", "no signing credentials available"});
        auto options = signing_options();
        options.content_type = content_type;
        options.content_length = bytes;
        options.checksum_sha256 = checksum;
        auto signed_url = sigv4::s3::presign_put(*creds, settings_.bucket, key, settings_.endpoint, options);

        json headers = json::object();
        if (signed_url)
            for (const auto& h : signed_url->headers) headers[h.name] = h.value;
        json body = {{"method", "PUT"}, {"headers", std::move(headers)}, {"key", key}};
        return signed_outcome(signed_url, std::move(body), key);
    }

    outcome download() {
        const std::string* key = find_query(req_, "key");
        if (!key) key = find_query(req_, "file");  // older clients
        if (!key) return from_failure({400, "invalid_key", "the key query parameter is required"});
        if (auto problem = key_problem(*key)) return from_failure({400, "invalid_key", *problem});
        auto prefix = caller_prefix(settings_, req_.identity);
        if (!key->starts_with(prefix))
            return from_failure({403, "key_outside_prefix", "this key does not belong to you"});
        auto filename = std::string_view(*key).substr(key->rfind('/') + 1);
        if (key->size() == prefix.size() || filename.empty())
            return from_failure({400, "invalid_key", "the key names a folder, not a file"});

        auto creds = signing_credentials();
        if (!creds) return from_failure({500, "signing_failed", "no signing credentials available"});
        auto options = signing_options();
        options.response_content_disposition = sigv4::s3::attachment_disposition(filename);
        auto signed_url = sigv4::s3::presign_get(*creds, settings_.bucket, *key, settings_.endpoint, options);
        return signed_outcome(signed_url, json{{"filename", filename}}, *key);
    }

    const config& settings_;
    const credentials_source& credentials_;
    const request& req_;
};

void add_cors_headers(const config& settings, const request& req, std::vector<sigv4::header>& headers) {
    headers.push_back({"Vary", "Origin"});
    const std::string* origin = find_header(req, "Origin");
    if (!origin) return;
    for (const auto& allowed : settings.allowed_origins) {
        if (allowed == "*") {
            headers.push_back({"Access-Control-Allow-Origin", "*"});
            return;
        }
        if (iequals(allowed, *origin)) {
            headers.push_back({"Access-Control-Allow-Origin", *origin});
            return;
        }
    }
}

}  // namespace

void log_to_stdout(std::string_view line) noexcept {
    std::string out;
    try {
        out.reserve(line.size() + 1);
        out.append(line).push_back('\n');
    } catch (...) {
        return;
    }
    std::string_view rest = out;
    while (!rest.empty()) {
        auto written = ::write(STDOUT_FILENO, rest.data(), rest.size());
        if (written < 0 && errno == EINTR) continue;
        if (written <= 0) return;
        rest.remove_prefix(static_cast<std::size_t>(written));
    }
}

service::service(config settings, credentials_source credentials)
    : service(std::move(settings), std::move(credentials), log_to_stdout) {}

service::service(config settings, credentials_source credentials, log_sink sink)
    : settings_(std::move(settings)), credentials_(std::move(credentials)), log_(std::move(sink)) {}

namespace {

constexpr std::string_view internal_error_body = R"({"error":{"code":"internal","message":"internal error"}})";

// Renders an outcome with the common headers and writes the log line.
response finish(const config& settings, const log_sink& log, const request& req, outcome&& out,
                std::chrono::steady_clock::time_point started) noexcept {
    response res;
    try {
        res.status = out.status;
        res.headers.push_back({"Content-Type", "application/json"});
        res.headers.push_back({"Cache-Control", "no-store"});
        res.headers.push_back({"X-Content-Type-Options", "nosniff"});
        add_cors_headers(settings, req, res.headers);
        for (auto& h : out.extra_headers) res.headers.push_back(std::move(h));
        if (!out.body.is_null()) {
            res.body = dump(out.body);
        } else if (!out.error_code.empty()) {
            res.body = internal_error_body;  // the failure could not even be described
        }
    } catch (...) {
        res = response{500, {{"Content-Type", "application/json"}}, std::string(internal_error_body)};
        out.error_code = "internal";
    }
    if (log) {
        try {
            auto micros = std::chrono::duration_cast<std::chrono::microseconds>(
                              std::chrono::steady_clock::now() - started)
                              .count();
            json line = {{"requestId", req.request_id},
                         {"route", req.method.substr(0, 16) + " " + req.path.substr(0, 256)},
                         {"status", res.status},
                         {"durationUs", micros}};
            if (!out.error_code.empty()) line["error"] = out.error_code;
            if (!out.key.empty()) line["key"] = out.key;
            log(dump(line));
        } catch (...) {
            // Logging must never turn a served request into a failure.
        }
    }
    return res;
}

}  // namespace

response service::handle(const request& req) const noexcept {
    auto started = std::chrono::steady_clock::now();
    outcome out;
    try {
        out = handler(settings_, credentials_, req).run();
    } catch (...) {
        out = outcome{};
        out.status = 500;
        out.error_code = "internal";
    }
    return finish(settings_, log_, req, std::move(out), started);
}

response service::reject(const request& req, int status, std::string_view code,
                         std::string_view message) const noexcept {
    auto started = std::chrono::steady_clock::now();
    outcome out;
    try {
        out = from_failure({status, code, std::string(message)});
    } catch (...) {
        out = outcome{};
        out.status = 500;
        out.error_code = "internal";
    }
    return finish(settings_, log_, req, std::move(out), started);
}

std::string caller_prefix(const config& settings, const std::optional<std::string>& identity) {
    if (!identity || identity->empty()) return settings.key_prefix + "shared/";
    const std::string& id = *identity;
    bool only_dots = id.find_first_not_of('.') == std::string::npos;
    std::string escaped;
    for (char c : id) {
        bool keep = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
                    c == '@' || (c == '.' && !only_dots);
        if (keep) {
            escaped.push_back(c);
        } else {
            static constexpr char digits[] = "0123456789ABCDEF";
            auto u = static_cast<unsigned char>(c);
            escaped.push_back('_');
            escaped.push_back(digits[u >> 4]);
            escaped.push_back(digits[u & 15]);
        }
    }
    if (escaped.size() > max_identity_bytes) {
        auto digest = sigv4::sha256_of(id);
        escaped = "sha256-" + sigv4::hex_encode(digest);
    }
    return settings.key_prefix + "users/" + escaped + "/";
}

std::optional<std::string> key_problem(std::string_view key) {
    if (key.empty()) return "the key is empty";
    if (key.size() > 1024) return "the key is longer than 1024 bytes";
    if (!sigv4::is_valid_utf8(key)) return "the key is not valid UTF-8";
    for (std::size_t i = 0; i < key.size(); ++i)
        if (control_at(key, i) != 0) return "the key contains a control character";
    if (key.front() == '/') return "the key starts with '/'";
    std::size_t start = 0;
    while (start <= key.size()) {
        auto end = key.find('/', start);
        if (end == std::string_view::npos) end = key.size();
        auto segment = key.substr(start, end - start);
        if (segment == "." || segment == "..") return "the key contains a '.' or '..' segment";
        start = end + 1;
    }
    return std::nullopt;
}

std::optional<std::string> clean_file_name(std::string_view name) {
    if (!sigv4::is_valid_utf8(name)) return std::nullopt;
    if (auto sep = name.find_last_of("/\\"); sep != std::string_view::npos) name = name.substr(sep + 1);
    std::string clean;
    clean.reserve(name.size());
    for (std::size_t i = 0; i < name.size();) {
        if (auto skip = control_at(name, i); skip != 0) {
            i += skip;
            continue;
        }
        clean.push_back(name[i++]);
    }
    auto trimmed = std::string(detail::trim(clean));
    if (trimmed.empty() || trimmed == "." || trimmed == ".." || trimmed.size() > 255) return std::nullopt;
    return trimmed;
}

bool content_type_allowed(std::string_view content_type, const std::vector<std::string>& patterns) {
    if (!valid_content_type(content_type)) return false;
    if (patterns.empty()) return true;
    auto essence = content_type_essence(content_type);
    auto type = std::string_view(essence).substr(0, essence.find('/'));
    for (const auto& pattern : patterns) {
        if (pattern == "*" || pattern == "*/*" || pattern == essence) return true;
        if (pattern.ends_with("/*") && std::string_view(pattern).substr(0, pattern.size() - 2) == type)
            return true;
    }
    return false;
}

}  // namespace presign::service
