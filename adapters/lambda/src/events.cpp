// SPDX-License-Identifier: Apache-2.0
// Event translation for API Gateway REST (1.0), HTTP API (2.0) and Function URLs (2.0).
#include "presign/lambda/events.hpp"

#include <algorithm>
#include <initializer_list>
#include <nlohmann/json.hpp>

namespace presign::lambda {
namespace {

using json = nlohmann::json;

// The string at `object[name]`, or nullptr when absent, null or not a string.
const std::string* string_at(const json& object, std::string_view name) {
    if (!object.is_object()) return nullptr;
    auto it = object.find(name);
    if (it == object.end() || !it->is_string()) return nullptr;
    return &it->get_ref<const std::string&>();
}

const json& object_at(const json& object, std::string_view name) {
    static const json empty = json::object();
    if (!object.is_object()) return empty;
    auto it = object.find(name);
    return (it != object.end() && it->is_object()) ? *it : empty;
}

std::optional<std::string> non_empty(const std::string* value) {
    if (value == nullptr || value->empty()) return std::nullopt;
    return *value;
}

// Form-style decoding of one query component: '+' is a space, %XX a byte.
std::optional<std::string> decode_query_component(std::string_view text) {
    std::string spaced(text);
    for (auto& c : spaced)
        if (c == '+') c = ' ';
    return sigv4::percent_decode(spaced);
}

// rawQueryString "a=1&a=2&b" -> repeated, decoded pairs. Malformed escapes keep the raw text.
void parse_raw_query(std::string_view raw, std::vector<sigv4::query_param>& out) {
    while (!raw.empty()) {
        auto amp = raw.find('&');
        auto pair = raw.substr(0, amp);
        if (!pair.empty()) {
            auto eq = pair.find('=');
            auto name = pair.substr(0, eq);
            auto value = eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1);
            auto decoded_name = decode_query_component(name);
            auto decoded_value = decode_query_component(value);
            out.push_back({decoded_name ? *decoded_name : std::string(name),
                           decoded_value ? *decoded_value : std::string(value)});
        }
        if (amp == std::string_view::npos) break;
        raw.remove_prefix(amp + 1);
    }
}

// {"name": "v"} or {"name": ["v1","v2"]} (values already decoded by API Gateway).
template <class Item>
void add_pairs(const json& object, std::vector<Item>& out) {
    if (!object.is_object()) return;
    for (const auto& [name, value] : object.items()) {
        if (value.is_string()) {
            out.push_back(Item{name, value.template get<std::string>()});
        } else if (value.is_array()) {
            for (const auto& item : value)
                if (item.is_string()) out.push_back(Item{name, item.template get<std::string>()});
        }
    }
}

// The authenticated caller, from whichever authorizer ran.
std::optional<std::string> identity_of(const json& context) {
    const json& authorizer = object_at(context, "authorizer");
    // HTTP API JWT authorizer.
    if (auto sub = non_empty(string_at(object_at(object_at(authorizer, "jwt"), "claims"), "sub"))) return sub;
    // REST API Cognito user pool authorizer.
    if (auto sub = non_empty(string_at(object_at(authorizer, "claims"), "sub"))) return sub;
    // Lambda authorizer (REST, and HTTP API with the 1.0 response format).
    if (auto principal = non_empty(string_at(authorizer, "principalId"))) return principal;
    // HTTP API / Function URL with IAM auth.
    const json& iam = object_at(authorizer, "iam");
    if (auto id = non_empty(string_at(object_at(iam, "cognitoIdentity"), "identityId"))) return id;
    if (auto arn = non_empty(string_at(iam, "userArn"))) return arn;
    // REST API with IAM auth.
    const json& identity = object_at(context, "identity");
    if (auto id = non_empty(string_at(identity, "cognitoIdentityId"))) return id;
    if (auto arn = non_empty(string_at(identity, "userArn"))) return arn;
    return std::nullopt;
}

// HTTP API paths carry the stage ("/prod/uploads") unless it is $default.
std::string strip_stage(std::string path, const json& context) {
    const std::string* stage = string_at(context, "stage");
    if (stage == nullptr || stage->empty() || *stage == "$default") return path;
    std::string prefix = "/" + *stage;
    if (path == prefix) return "/";
    if (path.starts_with(prefix + "/")) return path.substr(prefix.size());
    return path;
}

bool one_of(std::string_view key, std::initializer_list<std::string_view> names) {
    return std::find(names.begin(), names.end(), key) != names.end();
}

// Keeps only what the translation reads (the request line, headers, query, body and the
// authorizer's identity): API Gateway events carry far more, and a smaller tree is built faster.
class event_filter {
public:
    bool operator()(int depth, json::parse_event_t event, json& parsed) {
        if (event != json::parse_event_t::key || !parsed.is_string()) return true;
        const auto& key = parsed.get_ref<const std::string&>();
        if (depth == 1) {
            in_context_ = key == "requestContext";
            return one_of(key, {"version", "httpMethod", "path", "rawPath", "rawQueryString", "headers",
                                "multiValueHeaders", "queryStringParameters", "multiValueQueryStringParameters",
                                "requestContext", "body", "isBase64Encoded"});
        }
        if (!in_context_) return true;
        return one_of(key, {"http", "method", "path", "stage", "authorizer", "jwt", "claims", "sub", "principalId",
                            "iam", "cognitoIdentity", "identityId", "userArn", "identity", "cognitoIdentityId"});
    }

private:
    bool in_context_ = false;
};

}  // namespace

