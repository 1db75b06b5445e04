// SPDX-License-Identifier: Apache-2.0
// Times as SigV4 writes them: X-Amz-Date "YYYYMMDDTHHMMSSZ" and the scope date "YYYYMMDD".
#pragma once

#include "sigv4/export.hpp"

#include <chrono>
#include <string>
#include <string_view>

#include "sigv4/result.hpp"

namespace sigv4 {

using sys_seconds = std::chrono::sys_seconds;

/// "20150830T123600Z". Fails with errc::invalid_time outside years 1970..9999.
[[nodiscard]] SIGV4_EXPORT result<std::string> format_amz_date(sys_seconds t);
/// ISO 8601 "2015-08-30T12:36:00Z", as S3 and the Lambda service print times.
[[nodiscard]] SIGV4_EXPORT result<std::string> format_iso8601(sys_seconds t);
/// Parses exactly "YYYYMMDDTHHMMSSZ" (errc::invalid_time otherwise, including Feb 30th).
[[nodiscard]] SIGV4_EXPORT result<sys_seconds> parse_amz_date(std::string_view text);
/// Parses "YYYY-MM-DDTHH:MM:SS[.fff](Z|+HH:MM|-HH:MM)" or the amz form (errc::invalid_time).
[[nodiscard]] SIGV4_EXPORT result<sys_seconds> parse_iso8601(std::string_view text);
/// The current time, truncated to whole seconds.
[[nodiscard]] SIGV4_EXPORT sys_seconds now() noexcept;

}  // namespace sigv4
