// SPDX-License-Identifier: Apache-2.0
#include "sigv4/s3.hpp"

#include <algorithm>

#include "detail/canonical.hpp"
#include "detail/s3_target.hpp"
#include "sigv4/encoding.hpp"

namespace sigv4::s3 {

namespace {

bool is_lower_alnum(char c) noexcept {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

bool looks_like_ipv4(std::string_view text) noexcept {
    int dots = 0;
    for (char c : text) {
        if (c == '.') {
            ++dots;
        } else if (c < '0' || c > '9') {
            return false;
        }
    }
    return dots == 3;
}

struct parsed_endpoint {
    std::string scheme;
    std::string host;      // with port
    std::string hostname;  // without port
};

result<parsed_endpoint> parse_endpoint(std::string_view url) {
    parsed_endpoint out;
    std::string_view rest;
    if (url.starts_with("https://")) {
        out.scheme = "https";
        rest = url.substr(8);
    } else if (url.starts_with("http://")) {
        out.scheme = "http";
        rest = url.substr(7);
    } else {
        return fail(errc::invalid_endpoint, "the endpoint must start with http:// or https://");
    }
    if (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
    if (rest.empty()) return fail(errc::invalid_endpoint, "the endpoint has no host");
    for (char c : rest) {
        bool ok = is_lower_alnum(c) || (c >= 'A' && c <= 'Z') || c == '.' || c == '-' || c == ':' ||
                  c == '[' || c == ']' || c == '_';
        if (!ok) {
            return fail(errc::invalid_endpoint,
                        "the endpoint must be scheme://host[:port], without a path, query or user");
        }
    }
    out.host.assign(rest);
    std::size_t colon = rest.rfind(':');
    std::size_t bracket = rest.rfind(']');
    if (colon != std::string_view::npos && (bracket == std::string_view::npos || colon > bracket)) {
        std::string_view port = rest.substr(colon + 1);
        if (port.empty() || port.size() > 5 ||
            !std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; })) {
            return fail(errc::invalid_endpoint, "the endpoint's port is not a number");
        }
        // Default ports are left out, as HTTP clients send Host without them.
        if ((out.scheme == "http" && port == "80") || (out.scheme == "https" && port == "443")) {
            out.host.assign(rest.substr(0, colon));
        }
        out.hostname.assign(rest.substr(0, colon));
    } else {
        out.hostname.assign(rest);
    }
    if (out.hostname.empty()) return fail(errc::invalid_endpoint, "the endpoint has no host");
    std::transform(out.host.begin(), out.host.end(), out.host.begin(),
                   [](char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; });
    return out;
}

}  // namespace

namespace {

// Why `bucket` breaks S3's (DNS-compatible) naming rules, or nullptr when it follows them.
const char* strict_name_problem(std::string_view bucket) noexcept {
    if (bucket.size() < 3 || bucket.size() > 63) return "must be 3 to 63 characters long";
    for (char c : bucket) {
        if (!is_lower_alnum(c) && c != '.' && c != '-')
            return "only lowercase letters, digits, '.' and '-' are allowed";
    }
    if (!is_lower_alnum(bucket.front()) || !is_lower_alnum(bucket.back())) {
        return "must start and end with a letter or digit";
    }
    if (bucket.find("..") != std::string_view::npos) return "must not contain '..'";
    if (looks_like_ipv4(bucket)) return "must not look like an IP address";
    if (bucket.starts_with("xn--") || bucket.starts_with("sthree-")) return "reserved prefix";
    if (bucket.ends_with("-s3alias") || bucket.ends_with("--ol-s3")) return "reserved suffix";
    return nullptr;
}

// Legacy names (uppercase, underscores, up to 255 characters) still work with path style.
bool legacy_name_ok(std::string_view bucket) noexcept {
    return bucket.size() >= 3 && bucket.size() <= 255 &&
           std::all_of(bucket.begin(), bucket.end(), [](char c) {
               return is_lower_alnum(c) || (c >= 'A' && c <= 'Z') || c == '.' || c == '-' ||
                      c == '_';
           });
}

}  // namespace

result<void> validate_bucket_name(std::string_view bucket, bool allow_legacy) {
    const char* problem = strict_name_problem(bucket);
    if (!problem || (allow_legacy && legacy_name_ok(bucket))) return {};
    return fail(errc::invalid_bucket_name,
                "invalid bucket name '" + std::string(bucket) + "': " + problem);
}

result<void> validate_object_key(std::string_view key) {
    if (key.empty()) return fail(errc::invalid_object_key, "the object key is empty");
    if (key.size() > 1024)
        return fail(errc::invalid_object_key, "the object key is longer than 1024 bytes");
    if (!is_valid_utf8(key))
        return fail(errc::invalid_object_key, "the object key is not valid UTF-8");
    return {};
}

std::string encode_key(std::string_view key) {
    return uri_encode(key, true);
}

}  // namespace sigv4::s3

