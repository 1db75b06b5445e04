// SPDX-License-Identifier: Apache-2.0
// The routes of the file-share service: POST /uploads, GET /downloads, GET and DELETE /files,
// OPTIONS preflight.
#include "presign/service.hpp"

#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <nlohmann/json.hpp>
#include <presign/web/assets.hpp>
#include <stdexcept>

#include "random.hpp"
#include "text.hpp"
#include "upload_plan.hpp"

namespace presign::service {
namespace {

using json = nlohmann::json;
using detail::iequals;

constexpr std::size_t max_body_bytes = 16 * 1024;
constexpr std::size_t max_identity_bytes = 128;
constexpr std::size_t max_cursor_bytes = 1024;
constexpr std::uint32_t max_list_keys = 1000;
constexpr std::string_view allowed_request_headers = "Authorization, Content-Type";
constexpr std::string_view share_path_prefix = "/s/";
constexpr std::size_t max_password_bytes = 1024;

// A JSON object written member by member into a string, closed by end() (member names are
// literals that need no escaping; values go through append_json_string).
class json_object {
  public:
    explicit json_object(std::string& out) : out_(out) { out_ += '{'; }
    void end() { out_ += '}'; }

    void string(std::string_view name, std::string_view value) {
        member(name);
        append_json_string(out_, value);
    }
    void number(std::string_view name, std::int64_t value) {
        member(name);
        std::array<char, 24> digits{};
        auto end = std::to_chars(digits.data(), digits.data() + digits.size(), value).ptr;
        out_.append(digits.data(), end);
    }
    void boolean(std::string_view name, bool value) {
        member(name);
        out_ += value ? "true" : "false";
    }
    /// Opens an array member: the caller writes its elements, commas and the closing ']'.
    void open_array(std::string_view name) {
        member(name);
        out_ += '[';
    }
    /// A nested object: write its members through the returned writer and end() it before the
    /// next member.
    json_object object(std::string_view name) {
        member(name);
        return json_object(out_);
    }

  private:
    void member(std::string_view name) {
        if (!first_) out_ += ',';
        first_ = false;
        out_ += '"';
        out_ += name;
        out_ += "\":";
    }

    std::string& out_;
    bool first_ = true;
};

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

// Characters that change how the text around them is shown while being invisible: Unicode's
// Bidi_Control set (U+061C, U+200E, U+200F, U+202A..U+202E, U+2066..U+2069) and the line and
// paragraph separators U+2028, U+2029 ("\u202Egnp.exe" shows as "exe.png"). Returns the length of
// such a character's UTF-8 sequence at `i`, or 0.
std::size_t bidi_or_separator_at(std::string_view text, std::size_t i) noexcept {
    auto byte = [&](std::size_t k) { return static_cast<unsigned char>(text[i + k]); };
    if (byte(0) == 0xD8) return i + 1 < text.size() && byte(1) == 0x9C ? 2 : 0;  // U+061C
    if (byte(0) != 0xE2 || i + 2 >= text.size()) return 0;
    const unsigned char second = byte(1);
    const unsigned char third = byte(2);
    if (second == 0x80 && (third == 0x8E || third == 0x8F || (third >= 0xA8 && third <= 0xAE)))
        return 3;
    if (second == 0x81 && third >= 0xA6 && third <= 0xA9) return 3;
    return 0;
}

// A control character, a bidi control or a line/paragraph separator at `i`: its length, or 0.
std::size_t hidden_at(std::string_view text, std::size_t i) noexcept {
    if (auto length = control_at(text, i); length != 0) return length;
    return bidi_or_separator_at(text, i);
}

// 128 random bits per id, drawn for 32 ids at a time (one system call per 32 uploads), per thread
// since `presign serve` handles requests on several; neither adapter forks, so no two processes
// share a pool.
std::string random_id() {
    constexpr std::size_t id_bytes = 16;
    thread_local std::array<unsigned char, id_bytes * 32> pool{};
    thread_local std::size_t used = pool.size();
    if (used == pool.size()) {
        if (!detail::fill_random(pool.data(), pool.size()))
            throw std::runtime_error("getrandom failed");
        used = 0;
    }
    auto id = sigv4::hex_encode(std::span<const unsigned char>(pool.data() + used, id_bytes));
    used += id_bytes;
    return id;
}

// format_iso8601 of the expiry, remembered for the second it names (many requests share one).
sigv4::result<std::string> expiry_text(sigv4::sys_seconds t) {
    thread_local sigv4::sys_seconds cached_time{};
    thread_local std::string cached_text;
    if (!cached_text.empty() && cached_time == t) return cached_text;
    auto text = sigv4::format_iso8601(t);
    if (text) {
        cached_time = t;
        cached_text = *text;
    }
    return text;
}

struct failure {
    int status;
    std::string_view code;
    std::string message;
};

// What one request produced, for the response and the log line.
struct outcome {
    int status = 200;
    std::string body;  // JSON unless content_type says otherwise; empty for 204 and 302
    std::string_view content_type = "application/json";  // empty: no Content-Type (no body)
    std::string_view error_code;                         // empty on success
    std::string_view log_reason;                         // why, for the operator only (never sent)
    std::string key;
    std::vector<sigv4::header> extra_headers;
};

outcome from_failure(const failure& f) {
    outcome out;
    out.status = f.status;
    out.error_code = f.code;
    out.body.reserve(40 + f.code.size() + f.message.size());
    json_object document(out.body);
    auto error = document.object("error");
    error.string("code", f.code);
    error.string("message", f.message);
    error.end();
    document.end();
    return out;
}

// The members of an upload request, read with nlohmann's SAX interface (no document is built). As
// with a DOM, a repeated member name keeps its last value; nested values are only typed "other".
struct upload_member {
    enum class kind : std::uint8_t {
        absent,
        null,
        string,
        unsigned_integer,
        signed_integer,
        boolean,
        other
    };
    kind type = kind::absent;
    std::string text;
    std::uint64_t number = 0;
};

class upload_reader {
  public:
    using string_t = json::string_t;
    using kind = upload_member::kind;

    upload_member filename, content_type, size, sha256, multipart;

    [[nodiscard]] bool is_object() const noexcept { return root_object_; }

