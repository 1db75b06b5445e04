// SPDX-License-Identifier: Apache-2.0
// Parsing argv with CLI11 the same way in `presign` and `presign-net`.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <CLI/CLI.hpp>

#include "cli_support.hpp"

namespace presign::cli {

/// Parses the command line into `app`. std::nullopt: run the chosen command. Otherwise the exit
/// code to return: after --help or --version output, or after a usage error reported on stderr
/// as "presign: MESSAGE (see HELP_COMMAND)".
inline std::optional<int> parse_command_line(CLI::App& app, int argc, char** argv,
                                             std::string_view help_command) {
    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp& help) {
        return app.exit(help);
    } catch (const CLI::CallForAllHelp& help) {
        return app.exit(help);
    } catch (const CLI::CallForVersion& version) {
        return app.exit(version);
    } catch (const CLI::ParseError& error) {
        write_stderr_line(std::string(error.what()) + " (see " + std::string(help_command) + ")");
        return exit_code::usage;
    }
    return std::nullopt;
}

}  // namespace presign::cli
