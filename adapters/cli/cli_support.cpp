// SPDX-License-Identifier: Apache-2.0
#include "cli_support.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <limits>

namespace presign::cli {
namespace {

constexpr std::string_view whitespace = " \t";

std::string_view trim(std::string_view text) {
    const auto first = text.find_first_not_of(whitespace);
    if (first == std::string_view::npos) return {};
    return text.substr(first, text.find_last_not_of(whitespace) - first + 1);
}

bool is_token_char(unsigned char c) {
    return std::isalnum(c) != 0 ||
           std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos;
}

std::vector<std::string_view> split_lines(std::string_view text) {
    std::vector<std::string_view> lines;
    while (true) {
        const auto end = text.find('\n');
        lines.push_back(text.substr(0, end));
        if (end == std::string_view::npos) break;
        text.remove_prefix(end + 1);
    }
    return lines;
}

}  // namespace

int exit_code_for(config_error::kind what) noexcept {
    switch (what) {
        case config_error::kind::config:
            return exit_code::config;
        case config_error::kind::credentials:
            return exit_code::credentials;
        case config_error::kind::invalid_input:
            return exit_code::invalid_input;
    }
    return exit_code::internal;
}

int exit_code_for(sigv4::errc code, bool settings_from_command_line) noexcept {
    using sigv4::errc;
    switch (code) {
        case errc::empty_access_key_id:
        case errc::invalid_secret_key:
        case errc::invalid_session_token:
        case errc::credentials_expired:
        case errc::credentials_expire_first:
            return exit_code::credentials;
        case errc::invalid_region:
        case errc::invalid_endpoint:
            return settings_from_command_line ? exit_code::invalid_input : exit_code::config;
        case errc::crypto_failure:
            return exit_code::internal;
        default:
            return exit_code::invalid_input;
    }
}

sigv4::result<std::chrono::seconds, std::string> parse_expires(std::string_view text) {
    return parse_duration(text, "--expires", sigv4::max_expiry,
                          "S3's maximum of 7 days (604800 s)");
}

sigv4::result<std::chrono::seconds, std::string> parse_duration(std::string_view text,
                                                                std::string_view flag,
                                                                std::chrono::seconds max,
                                                                std::string_view max_words) {
    const std::string shown(text);
    std::string_view digits = text;
    long long unit = 1;
    if (!digits.empty()) {
        switch (digits.back()) {
            case 's':
                unit = 1;
                digits.remove_suffix(1);
                break;
            case 'm':
                unit = 60;
                digits.remove_suffix(1);
                break;
            case 'h':
                unit = 3600;
                digits.remove_suffix(1);
                break;
            case 'd':
                unit = 86400;
                digits.remove_suffix(1);
                break;
            default:
                break;
        }
    }
    if (digits.empty() || digits.size() > 9 ||
        !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; })) {
        return sigv4::unexpected{std::string(flag) + " '" + shown +
                                 "' is not a duration (seconds, or a number with s, m, h or d)"};
    }
    long long value = 0;
    for (char c : digits) value = value * 10 + (c - '0');
    const long long seconds = value * unit;
    if (seconds < 1)
        return sigv4::unexpected{std::string(flag) + " " + shown + " is too short (at least 1 s)"};
    if (seconds > max.count()) {
        return sigv4::unexpected{std::string(flag) + " " + shown + " is longer than " +
                                 std::string(max_words)};
    }
    return std::chrono::seconds{seconds};
}

