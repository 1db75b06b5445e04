// SPDX-License-Identifier: Apache-2.0
#include "sigv4/result.hpp"
#include "sigv4/verify.hpp"

namespace sigv4 {

std::string_view to_string(errc code) noexcept {
    switch (code) {
        case errc::empty_access_key_id:
            return "empty_access_key_id";
        case errc::invalid_secret_key:
            return "invalid_secret_key";
        case errc::invalid_session_token:
            return "invalid_session_token";
        case errc::invalid_region:
            return "invalid_region";
        case errc::invalid_service:
            return "invalid_service";
        case errc::invalid_method:
            return "invalid_method";
        case errc::invalid_host:
            return "invalid_host";
        case errc::invalid_path:
            return "invalid_path";
        case errc::invalid_query:
            return "invalid_query";
        case errc::invalid_header_name:
            return "invalid_header_name";
        case errc::invalid_header_value:
            return "invalid_header_value";
        case errc::invalid_payload_hash:
            return "invalid_payload_hash";
        case errc::invalid_expiry:
            return "invalid_expiry";
        case errc::invalid_time:
            return "invalid_time";
        case errc::credentials_expired:
            return "credentials_expired";
        case errc::credentials_expire_first:
            return "credentials_expire_first";
        case errc::invalid_bucket_name:
            return "invalid_bucket_name";
        case errc::invalid_object_key:
            return "invalid_object_key";
        case errc::invalid_endpoint:
            return "invalid_endpoint";
        case errc::invalid_option:
            return "invalid_option";
        case errc::authorization_query_parameters_error:
            return "authorization_query_parameters_error";
        case errc::authorization_header_malformed:
            return "authorization_header_malformed";
        case errc::missing_security_header:
            return "missing_security_header";
        case errc::invalid_access_key_id:
            return "invalid_access_key_id";
        case errc::invalid_token:
            return "invalid_token";
        case errc::signature_does_not_match:
            return "signature_does_not_match";
        case errc::request_expired:
            return "request_expired";
        case errc::request_not_yet_valid:
            return "request_not_yet_valid";
        case errc::request_time_too_skewed:
            return "request_time_too_skewed";
        case errc::content_sha256_mismatch:
            return "content_sha256_mismatch";
        case errc::missing_content_sha256:
            return "missing_content_sha256";
        case errc::headers_not_signed:
            return "headers_not_signed";
        case errc::invalid_argument:
            return "invalid_argument";
        case errc::crypto_failure:
            return "crypto_failure";
    }
    return "unknown";
}

std::string_view s3_error_code(errc code) noexcept {
    switch (code) {
        case errc::authorization_query_parameters_error:
            return "AuthorizationQueryParametersError";
        case errc::authorization_header_malformed:
            return "AuthorizationHeaderMalformed";
        case errc::missing_security_header:
            return "AccessDenied";
        case errc::invalid_access_key_id:
            return "InvalidAccessKeyId";
        case errc::invalid_token:
            return "InvalidToken";
        case errc::signature_does_not_match:
            return "SignatureDoesNotMatch";
        case errc::request_expired:
            return "AccessDenied";
        case errc::request_not_yet_valid:
            return "AccessDenied";
        case errc::request_time_too_skewed:
            return "RequestTimeTooSkewed";
        case errc::content_sha256_mismatch:
            return "XAmzContentSHA256Mismatch";
        case errc::missing_content_sha256:
            return "InvalidRequest";
        case errc::headers_not_signed:
            return "AccessDenied";
        case errc::crypto_failure:
            return "InternalError";
        default:
            return "InvalidArgument";
    }
}

int http_status(errc code) noexcept {
    switch (code) {
        case errc::invalid_access_key_id:
        case errc::signature_does_not_match:
        case errc::request_expired:
        case errc::request_not_yet_valid:
        case errc::request_time_too_skewed:
        case errc::missing_security_header:
        case errc::headers_not_signed:
            return 403;
        case errc::crypto_failure:
            return 500;
        default:
            return 400;
    }
}

}  // namespace sigv4
