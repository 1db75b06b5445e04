// SPDX-License-Identifier: Apache-2.0
#include "presign/cli/credential_chain.hpp"

#include "credential_support.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include <nlohmann/json.hpp>
#include <sigv4/time.hpp>

extern char** environ;

namespace presign::cli {
namespace {

using kind = config_error::kind;

using support::credentials_failure;
using support::non_empty;
using support::setting;

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

provider_result from_process(const std::string& command, const chain_options& options) {
    auto words = split_shell_words(command);
    if (!words || words->empty()) {
        return sigv4::unexpected{
            config_error{kind::config, "malformed credential_process setting"}};
    }
    auto ran = run_captured(*words, options.process_timeout, "credential_process");
    if (!ran) return sigv4::unexpected{std::move(ran).error()};
    if (!WIFEXITED(ran->status) || WEXITSTATUS(ran->status) != 0) {
        return credentials_failure("credential_process failed (" +
                                   (WIFEXITED(ran->status)
                                        ? "exit status " + std::to_string(WEXITSTATUS(ran->status))
                                        : std::string("killed by a signal")) +
                                   ")");
    }
    return credentials_from_json("credential_process", ran->output, true);
}

}  // namespace

provider_result credentials_from_json(std::string_view source, std::string_view body,
                                      bool process_format) {
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

config_result<captured_output> run_captured(const std::vector<std::string>& command,
                                            std::chrono::milliseconds timeout,
                                            std::string_view what) {
    const std::string name(what);
    std::vector<std::string> words = command;
    std::vector<char*> argv;
    for (auto& word : words) argv.push_back(word.data());
    argv.push_back(nullptr);

    int pipe_fds[2];
    if (pipe2(pipe_fds, O_CLOEXEC) != 0)
        return credentials_failure(name + ": cannot create a pipe");
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
        return credentials_failure(name + ": cannot run '" + words[0] +
                                   "': " + std::strerror(spawned));
    }

    captured_output result;
    bool timed_out = false;
    bool too_large = false;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
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
        result.output.append(buffer, static_cast<std::size_t>(got));
        if (result.output.size() > (1u << 20)) {
            too_large = true;
            break;
        }
    }
    close(pipe_fds[0]);
    if (timed_out || too_large) kill(pid, SIGKILL);
    while (waitpid(pid, &result.status, 0) < 0 && errno == EINTR) {
    }
    if (timed_out) {
        return credentials_failure(name + " did not finish within " +
                                   std::to_string(timeout.count()) + " ms");
    }
    if (too_large) return credentials_failure(name + " wrote more than 1 MiB");
    return result;
}

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
    if (options.network != nullptr) {
        auto found = options.network(config, env, options);
        if (done(found)) return finish(std::move(found));
    }
    return credentials_failure(
        "no AWS credentials found for profile " + config.profile + " (looked in the environment, " +
        config.credentials_path + ", " + config.config_path +
        (options.network != nullptr ? ", container and EC2 instance metadata)" : ")"));
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
