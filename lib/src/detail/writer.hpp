// SPDX-License-Identifier: Apache-2.0
// Writing a canonical request or URL into a buffer sized beforehand to a bound.
#pragma once

#include <cstring>
#include <string_view>

#include "detail/unreserved.hpp"

namespace sigv4::detail {

/// Appends at `at`, which the caller has made room for; no bounds checks, no allocation.
struct writer {
    char* at;
    void put(std::string_view text) noexcept {
        if (text.empty()) return;  // memcpy from a null data() is undefined even for 0 bytes
        std::memcpy(at, text.data(), text.size());
        at += text.size();
    }
    void put(char c) noexcept { *at++ = c; }
    /// Percent-encodes (S3 rules); true when a byte >= 0x80 was seen (UTF-8 validation needed).
    bool encode(std::string_view text, bool keep_slash) noexcept {
        bool saw_non_ascii = false;
        at = percent_encode(text, keep_slash, at, saw_non_ascii);
        return saw_non_ascii;
    }
};

}  // namespace sigv4::detail
