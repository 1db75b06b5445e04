// SPDX-License-Identifier: Apache-2.0
#include "sigv4/credentials.hpp"

#include <openssl/crypto.h>

#include <cstring>

#include "detail/crypto.hpp"

namespace sigv4 {

result<secret_key> secret_key::from(std::string_view secret) {
    if (secret.empty()) return fail(errc::invalid_secret_key, "the secret access key is empty");
    if (secret.size() > max_size) {
        return fail(errc::invalid_secret_key,
                    "the secret access key is longer than " + std::to_string(max_size) + " bytes");
    }
    secret_key key;
    std::memcpy(key.bytes_.data(), secret.data(), secret.size());
    key.size_ = secret.size();
    return key;
}

secret_key::secret_key(const secret_key& other) noexcept
    : bytes_(other.bytes_), size_(other.size_) {}

secret_key& secret_key::operator=(const secret_key& other) noexcept {
    if (this != &other) {
        OPENSSL_cleanse(bytes_.data(), bytes_.size());
        bytes_ = other.bytes_;
        size_ = other.size_;
    }
    return *this;
}

secret_key::~secret_key() {
    OPENSSL_cleanse(bytes_.data(), bytes_.size());
}

bool secret_key::equals(const secret_key& other) const noexcept {
    // The length of a secret is not secret (AWS's are all 40 bytes); its bytes are compared in
    // constant time. The bytes past size_ are zero in every secret_key, so the whole buffer is
    // compared.
    return (size_ == other.size_) &
           detail::constant_time_equals(reinterpret_cast<const char*>(bytes_.data()),
                                        reinterpret_cast<const char*>(other.bytes_.data()),
                                        max_size);
}

result<credentials> credentials::make(std::string_view access_key_id,
                                      std::string_view secret_access_key,
                                      std::string_view session_token,
                                      std::optional<std::chrono::sys_seconds> expiration) {
    if (access_key_id.empty()) return fail(errc::empty_access_key_id, "the access key id is empty");
    for (char c : access_key_id) {
        bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
        if (!ok) {
            return fail(errc::empty_access_key_id,
                        "the access key id may contain only letters and digits");
        }
    }
    auto secret = secret_key::from(secret_access_key);
    if (!secret) return unexpected{secret.error()};
    for (char c : session_token) {
        auto u = static_cast<unsigned char>(c);
        if (u < 0x20 || u == 0x7f) {
            return fail(errc::invalid_session_token,
                        "the session token contains control characters");
        }
    }
    credentials creds;
    creds.access_key_id.assign(access_key_id);
    creds.secret = *secret;
    creds.session_token.assign(session_token);
    creds.expiration = expiration;
    return creds;
}

}  // namespace sigv4
