// SPDX-License-Identifier: Apache-2.0
// Event translation for API Gateway REST (1.0), HTTP API (2.0) and Function URLs (2.0).
//
// The event is read with nlohmann's SAX interface: no document is built, and only the members the
// service needs are kept (API Gateway events carry far more). The result is what reading a DOM
// would give: a member whose value has the wrong type counts as absent, and when a name is repeated
// in an object the last member wins (as nlohmann's DOM does), for single values and for whole
// sub-objects.
#include "presign/lambda/events.hpp"

#include <algorithm>
#include <array>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <presign/web/page.hpp>

namespace presign::lambda {
namespace {

using json = nlohmann::json;

// The string members the translation reads, wherever they sit in the event.
enum class field : std::uint8_t {
    version,              // version
    http_method,          // httpMethod (REST)
    path,                 // path (REST)
    raw_path,             // rawPath (HTTP API, Function URL)
    raw_query,            // rawQueryString
    body,                 // body
    stage,                // requestContext.stage
    context_method,       // requestContext.http.method
    context_path,         // requestContext.http.path
    jwt_sub,              // requestContext.authorizer.jwt.claims.sub
    claims_sub,           // requestContext.authorizer.claims.sub
    principal_id,         // requestContext.authorizer.principalId
    iam_identity_id,      // requestContext.authorizer.iam.cognitoIdentity.identityId
    iam_user_arn,         // requestContext.authorizer.iam.userArn
    identity_cognito_id,  // requestContext.identity.cognitoIdentityId
    identity_user_arn,    // requestContext.identity.userArn
    domain_name,          // requestContext.domainName
    rest_path,  // requestContext.path (REST: the path as the client sent it, stage included)
    count
};
constexpr std::size_t field_count = static_cast<std::size_t>(field::count);

// The objects the translation descends into. `skip` is everything else.
enum class node : std::uint8_t {
    root,
    context,      // requestContext
    http,         // requestContext.http
    authorizer,   // requestContext.authorizer
    jwt,          // .authorizer.jwt
    jwt_claims,   // .authorizer.jwt.claims
    claims,       // .authorizer.claims
    iam,          // .authorizer.iam
    iam_cognito,  // .authorizer.iam.cognitoIdentity
    identity,     // requestContext.identity
    pairs,  // headers, multiValueHeaders, queryStringParameters, multiValueQueryStringParameters
    pair_values,  // the array value of one member of `pairs`
    skip,
};

// The innermost object each field lives in (to forget a field when its object is replaced).
constexpr std::array<node, field_count> field_parent = {
    node::root,     node::root,       node::root,        node::root, node::root,
    node::root,     node::context,    node::http,        node::http, node::jwt_claims,
    node::claims,   node::authorizer, node::iam_cognito, node::iam,  node::identity,
    node::identity, node::context,    node::context};

// The enclosing object of each object node (root for root).
constexpr node parent_of(node n) noexcept {
    switch (n) {
        case node::context:
            return node::root;
        case node::http:
        case node::authorizer:
        case node::identity:
            return node::context;
        case node::jwt:
        case node::claims:
        case node::iam:
            return node::authorizer;
        case node::jwt_claims:
            return node::jwt;
        case node::iam_cognito:
            return node::iam;
        default:
            return node::root;
    }
}

constexpr bool inside(node n, node ancestor) noexcept {
    while (true) {
        if (n == ancestor) return true;
        if (n == node::root) return false;
        n = parent_of(n);
    }
}

// The name/value lists an event may carry. Values of repeated names stay repeated.
enum class list : std::uint8_t { headers, multi_headers, query, multi_query, count };
constexpr std::size_t list_count = static_cast<std::size_t>(list::count);

struct pair_list {
    std::vector<sigv4::header> pairs;
    bool present = false;  // the member is an object with at least one member
};

// What the next value belongs to, decided by the member name before it.
struct target {
    enum class kind : std::uint8_t {
        none,
        field,
        object,
        pair_list,
        pair_value,
        base64_flag
    } what = kind::none;
    field which_field = field::version;
    node which_node = node::skip;
    list which_list = list::headers;
};

class event_reader {
  public:
    using string_t = json::string_t;

