// SPDX-License-Identifier: Apache-2.0
#include "network_helper.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <system_error>

#include <nlohmann/json.hpp>
#include <sigv4/time.hpp>

#include "cli_support.hpp"

namespace presign::cli {
namespace {

using kind = config_error::kind;

sigv4::unexpected<config_error> failure(kind what, std::string message) {
    return sigv4::unexpected{config_error{what, std::move(message)}};
}

bool network_providers_configured(const env_lookup& env) {
    auto set = [&](std::string_view name) {
        const auto value = env(name);
        return value && !value->empty();
    };
    return set("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI") ||
           set("AWS_CONTAINER_CREDENTIALS_FULL_URI") ||
           !is_true_setting(env("AWS_EC2_METADATA_DISABLED").value_or(""));
}

}  // namespace

std::string network_helper_path() {
    std::error_code error;
    const auto self = std::filesystem::read_symlink("/proc/self/exe", error);
    if (error || self.empty()) return {};
    return (self.parent_path() / network_helper_name).string();
}

int exec_network_helper(const char* program_name, const std::vector<std::string>& args) {
    const std::string path = network_helper_path();
    std::vector<std::string> words{program_name != nullptr ? program_name : network_helper_name};
    words.insert(words.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& word : words) argv.push_back(word.data());
    argv.push_back(nullptr);
    std::fflush(nullptr);
    if (!path.empty()) ::execv(path.c_str(), argv.data());
    const std::string line = std::string("presign: cannot run ") + network_helper_name +
                             " (installed next to presign) from " +
                             (path.empty() ? std::string("?") : path) + ": " +
                             std::strerror(errno) + "\n";
    std::fwrite(line.data(), 1, line.size(), stderr);
    return exit_code::internal;
}

provider_result network_credentials_from_helper(const aws_config& config, const env_lookup& env,
                                                const chain_options& options) {
    if (!network_providers_configured(env)) return std::optional<sourced_credentials>{};
    const std::string path = network_helper_path();
    if (path.empty()) {
        return failure(kind::credentials, std::string("cannot locate ") + network_helper_name +
                                              " for container or instance-metadata credentials");
    }
    std::vector<std::string> argv{path, "credentials", "--region", config.region};
    if (config.profile_explicit) argv.insert(argv.end(), {"--profile", config.profile});
    if (!config.endpoint.url.empty()) argv.insert(argv.end(), {"--endpoint", config.endpoint.url});
    auto ran = run_captured(argv, options.process_timeout,
                            "container and instance-metadata credentials (presign-net)");
    if (!ran) return sigv4::unexpected{std::move(ran).error()};
    const auto answer = nlohmann::json::parse(ran->output, nullptr, false);
    if (!WIFEXITED(ran->status) || WEXITSTATUS(ran->status) != 0 || answer.is_discarded() ||
        !answer.is_object()) {
        return failure(kind::credentials, std::string(network_helper_name) +
                                              " failed to fetch container or instance-metadata "
                                              "credentials");
    }
    if (const auto error = answer.find("Error"); error != answer.end() && error->is_string()) {
        const bool config_kind = answer.value("ErrorKind", "") == "config";
        return failure(config_kind ? kind::config : kind::credentials, error->get<std::string>());
    }
    const auto source = answer.find("Source");
    if (source == answer.end()) return std::optional<sourced_credentials>{};
    if (!source->is_string()) {
        return failure(kind::credentials,
                       std::string(network_helper_name) + " gave an answer without a source");
    }
    return credentials_from_json(source->get<std::string>(), ran->output, true);
}

std::string helper_credentials_answer(const provider_result& found) {
    nlohmann::ordered_json answer = nlohmann::ordered_json::object();
    if (!found) {
        answer["Error"] = found.error().message;
        answer["ErrorKind"] = found.error().what == kind::config ? "config" : "credentials";
    } else if (found->has_value()) {
        const auto& sourced = **found;
        const auto& creds = sourced.credentials;
        answer["Version"] = 1;
        answer["Source"] = sourced.source;
        answer["AccessKeyId"] = creds.access_key_id;
        answer["SecretAccessKey"] =
            std::string(reinterpret_cast<const char*>(creds.secret.data()), creds.secret.size());
        if (!creds.session_token.empty()) answer["SessionToken"] = creds.session_token;
        if (creds.expiration) {
            if (auto text = sigv4::format_iso8601(*creds.expiration)) answer["Expiration"] = *text;
        }
    }
    return answer.dump();
}

}  // namespace presign::cli
