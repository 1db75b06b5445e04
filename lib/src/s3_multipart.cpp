// SPDX-License-Identifier: Apache-2.0
// Presigned multipart upload steps, all through presign_object_request (the generic path).
#include <string>
#include <vector>

#include "sigv4/s3_multipart.hpp"

namespace sigv4::s3 {

namespace {

result<void> check_upload_id(std::string_view upload_id) {
    if (upload_id.empty() || upload_id.size() > max_upload_id_bytes) {
        return fail(errc::invalid_option,
                    "the upload id must be 1.." + std::to_string(max_upload_id_bytes) + " bytes");
    }
    return {};
}

result<presigned_request> presign_on_upload(const credentials& creds, std::string_view method,
                                            std::string_view bucket, std::string_view key,
                                            const endpoint& where, std::string_view upload_id,
                                            std::vector<query_param> query,
                                            const object_options& options) {
    if (auto ok = check_upload_id(upload_id); !ok) return unexpected{ok.error()};
    query.push_back({"uploadId", std::string(upload_id)});
    return presign_object_request(creds, method, bucket, key, where, query, options);
}

}  // namespace

result<presigned_request> presign_create_multipart_upload(const credentials& creds,
                                                          std::string_view bucket,
                                                          std::string_view key,
                                                          const endpoint& where,
                                                          const object_options& options) {
    const query_param uploads{"uploads", ""};
    return presign_object_request(creds, "POST", bucket, key, where, std::span(&uploads, 1),
                                  options);
}

result<presigned_request> presign_upload_part(const credentials& creds, std::string_view bucket,
                                              std::string_view key, const endpoint& where,
                                              std::string_view upload_id, std::uint32_t part_number,
                                              const object_options& options) {
    if (part_number < 1 || part_number > max_part_number) {
        return fail(errc::invalid_option, "the part number must be 1..10000");
    }
    if (!options.content_length || *options.content_length > max_part_bytes) {
        return fail(errc::invalid_option,
                    "an UploadPart needs its exact Content-Length, at most 5 GiB");
    }
    return presign_on_upload(creds, "PUT", bucket, key, where, upload_id,
                             {{"partNumber", std::to_string(part_number)}}, options);
}

result<presigned_request> presign_list_parts(const credentials& creds, std::string_view bucket,
                                             std::string_view key, const endpoint& where,
                                             std::string_view upload_id,
                                             const list_parts_options& list,
                                             const object_options& options) {
    std::vector<query_param> query;
    if (list.max_parts) query.push_back({"max-parts", std::to_string(*list.max_parts)});
    if (list.part_number_marker)
        query.push_back({"part-number-marker", std::to_string(*list.part_number_marker)});
    return presign_on_upload(creds, "GET", bucket, key, where, upload_id, std::move(query),
                             options);
}

result<presigned_request> presign_complete_multipart_upload(
    const credentials& creds, std::string_view bucket, std::string_view key, const endpoint& where,
    std::string_view upload_id, const object_options& options) {
    return presign_on_upload(creds, "POST", bucket, key, where, upload_id, {}, options);
}

result<presigned_request> presign_abort_multipart_upload(
    const credentials& creds, std::string_view bucket, std::string_view key, const endpoint& where,
    std::string_view upload_id, const object_options& options) {
    return presign_on_upload(creds, "DELETE", bucket, key, where, upload_id, {}, options);
}

}  // namespace sigv4::s3