    bool null() { return scalar(kind::null); }
    bool boolean(bool value) {
        if (auto* m = member()) {
            m->type = kind::boolean;
            m->number = value ? 1 : 0;
        }
        return true;
    }
    bool number_integer(json::number_integer_t) {
        return scalar(kind::signed_integer);
    }  // negative
    bool number_unsigned(json::number_unsigned_t value) {
        if (auto* m = member()) {
            m->type = kind::unsigned_integer;
            m->number = value;
        }
        return true;
    }
    bool number_float(json::number_float_t, const string_t&) { return scalar(kind::other); }
    bool binary(json::binary_t&) { return scalar(kind::other); }
    bool string(string_t& value) {
        if (auto* m = member()) {
            m->type = kind::string;
            m->text = std::move(value);
        }
        return true;
    }
    bool start_object(std::size_t) { return open(true); }
    bool start_array(std::size_t) { return open(false); }
    bool end_object() { return close(); }
    bool end_array() { return close(); }
    bool key(string_t& name) {
        if (depth_ != 1) return true;
        current_ = name == "filename"      ? &filename
                   : name == "contentType" ? &content_type
                   : name == "size"        ? &size
                   : name == "sha256"      ? &sha256
                   : name == "multipart"   ? &multipart
                                           : nullptr;
        if (current_ != nullptr) *current_ = upload_member{};
        return true;
    }
    bool parse_error(std::size_t, const std::string&, const json::exception&) { return false; }

  private:
    upload_member* member() const noexcept { return depth_ == 1 ? current_ : nullptr; }
    bool scalar(kind type) {
        if (auto* m = member()) m->type = type;
        return true;
    }
    bool open(bool object) {
        if (depth_ == 0) root_object_ = object;
        if (auto* m = member()) m->type = kind::other;
        ++depth_;
        return true;
    }
    bool close() {
        --depth_;
        return true;
    }

    upload_member* current_ = nullptr;
    std::size_t depth_ = 0;
    bool root_object_ = false;
};

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

// An S3 upload id as S3, RGW, MinIO and the local store write them: 1..1024 bytes of base64url,
// base64 and '.', '~' (a tighter set than S3 documents, so nothing odd is ever signed into a URL).
bool valid_upload_id(std::string_view id) noexcept {
    if (id.empty() || id.size() > sigv4::s3::max_upload_id_bytes) return false;
    for (char c : id) {
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '-' || c == '_' || c == '.' || c == '~' || c == '+' || c == '/' || c == '=';
        if (!ok) return false;
    }
    return true;
}

sigv4::sys_seconds now_seconds() {
    return std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now());
}

constexpr std::uint64_t single_put_limit = 5ull << 30;
constexpr std::size_t max_parts_per_call = 100;

class handler {
  public:
    handler(const config& settings, const credentials_source& credentials, const request& req)
        : settings_(settings), credentials_(credentials), req_(req) {}

    outcome run() {
        std::string_view path = req_.path;
        if (path.size() > 1 && path.ends_with('/')) path.remove_suffix(1);
        if (path == "/uploads") return route("POST", [this] { return upload(); });
        if (path == "/uploads/parts") {
            if (req_.method == "GET")
                return route(
                    "GET", [this] { return list_parts(); }, "GET, POST");
            return route(
                "POST", [this] { return sign_parts(); }, "GET, POST");
        }
        if (path == "/uploads/complete")
            return route("POST", [this] { return finish_parts(false); });
        if (path == "/uploads/abort") return route("POST", [this] { return finish_parts(true); });
        if (path == "/downloads") return route("GET", [this] { return download(); });
        if (path == "/files") {
            if (req_.method == "DELETE")
                return route(
                    "DELETE", [this] { return delete_file(); }, "GET, DELETE");
            return route(
                "GET", [this] { return list_files(); }, "GET, DELETE");
        }
        if (path == "/shares") return route("POST", [this] { return create_share(); });
        if (path.starts_with(share_path_prefix) || path == share_path_prefix.substr(0, 2))
            return share_link(path.substr(std::min(path.size(), share_path_prefix.size())));
        return from_failure(
            {404, "not_found", "no such route; use POST /uploads, GET /downloads or GET /files"});
    }

  private:
    /// Runs `serve` for `method`; `allowed` lists every method of the path (preflight and 405).
    template <class Route>
    outcome route(std::string_view method, Route&& serve, std::string_view allowed = {}) {
        if (allowed.empty()) allowed = method;
        if (req_.method == "OPTIONS") {
            outcome out;
            out.status = 204;
            out.extra_headers.push_back(
                {"Access-Control-Allow-Methods", std::string(allowed) + ", OPTIONS"});
            out.extra_headers.push_back(
                {"Access-Control-Allow-Headers", std::string(allowed_request_headers)});
            out.extra_headers.push_back({"Access-Control-Max-Age", "600"});
            return out;
        }
        if (req_.method != method) {
            auto out = from_failure(
                {405, "method_not_allowed", "use " + std::string(allowed) + " for " + req_.path});
            out.extra_headers.push_back({"Allow", std::string(allowed) + ", OPTIONS"});
            return out;
        }
        bool anonymous = !req_.identity || req_.identity->empty();
        if (anonymous && !settings_.allow_anonymous)
            return from_failure(
                {401, "unauthorized", "sign in first: this API needs an authenticated caller"});
        return serve();
    }

    sigv4::result<sigv4::credentials> signing_credentials() const {
        if (!credentials_)
            return sigv4::fail(sigv4::errc::invalid_argument, "no credentials source");
        return credentials_();
    }

    sigv4::s3::object_options signing_options() const {
        sigv4::s3::object_options options;
        options.expires = settings_.url_expires;
        options.clamp_expiry = true;  // temporary credentials: a shorter link rather than an error
        return options;
    }

    // The success body: `members` writes the route's own members after "url".
    template <class Members>
    outcome signed_outcome(const sigv4::result<sigv4::presigned_request>& signed_url,
                           std::string key, Members&& members) const {
        if (!signed_url) return from_failure({500, "signing_failed", "could not sign the request"});
        auto expires_at = expiry_text(signed_url->expires_at);
        if (!expires_at) return from_failure({500, "signing_failed", "could not sign the request"});
        outcome out;
        out.body.reserve(signed_url->url.size() + 512);
        json_object body(out.body);
        members(body, signed_url->url);
        body.number("expiresIn", signed_url->expires_in.count());
        body.string("expiresAt", *expires_at);
        body.end();
        out.key = std::move(key);
        return out;
    }