translated_event translate_event(std::string_view event, std::string_view request_id) {
    translated_event out;
    auto& req = out.request;
    req.request_id = std::string(request_id);

    auto doc = json::parse(event, event_filter{}, false);
    if (doc.is_discarded() || !doc.is_object()) {
        out.problem = event_problem{400, "invalid_json", "the event is not a JSON object"};
        return out;
    }
    const json& context = object_at(doc, "requestContext");
    const std::string* version = string_at(doc, "version");
    const std::string* v2_method = string_at(object_at(context, "http"), "method");
    const std::string* v1_method = string_at(doc, "httpMethod");

    if ((version != nullptr && *version == "2.0") || (v2_method != nullptr && v1_method == nullptr)) {
        if (v2_method != nullptr) req.method = *v2_method;
        std::string path = "/";
        if (const std::string* raw = string_at(doc, "rawPath")) {
            auto decoded = sigv4::percent_decode(*raw);
            path = decoded ? *decoded : *raw;
        } else if (const std::string* plain = string_at(object_at(context, "http"), "path")) {
            path = *plain;
        }
        req.path = strip_stage(std::move(path), context);
        if (const std::string* raw_query = string_at(doc, "rawQueryString")) {
            parse_raw_query(*raw_query, req.query);
        } else {
            add_pairs(object_at(doc, "queryStringParameters"), req.query);
        }
        add_pairs(object_at(doc, "headers"), req.headers);
    } else if (v1_method != nullptr) {
        req.method = *v1_method;
        const std::string* path = string_at(doc, "path");
        req.path = path != nullptr ? *path : "/";
        if (object_at(doc, "multiValueQueryStringParameters").empty()) {
            add_pairs(object_at(doc, "queryStringParameters"), req.query);
        } else {
            add_pairs(object_at(doc, "multiValueQueryStringParameters"), req.query);
        }
        if (object_at(doc, "multiValueHeaders").empty()) {
            add_pairs(object_at(doc, "headers"), req.headers);
        } else {
            add_pairs(object_at(doc, "multiValueHeaders"), req.headers);
        }
    } else {
        out.problem = event_problem{400, "invalid_json",
                                    "the event is not an API Gateway or Function URL request"};
        return out;
    }
    if (req.method.empty()) {
        out.problem = event_problem{400, "invalid_json", "the event has no HTTP method"};
        return out;
    }

    req.identity = identity_of(context);

    if (const std::string* body = string_at(doc, "body")) {
        auto encoded = doc.find("isBase64Encoded");
        if (encoded != doc.end() && encoded->is_boolean() && encoded->get<bool>()) {
            auto decoded = sigv4::base64_decode(*body);
            if (!decoded) {
                out.problem = event_problem{400, "invalid_json", "the request body is not valid base64"};
                return out;
            }
            req.body = std::move(*decoded);
        } else {
            req.body = *body;
        }
    }
    return out;
}

std::string to_api_response(const service::response& res) {
    json headers = json::object();
    for (const auto& h : res.headers) {
        auto it = headers.find(h.name);
        if (it == headers.end()) {
            headers[h.name] = h.value;
        } else {
            it->get_ref<std::string&>() += ", " + h.value;
        }
    }
    json doc = {{"statusCode", res.status}, {"headers", std::move(headers)}, {"body", res.body},
                {"isBase64Encoded", false}};
    return doc.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string handle_event(const service::service& svc, std::string_view event, std::string_view request_id) {
    auto translated = translate_event(event, request_id);
    if (translated.problem) {
        const auto& problem = *translated.problem;
        return to_api_response(svc.reject(translated.request, problem.status, problem.code, problem.message));
    }
    return to_api_response(svc.handle(translated.request));
}

}  // namespace presign::lambda
