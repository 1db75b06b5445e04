// SPDX-License-Identifier: Apache-2.0
// The query-decoding table every transport is tested with (tests/support/query_decoding.json).
#pragma once

#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <sigv4/request.hpp>

namespace query_table {

struct row {
    std::string raw;                        ///< the query after '?', with the prefix filled in
    std::vector<sigv4::query_param> query;  ///< decoded, in order (when no error)
    std::optional<std::string> error;       ///< the telling part of the invalid_query message
};

inline std::string with_prefix(std::string text, const std::string& prefix) {
    for (std::size_t at = text.find("{prefix}"); at != std::string::npos;
         at = text.find("{prefix}", at)) {
        text.replace(at, 8, prefix);
        at += prefix.size();
    }
    return text;
}

/// The rows, '{prefix}' replaced by `prefix`.
inline std::vector<row> rows(const std::string& prefix) {
    std::ifstream in(std::string(PRESIGN_TESTS_DIR) + "/support/query_decoding.json");
    std::stringstream text;
    text << in.rdbuf();
    const auto doc = nlohmann::json::parse(text.str());
    std::vector<row> out;
    for (const auto& r : doc.at("rows")) {
        row made;
        made.raw = with_prefix(r.at("raw").get<std::string>(), prefix);
        if (r.contains("error")) {
            made.error = r.at("error").get<std::string>();
        } else {
            for (const auto& pair : r.at("query")) {
                made.query.push_back({with_prefix(pair.at(0).get<std::string>(), prefix),
                                      with_prefix(pair.at(1).get<std::string>(), prefix)});
            }
        }
        out.push_back(std::move(made));
    }
    return out;
}

}  // namespace query_table
