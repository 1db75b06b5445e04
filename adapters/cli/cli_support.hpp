// SPDX-License-Identifier: Apache-2.0
// Pieces of the `presign` command that are pure functions: exit codes, option parsing, URL and
// XML helpers, output formatting. Kept apart from main so the unit tests can reach them.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <sigv4/sigv4.hpp>

#include "presign/cli/aws_config.hpp"

namespace presign::cli {

/// The documented exit codes (adapters/cli/README.md), one per error class.
namespace exit_code {
inline constexpr int ok = 0;
inline constexpr int internal = 1;       ///< a bug or an unexpected failure
inline constexpr int usage = 2;          ///< the command line does not parse
inline constexpr int config = 3;         ///< unknown profile, malformed config file, bad setting
inline constexpr int credentials = 4;    ///< none found, a provider failed, they expire too soon
inline constexpr int invalid_input = 5;  ///< a bad value: expiry, s3:// URI, bucket, key, header...
inline constexpr int verify_failed = 6;  ///< verify rejected the URL; explain found a difference
inline constexpr int io = 7;  ///< a file could not be read or stdout could not be written
inline constexpr int decrypt_failed = 9;  ///< an encrypted file does not decrypt (key, tampering)
}  // namespace exit_code

/// A failure that ends the command with `code` and a one-line message on stderr.
class cli_error : public std::runtime_error {
  public:
    cli_error(int code, const std::string& message) : std::runtime_error(message), code_(code) {}
    [[nodiscard]] int code() const noexcept { return code_; }

  private:
    int code_;
};

/// The exit code of a configuration or credentials failure.
[[nodiscard]] int exit_code_for(config_error::kind what) noexcept;
/// The exit code of a library error. `settings_from_command_line` decides whether a bad region or
/// endpoint is the user's input (invalid_input) or the configuration's (config).
[[nodiscard]] int exit_code_for(sigv4::errc code, bool settings_from_command_line) noexcept;

/// "300", "90s", "15m", "12h", "7d" -> seconds, 1..604800. The error names the problem.
[[nodiscard]] sigv4::result<std::chrono::seconds, std::string> parse_expires(std::string_view text);
/// A duration flag's value ("90", "90s", "15m", "12h", "7d") in 1 s..max; errors name `flag` and
/// say the maximum as `max_words`.
[[nodiscard]] sigv4::result<std::chrono::seconds, std::string> parse_duration(
    std::string_view text, std::string_view flag, std::chrono::seconds max,
    std::string_view max_words);

/// A byte count: "10485760", or a number with a unit KB, MB, GB (powers of 1000) or KiB, MiB, GiB
/// (powers of 1024), case-insensitive, e.g. "10MB", "5 GiB". The error names `flag` and the units.
[[nodiscard]] sigv4::result<std::uint64_t, std::string> parse_byte_size(std::string_view text,
                                                                        std::string_view flag);

/// The media type of a file from its name's extension (common document, image, audio, video and
/// archive types), "application/octet-stream" when unknown.
[[nodiscard]] std::string_view media_type_for_file_name(std::string_view name) noexcept;

struct s3_uri {
    std::string bucket;
    std::string key;  ///< taken literally (no percent-decoding), as the AWS CLI does
};
/// "s3://BUCKET/KEY". With `key_required` false (batch prefix) the key may be empty.
[[nodiscard]] sigv4::result<s3_uri, std::string> parse_s3_uri(std::string_view text,
                                                              bool key_required);

/// "Name: value" -> header (value trimmed). Errors: no colon, empty or non-token name.
[[nodiscard]] sigv4::result<sigv4::header, std::string> parse_header_option(std::string_view text);

/// A checksum given as base64 (44 chars) or as 64 hex digits, returned as base64.
[[nodiscard]] sigv4::result<std::string, std::string> normalize_checksum_sha256(
    std::string_view text);

/// 'text' quoted for a POSIX shell.
[[nodiscard]] std::string shell_quote(std::string_view text);

struct parsed_url {
    std::string scheme;  ///< "http" or "https"
    std::string host;    ///< as written, with ":port" when present
    std::string target;  ///< raw path and query, "/bucket/key?X-Amz-..." (fragment dropped)
    std::string raw_query;
};
/// Splits an http(s) URL. Errors: other schemes, no host, spaces or control bytes.
[[nodiscard]] sigv4::result<parsed_url, std::string> parse_url(std::string_view text);

/// The raw (still encoded) name=value pairs of a query string, in order.
[[nodiscard]] std::vector<std::pair<std::string, std::string>> split_query(
    std::string_view raw_query);
/// The decoded value of the first query parameter `name`, if present and decodable.
[[nodiscard]] std::optional<std::string> query_value(std::string_view raw_query,
                                                     std::string_view name);

/// The text of the first <name>...</name> element of an XML document, entities decoded.
[[nodiscard]] std::optional<std::string> xml_element_text(std::string_view xml,
                                                          std::string_view name);

/// A line diff of two texts ("  same", "- ours", "+ theirs" lines); empty when they are equal.
[[nodiscard]] std::string line_diff(std::string_view ours, std::string_view theirs);

/// Replaces the value of X-Amz-Security-Token in a canonical request by a placeholder.
[[nodiscard]] std::string redact_session_token(std::string_view canonical_request);

/// Squashes a message onto one line (library messages are single-line, but be sure).
[[nodiscard]] std::string one_line(std::string_view message);

/// Writes "presign: MESSAGE" to stderr as one line (one write, so lines never interleave).
void write_stderr_line(std::string_view message);

}  // namespace presign::cli
