// SPDX-License-Identifier: Apache-2.0
// Recognising requests signed with the legacy Signature Version 2, which this store (like S3 in
// every region opened since 2014) refuses: clients still produce them by default in some setups
// (`aws s3 presign` and boto3 in us-east-1 without `signature_version = s3v4`).
#pragma once

#include <string_view>

namespace presign::local::detail {

/// True when the request carries SigV2 authentication and no SigV4: `AWSAccessKeyId` and
/// `Signature` query parameters (a SigV2 presigned URL), or an `Authorization: AWS id:signature`
/// header. `target` is the raw request target (path and query); `authorization` the header's value,
/// empty when absent. Pure function of its arguments, thread-safe.
[[nodiscard]] bool is_sigv2_request(std::string_view target,
                                    std::string_view authorization) noexcept;

/// The message of S3's answer to such a request (400 InvalidRequest), followed by what the request
/// was and how to make the client sign with SigV4.
inline constexpr std::string_view sigv2_refusal_message =
    "The authorization mechanism you have provided is not supported. Please use AWS4-HMAC-SHA256. "
    "This request is signed with the legacy Signature Version 2 (AWSAccessKeyId and Signature in "
    "the URL, or an 'Authorization: AWS' header), which this store refuses as S3 does. Make the "
    "client sign with SigV4: in the AWS config file add 'signature_version = s3v4' under the "
    "profile's 's3 =' section (or run 'aws configure set s3.signature_version s3v4 --profile "
    "NAME'); in boto3 pass config=botocore.config.Config(signature_version=\"s3v4\").";

}  // namespace presign::local::detail
