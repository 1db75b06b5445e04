// SPDX-License-Identifier: Apache-2.0
// Random bytes for ids, salts and secrets (not part of the public API).
#pragma once

#include <sys/random.h>

#include <cerrno>
#include <cstddef>

namespace presign::service::detail {

/// Fills `size` bytes from the kernel's CSPRNG (the source of /dev/urandom and of OpenSSL's
/// RAND_bytes) without a file, so it works in a chroot, and without pulling OpenSSL's provider
/// machinery into the static Lambda binary. False when the kernel refuses.
[[nodiscard]] inline bool fill_random(void* out, std::size_t size) noexcept {
    auto* bytes = static_cast<unsigned char*>(out);
    std::size_t filled = 0;
    while (filled < size) {
        auto n = ::getrandom(bytes + filled, size - filled, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
        filled += static_cast<std::size_t>(n);
    }
    return true;
}

}  // namespace presign::service::detail
