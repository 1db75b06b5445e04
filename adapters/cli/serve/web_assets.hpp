// SPDX-License-Identifier: Apache-2.0
// The web page's files (adapters/web), embedded into the binary at build time.
#pragma once

#include <span>
#include <string_view>

namespace presign::serve {

struct web_asset {
    std::string_view path;  ///< "/index.html", "/app.js", ...
    std::string_view data;
};

/// Every embedded file (possibly none, when adapters/web was empty at build time).
[[nodiscard]] std::span<const web_asset> web_assets() noexcept;

}  // namespace presign::serve
