// SPDX-License-Identifier: Apache-2.0
// The plan of a multipart upload: which key, how many bytes, in parts of which size. It travels to
// the client and back in a token (purpose upload_plan) so the service remembers nothing.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "presign/token.hpp"

namespace presign::service::detail {

inline constexpr std::uint64_t min_plan_part_bytes = 8ull << 20;  // 8 MiB, as the AWS CLI's default
inline constexpr std::uint32_t max_plan_parts = 10'000;
inline constexpr std::chrono::hours plan_lifetime{24};

struct upload_plan {
    std::string key;
    std::uint64_t size = 0;
    std::uint64_t part_size = min_plan_part_bytes;

    /// At least one part (an empty file is one empty part).
    [[nodiscard]] std::uint32_t part_count() const noexcept;
    /// Bytes of part `number` (1-based, <= part_count()): part_size, the last one the remainder.
    [[nodiscard]] std::uint64_t part_bytes(std::uint32_t number) const noexcept;
};

/// The plan for `size` bytes: parts of 8 MiB, or larger (whole MiB) so at most 10,000 are needed.
[[nodiscard]] upload_plan plan_upload(std::string key, std::uint64_t size);

/// Seals the plan into a token that expires at `expires_at`. Fails only as token::seal does.
[[nodiscard]] sigv4::result<std::string, token::errc> seal_plan(const token::keyring& keys,
                                                                const upload_plan& plan,
                                                                sigv4::sys_seconds expires_at);

/// Opens a plan token: token::open's errors, and malformed for a payload that is no plan.
[[nodiscard]] sigv4::result<upload_plan, token::errc> open_plan(const token::keyring& keys,
                                                                std::string_view text,
                                                                sigv4::sys_seconds now);

}  // namespace presign::service::detail
