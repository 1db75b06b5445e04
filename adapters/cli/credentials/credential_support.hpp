// SPDX-License-Identifier: Apache-2.0
// Small helpers shared by the credential providers (private to adapters/cli/credentials).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "presign/cli/aws_config.hpp"

namespace presign::cli::support {

inline sigv4::unexpected<config_error> credentials_failure(std::string message) {
    return sigv4::unexpected{config_error{config_error::kind::credentials, std::move(message)}};
}

/// The variable's value, or nullopt when it is unset or empty.
inline std::optional<std::string> non_empty(const env_lookup& env, std::string_view name) {
    auto value = env(name);
    if (value && !value->empty()) return value;
    return std::nullopt;
}

/// The profile setting, or nullptr when it is absent or empty.
inline const std::string* setting(const profile_settings& settings, std::string_view key) {
    const auto found = settings.find(key);
    return found == settings.end() || found->second.empty() ? nullptr : &found->second;
}

}  // namespace presign::cli::support
