// SPDX-License-Identifier: Apache-2.0
// presign verify URL / presign explain URL.
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>
#include <sigv4/sigv4.hpp>

#include "cli_support.hpp"
#include "commands.hpp"

namespace presign::cli {
namespace {

std::string iso8601(sigv4::sys_seconds t) {
    auto text = sigv4::format_iso8601(t);
    return text ? *text : std::string("?");
}

struct prepared_request {
    parsed_url url;
    sigv4::received_request request;
    std::optional<sigv4::sys_seconds> now;
};

prepared_request prepare(const inspect_options& options) {
    auto url = parse_url(options.url);
    if (!url) throw cli_error(exit_code::invalid_input, url.error());
    std::string method = options.method;
    std::transform(method.begin(), method.end(), method.begin(),
                   [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
    if (method.empty()) throw cli_error(exit_code::invalid_input, "--method is empty");
    prepared_request prepared{std::move(*url), {}, std::nullopt};
    prepared.request.method = std::move(method);
    prepared.request.target = prepared.url.target;
    bool has_host = false;
    std::vector<sigv4::header> extra;
    for (const auto& text : options.headers) {
        auto header = parse_header_option(text);
        if (!header) throw cli_error(exit_code::invalid_input, header.error());
        std::string lower = header->name;
        std::transform(lower.begin(), lower.end(), lower.begin(),
                       [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
        has_host = has_host || lower == "host";
        extra.push_back(std::move(*header));
    }
    if (!has_host) prepared.request.headers.push_back({"Host", prepared.url.host});
    for (auto& header : extra) prepared.request.headers.push_back(std::move(header));
    if (options.date) {
        auto when = sigv4::parse_iso8601(*options.date);
        if (!when) {
            throw cli_error(exit_code::invalid_input,
                            "--date '" + *options.date + "' is not a time");
        }
        prepared.now = *when;
    }
    return prepared;
}

struct credential_scope {
    std::string access_key_id, date, region, service;
};

std::optional<credential_scope> scope_of(std::string_view raw_query) {
    auto credential = query_value(raw_query, "X-Amz-Credential");
    if (!credential) return std::nullopt;
    std::vector<std::string> parts;
    std::string_view rest = *credential;
    while (true) {
        const auto slash = rest.find('/');
        parts.emplace_back(rest.substr(0, slash));
        if (slash == std::string_view::npos) break;
        rest.remove_prefix(slash + 1);
    }
    if (parts.size() != 5) return std::nullopt;
    return credential_scope{parts[0], parts[1], parts[2], parts[3]};
}

std::string read_text_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw cli_error(exit_code::io, "cannot read " + path);
    std::ostringstream text;
    text << in.rdbuf();
    if (in.bad()) throw cli_error(exit_code::io, "cannot read " + path);
    return std::move(text).str();
}

/// For a legacy SigV2 presigned URL (AWSAccessKeyId and Signature in the query): what it is and how
/// to make the client sign with SigV4. Empty for any other URL.
std::string sigv2_explanation(std::string_view raw_query) {
    if (query_value(raw_query, "X-Amz-Algorithm") || !query_value(raw_query, "AWSAccessKeyId") ||
        !query_value(raw_query, "Signature")) {
        return {};
    }
    return "this is a legacy Signature Version 2 URL (AWSAccessKeyId, Signature, Expires), which "
           "S3 "
           "refuses in every region opened since 2014 (400 InvalidRequest, 'Please use "
           "AWS4-HMAC-SHA256') and presign serve's store refuses everywhere: make the client sign "
           "with SigV4 ('signature_version = s3v4' under the profile's 's3 =' section, or "
           "Config(signature_version=\"s3v4\") in boto3), or sign with presign get";
}

/// The -X/-H flags that make explain see the request S3 saw, for a URL whose signed headers the
/// command line did not send (a PUT URL explained as a GET). With S3's canonical request (from
/// --s3-error) the method and header values are S3's; otherwise the method is guessed from the
/// signed headers and the values are placeholders. Empty when nothing is missing.
std::string suggested_flags(const inspect_options& options, std::string_view raw_query,
                            const std::optional<std::string>& s3_canonical) {
    std::vector<std::string> signed_headers;
    const std::string signed_list = query_value(raw_query, "X-Amz-SignedHeaders").value_or("");
    for (std::string_view rest = signed_list; !rest.empty();) {
        const auto semicolon = rest.find(';');
        signed_headers.emplace_back(rest.substr(0, semicolon));
        rest =
            semicolon == std::string_view::npos ? std::string_view{} : rest.substr(semicolon + 1);
    }
    const auto sent = [&](std::string_view name) {
        return std::any_of(
            options.headers.begin(), options.headers.end(), [&](const std::string& h) {
                return h.size() > name.size() && h[name.size()] == ':' &&
                       std::equal(name.begin(), name.end(), h.begin(), [](char a, char b) {
                           return a == std::tolower(static_cast<unsigned char>(b));
                       });
            });
    };
    std::string method;
    std::vector<std::pair<std::string, std::string>> s3_headers;
    if (s3_canonical) {  // METHOD \n path \n query \n name:value lines \n \n signed \n payload
        std::istringstream lines(*s3_canonical);
        std::string line;
        std::getline(lines, method);
        std::getline(lines, line);
        std::getline(lines, line);
        while (std::getline(lines, line) && !line.empty()) {
            const auto colon = line.find(':');
            if (colon != std::string::npos)
                s3_headers.emplace_back(line.substr(0, colon), line.substr(colon + 1));
        }
    } else {
        // Headers only an upload signs: Content-Length, Content-Type, Content-MD5, checksums, SSE.
        const bool upload =
            std::any_of(signed_headers.begin(), signed_headers.end(), [](const std::string& h) {
                return h == "content-length" || h == "content-type" || h == "content-md5" ||
                       h.starts_with("x-amz-checksum-") ||
                       h.starts_with("x-amz-server-side-encryption") ||
                       h.starts_with("x-amz-meta-");
            });
        if (upload) method = "PUT";
    }
    std::string flags;
    std::string upper_method = options.method;
    std::transform(upper_method.begin(), upper_method.end(), upper_method.begin(),
                   [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
    if (!method.empty() && method != upper_method) flags += "-X " + method;
    for (const auto& name : signed_headers) {
        if (name == "host" || sent(name)) continue;
        std::string value = "VALUE";
        for (const auto& [s3_name, s3_value] : s3_headers) {
            if (s3_name == name) value = s3_value;
        }
        flags += (flags.empty() ? "-H " : " -H ") + shell_quote(name + ": " + value);
    }
    return flags;
}

}  // namespace

int run_verify(const inspect_options& options) {
    auto prepared = prepare(options);
    const run_context context = load_context(options.common, true);
    const auto& creds = context.credentials.credentials;

    sigv4::verify_options verify;
    verify.now = prepared.now;
    // The configured region, unless nothing configures one: then the URL's own scope decides.
    verify.region = context.config.region;
    if (context.config.region_source == "default") {
        if (auto scope = scope_of(prepared.url.raw_query); scope && !scope->region.empty()) {
            verify.region = scope->region;
        }
    }
    const sigv4::known_key known{creds.secret, creds.session_token};
    const sigv4::key_lookup keys = [&creds,
                                    &known](std::string_view id) -> const sigv4::known_key* {
        return id == creds.access_key_id ? &known : nullptr;
    };
    auto verified = sigv4::verify(prepared.request, keys, verify);
    if (!verified) {
        const auto& error = verified.error();
        if (options.common.verbose && !error.canonical_request.empty()) {
            const std::string details =
                "presign: canonical request:\n" + redact_session_token(error.canonical_request) +
                "\npresign: string to sign:\n" + error.string_to_sign + "\n";
            std::fwrite(details.data(), 1, details.size(), stderr);
        }
        if (const auto sigv2 = sigv2_explanation(prepared.url.raw_query); !sigv2.empty()) {
            throw cli_error(exit_code::verify_failed, sigv2);
        }
        throw cli_error(exit_code::verify_failed,
                        std::string(sigv4::s3_error_code(error.code)) + " (HTTP " +
                            std::to_string(sigv4::http_status(error.code)) + "): " + error.message);
    }
    const auto now = prepared.now.value_or(sigv4::now());
    const auto remaining = (verified->expires_at - now).count();
    const bool query_auth = verified->kind == sigv4::verified_request::auth::query;
    std::string out;
    if (options.json) {
        nlohmann::ordered_json json;
        json["valid"] = true;
        json["auth"] = query_auth ? "query" : "header";
        json["method"] = prepared.request.method;
        json["path"] = verified->path;
        json["access_key_id"] = verified->access_key_id;
        json["region"] = verify.region;
        json["signed_headers"] = verified->signed_headers;
        json["signed_at"] = iso8601(verified->signed_at);
        json["expires_at"] = iso8601(verified->expires_at);
        json["expires_in"] = remaining;
        nlohmann::ordered_json query = nlohmann::ordered_json::array();
        for (const auto& param : verified->query) query.push_back({param.name, param.value});
        json["query"] = std::move(query);
        if (!query_auth) json["payload_hash"] = verified->payload_hash;
        out = json.dump(2) + "\n";
    } else {
        out += "valid: " + std::string(query_auth ? "presigned " : "header-signed ") +
               prepared.request.method + " " + verified->path + "\n";
        out += "access key id: " + verified->access_key_id + "\n";
        out += "region: " + verify.region + "\n";
        out += "signed at: " + iso8601(verified->signed_at) + "\n";
        out += "expires at: " + iso8601(verified->expires_at) + " (in " +
               std::to_string(remaining) + " s)\n";
        std::string signed_headers;
        for (const auto& name : verified->signed_headers) {
            signed_headers += (signed_headers.empty() ? "" : ";") + name;
        }
        out += "signed headers: " + signed_headers + "\n";
        for (const auto& param : verified->query) {
            out += "query: " + param.name + "=" + param.value + "\n";
        }
        if (!query_auth) out += "payload: " + verified->payload_hash + "\n";
    }
    write_all(STDOUT_FILENO, out);
    return exit_code::ok;
}

int run_explain(const inspect_options& options) {
    auto prepared = prepare(options);
    const auto& raw_query = prepared.url.raw_query;
    const auto algorithm = query_value(raw_query, "X-Amz-Algorithm");
    const auto scope = scope_of(raw_query);
    const auto amz_date = query_value(raw_query, "X-Amz-Date");
    if (!algorithm || !scope || !amz_date) {
        if (const auto sigv2 = sigv2_explanation(raw_query); !sigv2.empty()) {
            throw cli_error(exit_code::invalid_input, sigv2);
        }
        throw cli_error(
            exit_code::invalid_input,
            "not a SigV4 presigned URL (X-Amz-Algorithm, X-Amz-Credential or X-Amz-Date "
            "missing or malformed)");
    }
    if (*algorithm != "AWS4-HMAC-SHA256") {
        throw cli_error(exit_code::invalid_input, "unsupported X-Amz-Algorithm '" + *algorithm +
                                                      "' (expected AWS4-HMAC-SHA256)");
    }
    auto signed_at = sigv4::parse_amz_date(*amz_date);
    if (!signed_at)
        throw cli_error(exit_code::invalid_input, "malformed X-Amz-Date '" + *amz_date + "'");
    // No credentials are needed: the server-side canonicalization runs against a placeholder key,
    // which fails the signature check and so reports what it computed.
    auto placeholder = sigv4::secret_key::from("presign-explain-placeholder-secret");
    if (!placeholder) throw cli_error(exit_code::internal, placeholder.error().message);
    const std::string token = query_value(raw_query, "X-Amz-Security-Token").value_or("");
    const sigv4::known_key known{*placeholder, token};
    const sigv4::key_lookup keys = [&known](std::string_view) -> const sigv4::known_key* {
        return &known;
    };
    sigv4::verify_options verify;
    verify.region = scope->region;
    verify.service = scope->service;
    verify.s3 = scope->service == "s3";
    verify.now = *signed_at;
    std::optional<std::string> s3_canonical;
    std::optional<std::string> s3_string_to_sign;
    if (options.s3_error_file) {
        const std::string xml = read_text_file(*options.s3_error_file);
        s3_canonical = xml_element_text(xml, "CanonicalRequest");
        s3_string_to_sign = xml_element_text(xml, "StringToSign");
        if (!s3_canonical && !s3_string_to_sign) {
            throw cli_error(
                exit_code::invalid_input,
                *options.s3_error_file + " has no <CanonicalRequest> or <StringToSign>");
        }
    }
    const std::string flags = suggested_flags(options, raw_query, s3_canonical);
    auto result = sigv4::verify(prepared.request, keys, verify);
    if (result || result.error().canonical_request.empty()) {
        std::string message = result ? std::string("the URL verified against a placeholder key")
                                     : "cannot explain this URL: " +
                                           std::string(sigv4::s3_error_code(result.error().code)) +
                                           ": " + result.error().message;
        if (!result && !flags.empty()) {
            message += "; explain it with the method and signed headers the client sends: " + flags;
        }
        throw cli_error(exit_code::invalid_input, message);
    }
    const std::string canonical_request = redact_session_token(result.error().canonical_request);
    const std::string& string_to_sign = result.error().string_to_sign;
    std::string out = "Canonical request:\n" + canonical_request + "\n\nString to sign:\n" +
                      string_to_sign + "\n";
    int code = exit_code::ok;
    if (options.s3_error_file) {
        auto compare = [&](const char* what, const std::string& ours,
                           const std::optional<std::string>& theirs) {
            if (!theirs) return;
            const std::string s3_text = redact_session_token(*theirs);
            const std::string diff = line_diff(ours, s3_text);
            out += "\n";
            out += what;
            if (diff.empty()) {
                out += ": identical to S3's\n";
            } else {
                out += ": differs from S3's (- presign, + S3)\n" + diff;
                code = exit_code::verify_failed;
            }
        };
        compare("Canonical request", canonical_request, s3_canonical);
        compare("String to sign", string_to_sign, s3_string_to_sign);
        if (code == exit_code::ok && s3_string_to_sign) {
            // Same string to sign (scope included), different signature: only the key differs.
            out +=
                "\nConclusion: S3 signed exactly this string, so the signatures differ only "
                "through the signing key: the secret access key that signed the URL is not "
                "the one S3 holds for access key id " +
                scope->access_key_id +
                " (or the signing key was derived for another date or region than " + scope->date +
                "/" + scope->region + ").\n";
        }
    }
    write_all(STDOUT_FILENO, out);
    if (code != exit_code::ok) {
        std::string note =
            "presign: presign and S3 canonicalized the request differently (see the diff)";
        if (!flags.empty()) note += "; if S3 saw another method or headers, explain with: " + flags;
        note += "\n";
        std::fwrite(note.data(), 1, note.size(), stderr);
    }
    return code;
}

}  // namespace presign::cli