sigv4::result<std::uint64_t, std::string> parse_byte_size(std::string_view text,
                                                          std::string_view flag) {
    const auto refuse = [&] {
        return sigv4::unexpected{std::string(flag) + " '" + std::string(text) +
                                 "' is not a size (bytes, or a number with KB, MB, GB, KiB, MiB "
                                 "or GiB)"};
    };
    const auto digits_end =
        std::find_if(text.begin(), text.end(), [](char c) { return c < '0' || c > '9'; });
    const std::string_view digits(text.begin(), digits_end);
    std::string unit(trim(std::string_view(digits_end, text.end())));
    std::transform(unit.begin(), unit.end(), unit.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    static constexpr std::pair<std::string_view, std::uint64_t> units[] = {
        {"", 1},
        {"b", 1},
        {"kb", 1000ull},
        {"mb", 1000ull * 1000},
        {"gb", 1000ull * 1000 * 1000},
        {"kib", 1ull << 10},
        {"mib", 1ull << 20},
        {"gib", 1ull << 30}};
    const auto found = std::find_if(std::begin(units), std::end(units),
                                    [&](const auto& u) { return u.first == unit; });
    if (digits.empty() || digits.size() > 12 || found == std::end(units)) return refuse();
    std::uint64_t value = 0;
    for (const char c : digits) value = value * 10 + static_cast<std::uint64_t>(c - '0');
    if (value > std::numeric_limits<std::uint64_t>::max() / found->second) return refuse();
    return value * found->second;
}

std::string_view media_type_for_file_name(std::string_view name) noexcept {
    static constexpr std::pair<std::string_view, std::string_view> types[] = {
        {"txt", "text/plain"},
        {"md", "text/markdown"},
        {"csv", "text/csv"},
        {"html", "text/html"},
        {"htm", "text/html"},
        {"css", "text/css"},
        {"js", "text/javascript"},
        {"json", "application/json"},
        {"xml", "application/xml"},
        {"pdf", "application/pdf"},
        {"zip", "application/zip"},
        {"gz", "application/gzip"},
        {"tar", "application/x-tar"},
        {"7z", "application/x-7z-compressed"},
        {"doc", "application/msword"},
        {"docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"},
        {"xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"},
        {"pptx", "application/vnd.openxmlformats-officedocument.presentationml.presentation"},
        {"odt", "application/vnd.oasis.opendocument.text"},
        {"png", "image/png"},
        {"jpg", "image/jpeg"},
        {"jpeg", "image/jpeg"},
        {"gif", "image/gif"},
        {"webp", "image/webp"},
        {"svg", "image/svg+xml"},
        {"heic", "image/heic"},
        {"avif", "image/avif"},
        {"ico", "image/x-icon"},
        {"mp3", "audio/mpeg"},
        {"m4a", "audio/mp4"},
        {"wav", "audio/wav"},
        {"ogg", "audio/ogg"},
        {"flac", "audio/flac"},
        {"mp4", "video/mp4"},
        {"mov", "video/quicktime"},
        {"webm", "video/webm"},
        {"mkv", "video/x-matroska"}};
    const auto slash = name.find_last_of('/');
    const auto base = slash == std::string_view::npos ? name : name.substr(slash + 1);
    const auto dot = base.rfind('.');
    if (dot == std::string_view::npos || dot == 0) return "application/octet-stream";
    std::string extension(base.substr(dot + 1));
    std::transform(extension.begin(), extension.end(), extension.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    for (const auto& [known, type] : types) {
        if (extension == known) return type;
    }
    return "application/octet-stream";
}

sigv4::result<s3_uri, std::string> parse_s3_uri(std::string_view text, bool key_required) {
    constexpr std::string_view scheme = "s3://";
    if (!text.starts_with(scheme)) {
        return sigv4::unexpected{"'" + std::string(text) + "' is not an s3://BUCKET/KEY URI"};
    }
    text.remove_prefix(scheme.size());
    const auto slash = text.find('/');
    s3_uri uri;
    uri.bucket = std::string(text.substr(0, slash));
    if (slash != std::string_view::npos) uri.key = std::string(text.substr(slash + 1));
    if (uri.bucket.empty()) return sigv4::unexpected{std::string("the s3:// URI has no bucket")};
    if (key_required && uri.key.empty()) {
        return sigv4::unexpected{"s3://" + uri.bucket +
                                 " has no object key (expected s3://BUCKET/KEY)"};
    }
    return uri;
}

sigv4::result<sigv4::header, std::string> parse_header_option(std::string_view text) {
    const auto colon = text.find(':');
    if (colon == std::string_view::npos) {
        return sigv4::unexpected{"--header '" + std::string(text) +
                                 "' has no colon (expected 'Name: value')"};
    }
    const auto name = trim(text.substr(0, colon));
    if (name.empty()) return sigv4::unexpected{std::string("--header has an empty name")};
    if (!std::all_of(name.begin(), name.end(),
                     [](char c) { return is_token_char(static_cast<unsigned char>(c)); })) {
        return sigv4::unexpected{"--header name '" + std::string(name) +
                                 "' is not a valid header name"};
    }
    const auto value = trim(text.substr(colon + 1));
    if (value.find_first_of("\r\n") != std::string_view::npos ||
        value.find('\0') != std::string_view::npos) {
        return sigv4::unexpected{"--header " + std::string(name) +
                                 " has a line break in its value"};
    }
    return sigv4::header{std::string(name), std::string(value)};
}

sigv4::result<std::string, std::string> normalize_checksum_sha256(std::string_view text) {
    if (text.size() == 64 && std::all_of(text.begin(), text.end(), [](char c) {
            return std::isxdigit(static_cast<unsigned char>(c)) != 0;
        })) {
        std::array<unsigned char, 32> bytes{};
        for (std::size_t i = 0; i < 32; ++i) {
            auto nibble = [](char c) {
                return static_cast<unsigned char>(
                    std::isdigit(static_cast<unsigned char>(c)) != 0
                        ? c - '0'
                        : std::tolower(static_cast<unsigned char>(c)) - 'a' + 10);
            };
            bytes[i] =
                static_cast<unsigned char>((nibble(text[2 * i]) << 4) | nibble(text[2 * i + 1]));
        }
        return sigv4::base64_encode(bytes);
    }
    const auto decoded = sigv4::base64_decode(text);
    if (!decoded || decoded->size() != 32) {
        return sigv4::unexpected{
            std::string("--checksum-sha256 must be a SHA-256 digest in base64 (44 characters) or "
                        "hex (64 digits)")};
    }
    return std::string(text);
}

std::string shell_quote(std::string_view text) {
    std::string out = "'";
    for (char c : text) {
        if (c == '\'') {
            out += "'\\''";
        } else {
            out += c;
        }
    }
    out += '\'';
    return out;
}

sigv4::result<parsed_url, std::string> parse_url(std::string_view text) {
    parsed_url url;
    const auto scheme_end = text.find("://");
    if (scheme_end == std::string_view::npos) {
        return sigv4::unexpected{std::string("the URL has no http:// or https:// scheme")};
    }
    std::string scheme(text.substr(0, scheme_end));
    std::transform(scheme.begin(), scheme.end(), scheme.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (scheme != "http" && scheme != "https") {
        return sigv4::unexpected{"unsupported URL scheme '" + scheme +
                                 "' (expected http or https)"};
    }
    url.scheme = scheme;
    text.remove_prefix(scheme_end + 3);
    if (const auto hash = text.find('#'); hash != std::string_view::npos)
        text = text.substr(0, hash);
    if (std::any_of(text.begin(), text.end(),
                    [](char c) { return static_cast<unsigned char>(c) <= 0x20 || c == 0x7f; })) {
        return sigv4::unexpected{std::string("the URL contains spaces or control characters")};
    }
    const auto path_start = text.find_first_of("/?");
    url.host = std::string(text.substr(0, path_start));
    if (url.host.empty() || url.host.find('@') != std::string::npos) {
        return sigv4::unexpected{std::string("the URL has no host")};
    }
    std::string target = path_start == std::string_view::npos
                             ? std::string("/")
                             : std::string(text.substr(path_start));
    if (target.front() == '?') target.insert(0, "/");
    if (const auto question = target.find('?'); question != std::string::npos) {
        url.raw_query = target.substr(question + 1);
    }
    url.target = std::move(target);
    return url;
}

std::vector<std::pair<std::string, std::string>> split_query(std::string_view raw_query) {
    std::vector<std::pair<std::string, std::string>> out;
    while (!raw_query.empty()) {
        const auto amp = raw_query.find('&');
        const auto pair = raw_query.substr(0, amp);
        raw_query = amp == std::string_view::npos ? std::string_view{} : raw_query.substr(amp + 1);
        if (pair.empty()) continue;
        const auto equals = pair.find('=');
        out.emplace_back(std::string(pair.substr(0, equals)),
                         equals == std::string_view::npos ? std::string()
                                                          : std::string(pair.substr(equals + 1)));
    }
    return out;
}

std::optional<std::string> query_value(std::string_view raw_query, std::string_view name) {
    for (const auto& [raw_name, raw_value] : split_query(raw_query)) {
        auto decoded_name = sigv4::percent_decode(raw_name);
        if (decoded_name && *decoded_name == name) return sigv4::percent_decode(raw_value);
    }
    return std::nullopt;
}

std::optional<std::string> xml_element_text(std::string_view xml, std::string_view name) {
    const std::string open = "<" + std::string(name) + ">";
    const std::string close = "</" + std::string(name) + ">";
    const auto start = xml.find(open);
    if (start == std::string_view::npos) return std::nullopt;
    const auto body_start = start + open.size();
    const auto end = xml.find(close, body_start);
    if (end == std::string_view::npos) return std::nullopt;
    const auto body = xml.substr(body_start, end - body_start);
    std::string out;
    for (std::size_t i = 0; i < body.size(); ++i) {
        if (body[i] != '&') {
            out += body[i];
            continue;
        }
        const auto semicolon = body.find(';', i);
        if (semicolon == std::string_view::npos) {
            out += body[i];
            continue;
        }
        const auto entity = body.substr(i + 1, semicolon - i - 1);
        std::optional<unsigned long> code;
        if (entity == "amp")
            code = '&';
        else if (entity == "lt")
            code = '<';
        else if (entity == "gt")
            code = '>';
        else if (entity == "quot")
            code = '"';
        else if (entity == "apos")
            code = '\'';
        else if (entity.size() > 1 && entity[0] == '#') {
            const bool hex = entity[1] == 'x' || entity[1] == 'X';
            const std::string digits(entity.substr(hex ? 2 : 1));
            char* parse_end = nullptr;
            const unsigned long value = std::strtoul(digits.c_str(), &parse_end, hex ? 16 : 10);
            if (!digits.empty() && parse_end != nullptr && *parse_end == '\0') code = value;
        }
        if (!code || *code > 0x10FFFF) {
            out += body[i];
            continue;
        }
        const auto cp = *code;  // UTF-8 encode
        if (cp < 0x80) {
            out += static_cast<char>(cp);
        } else if (cp < 0x800) {
            out += static_cast<char>(0xC0 | (cp >> 6));
            out += static_cast<char>(0x80 | (cp & 0x3F));
        } else if (cp < 0x10000) {
            out += static_cast<char>(0xE0 | (cp >> 12));
            out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
            out += static_cast<char>(0x80 | (cp & 0x3F));
        } else {
            out += static_cast<char>(0xF0 | (cp >> 18));
            out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
            out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
            out += static_cast<char>(0x80 | (cp & 0x3F));
        }
        i = semicolon;
    }
    return out;
}

std::string line_diff(std::string_view ours, std::string_view theirs) {
    if (ours == theirs) return {};
    const auto a = split_lines(ours);
    const auto b = split_lines(theirs);
    // Longest common subsequence over lines; canonical requests are a few dozen lines at most.
    std::vector<std::vector<std::size_t>> lcs(a.size() + 1,
                                              std::vector<std::size_t>(b.size() + 1, 0));
    for (std::size_t i = a.size(); i-- > 0;) {
        for (std::size_t j = b.size(); j-- > 0;) {
            lcs[i][j] =
                a[i] == b[j] ? lcs[i + 1][j + 1] + 1 : std::max(lcs[i + 1][j], lcs[i][j + 1]);
        }
    }
    std::string out;
    std::size_t i = 0;
    std::size_t j = 0;
    while (i < a.size() || j < b.size()) {
        if (i < a.size() && j < b.size() && a[i] == b[j]) {
            out.append("  ").append(a[i++]).append("\n");
            ++j;
        } else if (i < a.size() && (j == b.size() || lcs[i + 1][j] >= lcs[i][j + 1])) {
            out.append("- ").append(a[i++]).append("\n");
        } else {
            out.append("+ ").append(b[j++]).append("\n");
        }
    }
    return out;
}

std::string redact_session_token(std::string_view canonical_request) {
    std::string out(canonical_request);
    constexpr std::string_view name = "X-Amz-Security-Token=";
    std::size_t at = 0;
    while ((at = out.find(name, at)) != std::string::npos) {
        if (at != 0 && out[at - 1] != '&' && out[at - 1] != '\n') {
            at += name.size();
            continue;
        }
        const auto value_start = at + name.size();
        const auto value_end = out.find_first_of("&\n", value_start);
        out.replace(value_start,
                    (value_end == std::string::npos ? out.size() : value_end) - value_start,
                    "<session-token>");
        at = value_start;
    }
    return out;
}

std::string one_line(std::string_view message) {
    std::string out(message);
    std::replace_if(
        out.begin(), out.end(), [](char c) { return c == '\n' || c == '\r'; }, ' ');
    return out;
}

void write_stderr_line(std::string_view message) {
    const std::string line = "presign: " + one_line(message) + "\n";
    std::fwrite(line.data(), 1, line.size(), stderr);
}

}  // namespace presign::cli