    outcome upload() {
        if (req_.body.size() > max_body_bytes)
            return from_failure({400, "invalid_json", "the request body is larger than 16 KiB"});
        using kind = upload_member::kind;
        upload_reader input;
        bool parsed = false;
        try {
            parsed = json::sax_parse(req_.body, &input);
        } catch (const json::exception&) {
            parsed = false;
        }
        if (!parsed || !input.is_object())
            return from_failure(
                {400, "invalid_json",
                 R"(send a JSON object {"filename","contentType","size","sha256"?})"});

        if (input.filename.type != kind::string)
            return from_failure(
                {400, "invalid_filename", "filename is required and must be a string"});
        auto clean = clean_file_name(input.filename.text);
        if (!clean)
            return from_failure(
                {400, "invalid_filename",
                 "filename must be valid UTF-8, at most 255 bytes, and name a file"});

        // nlohmann reads every non-negative integer as unsigned, a negative one as signed.
        if (input.size.type == kind::signed_integer)
            return from_failure({400, "invalid_size", "size cannot be negative"});
        if (input.size.type != kind::unsigned_integer)
            return from_failure(
                {400, "invalid_size", "size is required: the file's length in bytes"});
        auto bytes = input.size.number;
        if (bytes > settings_.max_upload_bytes)
            return from_failure({413, "too_large",
                                 "the file is larger than the limit of " +
                                     std::to_string(settings_.max_upload_bytes) + " bytes"});

        std::string content_type = "application/octet-stream";
        if (input.content_type.type != kind::absent && input.content_type.type != kind::null) {
            if (input.content_type.type != kind::string)
                return from_failure(
                    {415, "content_type_not_allowed", "contentType must be a string"});
            if (!input.content_type.text.empty()) content_type = std::move(input.content_type.text);
        }
        if (!content_type_allowed(content_type, settings_.allowed_content_types)) {
            std::string allowed;  // said in the error, so that a client can tell the person
            for (const auto& type : settings_.allowed_content_types)
                allowed += (allowed.empty() ? "" : ", ") + type;
            return from_failure(
                {415, "content_type_not_allowed",
                 "files of this type cannot be uploaded here; allowed types: " + allowed});
        }

        std::string checksum;
        if (input.sha256.type != kind::absent && input.sha256.type != kind::null) {
            auto decoded = input.sha256.type == kind::string
                               ? sigv4::base64_decode(input.sha256.text)
                               : std::nullopt;
            if (!decoded || decoded->size() != 32)
                return from_failure(
                    {400, "invalid_checksum", "sha256 must be the base64 of a SHA-256 digest"});
            checksum = std::move(input.sha256.text);
        }

        // "multipart": true asks for parts, false for one PUT (up to S3's 5 GiB); absent, the
        // threshold decides.
        std::optional<bool> parts_asked;
        if (input.multipart.type == kind::boolean) {
            parts_asked = input.multipart.number == 1;
        } else if (input.multipart.type != kind::absent && input.multipart.type != kind::null) {
            return from_failure({400, "invalid_multipart", "multipart must be true or false"});
        }

        auto key = caller_prefix(settings_, req_.identity) + random_id() + "/" + *clean;
        auto creds = signing_credentials();
        if (!creds)
            return from_failure({500, "signing_failed", "no signing credentials available"});
        auto options = signing_options();
        options.content_type = content_type;
        if (bytes > single_put_limit || parts_asked.value_or(bytes > settings_.multipart_threshold))
            return start_parts(*creds, std::move(key), bytes, options);
        options.content_length = bytes;
        options.checksum_sha256 = checksum;
        // Write once: the store refuses a second PUT to the key (412), so the ticket cannot be
        // replayed during its lifetime (with versioning, each replay would keep another copy).
        options.if_none_match_any = true;
        auto signed_url =
            sigv4::s3::presign_put(*creds, settings_.bucket, key, settings_.endpoint, options);
        return signed_outcome(signed_url, key, [&](json_object& body, const std::string& url) {
            body.string("method", "PUT");
            body.string("url", url);
            auto headers = body.object("headers");
            for (const auto& h : signed_url->headers) headers.string(h.name, h.value);
            headers.end();
            body.string("key", key);
        });
    }

    // POST /uploads for a large file: a plan token and a presigned CreateMultipartUpload. (A
    // SHA-256 of the whole file cannot be signed into parts; the parts' own lengths are.)
    outcome start_parts(const sigv4::credentials& creds, std::string key, std::uint64_t bytes,
                        const sigv4::s3::object_options& options) {
        if (!settings_.link_keys)
            return from_failure(
                {503, "multipart_disabled",
                 "large files need the service's token secret (LINK_SECRET), which is not set"});
        auto plan = detail::plan_upload(std::move(key), bytes);
        auto plan_expires = now_seconds() + detail::plan_lifetime;
        auto plan_token = detail::seal_plan(*settings_.link_keys, plan, plan_expires);
        auto plan_expires_text = sigv4::format_iso8601(plan_expires);
        if (!plan_token || !plan_expires_text)
            return from_failure({500, "signing_failed", "could not seal the upload plan"});
        auto created = sigv4::s3::presign_create_multipart_upload(creds, settings_.bucket, plan.key,
                                                                  settings_.endpoint, options);
        return signed_outcome(created, plan.key, [&](json_object& body, const std::string& url) {
            body.boolean("multipart", true);
            body.string("method", "POST");
            body.string("url", url);
            auto headers = body.object("headers");
            for (const auto& h : created->headers) headers.string(h.name, h.value);
            headers.end();
            body.string("key", plan.key);
            body.number("size", static_cast<std::int64_t>(plan.size));
            body.number("partSize", static_cast<std::int64_t>(plan.part_size));
            body.number("partCount", plan.part_count());
            body.string("plan", *plan_token);
            body.string("planExpiresAt", *plan_expires_text);
        });
    }

    // The plan and upload id a multipart call names, checked: the plan authentic, unexpired and the
    // caller's own, the upload id well-formed.
    struct plan_call {
        detail::upload_plan plan;
        std::string upload_id;
    };
    std::optional<failure> open_plan_call(const std::string* plan_text,
                                          const std::string* upload_id, plan_call& out) const {
        if (!settings_.link_keys)
            return failure{
                503, "multipart_disabled",
                "large files need the service's token secret (LINK_SECRET), which is not set"};
        if (!plan_text || plan_text->empty())
            return failure{400, "invalid_plan",
                           "plan is required: the token POST /uploads returned"};
        // Every way a token fails (tampered, expired, another secret, another purpose) reads the
        // same.
        auto plan = detail::open_plan(*settings_.link_keys, *plan_text, now_seconds());
        if (!plan)
            return failure{400, "invalid_plan",
                           "the upload plan is invalid or has expired; start again"};
        if (!plan->key.starts_with(caller_prefix(settings_, req_.identity)))
            return failure{403, "plan_not_yours", "this upload plan belongs to someone else"};
        if (!upload_id || !valid_upload_id(*upload_id))
            return failure{400, "invalid_upload_id",
                           "uploadId is required: the UploadId CreateMultipartUpload answered"};
        out.plan = std::move(*plan);
        out.upload_id = *upload_id;
        return std::nullopt;
    }

