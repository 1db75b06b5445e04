// SPDX-License-Identifier: Apache-2.0
// `presign fetch LINK [-o FILE]` (run as `presign-net fetch`): follows a share link, downloads the
// file through the pre-signed GET it yields, and decrypts it when the link carries a #key.
#pragma once

#include <CLI/CLI.hpp>

namespace presign::cli {

/// Adds the `fetch` subcommand; when it runs, its exit code is stored in `exit_code`.
void add_fetch_command(CLI::App& app, int& exit_code);

}  // namespace presign::cli
