// SPDX-License-Identifier: Apache-2.0
#include "fetch_command.hpp"

#include <unistd.h>

#include <chrono>
#include <exception>
#include <memory>
#include <optional>
#include <string>

#include <httplib.h>
#include <openssl/crypto.h>
#include <nlohmann/json.hpp>

#include "cli_support.hpp"
#include "commands.hpp"
#include "e2e_files.hpp"

namespace presign::cli {
namespace {

struct fetch_options {
    std::string link;
    std::optional<std::string> output;
    std::optional<std::string> key;
    int timeout_seconds = 60;
};

constexpr std::size_t max_error_body = 16 * 1024;

parsed_url parse_or_throw(const std::string& url, const std::string& what) {
    auto parsed = parse_url(url);
    if (!parsed) throw cli_error(exit_code::invalid_input, what + ": " + parsed.error());
    return std::move(*parsed);
}

std::unique_ptr<httplib::Client> client_for(const parsed_url& url, int timeout_seconds) {
    auto client = std::make_unique<httplib::Client>(url.scheme + "://" + url.host);
    const auto timeout = std::chrono::seconds(timeout_seconds);
    client->set_connection_timeout(timeout);
    client->set_read_timeout(timeout);
    client->set_write_timeout(timeout);
    client->set_follow_location(false);
    return client;
}

// The API's {"error":{"code","message"}} or the store's <Error><Code>/<Message>, else the status.
std::string describe_refusal(int status, const std::string& body) {
    std::string text = "HTTP " + std::to_string(status);
    const auto json = nlohmann::json::parse(body, nullptr, false);
    if (!json.is_discarded() && json.is_object() && json.contains("error") &&
        json["error"].is_object()) {
        const auto& error = json["error"];
        if (error.contains("code") && error["code"].is_string())
            text += " " + error["code"].get<std::string>();
        if (error.contains("message") && error["message"].is_string()) {
            text += ": " + error["message"].get<std::string>();
        }
        return one_line(text);
    }
    if (auto code = xml_element_text(body, "Code")) text += " " + *code;
    if (auto message = xml_element_text(body, "Message")) text += ": " + *message;
    return one_line(text);
}

int run_fetch(const fetch_options& options) {
    // The key after '#' stays on this machine: the link is requested without its fragment.
    std::string link = options.link;
    std::string fragment;
    if (const auto hash = link.find('#'); hash != std::string::npos) {
        fragment = link.substr(hash + 1);
        OPENSSL_cleanse(link.data() + hash, link.size() - hash);
        link.resize(hash);
    }
    std::optional<e2e::secret> key;
    if (options.key) {
        key = parse_secret_option(*options.key);
    } else if (!fragment.empty()) {
        key = parse_secret_option(fragment);
    }
    OPENSSL_cleanse(fragment.data(), fragment.size());
    const bool key_given = options.key.has_value();

    if (link.starts_with("s3://")) {
        throw cli_error(
            exit_code::invalid_input,
            "fetch takes a share link (http:// or https://); for s3:// use presign get");
    }
    const parsed_url share = parse_or_throw(link, "the share link");
    auto api = client_for(share, options.timeout_seconds);
    auto answer = api->Get(share.target, httplib::Headers{{"Accept", "application/json"}});
    if (!answer) {
        throw cli_error(exit_code::io,
                        "cannot reach " + share.host + ": " + httplib::to_string(answer.error()));
    }
    if (answer->status != 200) {
        throw cli_error(
            exit_code::invalid_input,
            "the share link was refused (" + describe_refusal(answer->status, answer->body) + ")");
    }
    const auto json = nlohmann::json::parse(answer->body, nullptr, false);
    if (json.is_discarded() || !json.is_object() || !json.contains("url") ||
        !json["url"].is_string()) {
        throw cli_error(exit_code::invalid_input,
                        "the share link did not answer with {\"url\": ...}");
    }
    const std::string filename = json.contains("filename") && json["filename"].is_string()
                                     ? json["filename"].get<std::string>()
                                     : "file";
    // The link says whether its object is encrypted (a server before issue 19 says nothing: then a
    // key, if any, decides). Ciphertext is never saved as if it were the file.
    const auto flag = json.find("encrypted");
    const bool says = flag != json.end() && flag->is_boolean();
    if (says && flag->get<bool>() && !key) {
        throw cli_error(
            exit_code::invalid_input,
            "this link is encrypted end to end and its key is missing: use the whole link, "
            "ending in #<key>, or give the key with -k; nothing was saved");
    }
    // A plain file behind a link with a stray #fragment downloads as it is, as in the page;
    // an explicit -k still decrypts.
    if (says && !flag->get<bool>() && key && !key_given) key.reset();
    const parsed_url object = parse_or_throw(json["url"].get<std::string>(), "the download URL");

    std::optional<decrypting_writer> decrypting;
    std::optional<output_file> plain;
    std::string plain_path;
    if (key) {
        decrypting.emplace(*key, options.output, ".", "file");
    } else {
        plain_path = options.output ? *options.output : "./" + e2e::safe_file_name(filename);
        plain.emplace(plain_path, options.output.has_value());
    }

    auto store = client_for(object, options.timeout_seconds);
    int status = 0;
    std::string error_body;
    std::exception_ptr failure;
    auto download = store->Get(
        object.target,
        [&](const httplib::Response& response) {
            status = response.status;
            return true;
        },
        [&](const char* data, std::size_t length) {
            if (status != 200) {
                error_body.append(
                    data,
                    std::min(length, max_error_body - std::min(max_error_body, error_body.size())));
                return true;
            }
            try {
                const std::span bytes(reinterpret_cast<const std::uint8_t*>(data), length);
                if (decrypting) {
                    decrypting->update(bytes);
                } else {
                    plain->write(bytes);
                }
                return true;
            } catch (...) {
                failure = std::current_exception();
                return false;
            }
        });
    if (failure) std::rethrow_exception(failure);
    if (!download) {
        throw cli_error(exit_code::io, "the download from " + object.host +
                                           " failed: " + httplib::to_string(download.error()) +
                                           "; nothing was saved");
    }
    if (status != 200) {
        throw cli_error(exit_code::invalid_input, "the store refused the download (" +
                                                      describe_refusal(status, error_body) + ")");
    }
    std::string saved;
    if (decrypting) {
        saved = decrypting->finish();
    } else {
        plain->commit();
        saved = plain_path;
    }
    write_all(STDOUT_FILENO, saved + "\n");
    return exit_code::ok;
}

}  // namespace

void add_fetch_command(CLI::App& app, int& exit_code) {
    auto options = std::make_shared<fetch_options>();
    auto* command = app.add_subcommand(
        "fetch", "Download a share link, decrypting it when the link ends in #key");
    command->add_option("link", options->link, "The share link, <API>/s/<token>[#key]")->required();
    command->add_option(
        "-o,--output", options->output,
        "Where to save (default: the file's own name in this directory, never replaced)");
    command->add_option("-k,--key", options->key,
                        "The key when the link has none (22 base64url characters, or - for stdin)");
    command
        ->add_option("--timeout", options->timeout_seconds,
                     "Network timeout in seconds (default 60)")
        ->check(CLI::Range(1, 3600));
    command->callback([options, &exit_code] {
        try {
            exit_code = run_fetch(*options);
        } catch (const cli_error& error) {
            write_stderr_line(error.what());
            exit_code = error.code();
        }
    });
}

}  // namespace presign::cli
