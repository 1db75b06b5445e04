// SPDX-License-Identifier: Apache-2.0
// ListParts and ListMultipartUploads of the local store, independent of the HTTP layer: the
// decoded query parameters in, S3's XML out.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "presign/local/object_store.hpp"

namespace presign::local {

/// GET /bucket/key?uploadId=ID[&max-parts=N][&part-number-marker=P] (raw texts, nullopt when
/// absent).
struct list_parts_request {
    std::string upload_id;
    std::optional<std::string> max_parts;           ///< 0..2147483647; S3 answers at most 1000
    std::optional<std::string> part_number_marker;  ///< list the parts after this number
};

/// ListPartsResult XML. Errors: NoSuchBucket, NoSuchUpload (404); InvalidArgument (400) for a
/// max-parts or part-number-marker that is not an integer in 0..2147483647.
[[nodiscard]] store_result<std::string> list_parts_xml(const object_store& store,
                                                       std::string_view bucket,
                                                       std::string_view key,
                                                       const list_parts_request& request);

/// GET /bucket?uploads[&prefix=][&delimiter=][&key-marker=][&upload-id-marker=][&max-uploads=].
struct list_uploads_request {
    std::string prefix;
    std::string delimiter;
    std::string key_marker;
    std::string upload_id_marker;  ///< only with key_marker: uploads of that key after this id
    std::optional<std::string> max_uploads;  ///< 0..2147483647; S3 answers at most 1000
};

/// ListMultipartUploadsResult XML: uploads by key, then initiation; with a delimiter, keys that
/// share a prefix up to it are one CommonPrefixes entry. Errors: NoSuchBucket (404);
/// InvalidArgument (400) for a bad max-uploads.
[[nodiscard]] store_result<std::string> list_multipart_uploads_xml(
    const object_store& store, std::string_view bucket, const list_uploads_request& request);

}  // namespace presign::local