    // SAX interface (nlohmann::json::sax_parse).
    bool null() { return scalar(); }
    bool boolean(bool value) {
        if (skip_depth_ == 0 && next_.what == target::kind::base64_flag) base64_ = value;
        return scalar();
    }
    bool number_integer(json::number_integer_t) { return scalar(); }
    bool number_unsigned(json::number_unsigned_t) { return scalar(); }
    bool number_float(json::number_float_t, const string_t&) { return scalar(); }
    bool binary(json::binary_t&) { return scalar(); }

    bool string(string_t& value) {
        if (skip_depth_ != 0) return true;
        switch (next_.what) {
            case target::kind::field: {
                auto& slot = fields_[static_cast<std::size_t>(next_.which_field)];
                if (next_.which_field == field::body) {
                    slot = std::move(value);  // possibly large: the lexer's buffer is handed over
                } else {
                    slot = value;
                }
                break;
            }
            case target::kind::pair_value:
                add_pair(value);
                break;
            default:
                break;
        }
        next_ = {};
        // Inside an array of values every item is a value of the same name.
        if (top() == node::pair_values) next_ = pair_item_target();
        return true;
    }

    bool start_object(std::size_t) {
        if (skip_depth_ != 0 || !started_) return open_root_or_skip(true);
        if (next_.what == target::kind::object) {
            push(next_.which_node);
        } else if (next_.what == target::kind::pair_list) {
            current_list_ = next_.which_list;
            push(node::pairs);
        } else {
            ++skip_depth_;  // objects we do not read, including objects inside value arrays
        }
        next_ = {};
        return true;
    }

    bool end_object() { return close_container(false); }

    bool start_array(std::size_t) {
        if (skip_depth_ != 0 || !started_) return open_root_or_skip(false);
        if (next_.what == target::kind::pair_value && top() == node::pairs) {
            push(node::pair_values);
            next_ = pair_item_target();
            return true;
        }
        ++skip_depth_;
        next_ = {};
        return true;
    }

    bool end_array() { return close_container(true); }

    bool key(string_t& name) {
        if (skip_depth_ != 0) return true;
        next_ = {};
        switch (top()) {
            case node::root:
                root_member(name);
                break;
            case node::context:
                if (name == "stage") {
                    expect_field(field::stage);
                } else if (name == "domainName") {
                    expect_field(field::domain_name);
                } else if (name == "path") {
                    expect_field(field::rest_path);
                } else if (name == "http") {
                    expect_object(node::http);
                } else if (name == "authorizer") {
                    expect_object(node::authorizer);
                } else if (name == "identity") {
                    expect_object(node::identity);
                }
                break;
            case node::http:
                if (name == "method") {
                    expect_field(field::context_method);
                } else if (name == "path") {
                    expect_field(field::context_path);
                }
                break;
            case node::authorizer:
                if (name == "jwt") {
                    expect_object(node::jwt);
                } else if (name == "claims") {
                    expect_object(node::claims);
                } else if (name == "principalId") {
                    expect_field(field::principal_id);
                } else if (name == "iam") {
                    expect_object(node::iam);
                }
                break;
            case node::jwt:
                if (name == "claims") expect_object(node::jwt_claims);
                break;
            case node::jwt_claims:
                if (name == "sub") expect_field(field::jwt_sub);
                break;
            case node::claims:
                if (name == "sub") expect_field(field::claims_sub);
                break;
            case node::iam:
                if (name == "cognitoIdentity") {
                    expect_object(node::iam_cognito);
                } else if (name == "userArn") {
                    expect_field(field::iam_user_arn);
                }
                break;
            case node::iam_cognito:
                if (name == "identityId") expect_field(field::iam_identity_id);
                break;
            case node::identity:
                if (name == "cognitoIdentityId") {
                    expect_field(field::identity_cognito_id);
                } else if (name == "userArn") {
                    expect_field(field::identity_user_arn);
                }
                break;
            case node::pairs:
                start_pair(name);
                break;
            default:
                break;
        }
        return true;
    }

    bool parse_error(std::size_t, const std::string&, const json::exception&) { return false; }

