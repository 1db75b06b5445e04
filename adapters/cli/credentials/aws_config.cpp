// SPDX-License-Identifier: Apache-2.0
#include "presign/cli/aws_config.hpp"

#include <pwd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

namespace presign::cli {
namespace {

constexpr std::string_view whitespace = " \t\r\n\f\v";

std::string_view trim(std::string_view text) {
    const auto first = text.find_first_not_of(whitespace);
    if (first == std::string_view::npos) return {};
    const auto last = text.find_last_not_of(whitespace);
    return text.substr(first, last - first + 1);
}

std::string lowercase(std::string_view text) {
    std::string out(text);
    std::transform(out.begin(), out.end(), out.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return out;
}

std::string line_error(std::size_t line, std::string_view what) {
    return "line " + std::to_string(line) + ": " + std::string(what);
}

struct file_text {
    bool exists = false;
    std::string text;
};

config_result<file_text> read_optional_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        if (errno == ENOENT || errno == ENOTDIR || path.empty()) return file_text{};
        return sigv4::unexpected{config_error{config_error::kind::config,
                                              "cannot read " + path + ": " + std::strerror(errno)}};
    }
    std::ostringstream buffer;
    buffer << in.rdbuf();
    if (in.bad()) {
        return sigv4::unexpected{config_error{config_error::kind::config, "cannot read " + path}};
    }
    return file_text{true, std::move(buffer).str()};
}

std::string home_directory(const env_lookup& env) {
    if (auto home = env("HOME"); home && !home->empty()) return *home;
    if (const passwd* entry = getpwuid(getuid()); entry != nullptr && entry->pw_dir != nullptr) {
        return entry->pw_dir;
    }
    return {};
}

std::string expand_home(std::string path, const env_lookup& env) {
    if (path == "~" || path.starts_with("~/")) return home_directory(env) + path.substr(1);
    return path;
}

std::optional<std::string> non_empty(const env_lookup& env, std::string_view name) {
    auto value = env(name);
    if (value && !value->empty()) return value;
    return std::nullopt;
}

profile_settings to_settings(const ini_section& section) {
    profile_settings out;
    for (const auto& [key, value] : section.values) out[key] = value;
    return out;
}

bool valid_region(std::string_view region) {
    return !region.empty() && std::all_of(region.begin(), region.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
    });
}

// The profile name a config-file section defines: "default", "profile x" -> "x"; others none.
std::optional<std::string> config_profile_name(std::string_view section) {
    if (section == "default") return std::string("default");
    if (!section.starts_with("profile")) return std::nullopt;
    auto words = split_shell_words(section);
    if (!words || words->size() != 2 || (*words)[0] != "profile") return std::nullopt;
    return (*words)[1];
}

std::optional<std::string> services_name(std::string_view section) {
    if (!section.starts_with("services")) return std::nullopt;
    auto words = split_shell_words(section);
    if (!words || words->size() != 2 || (*words)[0] != "services") return std::nullopt;
    return (*words)[1];
}

std::optional<std::string> nested_value(const profile_settings& settings, std::string_view section,
                                        std::string_view key) {
    const auto found = settings.find(section);
    if (found == settings.end()) return std::nullopt;
    for (auto& [name, value] : parse_nested(found->second)) {
        if (name == key) return value;
    }
    return std::nullopt;
}

}  // namespace

const std::string* ini_section::find(std::string_view key) const {
    for (const auto& [setting_name, value] : values) {
        if (setting_name == key) return &value;
    }
    return nullptr;
}

const ini_section* ini_document::find(std::string_view name) const {
    for (const auto& section : sections) {
        if (section.name == name) return &section;
    }
    return nullptr;
}

