// SPDX-License-Identifier: Apache-2.0
// Time and lifetime checks shared by the generic signer and the S3 presign path.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "sigv4/credentials.hpp"
#include "sigv4/result.hpp"
#include "sigv4/time.hpp"

namespace sigv4::detail {

/// X-Amz-Date ("YYYYMMDDTHHMMSSZ") and the scope date of one signing time.
struct date_strings {
    sys_seconds at{std::chrono::seconds{-1}};
    char amz_date[16] = {};
    [[nodiscard]] std::string_view amz() const { return {amz_date, 16}; }
    [[nodiscard]] std::string_view scope_date() const { return {amz_date, 8}; }
};

/// The date strings of `t`, formatted once per second per thread. The pointer stays valid until
/// the next call on the same thread. Error: errc::invalid_time (outside years 0000..9999).
[[nodiscard]] result<const date_strings*> dates_for(sys_seconds t);

/// ISO 8601 text of `t` for error messages.
[[nodiscard]] std::string time_text(sys_seconds t);

/// Error errc::credentials_expired when the credentials are expired at `at`.
[[nodiscard]] result<void> check_not_expired(const credentials& creds, sys_seconds at);

/// The lifetime a presigned URL signed at `signed_at` gets: `requested` (1..604800 s, else
/// errc::invalid_expiry), unless the credentials are expired (errc::credentials_expired) or expire
/// first (errc::credentials_expire_first, or shortened when `clamp`).
[[nodiscard]] result<std::chrono::seconds> presign_lifetime(const credentials& creds,
                                                            sys_seconds signed_at,
                                                            std::chrono::seconds requested,
                                                            bool clamp);

}  // namespace sigv4::detail
