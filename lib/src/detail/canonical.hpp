// SPDX-License-Identifier: Apache-2.0
// The pieces of a SigV4 canonical request, shared by the signer and the verifier.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "sigv4/export.hpp"  // SIGV4_EXPORT: what fuzz_verify_request calls from a shared sigv4
#include "sigv4/request.hpp"
#include "sigv4/result.hpp"

namespace sigv4::detail {

inline constexpr std::string_view algorithm = "AWS4-HMAC-SHA256";
inline constexpr std::string_view unsigned_payload = "UNSIGNED-PAYLOAD";

/// RFC 9110 token (methods, header names).
[[nodiscard]] bool is_token(std::string_view text) noexcept;
/// Region and service names: [a-z0-9-]+ (what every AWS scope uses).
[[nodiscard]] bool is_scope_name(std::string_view text) noexcept;
[[nodiscard]] bool is_lower_hex64(std::string_view text) noexcept;
[[nodiscard]] bool iequals(std::string_view a, std::string_view b) noexcept;
void append_lower(std::string_view text, std::string& out);
/// True when `value` is already a canonical header value: printable ASCII, no leading, trailing
/// or repeated spaces (what trimming and whitespace folding would leave unchanged).
[[nodiscard]] bool is_plain_header_value(std::string_view value) noexcept;

/// Validates the parts of a request that any signature needs (method, host, path, query names,
/// header names and values).
[[nodiscard]] result<void> validate_request(const http_request& request);

/// Appends the canonical URI: the path (encoded once unless already encoded), dot segments and
/// repeated slashes removed when `normalize`, encoded once more when `double_encode`.
SIGV4_EXPORT void append_canonical_uri(std::string_view path, bool path_is_encoded, bool normalize,
                                       bool double_encode, std::string& out);

/// Appends the path as it goes into a URL (encoded once unless already encoded).
void append_wire_path(std::string_view path, bool path_is_encoded, std::string& out);

/// A decoded name/value pair to include in the canonical query string.
struct query_view {
    std::string_view name;
    std::string_view value;
};

/// Appends the canonical query string of `params` (encoded, sorted by name, then value).
SIGV4_EXPORT void append_canonical_query(std::span<const query_view> params, std::string& out);

/// One canonical header: lowercase name and its value(s), trimmed, inner whitespace collapsed,
/// repeated headers joined with ',' in the given order.
struct canonical_header {
    std::string name;
    std::string value;
};

/// Collects the canonical headers from `headers` followed by `extra`, sorted by name. Only the
/// names in `only` (lowercase) are kept when `only` is non-empty; `host_fallback` is added as
/// `host` when no host header is among them; "authorization" is never signed.
SIGV4_EXPORT void collect_canonical_headers(std::span<const header> headers,
                                            std::span<const header> extra,
                                            std::span<const std::string> only,
                                            std::string_view host_fallback,
                                            std::vector<canonical_header>& out);
/// "name:value\n" for each header.
SIGV4_EXPORT void append_canonical_headers(std::span<const canonical_header> headers,
                                           std::string& out);
/// "a;b;c".
void append_signed_header_names(std::span<const canonical_header> headers, std::string& out);

/// The credential scope "YYYYMMDD/region/service/aws4_request".
void append_scope(std::string_view scope_date, std::string_view region, std::string_view service,
                  std::string& out);

/// The string to sign up to the hash: "AWS4-HMAC-SHA256\nAMZ_DATE\nSCOPE\n", the same for every
/// request signed in one second with one scope.
void append_string_to_sign_head(std::string_view amz_date, std::string_view scope,
                                std::string& out);

/// The string to sign for a canonical request.
void append_string_to_sign(std::string_view amz_date, std::string_view scope,
                           std::string_view canonical_request, std::string& out);

}  // namespace sigv4::detail
