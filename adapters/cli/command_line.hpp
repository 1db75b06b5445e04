// SPDX-License-Identifier: Apache-2.0
// Parsing argv with CLI11 the same way in `presign` and `presign-net`.
#pragma once

#include <algorithm>
#include <cctype>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <CLI/CLI.hpp>

#include "cli_support.hpp"

namespace presign::cli {

/// The command a mistyped or familiar-from-elsewhere word most likely meant, or empty: known
/// synonyms first (upload -> put), else a command within two edits (gte -> get).
inline std::string suggest_command(std::string_view word,
                                   const std::vector<std::string>& commands) {
    static constexpr std::pair<std::string_view, std::string_view> synonyms[] = {
        {"upload", "put"},  {"download", "get"}, {"fetch", "get"},     {"sign", "get"},
        {"url", "get"},     {"rm", "delete"},    {"remove", "delete"}, {"del", "delete"},
        {"stat", "head"},   {"info", "head"},    {"check", "verify"},  {"server", "serve"},
        {"start", "serve"}, {"run", "serve"},    {"debug", "explain"}};
    std::string lower(word);
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    const auto known = [&](std::string_view name) {
        return std::find(commands.begin(), commands.end(), name) != commands.end();
    };
    for (const auto& [synonym, command] : synonyms) {
        if (lower == synonym && known(command)) return std::string(command);
    }
    std::string best;
    std::size_t best_distance = 3;
    for (const auto& command : commands) {
        // Levenshtein distance, one row at a time.
        std::vector<std::size_t> row(command.size() + 1);
        for (std::size_t j = 0; j <= command.size(); ++j) row[j] = j;
        for (std::size_t i = 1; i <= lower.size(); ++i) {
            std::size_t diagonal = row[0];
            row[0] = i;
            for (std::size_t j = 1; j <= command.size(); ++j) {
                const std::size_t above = row[j];
                row[j] = std::min({row[j] + 1, row[j - 1] + 1,
                                   diagonal + (lower[i - 1] == command[j - 1] ? 0 : 1)});
                diagonal = above;
            }
        }
        if (row.back() < best_distance && row.back() < command.size()) {
            best_distance = row.back();
            best = command;
        }
    }
    return best;
}

/// CLI11's messages start with a capital ("The following argument..."); the tool's own are
/// lower-case after "presign: ".
inline std::string lower_first(std::string message) {
    if (message.size() > 1 && std::isupper(static_cast<unsigned char>(message[0])) != 0 &&
        std::islower(static_cast<unsigned char>(message[1])) != 0) {
        message[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(message[0])));
    }
    return message;
}

/// Parses the command line into `app`. std::nullopt: run the chosen command. Otherwise the exit
/// code to return: after --help or --version output, or after a usage error reported on stderr
/// as "presign: MESSAGE (see HELP_COMMAND)".
inline std::optional<int> parse_command_line(CLI::App& app, int argc, char** argv,
                                             std::string_view help_command) {
    const auto usage_error = [&](const std::string& message) {
        write_stderr_line(message + " (see " + std::string(help_command) + ")");
        return exit_code::usage;
    };
    std::vector<std::string> commands;  // those --help lists (internal ones have no group)
    bool known = false;
    const std::function<bool(CLI::App*)> every = [](CLI::App*) { return true; };
    for (const CLI::App* command : app.get_subcommands(every)) {
        if (!command->get_group().empty()) commands.push_back(command->get_name());
        known = known || (argc > 1 && command->get_name() == argv[1]);
    }
    // The first word that is not an option names the command: say so when it names none.
    if (!commands.empty() && argc > 1 && argv[1][0] != '-' && !known) {
        std::string message = "unknown command '" + std::string(argv[1]) + "'";
        if (const auto suggestion = suggest_command(argv[1], commands); !suggestion.empty()) {
            message += " (did you mean '" + suggestion + "'?)";
        }
        return usage_error(message);
    }
    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp& help) {
        return app.exit(help);
    } catch (const CLI::CallForAllHelp& help) {
        return app.exit(help);
    } catch (const CLI::CallForVersion& version) {
        return app.exit(version);
    } catch (const CLI::ParseError& error) {
        // An error inside a command points at that command's help, and an option that belongs to
        // another command says so instead of CLI11's "arguments were not expected".
        const auto selected = app.get_subcommands();
        if (!selected.empty()) {
            const std::string name = selected.front()->get_name();
            std::string command_help(help_command);
            if (command_help.find(" " + name + " ") == std::string::npos &&
                command_help.ends_with(" --help")) {
                command_help.insert(command_help.size() - 7, " " + name);
            }
            const auto* extras = dynamic_cast<const CLI::ExtrasError*>(&error);
            std::string unknown;
            for (const auto& word : selected.front()->remaining()) {
                if (extras != nullptr && word.starts_with("--") && unknown.empty())
                    unknown = word.substr(0, word.find('='));
            }
            const std::string message = unknown.empty()
                                            ? lower_first(error.what())
                                            : unknown + " is not an option of '" + name + "'";
            write_stderr_line(message + " (see " + command_help + ")");
            return exit_code::usage;
        }
        if (argc <= 1 && !commands.empty()) {
            std::string list;
            for (std::size_t i = 0; i < commands.size(); ++i) {
                list += (i == 0 ? "" : i + 1 == commands.size() ? " or " : ", ") + commands[i];
            }
            return usage_error("a command is required: " + list);
        }
        return usage_error(lower_first(error.what()));
    }
    return std::nullopt;
}

}  // namespace presign::cli
