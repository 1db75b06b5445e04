// SPDX-License-Identifier: Apache-2.0
// Presigned S3 multipart uploads: each step is one presigned request the client sends itself.
//   CreateMultipartUpload    POST   /key?uploads=             (type, SSE, metadata signed as
//   headers) UploadPart               PUT    /key?partNumber=N&uploadId=ID  (exact Content-Length
//   signed) ListParts                GET    /key?uploadId=ID[&max-parts=M][&part-number-marker=P]
//   CompleteMultipartUpload  POST   /key?uploadId=ID          (the client sends the part list XML)
//   AbortMultipartUpload     DELETE /key?uploadId=ID
// Every query parameter is signed, so the client can change none of them. Thread safety and errors
// as presign_object_request (sigv4/s3.hpp), plus errc::invalid_option for an upload id that is
// empty or longer than max_upload_id_bytes, a part number outside 1..max_part_number, or an
// UploadPart without a content length (or one above max_part_bytes).
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "sigv4/s3.hpp"

namespace sigv4::s3 {

inline constexpr std::uint32_t max_part_number = 10'000;     ///< S3's limit on parts
inline constexpr std::uint64_t min_part_bytes = 5ull << 20;  ///< every part but the last
inline constexpr std::uint64_t max_part_bytes = 5ull << 30;  ///< 5 GiB
inline constexpr std::uint64_t max_multipart_object_bytes = 5ull << 40;  ///< 5 TiB
inline constexpr std::size_t max_upload_id_bytes = 1024;

/// POST /key?uploads=. Content type, SSE, metadata and extra headers of `options` are signed.
[[nodiscard]] SIGV4_EXPORT result<presigned_request> presign_create_multipart_upload(
    const credentials& creds, std::string_view bucket, std::string_view key, const endpoint& where,
    const object_options& options = {});

/// PUT /key?partNumber=N&uploadId=ID; options.content_length (required) is signed as
/// Content-Length.
[[nodiscard]] SIGV4_EXPORT result<presigned_request> presign_upload_part(
    const credentials& creds, std::string_view bucket, std::string_view key, const endpoint& where,
    std::string_view upload_id, std::uint32_t part_number, const object_options& options);

/// Which page of ListParts to ask for.
struct list_parts_options {
    std::optional<std::uint32_t> max_parts;           ///< max-parts (S3 answers at most 1000)
    std::optional<std::uint32_t> part_number_marker;  ///< part-number-marker: list parts after it
};

/// GET /key?uploadId=ID with the paging parameters that are set.
[[nodiscard]] SIGV4_EXPORT result<presigned_request> presign_list_parts(
    const credentials& creds, std::string_view bucket, std::string_view key, const endpoint& where,
    std::string_view upload_id, const list_parts_options& list = {},
    const object_options& options = {});

/// POST /key?uploadId=ID.
[[nodiscard]] SIGV4_EXPORT result<presigned_request> presign_complete_multipart_upload(
    const credentials& creds, std::string_view bucket, std::string_view key, const endpoint& where,
    std::string_view upload_id, const object_options& options = {});

/// DELETE /key?uploadId=ID.
[[nodiscard]] SIGV4_EXPORT result<presigned_request> presign_abort_multipart_upload(
    const credentials& creds, std::string_view bucket, std::string_view key, const endpoint& where,
    std::string_view upload_id, const object_options& options = {});

}  // namespace sigv4::s3
