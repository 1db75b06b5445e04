// SPDX-License-Identifier: Apache-2.0
#include "detail.hpp"

#include <openssl/crypto.h>
#include <openssl/hmac.h>

#include <climits>

namespace presign::e2e::detail {
namespace {

// Fetched once: EVP_aes_128_gcm() would look the implementation up on every init.
const EVP_CIPHER* aes_128_gcm() {
    static EVP_CIPHER* const cipher = EVP_CIPHER_fetch(nullptr, "AES-128-GCM", nullptr);
    return cipher;
}

bool fits_int(std::size_t n) {
    return n <= static_cast<std::size_t>(INT_MAX);
}

}  // namespace

bool hkdf_sha256_block(std::span<const std::uint8_t> salt, std::span<const std::uint8_t> ikm,
                       std::string_view info, std::array<std::uint8_t, 32>& out) {
    std::array<std::uint8_t, 32> prk{};
    unsigned int length = 0;
    bool ok = HMAC(EVP_sha256(), salt.data(), static_cast<int>(salt.size()), ikm.data(), ikm.size(),
                   prk.data(), &length) != nullptr &&
              length == prk.size();
    if (ok) {
        std::array<std::uint8_t, 256> message{};
        ok = info.size() + 1 <= message.size();
        if (ok) {
            std::copy(info.begin(), info.end(), message.begin());
            message[info.size()] = 0x01;
            ok = HMAC(EVP_sha256(), prk.data(), static_cast<int>(prk.size()), message.data(),
                      info.size() + 1, out.data(), &length) != nullptr &&
                 length == out.size();
        }
    }
    OPENSSL_cleanse(prk.data(), prk.size());
    return ok;
}

gcm_context::~gcm_context() {
    EVP_CIPHER_CTX_free(ctx_);
}

bool gcm_context::init(std::span<const std::uint8_t, 16> key, bool encrypt) {
    if (ctx_ == nullptr) ctx_ = EVP_CIPHER_CTX_new();
    if (ctx_ == nullptr || aes_128_gcm() == nullptr) return false;
    return EVP_CipherInit_ex(ctx_, aes_128_gcm(), nullptr, key.data(), nullptr, encrypt ? 1 : 0) ==
           1;
}

bool gcm_context::seal(std::span<const std::uint8_t, 12> nonce, std::span<const std::uint8_t> in,
                       std::span<const std::uint8_t> extra, std::uint8_t* out) {
    int written = 0;
    int final_length = 0;
    if (!fits_int(in.size()) || !fits_int(extra.size())) return false;
    if (EVP_EncryptInit_ex(ctx_, nullptr, nullptr, nullptr, nonce.data()) != 1) return false;
    if (!in.empty() &&
        (EVP_EncryptUpdate(ctx_, out, &written, in.data(), static_cast<int>(in.size())) != 1 ||
         static_cast<std::size_t>(written) != in.size())) {
        return false;
    }
    out += in.size();
    if (!extra.empty() && (EVP_EncryptUpdate(ctx_, out, &written, extra.data(),
                                             static_cast<int>(extra.size())) != 1 ||
                           static_cast<std::size_t>(written) != extra.size())) {
        return false;
    }
    out += extra.size();
    if (EVP_EncryptFinal_ex(ctx_, out, &final_length) != 1 || final_length != 0) return false;
    return EVP_CIPHER_CTX_ctrl(ctx_, EVP_CTRL_GCM_GET_TAG, 16, out) == 1;
}

bool gcm_context::open(std::span<const std::uint8_t, 12> nonce, std::span<const std::uint8_t> in,
                       std::uint8_t* out) {
    if (in.size() < 16 || !fits_int(in.size())) return false;
    const std::size_t length = in.size() - 16;
    int written = 0;
    int final_length = 0;
    if (EVP_DecryptInit_ex(ctx_, nullptr, nullptr, nullptr, nonce.data()) != 1) return false;
    if (length != 0 &&
        (EVP_DecryptUpdate(ctx_, out, &written, in.data(), static_cast<int>(length)) != 1 ||
         static_cast<std::size_t>(written) != length)) {
        return false;
    }
    // The tag is only read; OpenSSL's ctrl takes a non-const pointer.
    std::array<std::uint8_t, 16> tag{};
    std::copy(in.begin() + static_cast<std::ptrdiff_t>(length), in.end(), tag.begin());
    if (EVP_CIPHER_CTX_ctrl(ctx_, EVP_CTRL_GCM_SET_TAG, 16, tag.data()) != 1) return false;
    return EVP_DecryptFinal_ex(ctx_, out + length, &final_length) == 1;
}

}  // namespace presign::e2e::detail