sigv4::result<ini_document, std::string> parse_ini(std::string_view text) {
    ini_document doc;
    ini_section* current = nullptr;
    std::string* value_being_continued = nullptr;
    std::size_t key_indent = 0;
    std::size_t line_number = 0;
    std::size_t position = 0;
    // UTF-8 byte-order mark, as some editors write it.
    if (text.starts_with("\xEF\xBB\xBF")) position = 3;
    while (position <= text.size()) {
        auto end = text.find('\n', position);
        if (end == std::string_view::npos) end = text.size();
        std::string_view line = text.substr(position, end - position);
        position = end + 1;
        ++line_number;
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        const std::string_view stripped = trim(line);
        if (stripped.empty() || stripped.front() == '#' || stripped.front() == ';') {
            continue;
        }
        const std::size_t indent = line.find_first_not_of(" \t");
        if (value_being_continued != nullptr && indent > key_indent) {
            value_being_continued->append("\n").append(stripped);
            continue;
        }
        value_being_continued = nullptr;
        if (stripped.front() == '[') {
            const auto close = stripped.rfind(']');
            if (close == std::string_view::npos || close < 2) {
                return sigv4::unexpected{line_error(line_number, "malformed section header")};
            }
            std::string name(stripped.substr(1, close - 1));
            if (doc.find(name) != nullptr) {
                return sigv4::unexpected{
                    line_error(line_number, "duplicate section [" + name + "]")};
            }
            doc.sections.push_back(ini_section{std::move(name), {}});
            current = &doc.sections.back();
            continue;
        }
        if (current == nullptr) {
            return sigv4::unexpected{
                line_error(line_number, "a setting before the first [section] header")};
        }
        const auto delimiter = stripped.find_first_of("=:");
        if (delimiter == std::string_view::npos) {
            return sigv4::unexpected{line_error(line_number, "expected 'name = value'")};
        }
        std::string key = lowercase(trim(stripped.substr(0, delimiter)));
        if (key.empty()) return sigv4::unexpected{line_error(line_number, "empty setting name")};
        if (current->find(key) != nullptr) {
            return sigv4::unexpected{line_error(
                line_number, "duplicate setting '" + key + "' in [" + current->name + "]")};
        }
        current->values.emplace_back(std::move(key),
                                     std::string(trim(stripped.substr(delimiter + 1))));
        value_being_continued = &current->values.back().second;
        key_indent = indent;
    }
    // Nested values: every non-empty line must be `key = value` (botocore rejects the file).
    for (const auto& section : doc.sections) {
        for (const auto& [key, value] : section.values) {
            if (!value.starts_with('\n')) continue;
            std::string_view rest = value;
            while (!rest.empty()) {
                const auto end = rest.find('\n');
                const auto nested_line = trim(rest.substr(0, end));
                rest = end == std::string_view::npos ? std::string_view{} : rest.substr(end + 1);
                if (!nested_line.empty() && nested_line.find('=') == std::string_view::npos) {
                    return sigv4::unexpected{
                        "[" + section.name + "] " + key +
                        ": nested line without '=': " + std::string(nested_line)};
                }
            }
        }
    }
    return doc;
}

std::vector<std::pair<std::string, std::string>> parse_nested(std::string_view value) {
    std::vector<std::pair<std::string, std::string>> out;
    while (!value.empty()) {
        const auto end = value.find('\n');
        const auto line = trim(value.substr(0, end));
        value = end == std::string_view::npos ? std::string_view{} : value.substr(end + 1);
        const auto equals = line.find('=');
        if (line.empty() || equals == std::string_view::npos) continue;
        out.emplace_back(std::string(trim(line.substr(0, equals))),
                         std::string(trim(line.substr(equals + 1))));
    }
    return out;
}

env_lookup process_environment() {
    return [](std::string_view name) -> std::optional<std::string> {
        const char* value = std::getenv(std::string(name).c_str());
        if (value == nullptr) return std::nullopt;
        return std::string(value);
    };
}

