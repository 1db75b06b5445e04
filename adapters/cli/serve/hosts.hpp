// SPDX-License-Identifier: Apache-2.0
// Host names in `presign serve`: which ones its API answers to (a DNS-rebinding page reaches a
// server on 127.0.0.1 under a name of its own, so unknown names are refused), and for which host
// the store's links are signed (the address the client used, so that a server listening on
// 0.0.0.0 never hands a LAN client a link to 127.0.0.1). Pure functions, thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace presign::serve {

/// Whether serve listens on every address (0.0.0.0, ::, or empty).
[[nodiscard]] bool is_wildcard(std::string_view listen_host);

/// The host as it appears in a URL: IPv6 literals in brackets, wildcard addresses as loopback.
[[nodiscard]] std::string url_host(std::string_view listen_host);

/// The host part of an origin ("https://files.example:8443" -> "files.example", IPv6 in brackets).
[[nodiscard]] std::string origin_host(std::string_view origin);

/// The name part of a Host header: without the port, an IPv6 literal with its brackets.
[[nodiscard]] std::string host_name(std::string_view host_header);

/// Whether a Host header names this API: an IP literal, "localhost", or one of `names` (the
/// address serve was told to listen on, the hosts of the allowed origins), case-insensitively.
[[nodiscard]] bool host_allowed(std::string_view host_header,
                                const std::vector<std::string>& names);

/// The host the store's links are signed for when a client reached the API under `host_header`
/// (already allowed by host_allowed), or nullopt for the address serve prints. Listening on a
/// wildcard address: the name the client used (its LAN address, localhost, a name it was told).
/// Bound to 127.0.0.1: "localhost" too, since the store answers there. Bound to one other address,
/// the store is reachable under that address only: nullopt.
[[nodiscard]] std::optional<std::string> link_host(std::string_view listen_host,
                                                   std::string_view host_header);

}  // namespace presign::serve