    // The JSON object body of a multipart POST, or nullopt (too large, not JSON, not an object).
    std::optional<json> json_body() const {
        if (req_.body.size() > max_body_bytes) return std::nullopt;
        auto doc = json::parse(req_.body, nullptr, false);
        if (doc.is_discarded() || !doc.is_object()) return std::nullopt;
        return doc;
    }

    static const std::string* string_member(const json& doc, const char* name) {
        auto it = doc.find(name);
        return it != doc.end() && it->is_string() ? it->get_ptr<const std::string*>() : nullptr;
    }

    // POST /uploads/parts {plan, uploadId, partNumbers}: one presigned UploadPart per number, each
    // with the part's exact length signed.
    outcome sign_parts() {
        auto doc = json_body();
        if (!doc)
            return from_failure(
                {400, "invalid_json", R"(send a JSON object {"plan","uploadId","partNumbers"})"});
        plan_call call;
        if (auto problem =
                open_plan_call(string_member(*doc, "plan"), string_member(*doc, "uploadId"), call))
            return from_failure(*problem);
        auto numbers = doc->find("partNumbers");
        if (numbers == doc->end() || !numbers->is_array() || numbers->empty() ||
            numbers->size() > max_parts_per_call)
            return from_failure(
                {400, "invalid_part_numbers", "partNumbers must list 1..100 part numbers"});
        const std::uint32_t count = call.plan.part_count();
        std::vector<std::uint32_t> wanted;
        wanted.reserve(numbers->size());
        for (const auto& number : *numbers) {
            if (!number.is_number_unsigned() || number.get<std::uint64_t>() < 1 ||
                number.get<std::uint64_t>() > count)
                return from_failure({400, "invalid_part_numbers",
                                     "part numbers are whole numbers in 1.." +
                                         std::to_string(count) + " for this plan"});
            auto n = number.get<std::uint32_t>();
            if (std::find(wanted.begin(), wanted.end(), n) != wanted.end())
                return from_failure({400, "invalid_part_numbers",
                                     "part " + std::to_string(n) + " is listed twice"});
            wanted.push_back(n);
        }
        auto creds = signing_credentials();
        if (!creds)
            return from_failure({500, "signing_failed", "no signing credentials available"});
        outcome out;
        json_object body(out.body);
        body.open_array("parts");
        sigv4::s3::object_options options = signing_options();
        std::optional<sigv4::presigned_request> last;
        for (auto n : wanted) {
            options.content_length = call.plan.part_bytes(n);
            auto part =
                sigv4::s3::presign_upload_part(*creds, settings_.bucket, call.plan.key,
                                               settings_.endpoint, call.upload_id, n, options);
            if (!part) return from_failure({500, "signing_failed", "could not sign the request"});
            if (n != wanted.front()) out.body += ',';
            json_object item(out.body);
            item.number("partNumber", n);
            item.number("size", static_cast<std::int64_t>(*options.content_length));
            item.string("method", "PUT");
            item.string("url", part->url);
            auto headers = item.object("headers");
            for (const auto& h : part->headers) headers.string(h.name, h.value);
            headers.end();
            item.end();
            last = std::move(*part);
        }
        out.body += ']';
        auto expires_at = expiry_text(last->expires_at);
        if (!expires_at) return from_failure({500, "signing_failed", "could not sign the request"});
        body.string("key", call.plan.key);
        body.number("expiresIn", last->expires_in.count());
        body.string("expiresAt", *expires_at);
        body.end();
        out.key = call.plan.key;
        return out;
    }

    // GET /uploads/parts?plan=&uploadId=[&partNumberMarker=]: a presigned ListParts, to resume.
    outcome list_parts() {
        plan_call call;
        if (auto problem =
                open_plan_call(find_query(req_, "plan"), find_query(req_, "uploadId"), call))
            return from_failure(*problem);
        sigv4::s3::list_parts_options page;
        if (const std::string* marker = find_query(req_, "partNumberMarker")) {
            std::uint32_t value = 0;
            auto [end, ec] =
                std::from_chars(marker->data(), marker->data() + marker->size(), value);
            if (ec != std::errc{} || end != marker->data() + marker->size() ||
                value > sigv4::s3::max_part_number)
                return from_failure(
                    {400, "invalid_part_numbers", "partNumberMarker must be a part number"});
            page.part_number_marker = value;
        }
        auto creds = signing_credentials();
        if (!creds)
            return from_failure({500, "signing_failed", "no signing credentials available"});
        auto listed = sigv4::s3::presign_list_parts(*creds, settings_.bucket, call.plan.key,
                                                    settings_.endpoint, call.upload_id, page,
                                                    signing_options());
        return signed_outcome(listed, call.plan.key,
                              [&](json_object& body, const std::string& url) {
                                  body.string("method", "GET");
                                  body.string("url", url);
                                  body.string("key", call.plan.key);
                              });
    }

    // POST /uploads/complete or /uploads/abort {plan, uploadId}: a presigned Complete (the client
    // sends the part list XML itself) or Abort.
    outcome finish_parts(bool abort) {
        auto doc = json_body();
        if (!doc)
            return from_failure({400, "invalid_json", R"(send a JSON object {"plan","uploadId"})"});
        plan_call call;
        if (auto problem =
                open_plan_call(string_member(*doc, "plan"), string_member(*doc, "uploadId"), call))
            return from_failure(*problem);
        auto creds = signing_credentials();
        if (!creds)
            return from_failure({500, "signing_failed", "no signing credentials available"});
        auto options = signing_options();
        // Write once, as the single PUT: the store refuses a Complete over an existing object
        // (412), so a plan cannot overwrite a key (S3 honours If-None-Match on Complete since
        // 2024).
        options.if_none_match_any = !abort;
        auto signed_url = abort ? sigv4::s3::presign_abort_multipart_upload(
                                      *creds, settings_.bucket, call.plan.key, settings_.endpoint,
                                      call.upload_id, options)
                                : sigv4::s3::presign_complete_multipart_upload(
                                      *creds, settings_.bucket, call.plan.key, settings_.endpoint,
                                      call.upload_id, options);
        return signed_outcome(signed_url, call.plan.key,
                              [&](json_object& body, const std::string& url) {
                                  body.string("method", abort ? "DELETE" : "POST");
                                  body.string("url", url);
                                  if (!abort) {
                                      auto headers = body.object("headers");
                                      for (const auto& h : signed_url->headers)
                                          headers.string(h.name, h.value);
                                      headers.end();
                                  }
                                  body.string("key", call.plan.key);
                                  if (!abort) body.number("partCount", call.plan.part_count());
                              });
    }

