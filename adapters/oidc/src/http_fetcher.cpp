// SPDX-License-Identifier: Apache-2.0
#include <presign/oidc/http_fetcher.hpp>

#include <httplib.h>

namespace presign::oidc {
namespace {

using fetch_result = sigv4::result<std::string, std::string>;

fetch_result fail(std::string message) {
    return sigv4::unexpected<std::string>{std::move(message)};
}

/// Splits "scheme://authority/path" into "scheme://authority" (what httplib::Client takes) and
/// the path with its query.
bool split_url(const std::string& url, std::string& origin, std::string& target) {
    const auto scheme_end = url.find("://");
    if (scheme_end == std::string::npos) return false;
    const auto path_start = url.find('/', scheme_end + 3);
    origin = url.substr(0, path_start);
    target = path_start == std::string::npos ? "/" : url.substr(path_start);
    return origin.size() > scheme_end + 3;
}

bool loopback_origin(std::string_view origin) {
    for (std::string_view host : {"http://127.0.0.1", "http://localhost", "http://[::1]"}) {
        if (origin == host || (origin.starts_with(host) && origin[host.size()] == ':')) return true;
    }
    return false;
}

}  // namespace

fetcher http_fetcher(http_fetcher_options options) {
    return [options](const std::string& url) -> fetch_result {
        std::string origin;
        std::string target;
        if (!split_url(url, origin, target)) return fail("not an http(s) URL");
        if (!origin.starts_with("https://") && !loopback_origin(origin)) {
            return fail("only https:// (or http:// on loopback) is fetched");
        }
        httplib::Client client(origin);
        if (!client.is_valid()) return fail("cannot make a client for " + origin);
        client.set_connection_timeout(options.timeout);
        client.set_read_timeout(options.timeout);
        client.set_write_timeout(options.timeout);
        client.set_follow_location(false);
        std::string body;
        bool too_large = false;
        const auto answer = client.Get(target, httplib::Headers{{"Accept", "application/json"}},
                                       [&](const char* data, size_t length) {
                                           if (body.size() + length > options.max_body_bytes) {
                                               too_large = true;
                                               return false;
                                           }
                                           body.append(data, length);
                                           return true;
                                       });
        if (too_large)
            return fail("the answer is larger than " + std::to_string(options.max_body_bytes) +
                        " bytes");
        if (!answer) return fail("no answer (" + httplib::to_string(answer.error()) + ")");
        if (answer->status != 200) return fail("HTTP status " + std::to_string(answer->status));
        return body;
    };
}

}  // namespace presign::oidc