namespace sigv4::detail {

result<void> resolve_bucket_target(std::string_view bucket, const s3::endpoint& where,
                                   bucket_target& out) {
    using s3::addressing;
    if (!is_scope_name(where.region)) {
        return fail(errc::invalid_region, "the region '" + where.region + "' is not [a-z0-9-]+");
    }
    const bool dns_compatible = s3::strict_name_problem(bucket) == nullptr;
    if (!dns_compatible) {
        if (auto ok = s3::validate_bucket_name(bucket, where.style != addressing::virtual_hosted);
            !ok)
            return ok;
    }

    std::string custom_host;
    bool ip_or_local = false;
    if (where.url.empty()) {
        out.scheme.assign("https");
    } else {
        auto parsed = s3::parse_endpoint(where.url);
        if (!parsed) return unexpected{parsed.error()};
        out.scheme = parsed->scheme;
        custom_host = std::move(parsed->host);
        ip_or_local = s3::looks_like_ipv4(parsed->hostname) || parsed->hostname.front() == '[' ||
                      parsed->hostname == "localhost";
    }
    const bool dotted_over_https =
        out.scheme == "https" && bucket.find('.') != std::string_view::npos;

    bool virtual_hosted = false;
    switch (where.style) {
        case addressing::path:
            virtual_hosted = false;
            break;
        case addressing::virtual_hosted:
            if (ip_or_local) {
                return fail(errc::invalid_endpoint,
                            "virtual-hosted addressing needs a DNS name, not an IP address");
            }
            if (dotted_over_https) {
                return fail(errc::invalid_bucket_name,
                            "a bucket name with dots cannot be virtual-hosted over https "
                            "(the TLS certificate does not match); use path style");
            }
            virtual_hosted = true;
            break;
        case addressing::automatic:
            virtual_hosted = !ip_or_local && dns_compatible && !dotted_over_https;
            break;
    }

    out.host.clear();
    if (virtual_hosted) out.host.append(bucket).push_back('.');
    if (where.url.empty()) {
        // AWS's regional endpoint, never the global one (it answers 307 outside us-east-1).
        out.host.append("s3.").append(where.region).append(".amazonaws.com");
        if (where.region.starts_with("cn-")) out.host.append(".cn");
    } else {
        out.host.append(custom_host);
    }
    // Bucket names (even legacy ones) are unreserved characters only: the prefix needs no encoding.
    out.path_prefix.assign("/");
    if (!virtual_hosted) out.path_prefix.append(bucket).push_back('/');
    return {};
}

}  // namespace sigv4::detail

namespace sigv4::s3 {

result<object_location> locate(std::string_view bucket, std::string_view key,
                               const endpoint& where) {
    if (!detail::is_scope_name(where.region)) {
        return fail(errc::invalid_region, "the region '" + where.region + "' is not [a-z0-9-]+");
    }
    if (auto ok = validate_object_key(key); !ok) return unexpected{ok.error()};
    detail::bucket_target target;
    if (auto ok = detail::resolve_bucket_target(bucket, where, target); !ok)
        return unexpected{ok.error()};
    object_location out;
    out.scheme = std::move(target.scheme);
    out.host = std::move(target.host);
    out.path = std::move(target.path_prefix);
    out.path.append(key);
    out.url.assign(out.scheme).append("://").append(out.host);
    uri_encode(out.path, true, out.url);
    return out;
}

std::string attachment_disposition(std::string_view filename) {
    std::string fallback;
    for (std::size_t i = 0; i < filename.size();) {
        auto c = static_cast<unsigned char>(filename[i]);
        if (c >= 0x80) {
            // One '_' per code point (skip continuation bytes).
            fallback.push_back('_');
            ++i;
            while (i < filename.size() && (static_cast<unsigned char>(filename[i]) & 0xc0) == 0x80)
                ++i;
            continue;
        }
        fallback.push_back((c < 0x20 || c == 0x7f || c == '"' || c == '\\') ? '_'
                                                                            : static_cast<char>(c));
        ++i;
    }
    std::string out = "attachment; filename=\"" + fallback + "\"; filename*=UTF-8''";
    uri_encode(filename, false, out);
    return out;
}

result<signed_request> sign_request(const credentials& creds, const http_request& request,
                                    std::string_view region,
                                    std::optional<sys_seconds> signing_time) {
    signing_options signing = signing_options::for_s3(std::string(region));
    signing.signing_time = signing_time;
    return sign(creds, request, signing);
}

}  // namespace sigv4::s3
