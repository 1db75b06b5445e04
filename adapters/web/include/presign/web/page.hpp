// SPDX-License-Identifier: Apache-2.0
// What any server of the page answers for its embedded files (presign/web/assets.hpp):
// `presign serve` and the Lambda both serve the same page.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <presign/service.hpp>
#include <presign/web/assets.hpp>

namespace presign::web {

/// The page's sign-in settings, the body of GET /config.json: {"issuer","clientId"} of the OpenID
/// Connect provider, or {} without sign-in (one local user, or the open mode). `logout_endpoint`,
/// when given, adds "logoutEndpoint": where sign-out ends the provider's own session for a provider
/// whose discovery document names no end_session_endpoint (Cognito's hosted UI /logout, which the
/// page calls with client_id and logout_uri).
[[nodiscard]] std::string page_config(std::string_view issuer, std::string_view client_id,
                                      std::string_view logout_endpoint = {});

/// The answer to GET (or HEAD) `path` when it names the page: "/" (index.html), one of its files,
/// or "/config.json" (`config_json`). Headers: Content-Type, Cache-Control: no-cache, nosniff,
/// no-referrer, X-Frame-Options DENY. nullopt for every other path.
[[nodiscard]] std::optional<service::response> page_response(std::string_view path,
                                                             std::string_view config_json);

}  // namespace presign::web
