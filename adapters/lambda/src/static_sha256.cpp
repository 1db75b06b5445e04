// SPDX-License-Identifier: Apache-2.0
// Linked only into the static `bootstrap`: OpenSSL 3's one-shot SHA256() goes through EVP_Q_digest,
// which drags the whole provider machinery (about 2.5 MB) into a static binary. This definition,
// on the low-level API sigv4 already uses, takes its place at link time; results are identical.
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/sha.h>

extern "C" unsigned char* SHA256(const unsigned char* data, size_t size, unsigned char* digest) {
    static unsigned char fallback[SHA256_DIGEST_LENGTH];
    if (digest == nullptr) digest = fallback;
    SHA256_CTX context;
    SHA256_Init(&context);
    SHA256_Update(&context, data, size);
    SHA256_Final(digest, &context);
    return digest;
}