bool is_true_setting(std::string_view value) noexcept {
    const auto text = trim(value);
    auto equals = [&](std::string_view word) {
        return text.size() == word.size() &&
               std::equal(text.begin(), text.end(), word.begin(), [](char a, char b) {
                   return std::tolower(static_cast<unsigned char>(a)) == b;
               });
    };
    return equals("true") || equals("1") || equals("yes") || equals("on");
}

config_result<aws_config> load_aws_config(const config_overrides& overrides,
                                          const env_lookup& env) {
    using kind = config_error::kind;
    aws_config config;
    config.config_path =
        expand_home(non_empty(env, "AWS_CONFIG_FILE").value_or("~/.aws/config"), env);
    config.credentials_path = expand_home(
        non_empty(env, "AWS_SHARED_CREDENTIALS_FILE").value_or("~/.aws/credentials"), env);

    if (overrides.profile) {
        config.profile = *overrides.profile;
        config.profile_source = "--profile";
        config.profile_explicit = true;
    } else if (auto profile = non_empty(env, "AWS_PROFILE")) {
        config.profile = *profile;
        config.profile_source = "AWS_PROFILE";
    } else if (auto legacy = non_empty(env, "AWS_DEFAULT_PROFILE")) {
        config.profile = *legacy;
        config.profile_source = "AWS_DEFAULT_PROFILE";
    }
    if (config.profile.empty()) {
        return sigv4::unexpected{config_error{kind::invalid_input, "--profile is empty"}};
    }

    auto config_text = read_optional_file(config.config_path);
    if (!config_text) return sigv4::unexpected{config_text.error()};
    auto credentials_text = read_optional_file(config.credentials_path);
    if (!credentials_text) return sigv4::unexpected{credentials_text.error()};

    auto config_doc = parse_ini(config_text->text);
    if (!config_doc) {
        return sigv4::unexpected{config_error{
            kind::config,
            "malformed config file " + config.config_path + ": " + config_doc.error()}};
    }
    auto credentials_doc = parse_ini(credentials_text->text);
    if (!credentials_doc) {
        return sigv4::unexpected{config_error{kind::config, "malformed credentials file " +
                                                                config.credentials_path + ": " +
                                                                credentials_doc.error()}};
    }

    bool found = false;
    for (const auto& section : config_doc->sections) {
        if (config_profile_name(section.name) == config.profile) {
            // [default] and [profile default] both name the default profile; later ones win.
            for (const auto& [key, value] : section.values) config.config_file[key] = value;
            found = true;
        }
    }
    if (const auto* section = credentials_doc->find(config.profile)) {
        config.credentials_file = to_settings(*section);
        found = true;
    }
    if (!found && config.profile_source != "default") {
        return sigv4::unexpected{
            config_error{kind::config, "the profile '" + config.profile + "' (from " +
                                           config.profile_source + ") is in neither " +
                                           config.config_path + " nor " + config.credentials_path}};
    }
    config.merged = config.config_file;
    for (const auto& [key, value] : config.credentials_file) config.merged[key] = value;

    // Region.
    auto set_region = [&](std::string value, std::string source,
                          kind bad_kind) -> config_result<bool> {
        if (!valid_region(value)) {
            return sigv4::unexpected{
                config_error{bad_kind, "invalid region '" + value + "' (from " + source +
                                           "): expected lowercase letters, digits and '-'"}};
        }
        config.region = std::move(value);
        config.region_source = std::move(source);
        return true;
    };
    config_result<bool> region_ok = true;
    if (overrides.region) {
        region_ok = set_region(*overrides.region, "--region", kind::invalid_input);
    } else if (auto region = non_empty(env, "AWS_REGION")) {
        region_ok = set_region(*region, "AWS_REGION", kind::config);
    } else if (auto default_region = non_empty(env, "AWS_DEFAULT_REGION")) {
        region_ok = set_region(*default_region, "AWS_DEFAULT_REGION", kind::config);
    } else if (auto it = config.merged.find("region");
               it != config.merged.end() && !it->second.empty()) {
        region_ok = set_region(it->second, "profile " + config.profile, kind::config);
    }
    if (!region_ok) return sigv4::unexpected{region_ok.error()};
    config.endpoint.region = config.region;

    // Endpoint.
    const bool ignore_configured =
        is_true_setting(env("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS").value_or("")) ||
        is_true_setting(config.merged.count("ignore_configured_endpoint_urls") != 0
                            ? config.merged.at("ignore_configured_endpoint_urls")
                            : std::string());
    if (overrides.endpoint) {
        config.endpoint.url = *overrides.endpoint;
        config.endpoint_source = "--endpoint";
    } else if (auto s3_url = non_empty(env, "AWS_ENDPOINT_URL_S3"); s3_url && !ignore_configured) {
        config.endpoint.url = *s3_url;
        config.endpoint_source = "AWS_ENDPOINT_URL_S3";
    } else if (auto url = non_empty(env, "AWS_ENDPOINT_URL"); url && !ignore_configured) {
        config.endpoint.url = *url;
        config.endpoint_source = "AWS_ENDPOINT_URL";
    } else if (!ignore_configured) {
        if (auto services = config.merged.find("services"); services != config.merged.end()) {
            for (const auto& section : config_doc->sections) {
                if (services_name(section.name) != services->second) continue;
                if (const auto* s3 = section.find("s3")) {
                    for (auto& [key, value] : parse_nested(*s3)) {
                        if (key == "endpoint_url" && !value.empty()) {
                            config.endpoint.url = value;
                            config.endpoint_source = "[services " + services->second + "] s3";
                        }
                    }
                }
            }
        }
        if (config.endpoint.url.empty()) {
            if (auto it = config.merged.find("endpoint_url");
                it != config.merged.end() && !it->second.empty()) {
                config.endpoint.url = it->second;
                config.endpoint_source = "profile " + config.profile;
            }
        }
    }
    // Addressing style.
    if (overrides.path_style) {
        config.endpoint.style = sigv4::s3::addressing::path;
        config.addressing_source = "--path-style";
    } else if (auto style = nested_value(config.merged, "s3", "addressing_style")) {
        if (*style == "path") {
            config.endpoint.style = sigv4::s3::addressing::path;
        } else if (*style == "virtual") {
            config.endpoint.style = sigv4::s3::addressing::virtual_hosted;
        } else if (*style == "auto") {
            config.endpoint.style = sigv4::s3::addressing::automatic;
        } else {
            return sigv4::unexpected{config_error{
                kind::config, "invalid s3 addressing_style '" + *style + "' in profile " +
                                  config.profile + " (expected path, virtual or auto)"}};
        }
        config.addressing_source = "profile " + config.profile;
    }
    return config;
}

std::optional<std::vector<std::string>> split_shell_words(std::string_view text) {
    std::vector<std::string> words;
    std::string current;
    bool in_word = false;
    char quote = 0;
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (quote == '\'') {
            if (c == '\'')
                quote = 0;
            else
                current += c;
        } else if (quote == '"') {
            if (c == '"') {
                quote = 0;
            } else if (c == '\\' && i + 1 < text.size() &&
                       std::string_view("\\\"$`\n").find(text[i + 1]) != std::string_view::npos) {
                current += text[++i];
            } else {
                current += c;
            }
        } else if (c == '\'' || c == '"') {
            quote = c;
            in_word = true;
        } else if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
            if (in_word) words.push_back(std::move(current));
            current.clear();
            in_word = false;
        } else if (c == '\\') {
            if (i + 1 >= text.size()) return std::nullopt;
            current += text[++i];
            in_word = true;
        } else {
            current += c;
            in_word = true;
        }
    }
    if (quote != 0) return std::nullopt;
    if (in_word) words.push_back(std::move(current));
    return words;
}

}  // namespace presign::cli
