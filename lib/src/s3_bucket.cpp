// SPDX-License-Identifier: Apache-2.0
// Presigned requests on a bucket (ListObjectsV2 and other bucket-level GETs). Kept apart from
// s3_presign.cpp so the object presign hot path and its caches stay as they are.
#include <cstdint>
#include <limits>
#include <string>
#include <utility>

#include "detail/canonical.hpp"
#include "detail/s3_target.hpp"
#include "sigv4/s3.hpp"

namespace sigv4::s3 {

result<presigned_request> presign_bucket_request(const credentials& creds, std::string_view method,
                                                 std::string_view bucket, const endpoint& where,
                                                 std::vector<query_param> query,
                                                 const object_options& options) {
    if (!detail::is_scope_name(where.region)) {
        return fail(errc::invalid_region, "the region '" + where.region + "' is not [a-z0-9-]+");
    }
    detail::bucket_target target;
    if (auto ok = detail::resolve_bucket_target(bucket, where, target); !ok)
        return unexpected{ok.error()};
    for (const auto& param : query) {
        if (param.name.empty()) return fail(errc::invalid_query, "a query parameter name is empty");
    }
    http_request request;
    request.method.assign(method);
    request.scheme = std::move(target.scheme);
    request.host = std::move(target.host);
    // "/bucket/" names the bucket as "/bucket" does; the shorter form is what SDKs send.
    request.path = std::move(target.path_prefix);
    if (request.path.size() > 1) request.path.pop_back();
    request.query = std::move(query);
    request.body = payload::unsigned_payload();

    signing_options signing = signing_options::for_s3(where.region);
    signing.expires = options.expires;
    signing.signing_time = options.signing_time;
    signing.clamp_expiry = options.clamp_expiry;
    signing.capture_artifacts = options.capture_artifacts;
    return presign(creds, request, signing);
}

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
    return presign_bucket_request(creds, "GET", bucket, where, std::move(query), options);
}

}  // namespace sigv4::s3
