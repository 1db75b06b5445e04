// SPDX-License-Identifier: Apache-2.0
// `bootstrap`: the custom runtime (provided.al2023) serving the file-share service.
#include <cstdlib>
#include <exception>
#include <optional>
#include <string>

#include "presign/lambda/events.hpp"
#include "presign/lambda/runtime.hpp"
#include "presign/service.hpp"
#include "presign/web/page.hpp"

namespace {

std::optional<std::string> environment(std::string_view name) {
    const char* value = std::getenv(std::string(name).c_str());
    if (value == nullptr) return std::nullopt;
    return std::string(value);
}

int serve(presign::lambda::runtime_client& client) {
    auto settings = presign::service::config::from_environment(environment);
    if (!settings) {
        client.post_init_error("Runtime.InvalidConfiguration", settings.error().message);
        std::fprintf(stderr, "presign-lambda: %s\n", settings.error().message.c_str());
        return 1;
    }
    auto access_key = environment("AWS_ACCESS_KEY_ID");
    auto secret = environment("AWS_SECRET_ACCESS_KEY");
    if (!access_key || !secret) {
        std::string message =
            "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY: not set (the function's role "
            "credentials)";
        client.post_init_error("Runtime.MissingCredentials", message);
        std::fprintf(stderr, "presign-lambda: %s\n", message.c_str());
        return 1;
    }
    auto creds = sigv4::credentials::make(*access_key, *secret,
                                          environment("AWS_SESSION_TOKEN").value_or(""));
    if (!creds) {
        // The library's messages never carry the secret itself.
        std::string message =
            "AWS credentials from the environment are invalid: " + creds.error().message;
        client.post_init_error("Runtime.InvalidCredentials", message);
        std::fprintf(stderr, "presign-lambda: %s\n", message.c_str());
        return 1;
    }
    // The environment's role credentials stay valid for the sandbox's lifetime.
    presign::service::service svc(
        std::move(*settings),
        [creds = std::move(*creds)]() -> sigv4::result<sigv4::credentials> { return creds; });
    // The page is served on the API's own origin; it signs in where the template says.
    const std::string page_config = presign::web::page_config(
        environment("OIDC_ISSUER").value_or(""), environment("OIDC_CLIENT_ID").value_or(""),
        environment("OIDC_LOGOUT_ENDPOINT").value_or(""));
    return presign::lambda::run(
        client, [&svc, &page_config](const presign::lambda::invocation& inv) {
            return presign::lambda::handle_event(svc, inv.payload, inv.request_id, page_config);
        });
}

}  // namespace

int main() {
    try {
        auto api = environment("AWS_LAMBDA_RUNTIME_API");
        if (!api || api->empty()) {
            std::fprintf(
                stderr,
                "presign-lambda: AWS_LAMBDA_RUNTIME_API is not set; run me inside Lambda\n");
            return 1;
        }
        presign::lambda::runtime_client client(*api);
        return serve(client);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "presign-lambda: fatal: %s\n", e.what());
    } catch (...) {
        std::fprintf(stderr, "presign-lambda: fatal error\n");
    }
    return 1;
}