    /// The caller's own file named by ?key= (or ?file=, from older clients), or why not.
    sigv4::result<std::string_view, failure> own_file_key() const {
        const std::string* key = find_query(req_, "key");
        if (!key) key = find_query(req_, "file");
        if (!key)
            return sigv4::unexpected{
                failure{400, "invalid_key", "the key query parameter is required"}};
        return own_file_key(*key);
    }

    /// `key` when it names one of the caller's own files, or why not.
    sigv4::result<std::string_view, failure> own_file_key(const std::string& key_text) const {
        const std::string* key = &key_text;
        if (auto problem = key_problem(*key))
            return sigv4::unexpected{failure{400, "invalid_key", *problem}};
        auto prefix = caller_prefix(settings_, req_.identity);
        if (!key->starts_with(prefix))
            return sigv4::unexpected{
                failure{403, "key_outside_prefix", "this key does not belong to you"}};
        auto filename = std::string_view(*key).substr(key->rfind('/') + 1);
        if (key->size() == prefix.size() || filename.empty())
            return sigv4::unexpected{
                failure{400, "invalid_key", "the key names a folder, not a file"}};
        return std::string_view(*key);
    }

    outcome download() {
        auto own = own_file_key();
        if (!own) return from_failure(own.error());
        const std::string_view key = *own;
        auto filename = key.substr(key.rfind('/') + 1);

        auto signed_url = presign_object(key, &sigv4::s3::presign_get);
        return signed_outcome(signed_url, std::string(key),
                              [&](json_object& body, const std::string& url) {
                                  body.string("url", url);
                                  body.string("filename", filename);
                              });
    }

    /// GET /files[?cursor=]: a presigned ListObjectsV2 of exactly the caller's prefix. Every
    /// parameter is inside the signature, so the client can neither widen the prefix nor raise
    /// max-keys; the cursor (S3's NextContinuationToken) is passed through, bounded.
    outcome list_files() {
        sigv4::s3::list_objects_options list;
        list.prefix = caller_prefix(settings_, req_.identity);
        list.max_keys = max_list_keys;
        if (const std::string* cursor = find_query(req_, "cursor"); cursor && !cursor->empty()) {
            if (!is_cursor(*cursor))
                return from_failure(
                    {400, "invalid_cursor",
                     "cursor must be the NextContinuationToken of a previous page (at most "
                     "1024 printable characters)"});
            list.continuation_token = *cursor;
        }
        auto creds = signing_credentials();
        if (!creds)
            return from_failure({500, "signing_failed", "no signing credentials available"});
        auto signed_url = sigv4::s3::presign_list_objects_v2(
            *creds, settings_.bucket, settings_.endpoint, list, signing_options());
        return signed_outcome(signed_url, list.prefix,
                              [&](json_object& body, const std::string& url) {
                                  body.string("method", "GET");
                                  body.string("url", url);
                                  body.string("prefix", list.prefix);
                                  body.number("maxKeys", max_list_keys);
                              });
    }

    /// DELETE /files?key=: a presigned DeleteObject of one of the caller's own files.
    outcome delete_file() {
        auto own = own_file_key();
        if (!own) return from_failure(own.error());
        const std::string_view key = *own;
        auto creds = signing_credentials();
        if (!creds)
            return from_failure({500, "signing_failed", "no signing credentials available"});
        auto signed_url = sigv4::s3::presign_delete(*creds, settings_.bucket, key,
                                                    settings_.endpoint, signing_options());
        return signed_outcome(signed_url, std::string(key),
                              [&](json_object& body, const std::string& url) {
                                  body.string("method", "DELETE");
                                  body.string("url", url);
                                  body.string("key", key);
                              });
    }

    /// A continuation token as S3 issues them: 1..1024 printable ASCII characters, no space.
    static bool is_cursor(std::string_view cursor) noexcept {
        return !cursor.empty() && cursor.size() <= max_cursor_bytes &&
               std::all_of(cursor.begin(), cursor.end(),
                           [](char c) { return c > 0x20 && c < 0x7F; });
    }

    // A fresh pre-signed GET (attachment, the key's file name) or HEAD of `key`.
    using presigner = sigv4::result<sigv4::presigned_request> (*)(const sigv4::credentials&,
                                                                  std::string_view,
                                                                  std::string_view,
                                                                  const sigv4::s3::endpoint&,
                                                                  const sigv4::s3::object_options&);
    sigv4::result<sigv4::presigned_request> presign_object(std::string_view key,
                                                           presigner sign) const {
        auto creds = signing_credentials();
        if (!creds)
            return sigv4::fail(sigv4::errc::invalid_argument, "no signing credentials available");
        auto options = signing_options();
        if (sign == &sigv4::s3::presign_get)
            options.response_content_disposition =
                sigv4::s3::attachment_disposition(file_name_of(key));
        return sign(*creds, settings_.bucket, key, settings_.endpoint, options);
    }

    static std::string_view file_name_of(std::string_view key) {
        return key.substr(key.rfind('/') + 1);
    }

    // ---- share links: POST /shares, GET and POST /s/<token> -------------------------------------

    outcome create_share() {
        if (!settings_.link_keys)
            return from_failure(
                {503, "shares_disabled", "share links are not configured on this server"});
        auto input = small_json_body();
        if (!input || !input->is_object())
            return from_failure(
                {400, "invalid_json",
                 R"(send a JSON object {"key","expiresIn"?,"password"?,"encrypted"?})"});
        const auto* key_text =
            input->contains("key") ? input->at("key").get_ptr<const json::string_t*>() : nullptr;
        if (key_text == nullptr)
            return from_failure({400, "invalid_key", "key is required and must be a string"});
        auto own = own_file_key(*key_text);
        if (!own) return from_failure(own.error());
        const std::string_view key = *own;

        const auto max = settings_.share_max.count();
        std::int64_t lifetime = std::min<std::int64_t>(86400, max);
        if (auto it = input->find("expiresIn"); it != input->end() && !it->is_null()) {
            if (!it->is_number_unsigned() || it->get<std::uint64_t>() < 1 ||
                it->get<std::uint64_t>() > static_cast<std::uint64_t>(max))
                return from_failure(
                    {400, "invalid_expires_in",
                     "expiresIn must be a whole number of seconds in 1.." + std::to_string(max)});
            lifetime = static_cast<std::int64_t>(it->get<std::uint64_t>());
        }
        std::optional<std::string_view> password;
        if (auto it = input->find("password"); it != input->end() && !it->is_null()) {
            const auto* text = it->get_ptr<const json::string_t*>();
            if (text == nullptr || text->size() > max_password_bytes)
                return from_failure(
                    {400, "invalid_password", "password must be a string of at most 1024 bytes"});
            if (!text->empty()) password = *text;
        }
        // The object was encrypted by the client (adapters/crypto/FORMAT.md); the key stays in the
        // link's #fragment, which never reaches a server. The token carries only the fact.
        bool encrypted = false;
        if (auto it = input->find("encrypted"); it != input->end() && !it->is_null()) {
            if (!it->is_boolean())
                return from_failure({400, "invalid_encrypted", "encrypted must be true or false"});
            encrypted = it->get<bool>();
        }

        auto now =
            std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now());
        token::contents what;
        what.purpose = token::purpose::share_link;
        what.expires_at = now + std::chrono::seconds(lifetime);
        what.payload = key;
        what.password = password;
        what.encrypted = encrypted;
        auto sealed = token::seal(*settings_.link_keys, what);
        auto expires_at = expiry_text(what.expires_at);
        if (!sealed || !expires_at)
            return from_failure({500, "signing_failed", "could not make the link"});
        outcome out;
        json_object body(out.body);
        body.string("url", req_.base_url + std::string(share_path_prefix) + *sealed);
        body.number("expiresIn", lifetime);
        body.string("expiresAt", *expires_at);
        body.string("filename", file_name_of(key));
        body.boolean("passwordRequired", password.has_value());
        body.boolean("encrypted", encrypted);
        body.end();
        out.key = std::string(key);
        return out;
    }

