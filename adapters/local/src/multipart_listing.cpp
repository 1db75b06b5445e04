// SPDX-License-Identifier: Apache-2.0
#include "presign/local/multipart_listing.hpp"

#include <charconv>
#include <cstdint>
#include <limits>

#include "s3_xml.hpp"

namespace presign::local {
namespace {

using detail::add_element;

constexpr std::size_t max_page = 1000;
constexpr std::string_view owner = "<ID>local</ID><DisplayName>local</DisplayName>";

/// A non-negative 32-bit integer parameter; `fallback` when absent.
store_result<std::int64_t> parse_count(const std::optional<std::string>& text,
                                       std::string_view name, std::int64_t fallback) {
    if (!text) return fallback;
    std::int64_t value = 0;
    const char* end = text->data() + text->size();
    const auto [stop, error] = std::from_chars(text->data(), end, value);
    if (text->empty() || error != std::errc{} || stop != end || value < 0 ||
        value > std::numeric_limits<std::int32_t>::max()) {
        return sigv4::unexpected{
            s3_error{400, "InvalidArgument",
                     "Provided " + std::string(name) + " not an integer or within integer range"}};
    }
    return value;
}

}  // namespace

store_result<std::string> list_parts_xml(const object_store& store, std::string_view bucket,
                                         std::string_view key, const list_parts_request& request) {
    auto max_parts = parse_count(request.max_parts, "max-parts", max_page);
    if (!max_parts) return sigv4::unexpected{max_parts.error()};
    auto marker = parse_count(request.part_number_marker, "part-number-marker", 0);
    if (!marker) return sigv4::unexpected{marker.error()};
    auto parts = store.list_parts(bucket, key, request.upload_id);
    if (!parts) return sigv4::unexpected{parts.error()};
    const auto page = static_cast<std::size_t>(std::min<std::int64_t>(*max_parts, max_page));

    std::string listed;
    std::size_t count = 0;
    int last = 0;
    bool truncated = false;
    for (const auto& part : *parts) {
        if (part.part_number <= *marker) continue;
        if (count == page) {
            truncated = true;
            break;
        }
        ++count;
        last = part.part_number;
        listed += "<Part>";
        add_element(listed, "PartNumber", std::to_string(part.part_number));
        add_element(listed, "LastModified", detail::iso_date(part.last_modified));
        add_element(listed, "ETag", part.etag);
        add_element(listed, "Size", std::to_string(part.size));
        listed += "</Part>";
    }
    std::string xml(detail::xml_declaration);
    xml += "<ListPartsResult xmlns=\"";
    xml += detail::s3_namespace;
    xml += "\">";
    add_element(xml, "Bucket", bucket);
    add_element(xml, "Key", key);
    add_element(xml, "UploadId", request.upload_id);
    xml.append("<Initiator>")
        .append(owner)
        .append("</Initiator><Owner>")
        .append(owner)
        .append("</Owner>");
    add_element(xml, "StorageClass", "STANDARD");
    add_element(xml, "PartNumberMarker", std::to_string(*marker));
    add_element(xml, "NextPartNumberMarker", std::to_string(count == 0 ? *marker : last));
    add_element(xml, "MaxParts", std::to_string(*max_parts));
    add_element(xml, "IsTruncated", truncated ? "true" : "false");
    xml += listed;
    xml += "</ListPartsResult>";
    return xml;
}

store_result<std::string> list_multipart_uploads_xml(const object_store& store,
                                                     std::string_view bucket,
                                                     const list_uploads_request& request) {
    auto max_uploads = parse_count(request.max_uploads, "max-uploads", max_page);
    if (!max_uploads) return sigv4::unexpected{max_uploads.error()};
    auto uploads = store.list_multipart_uploads(bucket);
    if (!uploads) return sigv4::unexpected{uploads.error()};
    const auto page = static_cast<std::size_t>(std::min<std::int64_t>(*max_uploads, max_page));

    std::string listed, prefixes, last_prefix, next_key, next_id;
    std::size_t count = 0;
    bool truncated = false;
    for (const auto& upload : *uploads) {
        if (!upload.key.starts_with(request.prefix)) continue;
        if (!request.key_marker.empty()) {
            // After the marker: later keys, or the marker's key with a later upload id.
            if (upload.key < request.key_marker) continue;
            if (upload.key == request.key_marker &&
                (request.upload_id_marker.empty() || upload.upload_id <= request.upload_id_marker))
                continue;
        }
        std::string common;
        if (!request.delimiter.empty()) {
            auto at = upload.key.find(request.delimiter, request.prefix.size());
            if (at != std::string::npos)
                common = upload.key.substr(0, at + request.delimiter.size());
        }
        if (!common.empty() && common == last_prefix) continue;
        if (count == page) {
            truncated = true;
            break;
        }
        ++count;
        next_key = upload.key;
        next_id = upload.upload_id;
        if (!common.empty()) {
            last_prefix = common;
            prefixes += "<CommonPrefixes>";
            add_element(prefixes, "Prefix", common);
            prefixes += "</CommonPrefixes>";
            continue;
        }
        listed += "<Upload>";
        add_element(listed, "Key", upload.key);
        add_element(listed, "UploadId", upload.upload_id);
        listed.append("<Initiator>")
            .append(owner)
            .append("</Initiator><Owner>")
            .append(owner)
            .append("</Owner>");
        add_element(listed, "StorageClass", "STANDARD");
        add_element(listed, "Initiated", detail::iso_date(upload.initiated));
        listed += "</Upload>";
    }
    std::string xml(detail::xml_declaration);
    xml += "<ListMultipartUploadsResult xmlns=\"";
    xml += detail::s3_namespace;
    xml += "\">";
    add_element(xml, "Bucket", bucket);
    add_element(xml, "KeyMarker", request.key_marker);
    add_element(xml, "UploadIdMarker", request.upload_id_marker);
    add_element(xml, "NextKeyMarker", next_key);
    add_element(xml, "NextUploadIdMarker", next_id);
    if (!request.prefix.empty()) add_element(xml, "Prefix", request.prefix);
    if (!request.delimiter.empty()) add_element(xml, "Delimiter", request.delimiter);
    add_element(xml, "MaxUploads", std::to_string(*max_uploads));
    add_element(xml, "IsTruncated", truncated ? "true" : "false");
    xml += listed;
    xml += prefixes;
    xml += "</ListMultipartUploadsResult>";
    return xml;
}

}  // namespace presign::local
