// SPDX-License-Identifier: Apache-2.0
// The verifier's two paths, which sigv4::verify() runs in turn: the direct path for well-formed
// presigned S3 URLs (verify_fast.cpp) and the full verifier (verify.cpp). Separate so that
// tests/fuzz/fuzz_verify_paths can check that the direct path accepts only what the full verifier
// accepts, with the same facts.
#pragma once

// SIGV4_EXPORT here: the two paths are called by fuzz_verify_paths, also against a shared sigv4.

#include "sigv4/verify.hpp"

namespace sigv4::detail {

/// True when `request` is a presigned S3 URL that verifies, with `facts` filled; false when it is
/// anything else (wrong, unusual or unsupported here), with `facts` unspecified. Never an error:
/// the full verifier decides those. Uses per-thread caches (see clear_verify_caches).
[[nodiscard]] SIGV4_EXPORT bool verify_presigned_directly(const received_request& request,
                                                          const key_lookup& keys,
                                                          const verify_options& options,
                                                          verified_request& facts);

/// Verifies any request, with S3's error codes and messages.
[[nodiscard]] SIGV4_EXPORT result<verified_request, verify_error> verify_fully(
    const received_request& request, const key_lookup& keys, const verify_options& options);

/// Wipes the direct path's per-thread cache of derived keys and the expected session token (part
/// of sigv4::clear_thread_caches).
void clear_verify_cache() noexcept;
/// Whether the direct path's per-thread cache holds a key derived from `secret` (for tests).
[[nodiscard]] bool verify_cache_holds(const secret_key& secret) noexcept;

}  // namespace sigv4::detail
