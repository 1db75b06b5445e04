// SPDX-License-Identifier: Apache-2.0
// presign-net: the half of the `presign` tool that needs HTTP (cpp-httplib), kept out of `presign`
// so that signing a URL does not load an HTTP stack. `presign serve` execs `presign-net serve`;
// `presign-net credentials` fetches container or instance-metadata credentials for `presign`.
#include <unistd.h>

#include <cstdio>
#include <exception>
#include <optional>
#include <string>

#include <CLI/CLI.hpp>

#include "cli_support.hpp"
#include "command_line.hpp"
#include "fetch_command.hpp"
#include "network_helper.hpp"
#include "presign/cli/network_credentials.hpp"
#include "serve_command.hpp"

namespace {

using namespace presign::cli;

// Writes the container / instance-metadata credentials for `presign` to stdout, which must be
// a pipe: the answer holds a secret key and is never for a terminal.
int run_credentials(const config_overrides& overrides) {
    if (::isatty(STDOUT_FILENO) != 0) {
        std::fputs(
            "presign-net credentials: an internal helper of presign; it writes credentials "
            "to a pipe only\n",
            stderr);
        return exit_code::usage;
    }
    const auto env = process_environment();
    auto config = load_aws_config(overrides, env);
    provider_result found = config ? fetch_network_credentials(*config, env, chain_options{})
                                   : provider_result{sigv4::unexpected{config.error()}};
    std::string answer = helper_credentials_answer(found);
    answer += '\n';
    const bool written = std::fwrite(answer.data(), 1, answer.size(), stdout) == answer.size() &&
                         std::fflush(stdout) == 0;
    // The answer may hold a secret key: wipe it before the memory is released.
    volatile char* bytes = answer.data();
    for (std::size_t i = 0; i < answer.size(); ++i) bytes[i] = 0;
    return written ? exit_code::ok : exit_code::io;
}

int run(int argc, char** argv) {
    CLI::App app{
        "presign-net: the parts of presign that need HTTP (serve, and network credential "
        "providers for presign)"};
    app.set_version_flag("--version", "presign-net 0.1.0");
    app.require_subcommand(1);

    int exit_code = exit_code::ok;
    add_serve_command(app, exit_code);
    add_fetch_command(app, exit_code);

    config_overrides overrides;
    auto* credentials = app.add_subcommand(
        "credentials", "Internal: container or instance-metadata credentials as JSON, for presign");
    credentials->group("");  // hidden from --help
    credentials->add_option("--profile", overrides.profile, "Profile");
    credentials->add_option("--region", overrides.region, "Region");
    credentials->add_option("--endpoint", overrides.endpoint, "Endpoint");

    // Usage errors as `presign` reports them: `presign serve ...` runs this program.
    if (auto finished = parse_command_line(app, argc, argv, "presign serve --help"))
        return *finished;
    if (*credentials) return run_credentials(overrides);
    return exit_code;
}

}  // namespace

int main(int argc, char** argv) {
    try {
        return run(argc, argv);
    } catch (const std::exception& error) {
        std::fprintf(stderr, "presign-net: internal error: %s\n", error.what());
        return exit_code::internal;
    } catch (...) {
        std::fputs("presign-net: internal error\n", stderr);
        return exit_code::internal;
    }
}
