// SPDX-License-Identifier: Apache-2.0
// config::from_environment: every setting validated up front, every error naming its variable.
#include <algorithm>
#include <charconv>
#include <string>
#include <string_view>

#include "presign/service.hpp"
#include "text.hpp"

namespace presign::service {
namespace {

using getenv_fn = std::function<std::optional<std::string>(std::string_view)>;

sigv4::unexpected<sigv4::error> invalid(std::string_view variable, std::string_view why) {
    return sigv4::fail(sigv4::errc::invalid_argument,
                       std::string(variable) + ": " + std::string(why));
}

// Present and not blank after trimming; otherwise nullopt.
std::optional<std::string> setting(const getenv_fn& getenv, std::string_view name) {
    auto value = getenv(name);
    if (!value) return std::nullopt;
    auto trimmed = std::string(detail::trim(*value));
    if (trimmed.empty()) return std::nullopt;
    return trimmed;
}

std::optional<std::uint64_t> parse_unsigned(std::string_view text) {
    std::uint64_t value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc{} || end != text.data() + text.size()) return std::nullopt;
    return value;
}

std::optional<bool> parse_bool(std::string_view text) {
    auto lower = detail::to_lower(text);
    if (lower == "true" || lower == "1" || lower == "yes" || lower == "on") return true;
    if (lower == "false" || lower == "0" || lower == "no" || lower == "off") return false;
    return std::nullopt;
}

std::vector<std::string> split_list(std::string_view text) {
    std::vector<std::string> items;
    while (!text.empty()) {
        auto comma = text.find(',');
        auto item = detail::trim(text.substr(0, comma));
        if (!item.empty()) items.emplace_back(item);
        if (comma == std::string_view::npos) break;
        text.remove_prefix(comma + 1);
    }
    return items;
}

bool valid_content_type_pattern(std::string_view pattern) {
    if (pattern == "*" || pattern == "*/*") return true;
    auto slash = pattern.find('/');
    if (slash == std::string_view::npos) return false;
    auto type = pattern.substr(0, slash);
    auto subtype = pattern.substr(slash + 1);
    return detail::is_token(type) && (subtype == "*" || detail::is_token(subtype));
}

// An origin as browsers send it: scheme "://" host [":" port], nothing after.
bool valid_origin(std::string_view origin) {
    if (origin == "*") return true;
    std::string_view rest;
    if (origin.starts_with("https://")) {
        rest = origin.substr(8);
    } else if (origin.starts_with("http://")) {
        rest = origin.substr(7);
    } else {
        return false;
    }
    if (rest.empty()) return false;
    return std::all_of(rest.begin(), rest.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-' ||
               c == ':' || c == '[' || c == ']';
    });
}

}  // namespace