    // Results, valid after a successful parse.
    [[nodiscard]] bool root_was_object() const noexcept { return root_object_; }
    [[nodiscard]] const std::optional<std::string>& get(field f) const noexcept {
        return fields_[static_cast<std::size_t>(f)];
    }
    [[nodiscard]] std::optional<std::string>& get(field f) noexcept {
        return fields_[static_cast<std::size_t>(f)];
    }
    [[nodiscard]] pair_list& pairs(list l) noexcept { return lists_[static_cast<std::size_t>(l)]; }
    [[nodiscard]] bool base64() const noexcept { return base64_; }

  private:
    static constexpr std::size_t max_depth =
        8;  // deepest object we read: root..iam_cognito, plus pairs

    // The end of an object or array: leaves a skipped one, or pops the node it was read into (an
    // array of pair values also ends what its items were assigned to).
    bool close_container(bool forget_target) {
        if (skip_depth_ != 0) {
            --skip_depth_;
        } else {
            if (depth_ > 0) --depth_;
            if (forget_target) next_ = {};
        }
        after_value();
        return true;
    }

    bool scalar() {
        if (skip_depth_ == 0) {
            if (!started_) {
                started_ = true;  // a scalar document: not an event
                return true;
            }
            next_ = {};
            if (top() == node::pair_values) next_ = pair_item_target();
        }
        return true;
    }

    bool open_root_or_skip(bool object) {
        if (!started_) {
            started_ = true;
            if (object) {
                root_object_ = true;
                push(node::root);
                return true;
            }
        }
        ++skip_depth_;
        next_ = {};
        return true;
    }

    void after_value() {
        next_ = {};
        if (skip_depth_ == 0 && depth_ > 0 && top() == node::pair_values)
            next_ = pair_item_target();
    }

    [[nodiscard]] node top() const noexcept {
        return depth_ == 0 ? node::skip : stack_[depth_ - 1];
    }

    void push(node n) {
        if (depth_ == max_depth) {  // cannot happen with the nodes above; stay safe anyway
            ++skip_depth_;
            return;
        }
        stack_[depth_++] = n;
    }

    target pair_item_target() const noexcept {
        target t;
        t.what = target::kind::pair_value;
        return t;
    }

    // A member name decides what its value replaces, whatever that value turns out to be.
    void expect_field(field f) {
        fields_[static_cast<std::size_t>(f)].reset();
        next_.what = target::kind::field;
        next_.which_field = f;
    }

    void expect_object(node n) {
        for (std::size_t i = 0; i < field_count; ++i)
            if (inside(field_parent[i], n)) fields_[i].reset();
        next_.what = target::kind::object;
        next_.which_node = n;
    }

    void expect_list(list l) {
        auto& target_list = lists_[static_cast<std::size_t>(l)];
        target_list.pairs.clear();
        target_list.present = false;
        next_.what = target::kind::pair_list;
        next_.which_list = l;
    }

    void root_member(std::string_view name) {
        if (name == "headers") {
            expect_list(list::headers);
        } else if (name == "body") {
            expect_field(field::body);
        } else if (name == "requestContext") {
            expect_object(node::context);
        } else if (name == "isBase64Encoded") {
            base64_ = false;
            next_.what = target::kind::base64_flag;
        } else if (name == "rawPath") {
            expect_field(field::raw_path);
        } else if (name == "rawQueryString") {
            expect_field(field::raw_query);
        } else if (name == "version") {
            expect_field(field::version);
        } else if (name == "httpMethod") {
            expect_field(field::http_method);
        } else if (name == "path") {
            expect_field(field::path);
        } else if (name == "multiValueHeaders") {
            expect_list(list::multi_headers);
        } else if (name == "queryStringParameters") {
            expect_list(list::query);
        } else if (name == "multiValueQueryStringParameters") {
            expect_list(list::multi_query);
        }
    }

    // A member of a name/value object: a repeated name replaces the earlier member's values.
    void start_pair(string_t& name) {
        auto& current = lists_[static_cast<std::size_t>(current_list_)];
        current.present = true;
        auto& pairs = current.pairs;
        for (std::size_t i = pairs.size(); i-- > 0;)
            if (pairs[i].name == name) pairs.erase(pairs.begin() + static_cast<std::ptrdiff_t>(i));
        pair_name_ = name;
        next_ = pair_item_target();
    }