    enum class representation : std::uint8_t { page, json_body, redirect };

    // Browsers ask for text/html and get the recipient page; a client asking for JSON gets JSON;
    // anything else (curl, wget) is redirected straight to the file.
    representation wanted() const {
        const std::string* accept = find_header(req_, "Accept");
        if (accept == nullptr) return representation::redirect;
        auto lower = detail::to_lower(*accept);
        if (lower.find("text/html") != std::string::npos) return representation::page;
        if (lower.find("application/json") != std::string::npos) return representation::json_body;
        return representation::redirect;
    }

    outcome share_link(std::string_view rest) {
        // The recipient page's own files live beside the tokens; a '.' is never part of a token.
        if (rest.find('.') != std::string_view::npos && rest.size() <= 32) return share_asset(rest);
        return recipient_headers(redeem(rest));
    }

    outcome redeem(std::string_view rest) {
        if (req_.method == "OPTIONS") {
            outcome out;
            out.status = 204;
            out.extra_headers.push_back({"Access-Control-Allow-Methods", "GET, POST, OPTIONS"});
            out.extra_headers.push_back(
                {"Access-Control-Allow-Headers", std::string(allowed_request_headers)});
            out.extra_headers.push_back({"Access-Control-Max-Age", "600"});
            return out;
        }
        if (req_.method != "GET" && req_.method != "POST") {
            auto out =
                from_failure({405, "method_not_allowed", "use GET or POST for a share link"});
            out.extra_headers.push_back({"Allow", "GET, POST, OPTIONS"});
            return out;
        }
        const auto shown = wanted();
        if (!settings_.link_keys)
            return share_failure(shown, 503, "shares_disabled",
                                 "share links are not configured on this server");

        // Refused before any decoding work (token::open checks the length first too).
        if (rest.size() > token::max_token_chars) return not_found(shown, "too_long");
        auto now =
            std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now());
        auto link = token::open(*settings_.link_keys, rest, token::purpose::share_link, now);
        if (!link) return not_found(shown, token::to_string(link.error()));
        const std::string& key = link->payload;
        // Issued by this server, but never trusted further than a client's key would be.
        if (key_problem(key) || !key.starts_with(settings_.key_prefix) || file_name_of(key).empty())
            return not_found(shown, "invalid_key");

        std::optional<std::string> password;
        if (req_.method == "POST") {
            auto input = small_json_body();
            if (!input || !input->is_object())
                return share_failure(shown, 400, "invalid_json",
                                     R"(send a JSON object {"password"})");
            if (auto it = input->find("password"); it != input->end()) {
                const auto* text = it->get_ptr<const json::string_t*>();
                if (text == nullptr || text->size() > max_password_bytes)
                    return share_failure(shown, 400, "invalid_password",
                                         "password must be a string");
                password = *text;
            }
        }
        if (link->needs_password()) {
            if (!password) {
                if (shown == representation::page) return recipient_page(*link, 200, "ready", "");
                return share_failure(shown, 403, "password_required",
                                     R"(this link needs a password: POST {"password"} to it)");
            }
            if (!token::check_password(*settings_.link_keys, *link, *password)) {
                if (shown == representation::page)
                    return recipient_page(*link, 403, "wrong-password",
                                          "That password is not right. Try again.");
                return share_failure(shown, 403, "wrong_password", "that password is not right");
            }
        } else if (shown == representation::page && req_.method == "GET") {
            return recipient_page(*link, 200, "ready", "");
        }

