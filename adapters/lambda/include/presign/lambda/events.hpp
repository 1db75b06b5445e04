// SPDX-License-Identifier: Apache-2.0
// API Gateway (REST payload 1.0, HTTP API payload 2.0) and Lambda Function URL events <-> the
// service. No process, no network: tests drive the whole handler through handle_event().
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "presign/service.hpp"

namespace presign::lambda {

/// Why an event could not become a service request (answered as an error, never a crash).
struct event_problem {
    int status = 400;
    std::string code;  ///< one of the service's error codes
    std::string message;
};

/// An event translated: the request (as complete as the event allowed) and, when the event is
/// unusable (not JSON, not an HTTP event, an undecodable base64 body), the problem.
struct translated_event {
    service::request request;
    std::optional<event_problem> problem;
};

/// Translates an event. Headers keep their names (the service compares case-insensitively);
/// repeated query parameters stay repeated; a base64 body is decoded; the identity comes from the
/// authorizer (JWT `sub`, Cognito claims `sub`, a Lambda authorizer's `principalId`, IAM Cognito
/// identity id or user ARN). `request_id` is the Lambda invocation id, used for the log line.
[[nodiscard]] translated_event translate_event(std::string_view event, std::string_view request_id);

/// The response JSON API Gateway and Function URLs expect: statusCode, headers, string body,
/// isBase64Encoded false.
[[nodiscard]] std::string to_api_response(const service::response& res);

/// The whole handler: event JSON in, response JSON out. Throws only std::bad_alloc.
/// With `page_config` (the body of GET /config.json, see presign/web/page.hpp) a GET of "/", of one
/// of the page's files or of "/config.json" is answered with the embedded page instead, so the
/// page is served on the API's own origin.
[[nodiscard]] std::string handle_event(const service::service& svc, std::string_view event,
                                       std::string_view request_id,
                                       std::optional<std::string_view> page_config = std::nullopt);

}  // namespace presign::lambda
