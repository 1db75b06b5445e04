// SPDX-License-Identifier: Apache-2.0
#include "legacy_signature.hpp"

namespace presign::local::detail {

bool is_sigv2_request(std::string_view target, std::string_view authorization) noexcept {
    const auto first = authorization.find_first_not_of(" \t");
    if (first != std::string_view::npos) {
        // "AWS AKID:signature"; SigV4 headers start with "AWS4-HMAC-SHA256".
        return authorization.substr(first).starts_with("AWS ");
    }
    const auto question = target.find('?');
    if (question == std::string_view::npos) return false;
    std::string_view query = target.substr(question + 1);
    bool access_key_id = false;
    bool signature = false;
    while (!query.empty()) {
        const auto amp = query.find('&');
        const std::string_view pair = query.substr(0, amp);
        const std::string_view name = pair.substr(0, pair.find('='));
        if (name == "X-Amz-Algorithm") return false;
        access_key_id = access_key_id || name == "AWSAccessKeyId";
        signature = signature || name == "Signature";
        if (amp == std::string_view::npos) break;
        query.remove_prefix(amp + 1);
    }
    return access_key_id && signature;
}

}  // namespace presign::local::detail
