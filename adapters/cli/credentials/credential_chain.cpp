// SPDX-License-Identifier: Apache-2.0
#include "presign/cli/credential_chain.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <vector>

#include <httplib.h>
#include <nlohmann/json.hpp>
#include <sigv4/time.hpp>

extern char** environ;

namespace presign::cli {
namespace {

using kind = config_error::kind;
using provider_result = config_result<std::optional<sourced_credentials>>;

sigv4::unexpected<config_error> credentials_failure(std::string message) {
    return sigv4::unexpected{config_error{kind::credentials, std::move(message)}};
}

std::optional<std::string> non_empty(const env_lookup& env, std::string_view name) {
    auto value = env(name);
    if (value && !value->empty()) return value;
    return std::nullopt;
}

const std::string* setting(const profile_settings& settings, std::string_view key) {
    const auto found = settings.find(key);
    return found == settings.end() || found->second.empty() ? nullptr : &found->second;
}

// Builds credentials, turning a validation failure into a message naming the source.
provider_result make_credentials(std::string_view source, std::string_view access_key_id,
                                 std::string_view secret, std::string_view token,
                                 std::string_view expiration) {
    std::optional<sigv4::sys_seconds> expires;
    if (!expiration.empty()) {
        auto parsed = sigv4::parse_iso8601(expiration);
        if (!parsed) {
            return credentials_failure(std::string(source) + ": unparsable Expiration '" +
                                       std::string(expiration) + "'");
        }
        expires = *parsed;
    }
    auto creds = sigv4::credentials::make(access_key_id, secret, token, expires);
    if (!creds) {
        return credentials_failure(std::string(source) +
                                   " gave unusable credentials: " + creds.error().message);
    }
    return std::optional<sourced_credentials>{
        sourced_credentials{std::move(*creds), std::string(source)}};
}

// Static keys from a settings map (credentials file or config file profile).
provider_result from_settings(const profile_settings& settings, const std::string& source) {
    const auto* key_id = setting(settings, "aws_access_key_id");
    if (key_id == nullptr) return std::optional<sourced_credentials>{};
    const auto* secret = setting(settings, "aws_secret_access_key");
    if (secret == nullptr) {
        return credentials_failure(source + " has aws_access_key_id but no aws_secret_access_key");
    }
    const auto* token = setting(settings, "aws_session_token");
    if (token == nullptr) token = setting(settings, "aws_security_token");
    return make_credentials(source, *key_id, *secret, token != nullptr ? *token : "", "");
}

provider_result from_environment(const env_lookup& env) {
    auto key_id = non_empty(env, "AWS_ACCESS_KEY_ID");
    auto secret = non_empty(env, "AWS_SECRET_ACCESS_KEY");
    if (!key_id && !secret) return std::optional<sourced_credentials>{};
    if (!key_id || !secret) {
        return credentials_failure(
            "partial credentials in the environment: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY "
            "must both be set");
    }
    auto token = non_empty(env, "AWS_SESSION_TOKEN");
    if (!token) token = non_empty(env, "AWS_SECURITY_TOKEN");
    return make_credentials("environment", *key_id, *secret, token.value_or(""),
                            non_empty(env, "AWS_CREDENTIAL_EXPIRATION").value_or(""));
}

// Credentials JSON as credential_process, container and IMDS endpoints return it.
provider_result from_json(std::string_view source, std::string_view body, bool process_format) {
    const auto json = nlohmann::json::parse(body, nullptr, false);
    if (json.is_discarded() || !json.is_object()) {
        return credentials_failure(std::string(source) + " did not return a JSON object");
    }
    auto text = [&](const char* name) -> std::string {
        const auto found = json.find(name);
        return found != json.end() && found->is_string() ? found->get<std::string>()
                                                         : std::string();
    };
    if (process_format) {
        const auto version = json.find("Version");
        if (version == json.end() || !version->is_number_integer() || version->get<int>() != 1) {
            return credentials_failure(std::string(source) +
                                       " returned an unsupported Version (expected 1)");
        }
    }
    const std::string key_id = text("AccessKeyId");
    const std::string secret = text("SecretAccessKey");
    if (key_id.empty() || secret.empty()) {
        return credentials_failure(std::string(source) +
                                   " returned no AccessKeyId or no SecretAccessKey");
    }
    const std::string token = process_format ? text("SessionToken") : text("Token");
    return make_credentials(source, key_id, secret, token, text("Expiration"));
}

provider_result from_process(const std::string& command, const chain_options& options) {
    const std::string source = "credential_process";
    auto words = split_shell_words(command);
    if (!words || words->empty()) {
        return sigv4::unexpected{
            config_error{kind::config, "malformed credential_process setting"}};
    }
    std::vector<char*> argv;
    for (auto& word : *words) argv.push_back(word.data());
    argv.push_back(nullptr);

    int pipe_fds[2];
    if (pipe2(pipe_fds, O_CLOEXEC) != 0) {
        return credentials_failure("credential_process: cannot create a pipe");
    }
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], STDOUT_FILENO);
    // The process's stderr is discarded: it is not ours to print and may say anything.
    posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
    pid_t pid = 0;
    const int spawned = posix_spawnp(&pid, argv[0], &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    close(pipe_fds[1]);
    if (spawned != 0) {
        close(pipe_fds[0]);
        return credentials_failure("credential_process: cannot run '" + (*words)[0] +
                                   "': " + std::strerror(spawned));
    }

    std::string output;
    bool timed_out = false;
    bool too_large = false;
    const auto deadline = std::chrono::steady_clock::now() + options.process_timeout;
    char buffer[4096];
    for (;;) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) {
            timed_out = true;
            break;
        }
        pollfd poll_fd{pipe_fds[0], POLLIN, 0};
        const int ready = poll(&poll_fd, 1, static_cast<int>(left.count()));
        if (ready < 0 && errno == EINTR) continue;
        if (ready <= 0) {
            timed_out = ready == 0;
            break;
        }
        const ssize_t got = read(pipe_fds[0], buffer, sizeof buffer);
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0) break;
        output.append(buffer, static_cast<std::size_t>(got));
        if (output.size() > (1u << 20)) {
            too_large = true;
            break;
        }
    }
    close(pipe_fds[0]);
    if (timed_out || too_large) kill(pid, SIGKILL);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (timed_out) {
        return credentials_failure("credential_process did not finish within " +
                                   std::to_string(options.process_timeout.count()) + " ms");
    }
    if (too_large) return credentials_failure("credential_process wrote more than 1 MiB");
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        return credentials_failure("credential_process failed (" +
                                   (WIFEXITED(status)
                                        ? "exit status " + std::to_string(WEXITSTATUS(status))
                                        : std::string("killed by a signal")) +
                                   ")");
    }
    return from_json(source, output, true);
}

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
    return from_json(source, response->body, false);
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
    return from_json(source, creds->body, false);
}

}  // namespace

