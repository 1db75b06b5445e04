// SPDX-License-Identifier: Apache-2.0
#include "serve_command.hpp"

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>

#include "cli_support.hpp"
#include "serve/serve.hpp"

namespace presign::cli {
namespace {

struct serve_flags {
    presign::serve::serve_options options;
    std::string expires = "300";
    std::optional<std::string> max_upload_bytes;
    std::optional<std::string> multipart_threshold;
    std::optional<std::string> abandoned_uploads_after;
    std::string share_max = "7d";
    std::string region;
    std::string profile;
    std::vector<std::string> content_types;
    std::vector<std::string> origins;
    double head_timeout = 10;
    double body_timeout = 10;
    double idle_timeout = 30;
};

std::chrono::milliseconds to_milliseconds(double seconds) {
    return std::chrono::milliseconds(static_cast<long long>(seconds * 1000));
}

/// How a shell reaches the `presign` next to this helper: "presign" when PATH finds that very
/// file, else its absolute path; and, when it is not on PATH and sits in a CMake build tree, the
/// install command that would put it there.
void describe_presign_command(presign::serve::serve_options& options) {
    namespace fs = std::filesystem;
    std::error_code error;
    const fs::path self = fs::read_symlink("/proc/self/exe", error);
    if (error) return;
    const fs::path presign = self.parent_path() / "presign";
    if (!fs::exists(presign, error)) return;
    const char* path_variable = std::getenv("PATH");
    for (std::string_view rest = path_variable != nullptr ? path_variable : ""; !rest.empty();) {
        const auto colon = rest.find(':');
        const fs::path candidate = fs::path(std::string(rest.substr(0, colon))) / "presign";
        if (fs::equivalent(candidate, presign, error)) return;  // "presign" works as it is
        rest = colon == std::string_view::npos ? std::string_view{} : rest.substr(colon + 1);
    }
    const std::string shown = presign.string();
    const bool plain = shown.find_first_not_of(
                           "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/._-+") ==
                       std::string::npos;
    options.presign_command = plain ? shown : shell_quote(shown);
    for (fs::path dir = self.parent_path(); !dir.empty() && dir != dir.root_path();
         dir = dir.parent_path()) {
        if (fs::exists(dir / "CMakeCache.txt", error)) {
            options.install_hint = "(to type just 'presign': cmake --install " +
                                   shell_quote(dir.string()) + ", as root for /usr/local)";
            return;
        }
    }
}

}  // namespace

void add_serve_command(CLI::App& app, int& exit_code) {
    auto flags = std::make_shared<serve_flags>();
    auto* command = app.add_subcommand(
        "serve",
        "Run the file-sharing API, its web page and a local S3-compatible store on this machine");
    auto& o = flags->options;
    command->add_option("--host", o.host, "Address to listen on (default 127.0.0.1)");
    command
        ->add_option("--port", o.port, "Port of the API and web page (default 8080, 0: any free)")
        ->check(CLI::Range(0, 65535));
    command
        ->add_option("--s3-port", o.s3_port,
                     "Port of the local S3 store (default 9000, 0: any free)")
        ->check(CLI::Range(0, 65535));
    command->add_option("--data-dir", o.data_dir,
                        "Where the store keeps files and its credentials (default ./presign-data)");
    command->add_option("--bucket", o.bucket, "Bucket the API signs for (default presign)");
    command->add_option(
        "--region", flags->region,
        "Region to sign for (default us-east-1, or the AWS configuration's with --endpoint)");
    command->add_option("-e,--expires", flags->expires,
                        "Lifetime of links: seconds or 90s, 15m, 12h, 7d (default 300)");
    command->add_option(
        "--share-max", flags->share_max,
        "Longest lifetime of a share link: seconds or 90m, 12h, 7d, up to 30d (default 7d)");
    command->add_option("--max-upload-bytes", flags->max_upload_bytes,
                        "Largest upload the API signs: bytes or 500MB, 2GiB... (default 5GiB)");
    command->add_option("--multipart-threshold", flags->multipart_threshold,
                        "Uploads above this size go in parts: bytes or 64MiB... (default 64MiB)");
    command->add_option("--abandoned-uploads-after", flags->abandoned_uploads_after,
                        "The store aborts multipart uploads older than this: seconds or 12h, 7d "
                        "(default 24h, 0: never)");
    command
        ->add_option("--allowed-content-types", flags->content_types,
                     "Content types uploads may have, e.g. image/*,text/plain (default: any)")
        ->delimiter(',');
    command
        ->add_option("--allowed-origins", flags->origins,
                     "Origins allowed by CORS (default: the API's own origin)")
        ->delimiter(',');
    command->add_option(
        "--endpoint", o.endpoint,
        "Sign for this S3-compatible engine (S3, Ceph RGW, MinIO) instead of running a "
        "local store; credentials from the usual AWS chain");
    command->add_flag("--path-style", o.path_style, "With --endpoint: path-style URLs");
    command->add_option(
        "--oidc-issuer", o.oidc_issuer,
        "Sign-in: OpenID Connect issuer URL whose JWTs the API accepts (default: no "
        "sign-in, one local user)");
    command
        ->add_option(
            "--oidc-audience", o.oidc_audiences,
            "With --oidc-issuer: accepted aud/client_id values; the first is the page's client id")
        ->delimiter(',');
    command
        ->add_option(
            "--oidc-logout-endpoint", o.oidc_logout_endpoint,
            "With --oidc-issuer: the provider's logout URL for a provider whose discovery has no "
            "end_session_endpoint (Cognito: https://<domain>/logout); the page's sign-out goes "
            "there "
            "with client_id and logout_uri")
        ->check([](const std::string& url) {
            return url.starts_with("https://") || url.starts_with("http://")
                       ? std::string()
                       : std::string("an http(s) URL");
        });
    command->add_option("--profile", flags->profile,
                        "With --endpoint: AWS profile for credentials");
    command
        ->add_option("--head-timeout", flags->head_timeout,
                     "Seconds a client has to send a request's head (default 10)")
        ->check(CLI::Range(0.1, 3600.0));
    command
        ->add_option("--body-timeout", flags->body_timeout,
                     "Seconds within which a request body must progress by 1 KiB (default 10)")
        ->check(CLI::Range(0.1, 3600.0));
    command
        ->add_option("--idle-timeout", flags->idle_timeout,
                     "Seconds a kept-alive connection may wait for its next request (default 30)")
        ->check(CLI::Range(0.1, 3600.0));

    command->callback([flags, &exit_code] {
        auto& options = flags->options;
        const auto refuse = [&exit_code](const std::string& message) {
            std::fprintf(stderr, "presign serve: %s\n", message.c_str());
            exit_code = exit_code::invalid_input;
        };
        auto expires = parse_expires(flags->expires);
        if (!expires) return refuse(expires.error());
        options.expires = *expires;
        if (flags->max_upload_bytes) {
            auto size = parse_byte_size(*flags->max_upload_bytes, "--max-upload-bytes");
            if (!size) return refuse(size.error());
            options.max_upload_bytes = *size;
        }
        if (flags->multipart_threshold) {
            auto size = parse_byte_size(*flags->multipart_threshold, "--multipart-threshold");
            if (!size) return refuse(size.error());
            options.multipart_threshold = *size;
        }
        if (flags->abandoned_uploads_after) {
            if (*flags->abandoned_uploads_after == "0") {
                options.abandoned_uploads_after = std::chrono::seconds(0);
            } else {
                auto age = parse_expires(*flags->abandoned_uploads_after);
                if (!age) {
                    std::string message = age.error();
                    message.replace(message.find("--expires"), 9, "--abandoned-uploads-after");
                    return refuse(message);
                }
                options.abandoned_uploads_after = *age;
            }
        }
        auto share_max = parse_duration(flags->share_max, "--share-max",
                                        std::chrono::seconds(2592000), "30 days");
        if (!share_max) return refuse(share_max.error());
        if (share_max->count() < 60) return refuse("--share-max must be at least 60 s");
        options.share_max = *share_max;
        if (!flags->region.empty()) options.region = flags->region;
        if (!flags->profile.empty()) options.profile = flags->profile;
        options.allowed_content_types = flags->content_types;
        options.allowed_origins = flags->origins;
        options.deadlines.head_timeout = to_milliseconds(flags->head_timeout);
        options.deadlines.body_progress_window = to_milliseconds(flags->body_timeout);
        options.deadlines.idle_timeout = to_milliseconds(flags->idle_timeout);
        describe_presign_command(options);
        if (options.oidc_issuer.empty() != options.oidc_audiences.empty()) {
            std::fprintf(stderr, "presign serve: --oidc-issuer and --oidc-audience go together\n");
            exit_code = exit_code::invalid_input;
            return;
        }
        if (!options.oidc_logout_endpoint.empty() && options.oidc_issuer.empty()) {
            std::fprintf(stderr, "presign serve: --oidc-logout-endpoint needs --oidc-issuer\n");
            exit_code = exit_code::invalid_input;
            return;
        }
        try {
            exit_code = presign::serve::run_serve(options);
        } catch (const std::exception& error) {
            std::fprintf(stderr, "presign serve: %s\n", error.what());
            exit_code = exit_code::internal;
        }
    });
}

}  // namespace presign::cli
