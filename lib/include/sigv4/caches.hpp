// SPDX-License-Identifier: Apache-2.0
// The per-thread caches of derived secrets that make presigning and verifying fast, and how to
// drop them.
//
// What is cached, per thread (each thread has its own; no locks, nothing shared):
// - signing keys: up to 8 entries of (a copy of the secret key, scope date, region, service) and
//   the SigV4 signing key derived from them (HMAC states), least recently used replaced. Filled by
//   presign(), sign(), s3::presign_*() and verify().
// - s3::presign_*(): the last (access key, secret copy, region, second) with its signing key
//   after the string-to-sign head, and the last session token with the query text holding it.
// - verify(): the last presigned URL's scope with a copy of the lent secret and the signing key
//   after the string-to-sign head, and the last expected session token (and its encoding).
// How long: until the thread ends (the caches are then wiped with OPENSSL_cleanse and freed),
// until an entry is replaced by another key, scope or token, or until clear_thread_caches().
// Entries are always checked against the key in use (constant-time comparison of the secret), so
// a rotated key is never signed with by mistake; clearing is about how long the old secret and
// keys derived from it stay in memory.
#pragma once

#include "sigv4/export.hpp"

namespace sigv4 {

/// Wipes (OPENSSL_cleanse) and drops every cache above for the calling thread: after a key
/// rotation, call it on each thread that signed or verified with the old key (or let those threads
/// end). Other threads' caches are untouched. The next call on this thread derives its keys again.
/// Allocates nothing; must not run while the same thread is inside a sigv4 call (it cannot be: the
/// library calls no user code while holding cache references, except the verify() key lookup,
/// from which calling this is not allowed).
SIGV4_EXPORT void clear_thread_caches() noexcept;

}  // namespace sigv4
