// SPDX-License-Identifier: Apache-2.0
// The request model that signing works on.
#pragma once

#include <string>
#include <vector>

namespace sigv4 {

/// One header line. Names compare case-insensitively; repeated names are allowed and are joined
/// with ',' in the canonical request, in the order given.
struct header {
    std::string name;
    std::string value;
    friend bool operator==(const header&, const header&) = default;
};

/// One query parameter, *decoded* (the signer encodes it). Repeated names are allowed.
struct query_param {
    std::string name;
    std::string value;
    friend bool operator==(const query_param&, const query_param&) = default;
};

/// How the payload enters the signature (the last line of the canonical request).
struct payload {
    enum class kind { unsigned_payload, hash, body };
    kind how = kind::body;
    /// For kind::hash: 64 lowercase hex digits. For kind::body: the body bytes (may be empty).
    std::string value;

    static payload unsigned_payload() { return {kind::unsigned_payload, {}}; }
    static payload from_hash(std::string hex_sha256) { return {kind::hash, std::move(hex_sha256)}; }
    static payload from_body(std::string body) { return {kind::body, std::move(body)}; }
};

/// An HTTP request to sign.
struct http_request {
    std::string method = "GET";
    std::string scheme = "https";
    /// Host, with ":port" when not the scheme's default. Signed as the `host` header unless the
    /// headers already carry one.
    std::string host;
    /// The path. By default *decoded* ("/my file.txt"): the signer URI-encodes it for the URL and
    /// the canonical request (once more for services with double encoding) and, when asked,
    /// removes dot segments and repeated slashes.
    std::string path = "/";
    /// When true, `path` is already in wire form (as on the request line) and goes into the URL
    /// unchanged; the canonical URI is then the path itself for S3, and encoded once more for
    /// services with double encoding (as AWS's test suite models requests).
    bool path_is_encoded = false;
    std::vector<query_param> query;
    std::vector<header> headers;
    payload body = payload::from_body({});
};

}  // namespace sigv4
