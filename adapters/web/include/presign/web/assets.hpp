// SPDX-License-Identifier: Apache-2.0
// The web page's files (adapters/web), embedded into the binary at build time, so `presign serve`
// and the Lambda bootstrap serve the same bytes (the main page, and the recipient page of share
// links, which the shared service renders). Immutable data: safe from any thread. Depends on
// nothing else of presign, so the service can use it without depending on the page's answers.
#pragma once

#include <optional>
#include <span>
#include <string_view>

namespace presign::web {

struct asset {
    std::string_view path;  ///< "/index.html", "/app.js", ...
    std::string_view data;
};

/// Every embedded file (possibly none, when adapters/web was empty at build time).
[[nodiscard]] std::span<const asset> assets() noexcept;

/// The file at `path` ("/style.css"), or nullopt.
[[nodiscard]] std::optional<std::string_view> find(std::string_view path) noexcept;

/// The Content-Type for a file name by its extension ("text/css; charset=utf-8");
/// application/octet-stream for an unknown one.
[[nodiscard]] std::string_view content_type_of(std::string_view path) noexcept;

}  // namespace presign::web
