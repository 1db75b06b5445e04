// SPDX-License-Identifier: Apache-2.0
// Reads the cases of AWS's SigV4 test suite (aws-c-auth layout) for the signer and verifier tests.
#pragma once

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <sigv4/sigv4.hpp>

#include "support/test_data.hpp"

namespace suite {

inline std::string read_file(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

/// One case: the request as AWS wrote it, its context, and the expected artifacts.
struct test_case {
    std::string name;
    std::string request_text;
    nlohmann::json context;
    std::string raw_path;                   // as on the request line
    std::string raw_query;                  // as on the request line, without '?'
    std::vector<std::string> header_lines;  // raw, with folded continuation lines
    std::string body;
    sigv4::http_request request;

    [[nodiscard]] std::string expected(const std::string& file) const;
    [[nodiscard]] sigv4::credentials credentials() const;
    [[nodiscard]] sigv4::signing_options options() const;
};

inline std::filesystem::path suite_dir() {
    return test_data::directory("SIGV4_TEST_SUITE_DIR", SIGV4_TEST_SUITE_DIR);
}
inline std::filesystem::path v4_dir() {
    return suite_dir() / "v4";
}

inline std::string test_case::expected(const std::string& file) const {
    return read_file(v4_dir() / name / file);
}

inline sigv4::credentials test_case::credentials() const {
    const auto& c = context.at("credentials");
    auto made = sigv4::credentials::make(c.at("access_key_id").get<std::string>(),
                                         c.at("secret_access_key").get<std::string>(),
                                         c.value("token", std::string{}));
    return *made;
}

inline sigv4::signing_options test_case::options() const {
    auto options = sigv4::signing_options::for_service(context.at("region").get<std::string>(),
                                                       context.at("service").get<std::string>());
    auto t = sigv4::parse_iso8601(context.at("timestamp").get<std::string>());
    options.signing_time = *t;
    options.normalize_path = context.value("normalize", true);
    options.expires = std::chrono::seconds{context.value("expiration_in_seconds", 3600)};
    options.add_content_sha256_header = context.value("sign_body", false);
    options.token_mode = context.value("omit_session_token", false)
                             ? sigv4::session_token_mode::append
                             : sigv4::session_token_mode::sign;
    options.capture_artifacts = true;
    return options;
}

inline test_case load(const std::string& name) {
    test_case tc;
    tc.name = name;
    tc.request_text = read_file(v4_dir() / name / "request.txt");
    tc.context = nlohmann::json::parse(read_file(v4_dir() / name / "context.json"));
    const std::string& text = tc.request_text;
    std::size_t line_end = text.find('\n');
    std::string request_line = text.substr(0, line_end);
    std::size_t first_space = request_line.find(' ');
    std::size_t last_space = request_line.rfind(' ');
    tc.request.method = request_line.substr(0, first_space);
    std::string target = request_line.substr(first_space + 1, last_space - first_space - 1);
    std::size_t question = target.find('?');
    tc.raw_path = target.substr(0, question);
    if (question != std::string::npos) tc.raw_query = target.substr(question + 1);
    tc.request.path = tc.raw_path;
    tc.request.path_is_encoded = true;
    std::size_t pos = line_end + 1;
    while (pos < text.size()) {
        std::size_t end = text.find('\n', pos);
        if (end == std::string::npos) end = text.size();
        std::string line = text.substr(pos, end - pos);
        pos = end + 1;
        if (line.empty()) {
            tc.body = pos <= text.size() ? text.substr(pos) : std::string{};
            break;
        }
        if ((line[0] == ' ' || line[0] == '\t') && !tc.request.headers.empty()) {
            tc.header_lines.back() += "\n" + line;
            tc.request.headers.back().value += "\n" + line;
            continue;
        }
        tc.header_lines.push_back(line);
        std::size_t colon = line.find(':');
        tc.request.headers.push_back({line.substr(0, colon), line.substr(colon + 1)});
    }
    for (const auto& h : tc.request.headers) {
        if (sigv4::uri_encode(h.name) == "Host" || h.name == "host") tc.request.host = h.value;
    }
    std::size_t qpos = 0;
    while (qpos < tc.raw_query.size()) {
        std::size_t end = tc.raw_query.find('&', qpos);
        if (end == std::string::npos) end = tc.raw_query.size();
        std::string part = tc.raw_query.substr(qpos, end - qpos);
        qpos = end + 1;
        std::size_t eq = part.find('=');
        auto qname = sigv4::percent_decode(part.substr(0, eq));
        auto qvalue =
            sigv4::percent_decode(eq == std::string::npos ? std::string{} : part.substr(eq + 1));
        tc.request.query.push_back({*qname, *qvalue});
    }
    tc.request.body = sigv4::payload::from_body(tc.body);
    return tc;
}

/// Every case directory of the v4 suite, sorted; empty (and reported missing: the test binary
/// then exits as skipped) when the suite is absent.
inline std::vector<std::string> case_names() {
    std::vector<std::string> names;
    if (!std::filesystem::is_directory(v4_dir())) {
        test_data::missing(
            "AWS's SigV4 test suite (aws-c-auth's tests/aws-signing-test-suite, with its v4/ "
            "cases)",
            suite_dir(), "SIGV4_TEST_SUITE_DIR");
        return names;
    }
    for (const auto& entry : std::filesystem::directory_iterator(v4_dir())) {
        if (entry.is_directory() && std::filesystem::exists(entry.path() / "request.txt")) {
            names.push_back(entry.path().filename().string());
        }
    }
    std::sort(names.begin(), names.end());
    return names;
}

/// The signed request as the suite renders it: request line, the original header lines, the added
/// headers, a blank line, the body.
inline std::string render(const test_case& tc, const std::string& target,
                          const std::vector<sigv4::header>& added) {
    std::string out = tc.request.method + " " + target + " HTTP/1.1\n";
    for (const auto& line : tc.header_lines) out += line + "\n";
    for (const auto& h : added) out += h.name + ":" + h.value + "\n";
    out += "\n" + tc.body;
    return out;
}

}  // namespace suite
