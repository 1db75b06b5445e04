// SPDX-License-Identifier: Apache-2.0
// Presigned ListObjectsV2: its query parameters, signed through presign_bucket_request (the
// generic path; the object presign hot path and its caches are not involved).
#include <cstdint>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "sigv4/s3.hpp"

namespace sigv4::s3 {

result<presigned_request> presign_list_objects_v2(const credentials& creds, std::string_view bucket,
                                                  const endpoint& where,
                                                  const list_objects_options& list,
                                                  const object_options& options) {
    if (list.max_keys &&
        *list.max_keys > static_cast<std::uint32_t>(std::numeric_limits<std::int32_t>::max())) {
        return fail(errc::invalid_option, "max-keys must be an integer between 0 and 2147483647");
    }
    std::vector<query_param> query;
    query.reserve(8);
    query.push_back({"list-type", "2"});
    query.push_back({"prefix", list.prefix});
    if (!list.delimiter.empty()) query.push_back({"delimiter", list.delimiter});
    if (list.max_keys) query.push_back({"max-keys", std::to_string(*list.max_keys)});
    if (!list.continuation_token.empty())
        query.push_back({"continuation-token", list.continuation_token});
    if (!list.start_after.empty()) query.push_back({"start-after", list.start_after});
    if (list.url_encoding) query.push_back({"encoding-type", "url"});
    if (list.fetch_owner) query.push_back({"fetch-owner", "true"});
    return presign_bucket_request(creds, "GET", bucket, where, query, options);
}

}  // namespace sigv4::s3
