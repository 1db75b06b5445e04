// SPDX-License-Identifier: Apache-2.0
#include "serve_command.hpp"

#include <cstdio>
#include <exception>
#include <memory>
#include <string>

#include "cli_support.hpp"
#include "serve/serve.hpp"

namespace presign::cli {
namespace {

struct serve_flags {
    presign::serve::serve_options options;
    std::string expires = "300";
    std::string region;
    std::string profile;
    std::vector<std::string> content_types;
    std::vector<std::string> origins;
};

}  // namespace

void add_serve_command(CLI::App& app, int& exit_code) {
    auto flags = std::make_shared<serve_flags>();
    auto* command = app.add_subcommand(
        "serve",
        "Run the file-sharing API, its web page and a local S3-compatible store on this machine");
    auto& o = flags->options;
    command->add_option("--host", o.host, "Address to listen on (default 127.0.0.1)");
    command->add_option("--port", o.port, "Port of the API and web page (default 8080, 0: any free)")
        ->check(CLI::Range(0, 65535));
    command->add_option("--s3-port", o.s3_port, "Port of the local S3 store (default 9000, 0: any free)")
        ->check(CLI::Range(0, 65535));
    command->add_option("--data-dir", o.data_dir, "Where the store keeps files and its credentials (default ./presign-data)");
    command->add_option("--bucket", o.bucket, "Bucket the API signs for (default presign)");
    command->add_option("--region", flags->region, "Region to sign for (default us-east-1, or the AWS configuration's with --endpoint)");
    command->add_option("-e,--expires", flags->expires, "Lifetime of links: seconds or 90s, 15m, 12h, 7d (default 300)");
    command->add_option("--max-upload-bytes", o.max_upload_bytes, "Largest upload the API signs (default 5 GiB)");
    command->add_option("--allowed-content-types", flags->content_types,
                        "Content types uploads may have, e.g. image/*,text/plain (default: any)")
        ->delimiter(',');
    command->add_option("--allowed-origins", flags->origins,
                        "Origins allowed by CORS (default: the API's own origin)")
        ->delimiter(',');
    command->add_option("--endpoint", o.endpoint,
                        "Sign for this S3-compatible engine (S3, Ceph RGW, MinIO) instead of running a "
                        "local store; credentials from the usual AWS chain");
    command->add_flag("--path-style", o.path_style, "With --endpoint: path-style URLs");
    command->add_option("--profile", flags->profile, "With --endpoint: AWS profile for credentials");

    command->callback([flags, &exit_code] {
        auto& options = flags->options;
        auto expires = parse_expires(flags->expires);
        if (!expires) {
            std::fprintf(stderr, "presign serve: --expires: %s\n", expires.error().c_str());
            exit_code = exit_code::invalid_input;
            return;
        }
        options.expires = *expires;
        if (!flags->region.empty()) options.region = flags->region;
        if (!flags->profile.empty()) options.profile = flags->profile;
        options.allowed_content_types = flags->content_types;
        options.allowed_origins = flags->origins;
        try {
            exit_code = presign::serve::run_serve(options);
        } catch (const std::exception& error) {
            std::fprintf(stderr, "presign serve: %s\n", error.what());
            exit_code = exit_code::internal;
        }
    });
}

}  // namespace presign::cli
