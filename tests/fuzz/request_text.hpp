// SPDX-License-Identifier: Apache-2.0
// The text format of the request fuzzers' inputs (fuzz_verify_request, fuzz_verify_paths), so
// seeds stay readable:
//   line 1: flags (each fuzzer documents its own)
//   line 2: method
//   line 3: request target
//   then header lines "Name:value" until an empty line; the rest is the body.
#pragma once

#include <sigv4/verify.hpp>

#include <string>
#include <string_view>

namespace fuzz_input {

inline std::string_view next_line(std::string_view& text) {
    std::size_t end = text.find('\n');
    std::string_view line = text.substr(0, end);
    text.remove_prefix(end == std::string_view::npos ? text.size() : end + 1);
    return line;
}

struct request_text {
    std::string_view flags;
    sigv4::received_request request;  ///< body not set: the fuzzer decides how to pass it
    std::string_view body;

    [[nodiscard]] bool has(char flag) const { return flags.find(flag) != std::string_view::npos; }
};

inline request_text parse(std::string_view text) {
    request_text out;
    out.flags = next_line(text);
    out.request.method = std::string(next_line(text));
    out.request.target = std::string(next_line(text));
    while (!text.empty()) {
        std::string_view line = next_line(text);
        if (line.empty()) break;
        std::size_t colon = line.find(':');
        if (colon == std::string_view::npos) {
            out.request.headers.push_back({std::string(line), {}});
        } else {
            out.request.headers.push_back(
                {std::string(line.substr(0, colon)), std::string(line.substr(colon + 1))});
        }
    }
    out.body = text;
    return out;
}

}  // namespace fuzz_input
