// SPDX-License-Identifier: Apache-2.0
// The fetcher token_validator uses in servers: GET over HTTPS (system CA store, certificates
// verified) or plain HTTP to a loopback host only, no redirects, bounded time and size.
#pragma once

#include <chrono>
#include <cstddef>

#include <presign/oidc/token_validator.hpp>

namespace presign::oidc {

struct http_fetcher_options {
    std::chrono::milliseconds timeout{5000};  ///< connect, read and write, each
    std::size_t max_body_bytes = 1 << 20;     ///< larger answers are refused
};

/// A fetcher over cpp-httplib. Safe to call from several threads (one client per call).
[[nodiscard]] fetcher http_fetcher(http_fetcher_options options = {});

}  // namespace presign::oidc
