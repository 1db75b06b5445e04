// SPDX-License-Identifier: Apache-2.0
#include "presign/local/list_objects.hpp"

#include <charconv>
#include <cstdint>
#include <limits>
#include <span>
#include <vector>

#include <sigv4/encoding.hpp>

#include "s3_xml.hpp"

namespace presign::local {
namespace {

using detail::add_element;

constexpr std::size_t max_page = 1000;

s3_error invalid_argument(std::string message) {
    return s3_error{400, "InvalidArgument", std::move(message)};
}

store_result<std::size_t> parse_max_keys(const std::optional<std::string>& text) {
    if (!text) return max_page;
    std::int64_t value = 0;
    const char* end = text->data() + text->size();
    const auto [stop, error] = std::from_chars(text->data(), end, value);
    if (text->empty() || error != std::errc{} || stop != end ||
        value > std::numeric_limits<std::int32_t>::max() ||
        value < std::numeric_limits<std::int32_t>::min()) {
        return sigv4::unexpected{
            invalid_argument("Provided max-keys not an integer or within integer range")};
    }
    if (value < 0) {
        return sigv4::unexpected{
            invalid_argument("Argument maxKeys must be an integer between 0 and 2147483647")};
    }
    return static_cast<std::size_t>(value);
}

std::string encode_token(std::string_view last) {
    return sigv4::base64_encode(std::span<const unsigned char>(
        reinterpret_cast<const unsigned char*>(last.data()), last.size()));
}

/// The position a continuation token names; only tokens this store issued decode to one.
store_result<std::string> decode_token(std::string_view token) {
    auto decoded = sigv4::base64_decode(token);
    if (token.empty() || !decoded || decoded->empty() || !sigv4::is_valid_utf8(*decoded) ||
        decoded->size() > 1024) {
        return sigv4::unexpected{invalid_argument("The continuation token provided is incorrect")};
    }
    return std::move(*decoded);
}

}  // namespace

std::string s3_url_encode(std::string_view text) {
    static constexpr char hex[] = "0123456789ABCDEF";
    std::string out;
    out.reserve(text.size());
    for (const char c : text) {
        const auto byte = static_cast<unsigned char>(c);
        if ((byte >= 'A' && byte <= 'Z') || (byte >= 'a' && byte <= 'z') ||
            (byte >= '0' && byte <= '9') || byte == '-' || byte == '_' || byte == '.' ||
            byte == '*' || byte == '/') {
            out += c;
        } else if (byte == ' ') {
            out += '+';
        } else {
            out += '%';
            out += hex[byte >> 4];
            out += hex[byte & 0x0F];
        }
    }
    return out;
}

store_result<std::string> list_objects_xml(const object_store& store, std::string_view bucket,
                                           const list_request& request) {
    auto max_keys = parse_max_keys(request.max_keys);
    if (!max_keys) return sigv4::unexpected{max_keys.error()};
    const bool url_encoding = request.encoding_type.has_value();
    if (url_encoding && *request.encoding_type != "url") {
        return sigv4::unexpected{invalid_argument("Invalid Encoding Method specified in Request")};
    }
    const std::size_t page = std::min(*max_keys, max_page);
    const bool continued = request.v2 && request.continuation_token.has_value();
    // Entries (keys and common prefixes) at or before this one were listed already.
    std::string after = request.start_after.value_or("");
    if (continued) {
        auto position = decode_token(*request.continuation_token);
        if (!position) return sigv4::unexpected{position.error()};
        after = std::move(*position);
    }
    // Keys after `after` only; a common prefix sorting at or before it is skipped below.
    auto listed =
        store.list(bucket, request.prefix, after, std::numeric_limits<std::uint32_t>::max());
    if (!listed) return sigv4::unexpected{listed.error()};

    auto encode = [&](std::string_view text) {
        return url_encoding ? s3_url_encode(text) : std::string(text);
    };
    const std::string_view delimiter = request.delimiter;
    std::string contents;
    std::string common_prefixes;
    std::string last_common;
    std::string last;  // the last entry of this page, where the next one starts
    std::size_t count = 0;
    bool truncated = false;
    auto page_full = [&] {
        if (count < page) return false;
        truncated = page > 0;  // max-keys=0 answers an empty page that is not truncated, as S3
        return true;
    };
    for (const auto& object : *listed) {
        if (!delimiter.empty()) {
            const auto at = object.key.find(delimiter, request.prefix.size());
            if (at != std::string::npos) {
                std::string common = object.key.substr(0, at + delimiter.size());
                if (common == last_common || common <= after) continue;
                if (page_full()) break;
                common_prefixes += "<CommonPrefixes>";
                add_element(common_prefixes, "Prefix", encode(common));
                common_prefixes += "</CommonPrefixes>";
                last_common = common;
                last = std::move(common);
                ++count;
                continue;
            }
        }
        if (page_full()) break;
        contents += "<Contents>";
        add_element(contents, "Key", encode(object.key));
        add_element(contents, "LastModified", detail::iso_date(object.last_modified));
        add_element(contents, "ETag", object.etag);
        add_element(contents, "Size", std::to_string(object.size));
        if (!request.v2 || request.fetch_owner) {
            contents += "<Owner><ID>local</ID><DisplayName>local</DisplayName></Owner>";
        }
        add_element(contents, "StorageClass", "STANDARD");
        contents += "</Contents>";
        last = object.key;
        ++count;
    }

    std::string xml(detail::xml_declaration);
    xml += "<ListBucketResult xmlns=\"";
    xml += detail::s3_namespace;
    xml += "\">";
    add_element(xml, "Name", bucket);
    add_element(xml, "Prefix", encode(request.prefix));
    if (!request.v2) add_element(xml, "Marker", encode(request.start_after.value_or("")));
    if (request.v2 && continued) add_element(xml, "ContinuationToken", *request.continuation_token);
    if (request.v2 && truncated) add_element(xml, "NextContinuationToken", encode_token(last));
    if (request.v2) add_element(xml, "KeyCount", std::to_string(count));
    add_element(xml, "MaxKeys", std::to_string(page));
    if (!delimiter.empty()) add_element(xml, "Delimiter", encode(delimiter));
    if (url_encoding) add_element(xml, "EncodingType", "url");
    add_element(xml, "IsTruncated", truncated ? "true" : "false");
    // V1 names the next marker only under a delimiter; without one the client resumes after the
    // last key it got (S3's documented rule, which botocore follows).
    if (!request.v2 && truncated && !delimiter.empty())
        add_element(xml, "NextMarker", encode(last));
    // V2 echoes start-after unless a continuation token displaced it.
    if (request.v2 && request.start_after && !continued) {
        add_element(xml, "StartAfter", encode(*request.start_after));
    }
    xml += contents;
    xml += common_prefixes;
    xml += "</ListBucketResult>";
    return xml;
}

}  // namespace presign::local