sigv4::result<config> config::from_environment(const getenv_fn& getenv) {
    config settings;

    auto bucket = setting(getenv, "BUCKET_NAME");
    if (!bucket) return invalid("BUCKET_NAME", "is required (the bucket that holds the files)");
    settings.bucket = *bucket;

    if (auto prefix = setting(getenv, "KEY_PREFIX")) {
        if (!prefix->ends_with('/')) *prefix += '/';
        if (auto problem = key_problem(*prefix)) return invalid("KEY_PREFIX", *problem);
        settings.key_prefix = *prefix;
    }

    if (auto expires = setting(getenv, "URL_EXPIRES")) {
        auto seconds = parse_unsigned(*expires);
        if (!seconds || *seconds < 1 || *seconds > 604800)
            return invalid("URL_EXPIRES", "must be a whole number of seconds in 1..604800");
        settings.url_expires = std::chrono::seconds(static_cast<std::int64_t>(*seconds));
    }

    if (auto max_bytes = setting(getenv, "MAX_UPLOAD_BYTES")) {
        auto bytes = parse_unsigned(*max_bytes);
        if (!bytes || *bytes < 1 || *bytes > (5ull << 40))
            return invalid(
                "MAX_UPLOAD_BYTES",
                "must be a whole number of bytes in 1..5497558138880 (5 TiB, S3's object limit)");
        settings.max_upload_bytes = *bytes;
    }

    if (auto threshold = setting(getenv, "MULTIPART_THRESHOLD")) {
        auto bytes = parse_unsigned(*threshold);
        if (!bytes || *bytes > (5ull << 30))
            return invalid(
                "MULTIPART_THRESHOLD",
                "must be a whole number of bytes in 0..5368709120 (S3's single PUT limit)");
        settings.multipart_threshold = *bytes;
    }

    // Not trimmed or reported: the value is a secret, and only its length is ever described.
    if (auto text = getenv("LINK_SECRET"); text && !text->empty()) {
        auto current = token::secret::from_text(*text);
        if (!current) return invalid("LINK_SECRET", "must be 32..4096 bytes of secret text");
        std::optional<token::secret> previous;
        if (auto old = getenv("LINK_SECRET_PREVIOUS"); old && !old->empty()) {
            previous = token::secret::from_text(*old);
            if (!previous)
                return invalid("LINK_SECRET_PREVIOUS", "must be 32..4096 bytes of secret text");
        }
        settings.link_keys.emplace(std::move(*current), std::move(previous));
    }

    if (auto types = setting(getenv, "ALLOWED_CONTENT_TYPES")) {
        for (auto& pattern : split_list(*types)) {
            auto lower = detail::to_lower(pattern);
            if (!valid_content_type_pattern(lower))
                return invalid("ALLOWED_CONTENT_TYPES",
                               "\"" + pattern + "\" is not type/subtype, type/* or */*");
            settings.allowed_content_types.push_back(std::move(lower));
        }
    }

    if (auto origins = setting(getenv, "ALLOWED_ORIGINS")) {
        for (auto& origin : split_list(*origins)) {
            auto lower = detail::to_lower(origin);
            if (!valid_origin(lower))
                return invalid("ALLOWED_ORIGINS",
                               "\"" + origin +
                                   "\" is not an origin like https://files.example.com "
                                   "(scheme and host, no path) or *");
            settings.allowed_origins.push_back(std::move(lower));
        }
    }

    if (auto anonymous = setting(getenv, "ALLOW_ANONYMOUS")) {
        auto flag = parse_bool(*anonymous);
        if (!flag) return invalid("ALLOW_ANONYMOUS", "must be true or false");
        settings.allow_anonymous = *flag;
    }

    if (auto share_max = setting(getenv, "SHARE_MAX_SECONDS")) {
        auto seconds = parse_unsigned(*share_max);
        if (!seconds || *seconds < 60 || *seconds > 2592000)
            return invalid("SHARE_MAX_SECONDS",
                           "must be a whole number of seconds in 60..2592000 (30 days)");
        settings.share_max = std::chrono::seconds(static_cast<std::int64_t>(*seconds));
    }

    auto region = setting(getenv, "AWS_REGION");
    if (!region) region = setting(getenv, "AWS_DEFAULT_REGION");
    if (region) {
        bool ok = std::all_of(region->begin(), region->end(), [](char c) {
            return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
        });
        if (!ok) return invalid("AWS_REGION", "must look like us-east-1");
        settings.endpoint.region = *region;
    }

    if (auto endpoint = setting(getenv, "S3_ENDPOINT")) settings.endpoint.url = *endpoint;

    if (auto path_style = setting(getenv, "S3_PATH_STYLE")) {
        auto flag = parse_bool(*path_style);
        if (!flag) return invalid("S3_PATH_STYLE", "must be true or false");
        settings.endpoint.style =
            *flag ? sigv4::s3::addressing::path : sigv4::s3::addressing::virtual_hosted;
    }

    bool legacy_bucket = settings.endpoint.style == sigv4::s3::addressing::path;
    if (auto valid = sigv4::s3::validate_bucket_name(settings.bucket, legacy_bucket); !valid)
        return invalid("BUCKET_NAME", valid.error().message);

    // Resolving one object proves endpoint, region and addressing style fit together.
    if (auto where = sigv4::s3::locate(settings.bucket, "probe", settings.endpoint); !where) {
        switch (where.error().code) {
            case sigv4::errc::invalid_region:
                return invalid("AWS_REGION", where.error().message);
            case sigv4::errc::invalid_bucket_name:
                return invalid("BUCKET_NAME",
                               where.error().message + " (set S3_PATH_STYLE=true for this name)");
            default:
                return invalid(settings.endpoint.url.empty() ? "S3_PATH_STYLE" : "S3_ENDPOINT",
                               where.error().message);
        }
    }
    return settings;
}

}  // namespace presign::service