    void add_pair(const string_t& value) {
        lists_[static_cast<std::size_t>(current_list_)].pairs.push_back({pair_name_, value});
    }

    std::array<std::optional<std::string>, field_count> fields_;
    std::array<pair_list, list_count> lists_;
    std::array<node, max_depth> stack_{};
    std::size_t depth_ = 0;
    std::size_t skip_depth_ = 0;
    target next_;
    list current_list_ = list::headers;
    std::string pair_name_;
    bool started_ = false;
    bool root_object_ = false;
    bool base64_ = false;
};

bool read_event(std::string_view event, event_reader& reader) {
    return json::sax_parse(event, &reader);
}

std::optional<std::string> non_empty(std::optional<std::string>& value) {
    if (!value || value->empty()) return std::nullopt;
    return std::move(value);
}

// The authenticated caller, from whichever authorizer ran.
std::optional<std::string> identity_of(event_reader& event) {
    for (field f : {field::jwt_sub,              // HTTP API JWT authorizer
                    field::claims_sub,           // REST API Cognito user pool authorizer
                    field::principal_id,         // Lambda authorizer (REST, HTTP API 1.0 format)
                    field::iam_identity_id,      // HTTP API / Function URL with IAM auth
                    field::iam_user_arn,         //
                    field::identity_cognito_id,  // REST API with IAM auth
                    field::identity_user_arn}) {
        if (auto id = non_empty(event.get(f))) return id;
    }
    return std::nullopt;
}

// HTTP API paths carry the stage ("/prod/uploads") unless it is $default.
std::string strip_stage(std::string path, const std::optional<std::string>& stage) {
    if (!stage || stage->empty() || *stage == "$default") return path;
    std::string_view view = path;
    if (!view.starts_with('/') || !view.substr(1).starts_with(*stage)) return path;
    auto rest = view.substr(1 + stage->size());
    if (rest.empty()) return "/";
    if (rest.starts_with('/')) return std::string(rest);
    return path;
}

// The public address of the API, for links the service hands out: https, the domain the client
// called, and whatever path prefix (a stage, a custom domain's base path) precedes the route.
std::string base_url_of(const std::optional<std::string>& domain, std::string_view prefix) {
    if (!domain || domain->empty()) return {};
    bool plain_host = std::all_of(domain->begin(), domain->end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '.' || c == '-' || c == ':';
    });
    if (!plain_host) return {};
    return "https://" + *domain + std::string(prefix);
}

std::vector<sigv4::query_param> to_query(std::vector<sigv4::header>&& pairs) {
    std::vector<sigv4::query_param> out;
    out.reserve(pairs.size());
    for (auto& p : pairs) out.push_back({std::move(p.name), std::move(p.value)});
    return out;
}

}  // namespace

