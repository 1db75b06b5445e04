// SPDX-License-Identifier: Apache-2.0
#include <presign/web/page.hpp>

#include <nlohmann/json.hpp>

namespace presign::web {
namespace {

service::response page_file(std::string_view content_type, std::string_view body) {
    service::response res;
    res.status = 200;
    res.headers = {{"Content-Type", std::string(content_type)},
                   {"Cache-Control", "no-cache"},
                   {"X-Content-Type-Options", "nosniff"},
                   {"Referrer-Policy", "no-referrer"},
                   {"X-Frame-Options", "DENY"}};
    res.body = std::string(body);
    return res;
}

}  // namespace

std::string page_config(std::string_view issuer, std::string_view client_id,
                        std::string_view logout_endpoint) {
    if (issuer.empty() || client_id.empty()) return "{}";
    nlohmann::json config{{"issuer", issuer}, {"clientId", client_id}};
    if (!logout_endpoint.empty()) config["logoutEndpoint"] = logout_endpoint;
    return config.dump();
}

std::optional<service::response> page_response(std::string_view path,
                                               std::string_view config_json) {
    if (path == "/config.json") return page_file("application/json", config_json);
    if (path == "/") path = "/index.html";
    for (const auto& file : assets()) {
        if (file.path == path) return page_file(content_type_of(path), file.data);
    }
    return std::nullopt;
}

}  // namespace presign::web
