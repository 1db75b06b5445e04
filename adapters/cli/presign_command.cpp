// SPDX-License-Identifier: Apache-2.0
// presign get|put|head|delete: one URL, or a stream of them with --stdin.
#include <strings.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <system_error>

#include <nlohmann/json.hpp>
#include <sigv4/sigv4.hpp>

#include "cli_support.hpp"
#include "commands.hpp"
#include "network_helper.hpp"

namespace presign::cli {
namespace {

std::string iso8601(sigv4::sys_seconds t) {
    auto text = sigv4::format_iso8601(t);
    return text ? *text : std::string("?");
}

template <class T>
T value_or_fail(sigv4::result<T, std::string> parsed) {
    if (!parsed) throw cli_error(exit_code::invalid_input, parsed.error());
    return std::move(*parsed);
}

std::string_view style_name(sigv4::s3::addressing style) {
    switch (style) {
        case sigv4::s3::addressing::path:
            return "path";
        case sigv4::s3::addressing::virtual_hosted:
            return "virtual";
        case sigv4::s3::addressing::automatic:
            return "auto";
    }
    return "auto";
}

std::string base_name(std::string_view key) {
    const auto slash = key.rfind('/');
    std::string name(slash == std::string_view::npos ? key : key.substr(slash + 1));
    return name.empty() || name == "." || name == ".." ? std::string("FILE") : name;
}

// What one URL prints as, appended to `out`.
void format_output(const presign_options& options, const sigv4::presigned_request& signed_url,
                   std::string_view key, bool compact_json, std::string& out) {
    if (options.json) {
        nlohmann::ordered_json json;
        json["method"] = signed_url.method;
        json["url"] = signed_url.url;
        nlohmann::ordered_json headers = nlohmann::ordered_json::object();
        for (const auto& h : signed_url.headers) headers[h.name] = h.value;
        json["headers"] = std::move(headers);
        json["signed_at"] = iso8601(signed_url.signed_at);
        json["expires_at"] = iso8601(signed_url.expires_at);
        json["expires_in"] = signed_url.expires_in.count();
        out += json.dump(compact_json ? -1 : 2);
        out += '\n';
        return;
    }
    if (options.curl) {
        out += "curl --fail";
        const std::string& method = signed_url.method;
        if (method == "HEAD") {
            out += " --head";
        } else if (method != "GET" && !(method == "PUT" && options.file)) {
            out += " -X " + method;  // --upload-file is a PUT already
        }
        for (const auto& h : signed_url.headers) {
            if (options.file && ::strcasecmp(h.name.c_str(), "content-length") == 0) continue;
            out += " -H ";
            out += shell_quote(h.name + ": " + h.value);
        }
        if (method == "GET") {
            out += " -o ";
            out +=
                shell_quote(options.download_as ? base_name(*options.download_as) : base_name(key));
        } else if (method == "PUT" && options.file) {
            // curl sends the file's own Content-Length (the signed one, as --file sized it).
            out += " --upload-file ";
            out += shell_quote(*options.file);
        }
        out += ' ';
        out += shell_quote(signed_url.url);
        out += '\n';
        return;
    }
    out += signed_url.url;
    out += '\n';
}

}  // namespace

void write_all(int fd, std::string_view data) {
    while (!data.empty()) {
        const ssize_t written = ::write(fd, data.data(), data.size());
        if (written < 0) {
            if (errno == EINTR) continue;
            throw cli_error(exit_code::io,
                            std::string("cannot write the output: ") + std::strerror(errno));
        }
        data.remove_prefix(static_cast<std::size_t>(written));
    }
}

run_context load_context(const common_options& options, bool need_credentials) {
    const auto env = process_environment();
    config_overrides overrides{options.profile, options.region, options.endpoint,
                               options.path_style};
    auto config = load_aws_config(overrides, env);
    if (!config) throw cli_error(exit_code_for(config.error().what), config.error().message);
    run_context context{std::move(*config), {}};
    const aws_config& cfg = context.config;
    if (options.verbose) {
        write_stderr_line("profile " + cfg.profile + " (" + cfg.profile_source + "), config " +
                          cfg.config_path + ", credentials file " + cfg.credentials_path);
        write_stderr_line("region " + cfg.region + " (" + cfg.region_source + "), endpoint " +
                          (cfg.endpoint.url.empty()
                               ? std::string("s3.") + cfg.region + ".amazonaws.com"
                               : cfg.endpoint.url + " (" + cfg.endpoint_source + ")") +
                          ", addressing " + std::string(style_name(cfg.endpoint.style)) + " (" +
                          cfg.addressing_source + ")");
    }
    if (need_credentials) load_credentials(context, options);
    return context;
}

void load_credentials(run_context& context, const common_options& options) {
    chain_options chain;
    chain.network = network_credentials_from_helper;
    auto creds = resolve_credentials(context.config, process_environment(), chain);
    if (!creds) throw cli_error(exit_code_for(creds.error().what), creds.error().message);
    context.credentials = std::move(*creds);
    if (options.verbose) {
        const auto& c = context.credentials.credentials;
        write_stderr_line("credentials from " + context.credentials.source + ", access key " +
                          mask_access_key_id(c.access_key_id) + ", session token " +
                          (c.session_token.empty() ? "none" : "present") + ", expire " +
                          (c.expiration ? iso8601(*c.expiration) : std::string("never")));
    }
}

int run_presign(const presign_options& options) {
    // Everything the command line alone decides is checked before configuration is read.
    const auto expires = value_or_fail(parse_expires(options.expires));
    const auto uri = value_or_fail(parse_s3_uri(options.uri, !options.from_stdin));
    const std::string& method = options.method;
    const bool is_put = method == "PUT";
    const bool is_read = method == "GET" || method == "HEAD";
    auto only_for = [&](bool allowed, const auto& option, const char* name, const char* methods) {
        if (option && !allowed) {
            throw cli_error(exit_code::invalid_input,
                            std::string(name) + " applies to " + methods + " only");
        }
    };
    only_for(is_put, options.content_length, "--content-length", "put");
    only_for(is_put, options.checksum_sha256, "--checksum-sha256", "put");
    only_for(is_put, options.sse, "--sse", "put");
    only_for(is_put, options.sse_kms_key_id, "--sse-kms-key-id", "put");
    only_for(is_put || is_read, options.content_type, "--content-type", "get, head and put");
    only_for(is_put || is_read, options.download_as, "--download-as", "get, head and put");

    sigv4::s3::object_options object;
    object.expires = expires;
    object.clamp_expiry = options.clamp_expiry;
    if (options.date) {
        auto when = sigv4::parse_iso8601(*options.date);
        if (!when) {
            throw cli_error(
                exit_code::invalid_input,
                "--date '" + *options.date +
                    "' is not a time (expected 2013-05-24T00:00:00Z or 20130524T000000Z)");
        }
        object.signing_time = *when;
    }
    for (const auto& text : options.headers) {
        object.extra_headers.push_back(value_or_fail(parse_header_option(text)));
    }
    if (options.content_type) {
        if (is_put) {
            object.content_type = *options.content_type;
        } else {
            object.response_content_type = *options.content_type;
        }
    }
    if (options.download_as) {
        if (options.download_as->empty()) {
            throw cli_error(exit_code::invalid_input, "--download-as needs a file name");
        }
        if (is_put) {
            object.extra_headers.push_back(
                {"Content-Disposition", sigv4::s3::attachment_disposition(*options.download_as)});
        } else {
            object.download_filename = *options.download_as;
        }
    }
    if (options.file) {
        std::error_code error;
        const auto status = std::filesystem::status(*options.file, error);
        if (error || !std::filesystem::is_regular_file(status)) {
            throw cli_error(exit_code::io, "--file " + *options.file + ": " +
                                               (error ? error.message() : "not a regular file"));
        }
        const auto size = std::filesystem::file_size(*options.file, error);
        if (error)
            throw cli_error(exit_code::io, "--file " + *options.file + ": " + error.message());
        if (options.content_length && *options.content_length != std::to_string(size)) {
            throw cli_error(exit_code::invalid_input, "--content-length " +
                                                          *options.content_length +
                                                          " differs from the size of --file (" +
                                                          std::to_string(size) + " bytes)");
        }
        object.content_length = size;
        if (!options.content_type) {
            object.content_type = std::string(media_type_for_file_name(*options.file));
        }
    } else if (is_put && options.curl) {
        throw cli_error(exit_code::invalid_input,
                        "put --curl needs --file FILE, the local file curl uploads");
    }
    if (options.content_length && !options.file) {
        const std::string& text = *options.content_length;
        if (text.empty() || text.size() > 19 ||
            text.find_first_not_of("0123456789") != std::string::npos) {
            throw cli_error(exit_code::invalid_input,
                            "--content-length '" + text + "' is not a byte count");
        }
        object.content_length = std::stoull(text);
    }
    if (options.checksum_sha256) {
        object.checksum_sha256 = value_or_fail(normalize_checksum_sha256(*options.checksum_sha256));
    }
    if (options.sse) {
        if (*options.sse == "AES256") {
            object.sse = sigv4::s3::server_side_encryption::aes256;
        } else if (*options.sse == "aws:kms") {
            object.sse = sigv4::s3::server_side_encryption::kms;
        } else {
            throw cli_error(exit_code::invalid_input,
                            "--sse '" + *options.sse + "' is not AES256 or aws:kms");
        }
    }
    if (options.sse_kms_key_id) {
        if (object.sse != sigv4::s3::server_side_encryption::kms) {
            throw cli_error(exit_code::invalid_input, "--sse-kms-key-id needs --sse aws:kms");
        }
        object.sse_kms_key_id = *options.sse_kms_key_id;
    }
    if (!options.from_stdin) {
        if (auto valid = sigv4::s3::validate_object_key(uri.key); !valid) {
            throw cli_error(exit_code::invalid_input, valid.error().message);
        }
    }
    run_context context = load_context(options.common, false);
    // The bucket is checked before any credential lookup. Legacy names (uppercase, '_', "..")
    // only with path-style addressing, the one way such buckets can still be reached.
    const bool legacy_ok = context.config.endpoint.style == sigv4::s3::addressing::path;
    if (auto valid = sigv4::s3::validate_bucket_name(uri.bucket, legacy_ok); !valid) {
        throw cli_error(exit_code::invalid_input, valid.error().message);
    }
    load_credentials(context, options.common);
    const auto& creds = context.credentials.credentials;
    const auto& where = context.config.endpoint;
    const bool settings_from_command_line =
        options.common.region.has_value() || options.common.endpoint.has_value();
    auto fail = [&](const sigv4::error& error, const std::string& prefix) -> cli_error {
        std::string message = prefix + error.message;
        if (error.code == sigv4::errc::credentials_expire_first) {
            message += " (use --clamp-expiry for a shorter link)";
        }
        return cli_error(exit_code_for(error.code, settings_from_command_line), message);
    };

    if (!options.from_stdin) {
        auto signed_url =
            sigv4::s3::presign_object(creds, method, uri.bucket, uri.key, where, object);
        if (!signed_url) throw fail(signed_url.error(), "");
        if (signed_url->expires_in < expires) {
            write_stderr_line("the credentials expire at " + iso8601(signed_url->expires_at) +
                              ", so the link lasts " +
                              std::to_string(signed_url->expires_in.count()) + " s instead of " +
                              std::to_string(expires.count()) + " s");
        }
        if (options.common.verbose) {
            write_stderr_line(method + " link signed at " + iso8601(signed_url->signed_at) +
                              ", expires at " + iso8601(signed_url->expires_at));
        }
        std::string out;
        format_output(options, *signed_url, uri.key, false, out);
        write_all(STDOUT_FILENO, out);
        return exit_code::ok;
    }

    // Batch: keys on stdin, one per line; URLs out, one per line. Output is flushed whenever the
    // input has nothing more to read right away, so an interactive producer sees each URL at once.
    constexpr std::size_t flush_at = 1 << 20;
    std::string out;
    out.reserve(flush_at + 8192);
    std::vector<char> input(1 << 20);
    std::string pending;  // a line split across two reads
    std::string key;
    std::size_t line_number = 0;
    bool warned_clamp = false;
    auto process_line = [&](std::string_view line) {
        ++line_number;
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        if (line.empty()) return;
        key.assign(uri.key);
        key.append(line);
        auto signed_url = sigv4::s3::presign_object(creds, method, uri.bucket, key, where, object);
        if (!signed_url) {
            write_all(STDOUT_FILENO, out);
            throw fail(signed_url.error(), "line " + std::to_string(line_number) + ": ");
        }
        if (!warned_clamp && signed_url->expires_in < expires) {
            warned_clamp = true;
            write_stderr_line("the credentials expire at " + iso8601(signed_url->expires_at) +
                              "; links are shortened to that time");
        }
        format_output(options, *signed_url, key, true, out);
        if (out.size() >= flush_at) {
            write_all(STDOUT_FILENO, out);
            out.clear();
        }
    };
    for (;;) {
        if (!out.empty()) {
            write_all(STDOUT_FILENO, out);
            out.clear();
        }
        const ssize_t got = ::read(STDIN_FILENO, input.data(), input.size());
        if (got < 0) {
            if (errno == EINTR) continue;
            throw cli_error(exit_code::io,
                            std::string("cannot read stdin: ") + std::strerror(errno));
        }
        if (got == 0) break;
        std::string_view chunk(input.data(), static_cast<std::size_t>(got));
        if (!pending.empty()) {
            const auto end = chunk.find('\n');
            if (end == std::string_view::npos) {
                pending.append(chunk);
                continue;
            }
            pending.append(chunk.substr(0, end));
            process_line(pending);
            pending.clear();
            chunk.remove_prefix(end + 1);
        }
        for (auto end = chunk.find('\n'); end != std::string_view::npos; end = chunk.find('\n')) {
            process_line(chunk.substr(0, end));
            chunk.remove_prefix(end + 1);
        }
        pending.assign(chunk);
    }
    if (!pending.empty()) process_line(pending);
    write_all(STDOUT_FILENO, out);
    return exit_code::ok;
}

}  // namespace presign::cli
