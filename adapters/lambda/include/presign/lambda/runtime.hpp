// SPDX-License-Identifier: Apache-2.0
// The Lambda Runtime API (2018-06-01) for a custom runtime: a client and the invocation loop.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace presign::lambda {

/// One invocation as /next delivered it.
struct invocation {
    std::string request_id;        ///< Lambda-Runtime-Aws-Request-Id (required)
    std::string payload;           ///< the event
    std::string trace_id;          ///< Lambda-Runtime-Trace-Id (also exported as _X_AMZN_TRACE_ID)
    std::string function_arn;      ///< Lambda-Runtime-Invoked-Function-Arn
    std::string client_context;    ///< Lambda-Runtime-Client-Context
    std::string cognito_identity;  ///< Lambda-Runtime-Cognito-Identity
    /// Lambda-Runtime-Deadline-Ms; absent when the header was missing or malformed.
    std::optional<std::chrono::system_clock::time_point> deadline;

    /// Time left before the deadline (zero when past it, a day when there is no deadline).
    [[nodiscard]] std::chrono::milliseconds remaining() const;
};

/// The outcome of one Runtime API exchange: the HTTP status, or 0 with `error` when the request
/// could not be made at all.
struct api_result {
    int status = 0;
    std::string body;
    std::string error;
    [[nodiscard]] bool accepted() const noexcept { return status >= 200 && status < 300; }
};

/// A client of the Runtime API at AWS_LAMBDA_RUNTIME_API ("host:port"). One keep-alive connection,
/// reopened when the server closed it. Blocking, no timeout on /next: Lambda freezes the sandbox
/// between invocations.
class runtime_client {
  public:
    explicit runtime_client(std::string_view api_address);
    ~runtime_client();
    runtime_client(const runtime_client&) = delete;
    runtime_client& operator=(const runtime_client&) = delete;

    /// GET /runtime/invocation/next. nullopt, with `error` set, on a transport failure, a non-200
    /// answer or a missing request id.
    [[nodiscard]] std::optional<invocation> next(std::string& error);
    /// POST /runtime/invocation/{id}/response (202 expected; 413 when the payload is over 6 MB).
    api_result post_response(std::string_view request_id, std::string_view payload);
    /// POST /runtime/invocation/{id}/error with Lambda-Runtime-Function-Error-Type.
    api_result post_error(std::string_view request_id, std::string_view error_type,
                          std::string_view message);
    /// POST /runtime/init/error, before the first /next.
    api_result post_init_error(std::string_view error_type, std::string_view message);

  private:
    struct connection;
    std::unique_ptr<connection> connection_;
};

/// The error document the Runtime API takes: {"errorMessage","errorType","stackTrace":[]}.
[[nodiscard]] std::string error_document(std::string_view error_type, std::string_view message);

/// Handles one event; the returned string is the response payload. May throw: the loop turns an
/// exception into an error post.
using handler = std::function<std::string(const invocation&)>;

struct loop_options {
    /// Stop after this many invocations (0: never; tests use it).
    std::uint64_t max_invocations = 0;
    /// Give up (return 1) after this many /next failures in a row, backing off between them.
    int max_next_failures = 5;
    /// Runtime diagnostics (never secrets); default stderr.
    std::function<void(std::string_view)> log;
};

/// The invocation loop: next -> handler -> response (or error). Sets _X_AMZN_TRACE_ID for each
/// invocation. A handler exception becomes an error post, a 413 on the response becomes an error
/// post, and the loop goes on. Returns the process exit code.
int run(runtime_client& client, const handler& handle, const loop_options& options = {}) noexcept;

}  // namespace presign::lambda
