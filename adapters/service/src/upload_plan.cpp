// SPDX-License-Identifier: Apache-2.0
#include "upload_plan.hpp"

#include <sigv4/s3_multipart.hpp>

namespace presign::service::detail {

namespace {

// Payload: size and part size as 8 big-endian bytes each, then the key.
constexpr std::size_t fixed_bytes = 16;

void put_u64(std::string& out, std::uint64_t value) {
    for (int shift = 56; shift >= 0; shift -= 8)
        out.push_back(static_cast<char>((value >> shift) & 0xFF));
}

std::uint64_t get_u64(std::string_view in) noexcept {
    std::uint64_t value = 0;
    for (std::size_t i = 0; i < 8; ++i) value = (value << 8) | static_cast<unsigned char>(in[i]);
    return value;
}

}  // namespace

std::uint32_t upload_plan::part_count() const noexcept {
    if (size == 0) return 1;
    return static_cast<std::uint32_t>((size + part_size - 1) / part_size);
}

std::uint64_t upload_plan::part_bytes(std::uint32_t number) const noexcept {
    if (number < part_count()) return part_size;
    return size - part_size * (part_count() - 1);
}

upload_plan plan_upload(std::string key, std::uint64_t size) {
    constexpr std::uint64_t mib = 1ull << 20;
    std::uint64_t part = (size + max_plan_parts - 1) / max_plan_parts;
    part = (part + mib - 1) / mib * mib;
    if (part < min_plan_part_bytes) part = min_plan_part_bytes;
    return upload_plan{std::move(key), size, part};
}

sigv4::result<std::string, token::errc> seal_plan(const token::keyring& keys,
                                                  const upload_plan& plan,
                                                  sigv4::sys_seconds expires_at) {
    std::string payload;
    payload.reserve(fixed_bytes + plan.key.size());
    put_u64(payload, plan.size);
    put_u64(payload, plan.part_size);
    payload.append(plan.key);
    return token::seal(keys, {token::purpose::upload_plan, expires_at, payload, std::nullopt});
}

sigv4::result<upload_plan, token::errc> open_plan(const token::keyring& keys, std::string_view text,
                                                  sigv4::sys_seconds now) {
    auto opened = token::open(keys, text, token::purpose::upload_plan, now);
    if (!opened) return sigv4::unexpected{opened.error()};
    std::string_view payload = opened->payload;
    if (payload.size() <= fixed_bytes || opened->needs_password())
        return sigv4::unexpected{token::errc::malformed};
    upload_plan plan{std::string(payload.substr(fixed_bytes)), get_u64(payload),
                     get_u64(payload.substr(8))};
    if (plan.size > sigv4::s3::max_multipart_object_bytes ||
        plan.part_size < sigv4::s3::min_part_bytes || plan.part_size > sigv4::s3::max_part_bytes ||
        plan.part_count() > max_plan_parts)
        return sigv4::unexpected{token::errc::malformed};
    return plan;
}

}  // namespace presign::service::detail