std::string mask_access_key_id(std::string_view access_key_id) {
    if (access_key_id.size() <= 4) return std::string(access_key_id.size(), '*');
    return std::string(16, '*') + std::string(access_key_id.substr(access_key_id.size() - 4));
}

config_result<sourced_credentials> resolve_credentials(const aws_config& config,
                                                       const env_lookup& env,
                                                       const chain_options& options) {
    auto done = [](provider_result& found) { return !found || found->has_value(); };
    auto finish = [](provider_result&& found) -> config_result<sourced_credentials> {
        if (!found) return sigv4::unexpected{std::move(found).error()};
        return std::move(**found);
    };

    if (!config.profile_explicit) {
        auto found = from_environment(env);
        if (done(found)) return finish(std::move(found));
    }
    for (const char* unsupported :
         {"role_arn", "sso_session", "sso_start_url", "web_identity_token_file"}) {
        if (setting(config.merged, unsupported) != nullptr) {
            return credentials_failure("profile " + config.profile + " uses " + unsupported +
                                       ", which presign does not support; export temporary "
                                       "credentials (aws configure export-credentials) instead");
        }
    }
    {
        auto found = from_settings(config.credentials_file,
                                   "shared credentials file " + config.credentials_path);
        if (done(found)) return finish(std::move(found));
    }
    if (const auto* command = setting(config.merged, "credential_process")) {
        auto found = from_process(*command, options);
        if (done(found)) return finish(std::move(found));
    }
    {
        auto found = from_settings(config.config_file, "config file " + config.config_path);
        if (done(found)) return finish(std::move(found));
    }
    {
        auto found = from_container(env, options);
        if (done(found)) return finish(std::move(found));
    }
    {
        auto found = from_instance_metadata(config, env, options);
        if (done(found)) return finish(std::move(found));
    }
    return credentials_failure("no AWS credentials found for profile " + config.profile +
                               " (looked in the environment, " + config.credentials_path + ", " +
                               config.config_path + ", container and EC2 instance metadata)");
}

credentials_provider::credentials_provider(aws_config config, env_lookup env, chain_options options,
                                           std::chrono::seconds refresh_margin)
    : config_(std::move(config)),
      env_(std::move(env)),
      options_(options),
      refresh_margin_(refresh_margin) {}

config_result<sourced_credentials> credentials_provider::get_sourced() {
    std::lock_guard lock(mutex_);
    const bool fresh =
        cached_ && (!cached_->credentials.expiration ||
                    *cached_->credentials.expiration - refresh_margin_ > sigv4::now());
    if (!fresh) {
        auto resolved = resolve_credentials(config_, env_, options_);
        if (!resolved) {
            // Keep serving still-valid cached credentials when a refresh fails.
            if (cached_ && *cached_->credentials.expiration > sigv4::now()) return *cached_;
            return sigv4::unexpected{resolved.error()};
        }
        cached_ = std::move(*resolved);
    }
    return *cached_;
}

sigv4::result<sigv4::credentials> credentials_provider::get() {
    auto sourced = get_sourced();
    if (!sourced) return sigv4::fail(sigv4::errc::empty_access_key_id, sourced.error().message);
    return std::move(sourced->credentials);
}

}  // namespace presign::cli
