// SPDX-License-Identifier: Apache-2.0
// ListObjects (V1) and ListObjectsV2 of the local store, independent of the HTTP layer: the
// decoded query parameters in, S3's ListBucketResult XML out.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "presign/local/object_store.hpp"

namespace presign::local {

/// A bucket listing as the query string asked for it (decoded values; a parameter that was not
/// sent is nullopt, which S3 answers differently from one sent empty).
struct list_request {
    bool v2 = false;  ///< list-type=2 (any other list-type, or none, is V1 as S3 does it)
    std::string prefix;
    std::string delimiter;                ///< empty: no grouping (and no Delimiter element, as S3)
    std::optional<std::string> max_keys;  ///< raw text: S3 refuses non-integers
    std::optional<std::string> start_after;         ///< V2 start-after, V1 marker
    std::optional<std::string> continuation_token;  ///< V2 only
    std::optional<std::string> encoding_type;       ///< only "url" is valid
    bool fetch_owner = false;                       ///< V2 fetch-owner=true (V1 always has Owner)
};

/// Lists `bucket` and renders the XML body S3 answers with status 200. Keys sort as UTF-8 bytes;
/// at most 1000 entries (keys plus common prefixes) per page; a common prefix is listed once,
/// on the page where its first key falls, and skipped by any later page or marker at or after it.
/// The continuation token is opaque to clients (base64 of the last entry returned).
/// Errors: NoSuchBucket (404); InvalidArgument (400) for a max-keys that is not an integer in
/// 0..2147483647, an encoding-type other than "url", or a continuation token this store did not
/// issue.
[[nodiscard]] store_result<std::string> list_objects_xml(const object_store& store,
                                                         std::string_view bucket,
                                                         const list_request& request);

/// S3's spelling of names under encoding-type=url: form encoding (a space is '+', '+' is %2B)
/// where A-Z a-z 0-9 - _ . * and '/' stay as they are and every other byte is %XX (uppercase).
[[nodiscard]] std::string s3_url_encode(std::string_view text);

}  // namespace presign::local
