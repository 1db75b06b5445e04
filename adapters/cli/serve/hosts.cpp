// SPDX-License-Identifier: Apache-2.0
#include "hosts.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>

namespace presign::serve {

namespace {

bool iequals(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) ==
                      std::tolower(static_cast<unsigned char>(y));
           });
}

bool is_ipv4(const std::string& text) {
    in_addr address{};
    return ::inet_pton(AF_INET, text.c_str(), &address) == 1;
}

bool is_ipv6(const std::string& text) {
    in6_addr address{};
    return ::inet_pton(AF_INET6, text.c_str(), &address) == 1;
}

}  // namespace

bool is_wildcard(std::string_view listen_host) {
    return listen_host.empty() || listen_host == "0.0.0.0" || listen_host == "::";
}

std::string url_host(std::string_view listen_host) {
    if (listen_host == "0.0.0.0" || listen_host.empty()) return "127.0.0.1";
    if (listen_host == "::") return "[::1]";
    if (listen_host.find(':') != std::string_view::npos)
        return "[" + std::string(listen_host) + "]";
    return std::string(listen_host);
}

std::string origin_host(std::string_view origin) {
    const auto scheme = origin.find("://");
    if (scheme != std::string_view::npos) origin.remove_prefix(scheme + 3);
    if (origin.starts_with('[')) return std::string(origin.substr(0, origin.find(']') + 1));
    return std::string(origin.substr(0, origin.find(':')));
}

std::string host_name(std::string_view host_header) {
    if (host_header.starts_with('['))
        return std::string(host_header.substr(0, host_header.find(']') + 1));
    return std::string(host_header.substr(0, host_header.find(':')));
}

bool host_allowed(std::string_view host_header, const std::vector<std::string>& names) {
    if (host_header.starts_with('[')) {  // [IPv6]:port
        const auto close = host_header.find(']');
        if (close == std::string_view::npos) return false;
        const auto rest = host_header.substr(close + 1);
        if (!rest.empty() && !rest.starts_with(':')) return false;
        return is_ipv6(std::string(host_header.substr(1, close - 1)));
    }
    const std::string name = host_name(host_header);
    if (is_ipv4(name) || iequals(name, "localhost")) return true;
    return std::any_of(names.begin(), names.end(),
                       [&](const std::string& allowed) { return iequals(allowed, name); });
}

std::optional<std::string> link_host(std::string_view listen_host, std::string_view host_header) {
    std::string name = host_name(host_header);
    if (name.empty()) return std::nullopt;
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char c) { return std::tolower(c); });
    if (is_wildcard(listen_host)) return name;
    if (name == "localhost" && url_host(listen_host) == "127.0.0.1") return name;
    return std::nullopt;
}

}  // namespace presign::serve
