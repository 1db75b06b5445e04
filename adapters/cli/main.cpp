// SPDX-License-Identifier: Apache-2.0
// presign: SigV4 pre-signed S3 URLs from the command line.
#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "cli_support.hpp"
#include "command_line.hpp"
#include "commands.hpp"
#include "e2e_files.hpp"
#include "network_helper.hpp"

namespace {

using namespace presign::cli;

void add_common_options(CLI::App& command, common_options& common) {
    command.add_option("--profile", common.profile,
                       "Profile of ~/.aws/config and ~/.aws/credentials");
    command.add_option("--region", common.region,
                       "AWS region (default: configured, else us-east-1)");
    command.add_option("--endpoint", common.endpoint,
                       "S3-compatible endpoint http(s)://host[:port] (RGW, MinIO, presign serve)");
    command.add_flag("--path-style", common.path_style, "Path-style URLs (endpoint/bucket/key)");
    command.add_flag("-v,--verbose", common.verbose,
                     "Explain on stderr where settings and credentials came from (never secrets)");
}

void add_presign_command(CLI::App& app, const std::string& name, const std::string& method,
                         presign_options& options, CLI::App*& command) {
    // Each command gets only the options it uses, so its --help lists only those.
    const bool is_put = method == "PUT";
    const bool is_read = method == "GET" || method == "HEAD";
    command = app.add_subcommand(name, "Print a pre-signed " + method + " URL for s3://BUCKET/KEY");
    options.method = method;
    command->add_option("uri", options.uri, "s3://BUCKET/KEY (with --stdin: s3://BUCKET/PREFIX)")
        ->required();
    command->add_option("-e,--expires", options.expires,
                        "Lifetime: seconds or 90s, 15m, 12h, 7d (default 300, at most 7d)");
    if (is_put) {
        command->add_option("--file", options.file,
                            "The local file to upload: signs its size and (unless --content-type) "
                            "its type; --curl uploads it");
        command->add_option("--content-type", options.content_type, "Signed Content-Type");
        command->add_option("--content-length", options.content_length,
                            "Exact size in bytes (signed)");
        command->add_option("--checksum-sha256", options.checksum_sha256,
                            "SHA-256 of the body, base64 or hex (signed x-amz-checksum-sha256)");
        command->add_option("--download-as", options.download_as,
                            "File name downloads get (signed Content-Disposition)");
        command->add_option("--sse", options.sse, "Server-side encryption AES256 or aws:kms");
        command->add_option("--sse-kms-key-id", options.sse_kms_key_id,
                            "KMS key id (with --sse aws:kms)");
    } else if (is_read) {
        command->add_option("--content-type", options.content_type,
                            "Content-Type of the answer (response-content-type)");
        command->add_option("--download-as", options.download_as,
                            "Save-as file name (response-content-disposition: attachment)");
    }
    command->add_option("-H,--header", options.headers, "Extra signed header 'Name: value'")
        ->take_all();
    command->add_option("--date", options.date,
                        "Fixed signing time, 2013-05-24T00:00:00Z or 20130524T000000Z");
    auto* json = command->add_flag("--json", options.json,
                                   "Print JSON: method, url, headers to send, expires_at");
    auto* curl = command->add_flag("--curl", options.curl,
                                   is_put ? "Print a curl command line that uploads --file"
                                          : "Print a ready curl command line");
    json->excludes(curl);
    command->add_flag("--clamp-expiry", options.clamp_expiry,
                      "Shorten the link when the credentials expire first (default: refuse)");
    auto* from_stdin = command->add_flag(
        "--stdin", options.from_stdin,
        "Read keys from stdin (one per line, appended to PREFIX), print one URL per line");
    if (auto* file = command->get_option_no_throw("--file")) file->excludes(from_stdin);
    add_common_options(*command, options.common);
}

void add_inspect_options(CLI::App& command, inspect_options& options) {
    command.add_option("url", options.url, "The presigned URL")->required();
    command.add_option("-X,--method", options.method,
                       "HTTP method the URL is used with (default GET)");
    command.add_option("-H,--header", options.headers, "A header the client sends, 'Name: value'")
        ->take_all();
    add_common_options(command, options.common);
}

int run(int argc, char** argv) {
    CLI::App app{
        "presign: SigV4 pre-signed S3 URLs (get, put, head, delete), and the tools to check them.\n"
        "Credentials and settings come from the same places as the AWS CLI's."};
    app.set_version_flag("--version", "presign 0.1.0");
    app.require_subcommand(1);

    presign_options get, put, head, del;
    CLI::App* get_command = nullptr;
    CLI::App* put_command = nullptr;
    CLI::App* head_command = nullptr;
    CLI::App* delete_command = nullptr;
    add_presign_command(app, "get", "GET", get, get_command);
    add_presign_command(app, "put", "PUT", put, put_command);
    add_presign_command(app, "head", "HEAD", head, head_command);
    add_presign_command(app, "delete", "DELETE", del, delete_command);

    inspect_options verify_options;
    auto* verify_command = app.add_subcommand(
        "verify", "Check a URL with the configured credentials, as S3 would; print what it allows");
    add_inspect_options(*verify_command, verify_options);
    verify_command->add_option("--date", verify_options.date,
                               "Check as of this time instead of now");
    verify_command->add_flag("--json", verify_options.json, "Print the verified facts as JSON");

    inspect_options explain_options;
    auto* explain_command = app.add_subcommand(
        "explain", "Print the canonical request and string to sign of a presigned URL");
    add_inspect_options(*explain_command, explain_options);
    explain_command->add_option("--s3-error", explain_options.s3_error_file,
                                "S3's SignatureDoesNotMatch error XML to diff against");

    // `presign serve` is `presign-net serve` (network_helper.hpp): every argument after `serve`,
    // --help included, is passed on unparsed.
    auto* serve_command = app.add_subcommand(
        "serve",
        "Run the file-sharing API, its web page and a local S3-compatible store on this machine");
    serve_command->prefix_command();
    serve_command->set_help_flag();

    // End-to-end encrypted files (adapters/crypto/FORMAT.md); `fetch` needs HTTP: presign-net.
    encrypt_options encrypt;
    auto* encrypt_command = app.add_subcommand(
        "encrypt", "Encrypt FILE (RFC 8188 aes128gcm, name and type inside); print its key");
    encrypt_command->add_option("file", encrypt.file, "The file to encrypt")->required();
    encrypt_command->add_option("-o,--output", encrypt.output, "The encrypted file to write")
        ->required();
    encrypt_command->add_option("--name", encrypt.name,
                                "File name stored inside (default: FILE's)");
    encrypt_command->add_option("--type", encrypt.type,
                                "Media type stored inside (default: from the name)");
    decrypt_options decrypt;
    auto* decrypt_command =
        app.add_subcommand("decrypt", "Decrypt a file made by encrypt or the page");
    decrypt_command->add_option("file", decrypt.file, "The encrypted file")->required();
    decrypt_command
        ->add_option("-k,--key", decrypt.key,
                     "The key: 22 base64url characters, a share link with #key, or - for stdin")
        ->required();
    decrypt_command->add_option(
        "-o,--output", decrypt.output,
        "Where to write (default: the stored name, in this directory; never replaced)");
    auto* fetch_command = app.add_subcommand(
        "fetch",
        "Download a share link (decrypting it when the link has a #key): fetch LINK [-o FILE]");
    fetch_command->prefix_command();
    fetch_command->set_help_flag();

    if (auto finished = parse_command_line(app, argc, argv, "presign --help")) return *finished;

    if (*get_command) return run_presign(get);
    if (*put_command) return run_presign(put);
    if (*head_command) return run_presign(head);
    if (*delete_command) return run_presign(del);
    if (*verify_command) return run_verify(verify_options);
    if (*explain_command) return run_explain(explain_options);
    if (*encrypt_command) return run_encrypt(encrypt);
    if (*decrypt_command) return run_decrypt(decrypt);
    if (*fetch_command) {
        std::vector<std::string> args{"fetch"};
        const auto rest = fetch_command->remaining();
        args.insert(args.end(), rest.begin(), rest.end());
        return exec_network_helper(argv[0], args);
    }
    if (*serve_command) {
        std::vector<std::string> args{"serve"};
        const auto rest = serve_command->remaining();
        args.insert(args.end(), rest.begin(), rest.end());
        return exec_network_helper(argv[0], args);
    }
    return exit_code::internal;
}

}  // namespace

int main(int argc, char** argv) {
    try {
        return run(argc, argv);
    } catch (const cli_error& error) {
        write_stderr_line(error.what());
        return error.code();
    } catch (const std::exception& error) {
        write_stderr_line(std::string("internal error: ") + error.what());
        return exit_code::internal;
    } catch (...) {
        write_stderr_line("internal error");
        return exit_code::internal;
    }
}
