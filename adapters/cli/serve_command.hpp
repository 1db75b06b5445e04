// SPDX-License-Identifier: Apache-2.0
// `presign serve`: the whole system on one machine (API, web page and a local S3 store).
#pragma once

#include <CLI/CLI.hpp>

namespace presign::cli {

/// Adds the `serve` subcommand; when it runs, its exit code is stored in `exit_code`.
void add_serve_command(CLI::App& app, int& exit_code);

}  // namespace presign::cli
