// SPDX-License-Identifier: Apache-2.0
// Where a bucket's objects live: shared by s3::locate and the S3 presign path.
#pragma once

#include <string>
#include <string_view>

#include "sigv4/result.hpp"
#include "sigv4/s3.hpp"

namespace sigv4::detail {

struct bucket_target {
    std::string scheme;  ///< "https" or "http"
    std::string host;    ///< with ":port" when not the default
    std::string
        path_prefix;  ///< "/" (virtual-hosted) or "/bucket/" (path style); needs no encoding
};

/// Validates the region and bucket name and resolves scheme, host and path prefix (assigning into
/// `out`, whose strings keep their capacity). Errors: errc::invalid_region,
/// errc::invalid_bucket_name, errc::invalid_endpoint.
[[nodiscard]] result<void> resolve_bucket_target(std::string_view bucket, const s3::endpoint& where,
                                                 bucket_target& out);

}  // namespace sigv4::detail
