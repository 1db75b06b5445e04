// SPDX-License-Identifier: Apache-2.0
#include "sigv4/caches.hpp"

#include "detail/caches.hpp"
#include "detail/crypto.hpp"
#include "detail/verify.hpp"

namespace sigv4 {

void clear_thread_caches() noexcept {
    detail::clear_signing_key_cache();
    detail::clear_presign_cache();
    detail::clear_verify_cache();
}

namespace detail {

bool thread_caches_hold(const secret_key& secret) noexcept {
    return signing_key_cache_holds(secret) || presign_cache_holds(secret) ||
           verify_cache_holds(secret);
}

}  // namespace detail

}  // namespace sigv4