        auto signed_url = presign_object(key, &sigv4::s3::presign_get);
        if (!signed_url)
            return share_failure(shown, 500, "signing_failed", "could not sign the request");
        if (shown != representation::json_body) {
            outcome out;
            // After a POST (a password sent), 303 so that every client follows with a GET.
            out.status = req_.method == "POST" ? 303 : 302;
            out.content_type = {};
            out.extra_headers.push_back({"Location", signed_url->url});
            out.key = key;
            return out;
        }
        auto out = signed_outcome(signed_url, key, [&](json_object& body, const std::string& url) {
            body.string("url", url);
            body.string("filename", file_name_of(key));
            body.boolean("encrypted", link->encrypted);
        });
        return out;
    }

    // Every answer about a link: not indexed, not cached, and the page (with the pre-signed URLs it
    // holds or fetches) never leaks through Referer.
    static outcome recipient_headers(outcome out) {
        out.extra_headers.push_back({"Referrer-Policy", "no-referrer"});
        out.extra_headers.push_back({"X-Robots-Tag", "noindex"});
        return out;
    }

    // The same answer for every link that does not open (expired, tampered, unknown, revoked): no
    // oracle. `reason` goes to the log only.
    outcome not_found(representation shown, std::string_view reason) const {
        auto out =
            shown == representation::page
                ? recipient_page(std::nullopt, 404, "missing",
                                 "This link has expired or does not exist.")
                : share_failure(shown, 404, "not_found", "this link has expired or does not exist");
        out.error_code = "not_found";
        out.log_reason = reason;
        return out;
    }

    outcome share_failure(representation shown, int status, std::string_view code,
                          std::string message) const {
        if (shown == representation::json_body)
            return from_failure({status, code, std::move(message)});
        outcome out;
        out.status = status;
        out.error_code = code;
        out.content_type = "text/plain; charset=utf-8";
        out.body = std::move(message);
        out.body += '\n';
        return out;
    }

    // The recipient page (adapters/web/share.html) with the link's facts filled in. The file's size
    // and type come from a pre-signed HEAD the page sends itself (the function opens no
    // connection): a deleted file answers 404 there, and the page says in words that it is gone.
    outcome recipient_page(const std::optional<token::opened>& link, int status,
                           std::string_view state, std::string_view message) const {
        auto page = web::find("/share.html");
        if (!page) {
            auto out = share_failure(
                representation::redirect, status, state == "missing" ? "not_found" : "page_missing",
                std::string(message.empty() ? "the recipient page is not built in" : message));
            return out;
        }
        std::string filename, expires_at, head_url, store_origin;
        if (link) {
            filename = file_name_of(link->payload);
            if (auto text = expiry_text(link->expires_at)) expires_at = *text;
            if (auto head = presign_object(link->payload, &sigv4::s3::presign_head))
                head_url = std::move(head->url);
            store_origin = origin_of(head_url);
        }
        const std::pair<std::string_view, std::string_view> fields[] = {
            {"{{state}}", state},
            {"{{filename}}", filename},
            {"{{expires_at}}", expires_at},
            {"{{head_url}}", head_url},
            // The page's CSP lets it connect only to its own origin and the store's: the key of an
            // encrypted share, which the page holds, has nowhere else to go.
            {"{{store_origin}}", store_origin},
            {"{{password}}", link && link->needs_password() ? "required" : "none"},
            {"{{encrypted}}", link && link->encrypted ? "true" : "false"},
            {"{{message}}", message},
        };
        outcome out;
        out.status = status;
        out.content_type = "text/html; charset=utf-8";
        out.body.reserve(page->size() + 1024);
        std::string_view rest = *page;
        while (!rest.empty()) {
            auto open = rest.find("{{");
            out.body.append(rest.substr(0, open));
            if (open == std::string_view::npos) break;
            rest.remove_prefix(open);
            bool replaced = false;
            for (const auto& [name, value] : fields) {
                if (!rest.starts_with(name)) continue;
                append_html_escaped(out.body, value);
                rest.remove_prefix(name.size());
                replaced = true;
                break;
            }
            if (!replaced) {
                out.body.append("{{");
                rest.remove_prefix(2);
            }
        }
        if (link) out.key = link->payload;
        if (status >= 400) out.error_code = status == 403 ? "wrong_password" : "not_found";
        return out;
    }

    // "scheme://host[:port]" of an absolute URL; empty for anything else.
    static std::string origin_of(std::string_view url) {
        const auto scheme_end = url.find("://");
        if (scheme_end == std::string_view::npos) return {};
        const auto path = url.find_first_of("/?#", scheme_end + 3);
        return std::string(url.substr(0, path));
    }

    outcome share_asset(std::string_view name) const {
        // Only what the recipient page loads; the main page is served by its own host.
        if (req_.method != "GET" || (name != "share.js" && name != "e2e.js" &&
                                     name != "format.js" && name != "style.css")) {
            return share_failure(representation::redirect, 404, "not_found", "no such file");
        }
        auto data = web::find("/" + std::string(name));
        if (!data) return share_failure(representation::redirect, 404, "not_found", "no such file");
        outcome out;
        out.content_type = web::content_type_of(name);
        out.body = std::string(*data);
        return out;
    }

    static void append_html_escaped(std::string& out, std::string_view text) {
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
                    out += "&#39;";
                    break;
                default:
                    out += c;
            }
        }
    }

    std::optional<json> small_json_body() const {
        if (req_.body.size() > max_body_bytes) return std::nullopt;
        auto parsed = json::parse(req_.body, nullptr, false);
        if (parsed.is_discarded()) return std::nullopt;
        return parsed;
    }

    const config& settings_;
    const credentials_source& credentials_;
    const request& req_;
};

void add_cors_headers(const config& settings, const request& req,
                      std::vector<sigv4::header>& headers) {
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

constexpr std::string_view internal_error_body =
    R"({"error":{"code":"internal","message":"internal error"}})";

// The request path as logged: a share link's token only as its short label ("/s/<label>"), since
// the token is the capability itself.
std::string loggable_path(std::string_view path) {
    if (path.starts_with(share_path_prefix)) {
        auto rest = path.substr(share_path_prefix.size());
        bool asset = rest.find('.') != std::string_view::npos && rest.size() <= 32;
        if (!rest.empty() && !asset)
            return std::string(share_path_prefix) + "~" + token::log_label(rest);
    }
    return std::string(path.substr(0, 256));
}

// Renders an outcome with the common headers and writes the log line.
response finish(const config& settings, const log_sink& log, const request& req, outcome&& out,
                std::chrono::steady_clock::time_point started) noexcept {
    response res;
    try {
        res.status = out.status;
        if (!out.content_type.empty())
            res.headers.push_back({"Content-Type", std::string(out.content_type)});
        res.headers.push_back({"Cache-Control", "no-store"});
        res.headers.push_back({"X-Content-Type-Options", "nosniff"});
        add_cors_headers(settings, req, res.headers);
        for (auto& h : out.extra_headers) res.headers.push_back(std::move(h));
        if (!out.body.empty()) {
            res.body = std::move(out.body);
        } else if (!out.error_code.empty()) {
            res.body = internal_error_body;  // the failure could not even be described
        }
    } catch (...) {
        res =
            response{500, {{"Content-Type", "application/json"}}, std::string(internal_error_body)};
        out.content_type = "application/json";
        out.error_code = "internal";
    }
    if (log) {
        try {
            auto micros = std::chrono::duration_cast<std::chrono::microseconds>(
                              std::chrono::steady_clock::now() - started)
                              .count();
            std::string line;
            line.reserve(160 + req.request_id.size() + out.key.size());
            json_object fields(line);
            fields.string("requestId", req.request_id);
            std::string route(std::string_view(req.method).substr(0, 16));
            route.append(" ").append(loggable_path(req.path));
            fields.string("route", route);
            fields.number("status", res.status);
            if (!out.error_code.empty()) fields.string("error", out.error_code);
            if (!out.log_reason.empty()) fields.string("reason", out.log_reason);
            if (!out.key.empty()) fields.string("key", out.key);
            fields.number("durationUs", micros);
            fields.end();
            log(line);
        } catch (...) {
            // Logging must never turn a served request into a failure.
        }
    }
    return res;
}

}  // namespace