translated_event translate_event(std::string_view event, std::string_view request_id) {
    translated_event out;
    auto& req = out.request;
    req.request_id = std::string(request_id);

    event_reader doc;
    bool parsed = false;
    try {
        parsed = read_event(event, doc);
    } catch (const json::exception&) {
        parsed = false;
    }
    if (!parsed || !doc.root_was_object()) {
        out.problem = event_problem{400, "invalid_json", "the event is not a JSON object"};
        return out;
    }
    const auto& version = doc.get(field::version);
    auto& v2_method = doc.get(field::context_method);
    auto& v1_method = doc.get(field::http_method);

    if ((version && *version == "2.0") || (v2_method && !v1_method)) {
        if (v2_method) req.method = std::move(*v2_method);
        std::string path = "/";
        if (auto& raw = doc.get(field::raw_path)) {
            auto decoded = sigv4::percent_decode(*raw);
            path = decoded ? std::move(*decoded) : std::move(*raw);
        } else if (auto& plain = doc.get(field::context_path)) {
            path = std::move(*plain);
        }
        const std::string full_path = path;
        req.path = strip_stage(std::move(path), doc.get(field::stage));
        std::string_view prefix;
        if (full_path.size() > req.path.size() && std::string_view(full_path).ends_with(req.path))
            prefix = std::string_view(full_path).substr(0, full_path.size() - req.path.size());
        req.base_url = base_url_of(doc.get(field::domain_name), prefix);
        if (const auto& raw_query = doc.get(field::raw_query)) {
            // The raw text as the client sent it: the service's decoder, the same as `presign
            // serve` applies. (queryStringParameters, below and in 1.0 events, come decoded by AWS
            // with the same rules: '+' a space, %XX a byte.)
            // An undecodable query is the problem; the rest is still read (headers for CORS, the
            // identity for the log line).
            auto query = service::parse_query(*raw_query);
            if (query) {
                req.query = std::move(*query);
            } else {
                out.problem =
                    event_problem{service::query_error::status,
                                  std::string(service::query_error::code), query.error().message};
            }
        } else {
            req.query = to_query(std::move(doc.pairs(list::query).pairs));
        }
        req.headers = std::move(doc.pairs(list::headers).pairs);
    } else if (v1_method) {
        req.method = std::move(*v1_method);
        auto& path = doc.get(field::path);
        req.path = path ? std::move(*path) : "/";
        std::string_view prefix;
        if (const auto& sent = doc.get(field::rest_path);
            sent && sent->size() > req.path.size() && std::string_view(*sent).ends_with(req.path))
            prefix = std::string_view(*sent).substr(0, sent->size() - req.path.size());
        req.base_url = base_url_of(doc.get(field::domain_name), prefix);
        auto& multi_query = doc.pairs(list::multi_query);
        req.query = to_query(
            std::move(multi_query.present ? multi_query.pairs : doc.pairs(list::query).pairs));
        auto& multi_headers = doc.pairs(list::multi_headers);
        req.headers =
            std::move(multi_headers.present ? multi_headers.pairs : doc.pairs(list::headers).pairs);
    } else {
        out.problem = event_problem{400, "invalid_json",
                                    "the event is not an API Gateway or Function URL request"};
        return out;
    }
    if (req.method.empty()) {
        out.problem = event_problem{400, "invalid_json", "the event has no HTTP method"};
        return out;
    }

    req.identity = identity_of(doc);

    if (auto& body = doc.get(field::body)) {
        if (doc.base64()) {
            auto decoded = sigv4::base64_decode(*body);
            if (!decoded) {
                out.problem =
                    event_problem{400, "invalid_json", "the request body is not valid base64"};
                return out;
            }
            req.body = std::move(*decoded);
        } else {
            req.body = std::move(*body);
        }
    }
    return out;
}

}  // namespace presign::lambda

namespace presign::lambda {

std::string to_api_response(const service::response& res) {
    std::string out;
    out.reserve(res.body.size() + res.body.size() / 8 + 64 * res.headers.size() + 64);
    out += R"({"statusCode":)";
    out += std::to_string(res.status);
    out += R"(,"headers":{)";
    // A repeated header name becomes one member with the values joined by ", ".
    bool first = true;
    for (std::size_t i = 0; i < res.headers.size(); ++i) {
        const auto& name = res.headers[i].name;
        bool seen = false;
        for (std::size_t j = 0; j < i && !seen; ++j) seen = res.headers[j].name == name;
        if (seen) continue;
        if (!first) out += ',';
        first = false;
        service::append_json_string(out, name);
        out += ':';
        std::size_t next = i + 1;
        while (next < res.headers.size() && res.headers[next].name != name) ++next;
        if (next == res.headers.size()) {
            service::append_json_string(out, res.headers[i].value);
            continue;
        }
        std::string joined = res.headers[i].value;
        for (std::size_t j = next; j < res.headers.size(); ++j)
            if (res.headers[j].name == name) joined.append(", ").append(res.headers[j].value);
        service::append_json_string(out, joined);
    }
    out += R"(},"body":)";
    service::append_json_string(out, res.body);
    out += R"(,"isBase64Encoded":false})";
    return out;
}

std::string handle_event(const service::service& svc, std::string_view event,
                         std::string_view request_id, std::optional<std::string_view> page_config) {
    auto translated = translate_event(event, request_id);
    if (translated.problem) {
        const auto& problem = *translated.problem;
        return to_api_response(
            svc.reject(translated.request, problem.status, problem.code, problem.message));
    }
    if (page_config && translated.request.method == "GET") {
        if (auto page = web::page_response(translated.request.path, *page_config))
            return to_api_response(*page);
    }
    return to_api_response(svc.handle(translated.request));
}

}  // namespace presign::lambda
