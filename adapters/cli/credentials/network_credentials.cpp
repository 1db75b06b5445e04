// SPDX-License-Identifier: Apache-2.0
#include "presign/cli/network_credentials.hpp"

#include "credential_support.hpp"

#include <cstdlib>
#include <fstream>
#include <sstream>

#include <httplib.h>
#include <nlohmann/json.hpp>

namespace presign::cli {
namespace {

using kind = config_error::kind;

using support::credentials_failure;
using support::non_empty;
using support::setting;

struct http_target {
    std::string host;
    int port = 80;
    std::string path = "/";
};

// Parses "http://host[:port][/path]"; nullopt for anything else.
std::optional<http_target> parse_http_url(std::string_view url) {
    if (!url.starts_with("http://")) return std::nullopt;
    url.remove_prefix(7);
    http_target target;
    const auto slash = url.find('/');
    std::string_view authority = url.substr(0, slash);
    if (slash != std::string_view::npos) target.path = std::string(url.substr(slash));
    if (authority.starts_with('[')) {  // [v6]:port
        const auto close = authority.find(']');
        if (close == std::string_view::npos) return std::nullopt;
        target.host = std::string(authority.substr(1, close - 1));
        authority.remove_prefix(close + 1);
        if (!authority.empty() && authority.front() != ':') return std::nullopt;
    } else {
        const auto colon = authority.find(':');
        target.host = std::string(authority.substr(0, colon));
        authority = colon == std::string_view::npos ? std::string_view{} : authority.substr(colon);
    }
    if (!authority.empty()) {
        const auto digits = authority.substr(1);
        if (digits.empty() || digits.size() > 5) return std::nullopt;
        int port = 0;
        for (char c : digits) {
            if (c < '0' || c > '9') return std::nullopt;
            port = port * 10 + (c - '0');
        }
        if (port == 0 || port > 65535) return std::nullopt;
        target.port = port;
    }
    if (target.host.empty()) return std::nullopt;
    return target;
}

bool allowed_container_host(std::string_view host) {
    if (host == "localhost" || host == "::1" || host == "169.254.170.2" ||
        host == "169.254.170.23" || host == "fd00:ec2::23") {
        return true;
    }
    return host.starts_with("127.") &&
           host.find_first_not_of("0123456789.") == std::string_view::npos;
}

void set_timeouts(httplib::Client& client, std::chrono::milliseconds timeout) {
    client.set_connection_timeout(timeout);
    client.set_read_timeout(timeout);
    client.set_write_timeout(timeout);
}

std::string first_line(std::string_view text) {
    const auto end = text.find_first_of("\r\n");
    return std::string(end == std::string_view::npos ? text : text.substr(0, end));
}

provider_result from_container(const env_lookup& env, const chain_options& options) {
    const std::string source = "container credentials";
    std::string url;
    if (auto relative = non_empty(env, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI")) {
        url = "http://169.254.170.2" + *relative;
    } else if (auto full = non_empty(env, "AWS_CONTAINER_CREDENTIALS_FULL_URI")) {
        url = *full;
        if (url.starts_with("https://")) {
            return credentials_failure(
                "AWS_CONTAINER_CREDENTIALS_FULL_URI uses https, which this build cannot reach "
                "(no TLS)");
        }
    } else {
        return std::optional<sourced_credentials>{};
    }
    auto target = parse_http_url(url);
    if (!target) {
        return sigv4::unexpected{config_error{kind::config, "malformed container credentials URI"}};
    }
    if (!allowed_container_host(target->host)) {
        return credentials_failure("container credentials host '" + target->host +
                                   "' is not a loopback or ECS/EKS address");
    }
    httplib::Headers headers{{"Accept", "application/json"}};
    std::optional<std::string> token;
    if (auto token_file = non_empty(env, "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE")) {
        std::ifstream in(*token_file, std::ios::binary);
        if (!in) {
            return credentials_failure("cannot read AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE " +
                                       *token_file);
        }
        std::ostringstream text;
        text << in.rdbuf();
        token = text.str();
        while (!token->empty() && (token->back() == '\n' || token->back() == '\r'))
            token->pop_back();
    } else {
        token = non_empty(env, "AWS_CONTAINER_AUTHORIZATION_TOKEN");
    }
    if (token) {
        if (token->find_first_of("\r\n") != std::string::npos) {
            return credentials_failure("the container authorization token contains a line break");
        }
        headers.emplace("Authorization", *token);
    }
    httplib::Client client(target->host, target->port);
    set_timeouts(client, options.network_timeout);
    auto response = client.Get(target->path, headers);
    if (!response || response->status >= 500) response = client.Get(target->path, headers);
    if (!response) {
        return credentials_failure("container credentials endpoint " + target->host + ":" +
                                   std::to_string(target->port) +
                                   " did not answer: " + httplib::to_string(response.error()));
    }
    if (response->status != 200) {
        return credentials_failure("container credentials endpoint answered HTTP " +
                                   std::to_string(response->status));
    }
    return credentials_from_json(source, response->body, false);
}

provider_result from_instance_metadata(const aws_config& config, const env_lookup& env,
                                       const chain_options& options) {
    const std::string source = "EC2 instance metadata";
    if (is_true_setting(env("AWS_EC2_METADATA_DISABLED").value_or(""))) {
        return std::optional<sourced_credentials>{};
    }
    std::string endpoint = "http://169.254.169.254";
    if (auto from_env = non_empty(env, "AWS_EC2_METADATA_SERVICE_ENDPOINT")) {
        endpoint = *from_env;
    } else if (const auto* from_file = setting(config.merged, "ec2_metadata_service_endpoint")) {
        endpoint = *from_file;
    }
    auto target = parse_http_url(endpoint);
    if (!target) {
        return sigv4::unexpected{config_error{kind::config, "malformed EC2 metadata endpoint"}};
    }
    auto timeout = options.network_timeout;
    if (auto seconds = non_empty(env, "AWS_METADATA_SERVICE_TIMEOUT")) {
        char* end = nullptr;
        const double value = std::strtod(seconds->c_str(), &end);
        if (end != nullptr && *end == '\0' && value > 0 && value < 3600) {
            timeout = std::chrono::milliseconds{static_cast<long>(value * 1000)};
        }
    }
    int attempts = 1;
    if (auto count = non_empty(env, "AWS_METADATA_SERVICE_NUM_ATTEMPTS")) {
        const int value = std::atoi(count->c_str());
        if (value >= 1 && value <= 10) attempts = value;
    }
    httplib::Client client(target->host, target->port);
    set_timeouts(client, timeout);
    auto request = [&](auto&& call) {
        auto result = call();
        for (int attempt = 1; attempt < attempts && (!result || result->status >= 500); ++attempt) {
            result = call();
        }
        return result;
    };
    std::string base = target->path == "/" ? std::string() : target->path;
    while (!base.empty() && base.back() == '/') base.pop_back();

    httplib::Headers headers;
    auto token = request([&] {
        return client.Put(base + "/latest/api/token",
                          httplib::Headers{{"X-aws-ec2-metadata-token-ttl-seconds", "21600"}},
                          std::string(), "text/plain");
    });
    if (!token) return std::optional<sourced_credentials>{};  // no metadata service here
    // As botocore: a refused token (403/404/405, or a 5xx) falls back to IMDSv1, a 400 is an error,
    // and a metadata service that will not list a role or its credentials means "none here".
    if (token->status == 200) {
        headers.emplace("X-aws-ec2-metadata-token", token->body);
    } else if (token->status == 400) {
        return credentials_failure("EC2 metadata refused the token request (HTTP 400)");
    } else if (is_true_setting(env("AWS_EC2_METADATA_V1_DISABLED").value_or(""))) {
        return credentials_failure("EC2 metadata refused a token and IMDSv1 is disabled");
    }
    const std::string roles_path = base + "/latest/meta-data/iam/security-credentials/";
    auto roles = request([&] { return client.Get(roles_path, headers); });
    if (!roles || roles->status != 200) return std::optional<sourced_credentials>{};
    const std::string role = first_line(roles->body);
    if (role.empty() || role.find('/') != std::string::npos) {
        return std::optional<sourced_credentials>{};
    }
    auto creds = request([&] { return client.Get(roles_path + role, headers); });
    if (!creds || creds->status != 200) return std::optional<sourced_credentials>{};
    const auto json = nlohmann::json::parse(creds->body, nullptr, false);
    if (!json.is_discarded() && json.is_object() && json.contains("Code") &&
        json["Code"] != "Success") {
        return credentials_failure("EC2 metadata credentials are not available (Code " +
                                   json["Code"].dump() + ")");
    }
    return credentials_from_json(source, creds->body, false);
}

}  // namespace

provider_result fetch_network_credentials(const aws_config& config, const env_lookup& env,
                                          const chain_options& options) {
    auto found = from_container(env, options);
    if (!found || found->has_value()) return found;
    return from_instance_metadata(config, env, options);
}

}  // namespace presign::cli
