// SPDX-License-Identifier: Apache-2.0
// S3 on top of SigV4: URL addressing, key encoding and presigned object requests.
#pragma once

#include "sigv4/export.hpp"

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "sigv4/credentials.hpp"
#include "sigv4/request.hpp"
#include "sigv4/result.hpp"
#include "sigv4/signer.hpp"

namespace sigv4::s3 {

enum class addressing {
    automatic,       ///< virtual-hosted when the bucket name allows it, else path style
    virtual_hosted,  ///< https://bucket.s3.REGION.amazonaws.com/key (fails if the name can't be)
    path,            ///< https://s3.REGION.amazonaws.com/bucket/key
};

/// Which S3 to talk to.
struct endpoint {
    std::string region = "us-east-1";
    /// Custom endpoint "http(s)://host[:port]" (Ceph RGW, MinIO, R2, presign serve); empty means
    /// AWS's regional endpoint s3.REGION.amazonaws.com (never the global one, which answers 307).
    std::string url;
    addressing style = addressing::automatic;
};

/// Where an object lives.
struct object_location {
    std::string scheme;  ///< "https" or "http"
    std::string host;    ///< with ":port" when not the default
    std::string path;    ///< *decoded*: "/key" (virtual-hosted) or "/bucket/key" (path style)
    std::string url;     ///< scheme://host + encoded path, no query
};

/// Checks S3's bucket naming rules (3..63 chars of [a-z0-9.-], starts and ends with a letter or
/// digit, no "..", not an IP address, no "xn--" prefix, no "-s3alias" suffix).
/// A name that is valid for legacy path-style only (uppercase, underscores) is accepted when
/// `allow_legacy` is true. Error: errc::invalid_bucket_name.
[[nodiscard]] SIGV4_EXPORT result<void> validate_bucket_name(std::string_view bucket,
                                                             bool allow_legacy = false);
/// Checks an object key: 1..1024 bytes of valid UTF-8. Error: errc::invalid_object_key.
[[nodiscard]] SIGV4_EXPORT result<void> validate_object_key(std::string_view key);

/// Resolves the URL of an object. Virtual-hosted unless the style says path, or automatic and the
/// bucket name is not DNS-compatible (uppercase, underscore, or dots with https).
/// Errors: errc::invalid_bucket_name, errc::invalid_object_key, errc::invalid_endpoint,
/// errc::invalid_region.
[[nodiscard]] SIGV4_EXPORT result<object_location> locate(std::string_view bucket,
                                                          std::string_view key,
                                                          const endpoint& where);

/// Encodes a key the S3 way: every byte outside A-Z a-z 0-9 - . _ ~ as %XX, '/' kept.
[[nodiscard]] SIGV4_EXPORT std::string encode_key(std::string_view key);

/// `attachment; filename="ascii fallback"; filename*=UTF-8''percent-encoded` (RFC 6266/5987).
/// The quoted fallback replaces non-ASCII, quotes, backslashes and control bytes with '_'.
[[nodiscard]] SIGV4_EXPORT std::string attachment_disposition(std::string_view filename);

enum class server_side_encryption { none, aes256, kms };

/// Options of a presigned object request. Options that become signed headers must be sent by the
/// client with exactly the returned values; options that become query parameters are in the URL.
struct object_options {
    std::chrono::seconds expires = default_expiry;  ///< 1..604800 s
    std::optional<sys_seconds> signing_time;        ///< default: now
    bool clamp_expiry = false;                      ///< see signing_options::clamp_expiry
    bool capture_artifacts = false;
    // Signed headers (PUT).
    std::string content_type;                     ///< Content-Type
    std::optional<std::uint64_t> content_length;  ///< Content-Length: the exact upload size
    std::string checksum_sha256;                  ///< x-amz-checksum-sha256, base64 of 32 bytes
    /// If-None-Match: * (conditional write): the store refuses the PUT with 412 PreconditionFailed
    /// when the key already exists, so one URL writes at most once (no replay within its lifetime).
    bool if_none_match_any = false;
    server_side_encryption sse = server_side_encryption::none;
    std::string sse_kms_key_id;         ///< with sse == kms
    std::vector<header> metadata;       ///< {"owner","me"} becomes x-amz-meta-owner: me
    std::vector<header> extra_headers;  ///< any other header to sign
    // Signed query parameters (GET/HEAD).
    std::string response_content_disposition;  ///< raw value; see download_filename
    std::string
        download_filename;  ///< sets response-content-disposition to attachment_disposition()
    std::string response_content_type;
    std::string version_id;
};

/// Presigns METHOD on bucket/key. UNSIGNED-PAYLOAD; host plus the option headers are signed.
/// Thread-safe as sigv4::presign(); besides the signing keys, each thread caches the last bucket
/// target, scope (with a copy of the secret and the signing key after the string-to-sign head) and
/// session token (sigv4/caches.hpp; clear_thread_caches() drops them).
/// Errors: those of locate(), errc::invalid_option (malformed checksum, SSE key id without kms,
/// bad metadata name), and those of sigv4::presign().
[[nodiscard]] SIGV4_EXPORT result<presigned_request> presign_object(
    const credentials& creds, std::string_view method, std::string_view bucket,
    std::string_view key, const endpoint& where, const object_options& options = {});

[[nodiscard]] inline result<presigned_request> presign_get(const credentials& creds,
                                                           std::string_view bucket,
                                                           std::string_view key,
                                                           const endpoint& where,
                                                           const object_options& options = {}) {
    return presign_object(creds, "GET", bucket, key, where, options);
}
[[nodiscard]] inline result<presigned_request> presign_put(const credentials& creds,
                                                           std::string_view bucket,
                                                           std::string_view key,
                                                           const endpoint& where,
                                                           const object_options& options = {}) {
    return presign_object(creds, "PUT", bucket, key, where, options);
}
[[nodiscard]] inline result<presigned_request> presign_head(const credentials& creds,
                                                            std::string_view bucket,
                                                            std::string_view key,
                                                            const endpoint& where,
                                                            const object_options& options = {}) {
    return presign_object(creds, "HEAD", bucket, key, where, options);
}
[[nodiscard]] inline result<presigned_request> presign_delete(const credentials& creds,
                                                              std::string_view bucket,
                                                              std::string_view key,
                                                              const endpoint& where,
                                                              const object_options& options = {}) {
    return presign_object(creds, "DELETE", bucket, key, where, options);
}

/// Presigns METHOD on bucket/key with `query` as extra signed query parameters (after the option
/// ones; an empty value is sent as "name="), and the options' headers signed as presign_object
/// signs them. For object sub-resources such as multipart's ?uploads, ?uploadId and ?partNumber
/// (sigv4/s3_multipart.hpp). Always the generic path: presign_object's direct path and per-thread
/// caches are not touched. Thread-safe as sigv4::presign().
/// Errors: those of locate(), errc::invalid_query (an empty parameter name), errc::invalid_option
/// as presign_object, and those of sigv4::presign().
[[nodiscard]] SIGV4_EXPORT result<presigned_request> presign_object_request(
    const credentials& creds, std::string_view method, std::string_view bucket,
    std::string_view key, const endpoint& where, std::span<const query_param> query,
    const object_options& options = {});

/// Presigns METHOD on the bucket itself (path "/" virtual-hosted, "/bucket/" path style) with the
/// given query parameters, in that order, before the X-Amz-* ones; every parameter is signed, so
/// the client can change none of them. `options` apply as in presign_object_request. Always the
/// generic path: presign_object's caches are not touched. Thread-safe as sigv4::presign().
/// Errors: those of locate() (but no key), errc::invalid_query (an empty parameter name),
/// errc::invalid_option as presign_object, and those of sigv4::presign().
[[nodiscard]] SIGV4_EXPORT result<presigned_request> presign_bucket_request(
    const credentials& creds, std::string_view method, std::string_view bucket,
    const endpoint& where, std::span<const query_param> query, const object_options& options = {});

/// What a presigned ListObjectsV2 asks for. Each field set becomes a signed query parameter.
struct list_objects_options {
    std::string prefix;                     ///< sent even when empty (prefix=)
    std::string delimiter;                  ///< omitted when empty
    std::optional<std::uint32_t> max_keys;  ///< S3 answers at most 1000 whatever is asked
    std::string continuation_token;         ///< omitted when empty; opaque, from a previous page
    std::string start_after;                ///< omitted when empty
    bool url_encoding = true;               ///< encoding-type=url (keys survive XML 1.0)
    bool fetch_owner = false;               ///< fetch-owner=true
};

/// Presigns GET /?list-type=2&... (ListObjectsV2) on `bucket`. Errors as presign_bucket_request,
/// and errc::invalid_option for a max_keys above 2147483647 (S3 refuses it).
[[nodiscard]] SIGV4_EXPORT result<presigned_request> presign_list_objects_v2(
    const credentials& creds, std::string_view bucket, const endpoint& where,
    const list_objects_options& list, const object_options& options = {});

/// Header-signs a request to S3 (bucket creation, listing, anything not presigned): the S3
/// signing options for `region`, with x-amz-content-sha256 from `request.body`.
[[nodiscard]] SIGV4_EXPORT result<signed_request> sign_request(
    const credentials& creds, const http_request& request, std::string_view region,
    std::optional<sys_seconds> signing_time = {});

}  // namespace sigv4::s3
