// SPDX-License-Identifier: Apache-2.0
// Internal: the small XML and date spellings every S3 answer of the local store uses.
#pragma once

#include <cstdint>
#include <ctime>
#include <string>
#include <string_view>

namespace presign::local::detail {

inline constexpr std::string_view xml_declaration = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
inline constexpr std::string_view s3_namespace = "http://s3.amazonaws.com/doc/2006-03-01/";

inline std::string xml_escape(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (const char c : text) {
        switch (c) {
            case '&':
                out += "&amp;";
                break;
            case '<':
                out += "&lt;";
                break;
            case '>':
                out += "&gt;";
                break;
            case '"':
                out += "&quot;";
                break;
            case '\'':
                out += "&apos;";
                break;
            case '\r':
                out += "&#13;";
                break;
            default:
                out += c;
        }
    }
    return out;
}

inline void add_element(std::string& xml, std::string_view name, std::string_view value) {
    xml += '<';
    xml += name;
    xml += '>';
    xml += xml_escape(value);
    xml += "</";
    xml += name;
    xml += '>';
}

/// "2009-10-12T17:50:30.000Z", as S3 prints LastModified in listings.
inline std::string iso_date(std::int64_t unix_seconds) {
    const std::time_t t = static_cast<std::time_t>(unix_seconds);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buffer[64];
    const std::size_t n = std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%S.000Z", &tm);
    return std::string(buffer, n);
}

}  // namespace presign::local::detail
