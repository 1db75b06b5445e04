// SPDX-License-Identifier: Apache-2.0
// The byte encodings SigV4 and S3 use: RFC 3986 percent-encoding, hex, base64.
#pragma once

#include "sigv4/export.hpp"

#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace sigv4 {

/// Percent-encodes every byte outside RFC 3986 unreserved (A-Z a-z 0-9 - . _ ~) as %XX with
/// uppercase hex. When `keep_slash`, '/' stays as is (paths and S3 keys). Appends to `out`.
SIGV4_EXPORT void uri_encode(std::string_view in, bool keep_slash, std::string& out);
[[nodiscard]] SIGV4_EXPORT std::string uri_encode(std::string_view in, bool keep_slash = false);

/// Decodes %XX escapes (either hex case). '+' stays '+' (this is not form decoding).
/// Returns nullopt for a truncated or non-hex escape.
[[nodiscard]] SIGV4_EXPORT std::optional<std::string> percent_decode(std::string_view in);

/// Lowercase hex of `bytes`.
[[nodiscard]] SIGV4_EXPORT std::string hex_encode(std::span<const unsigned char> bytes);
/// Standard base64 (RFC 4648 §4, with padding).
[[nodiscard]] SIGV4_EXPORT std::string base64_encode(std::span<const unsigned char> bytes);
/// Decodes standard base64 with padding; nullopt on any malformed input.
[[nodiscard]] SIGV4_EXPORT std::optional<std::string> base64_decode(std::string_view text);

/// True when `text` is well-formed UTF-8 (no overlongs, no surrogates, nothing above U+10FFFF).
[[nodiscard]] SIGV4_EXPORT bool is_valid_utf8(std::string_view text) noexcept;

}  // namespace sigv4
