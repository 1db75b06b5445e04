// SPDX-License-Identifier: Apache-2.0
// The per-thread caches behind sigv4/caches.hpp: each file that keeps one clears it here.
#pragma once

#include "sigv4/credentials.hpp"

namespace sigv4::detail {

/// s3_presign.cpp's direct-path cache (scope, secret copy, signing key, session token).
void clear_presign_cache() noexcept;
[[nodiscard]] bool presign_cache_holds(const secret_key& secret) noexcept;

/// Whether any of this thread's caches holds `secret` or a key derived from it: the test hook
/// for clear_thread_caches() (exported for tests/caches_test).
[[nodiscard]] SIGV4_EXPORT bool thread_caches_hold(const secret_key& secret) noexcept;

}  // namespace sigv4::detail