void append_json_string(std::string& out, std::string_view text) {
    // In ASCII text only '"', '\\' and control characters are escaped, the way nlohmann escapes
    // them; text beyond ASCII goes to nlohmann itself, which checks (and repairs) the UTF-8.
    static constexpr auto special = [] {
        std::array<bool, 256> table{};
        for (std::size_t c = 0; c < 0x20; ++c) table[c] = true;
        for (std::size_t c = 0x80; c < 0x100; ++c) table[c] = true;
        table['"'] = table['\\'] = true;
        return table;
    }();
    // Eight bytes at a time: is any of them special? (Exact tests for a zero byte, and for a byte
    // below 0x20, in all eight lanes at once.)
    constexpr std::uint64_t ones = 0x0101010101010101, highs = 0x8080808080808080;
    auto any_special = [](std::uint64_t w) {
        auto zero_in = [](std::uint64_t v) { return (v - ones) & ~v & highs; };
        return ((w & highs) | zero_in(w ^ (ones * '"')) | zero_in(w ^ (ones * '\\')) |
                ((w - ones * 0x20) & ~w & highs)) != 0;
    };
    const auto start = out.size();
    out.reserve(start + text.size() + 2);
    out += '"';
    std::size_t plain_from = 0;
    for (std::size_t i = 0; i < text.size(); ++i) {
        while (i + 8 <= text.size()) {
            std::uint64_t word = 0;
            std::memcpy(&word, text.data() + i, 8);
            if (any_special(word)) break;
            i += 8;
        }
        if (i == text.size()) break;
        auto c = static_cast<unsigned char>(text[i]);
        if (!special[c]) continue;
        if (c >= 0x80) {
            out.resize(start);
            out += json(text).dump(-1, ' ', false, json::error_handler_t::replace);
            return;
        }
        out.append(text.data() + plain_from, i - plain_from);
        plain_from = i + 1;
        switch (c) {
            case '"':
                out += "\\\"";
                break;
            case '\\':
                out += "\\\\";
                break;
            case '\b':
                out += "\\b";
                break;
            case '\f':
                out += "\\f";
                break;
            case '\n':
                out += "\\n";
                break;
            case '\r':
                out += "\\r";
                break;
            case '\t':
                out += "\\t";
                break;
            default: {
                static constexpr char digits[] = "0123456789abcdef";
                const char escape[] = {'\\', 'u', '0', '0', digits[c >> 4], digits[c & 15]};
                out.append(escape, sizeof escape);
            }
        }
    }
    out.append(text.data() + plain_from, text.size() - plain_from);
    out += '"';
}

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
        bool keep = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '@' || (c == '.' && !only_dots);
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
        // The escape only ever writes '_' before two upper-case hex digits, so "_s" marks a
        // spelling it cannot produce: a hashed prefix never equals an escaped one (no id can pick
        // its name to collide with another's), and SHA-256 keeps the hashed ones apart.
        auto digest = sigv4::sha256_of(id);
        escaped = "_sha256-" + sigv4::hex_encode(digest);
    }
    return settings.key_prefix + "users/" + escaped + "/";
}

std::optional<std::string> key_problem(std::string_view key) {
    if (key.empty()) return "the key is empty";
    if (key.size() > 1024) return "the key is longer than 1024 bytes";
    if (!sigv4::is_valid_utf8(key)) return "the key is not valid UTF-8";
    for (std::size_t i = 0; i < key.size(); ++i) {
        if (control_at(key, i) != 0) return "the key contains a control character";
        if (bidi_or_separator_at(key, i) != 0)
            return "the key contains a bidirectional control or line/paragraph separator (U+061C, "
                   "U+200E/F, "
                   "U+202A-E, U+2066-9, U+2028/9)";
    }
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
    if (auto sep = name.find_last_of("/\\"); sep != std::string_view::npos)
        name = name.substr(sep + 1);
    std::string clean;
    clean.reserve(name.size());
    for (std::size_t i = 0; i < name.size();) {
        if (auto skip = hidden_at(name, i); skip != 0) {
            i += skip;
            continue;
        }
        clean.push_back(name[i++]);
    }
    auto trimmed = std::string(detail::trim(clean));
    if (trimmed.empty() || trimmed == "." || trimmed == ".." || trimmed.size() > 255)
        return std::nullopt;
    return trimmed;
}

namespace {

int hex_value(char c) noexcept {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

// One query component, form-decoded into `out`; false at a malformed escape, with `bad` viewing it.
bool decode_form_component(std::string_view text, std::string& out, std::string_view& bad) {
    out.clear();
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (c == '+') {
            out.push_back(' ');
        } else if (c != '%') {
            out.push_back(c);
        } else if (i + 2 < text.size() && hex_value(text[i + 1]) >= 0 &&
                   hex_value(text[i + 2]) >= 0) {
            out.push_back(static_cast<char>(hex_value(text[i + 1]) * 16 + hex_value(text[i + 2])));
            i += 2;
        } else {
            bad = text.substr(i, std::min<std::size_t>(3, text.size() - i));
            return false;
        }
    }
    return true;
}

}  // namespace

sigv4::result<std::vector<sigv4::query_param>, query_error> parse_query(std::string_view raw) {
    std::vector<sigv4::query_param> params;
    while (!raw.empty()) {
        const auto amp = raw.find('&');
        const auto part = raw.substr(0, amp);
        raw = amp == std::string_view::npos ? std::string_view{} : raw.substr(amp + 1);
        if (part.empty()) continue;
        const auto equals = part.find('=');
        sigv4::query_param& param = params.emplace_back();
        std::string_view bad;
        if (!decode_form_component(part.substr(0, equals), param.name, bad) ||
            !decode_form_component(
                equals == std::string_view::npos ? std::string_view{} : part.substr(equals + 1),
                param.value, bad)) {
            // Client text in the message: at most 3 bytes, anything unprintable as '?'.
            std::string shown;
            for (char c : bad) shown.push_back(c > 0x20 && c < 0x7f ? c : '?');
            return sigv4::unexpected{
                query_error{"the query string has a malformed percent escape '" + shown +
                            "': '%' must be followed by two hex digits (send '%' as %25)"}};
        }
    }
    return params;
}

bool content_type_allowed(std::string_view content_type, const std::vector<std::string>& patterns) {
    if (!valid_content_type(content_type)) return false;
    if (patterns.empty()) return true;
    auto essence = content_type_essence(content_type);
    auto type = std::string_view(essence).substr(0, essence.find('/'));
    for (const auto& pattern : patterns) {
        if (pattern == "*" || pattern == "*/*" || pattern == essence) return true;
        if (pattern.ends_with("/*") &&
            std::string_view(pattern).substr(0, pattern.size() - 2) == type)
            return true;
    }
    return false;
}

}  // namespace presign::service
