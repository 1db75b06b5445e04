// SPDX-License-Identifier: Apache-2.0
#include "sigv4/hash.hpp"

#include <openssl/sha.h>

#include <new>

#include "detail/crypto.hpp"

namespace sigv4 {

static_assert(sizeof(SHA256_CTX) <= 128, "sha256::state_ too small for SHA256_CTX");

namespace {
SHA256_CTX* ctx_of(unsigned char* state) noexcept {
    return std::launder(reinterpret_cast<SHA256_CTX*>(state));
}
}  // namespace

sha256::sha256() noexcept {
    SHA256_Init(new (state_) SHA256_CTX);
}

void sha256::update(const void* data, std::size_t size) noexcept {
    SHA256_Update(ctx_of(state_), data, size);
}

sha256_digest sha256::finish() noexcept {
    sha256_digest out;
    SHA256_Final(out.data(), ctx_of(state_));
    SHA256_Init(ctx_of(state_));
    return out;
}

sha256_digest sha256_of(std::string_view data) noexcept {
    // The low-level API: OpenSSL 3's one-shot SHA256() fetches the digest on every call.
    SHA256_CTX ctx;
    SHA256_Init(&ctx);
    SHA256_Update(&ctx, data.data(), data.size());
    sha256_digest out;
    SHA256_Final(out.data(), &ctx);
    return out;
}

std::string sha256_hex(std::string_view data) {
    auto digest = sha256_of(data);
    std::string out(64, '\0');
    detail::hex32(digest.data(), out.data());
    return out;
}

}  // namespace sigv4
