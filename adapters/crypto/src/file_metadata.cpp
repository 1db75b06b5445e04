// SPDX-License-Identifier: Apache-2.0
#include "presign/e2e/file_metadata.hpp"

#include <openssl/crypto.h>

#include <algorithm>

#include "detail.hpp"

namespace presign::e2e {
namespace {

using detail::fail;

constexpr std::uint8_t metadata_version = 0x01;
constexpr std::size_t max_type_size = 100;
constexpr std::size_t max_extension_size = 16;
constexpr std::size_t max_name_and_type = max_metadata_size - metadata_overhead;  // 229

// Key and nonce of the metadata record: one HKDF block under its own info string, so they are
// independent of the content's CEK and nonce (RFC 8188 uses other info strings).
struct metadata_keys {
    std::array<std::uint8_t, 16> key{};
    std::array<std::uint8_t, 12> nonce{};
    metadata_keys() = default;
    metadata_keys(const metadata_keys&) = delete;
    metadata_keys& operator=(const metadata_keys&) = delete;
    ~metadata_keys() {
        OPENSSL_cleanse(key.data(), key.size());
        OPENSSL_cleanse(nonce.data(), nonce.size());
    }
    bool derive(const secret& s, const std::array<std::uint8_t, salt_size>& salt) {
        std::array<std::uint8_t, 32> block{};
        const bool ok = detail::hkdf_sha256_block(
            salt, s.bytes(), std::string_view("presign metadata v1\0", 20), block);
        std::copy_n(block.begin(), key.size(), key.begin());
        std::copy_n(block.begin() + 16, nonce.size(), nonce.begin());
        OPENSSL_cleanse(block.data(), block.size());
        return ok;
    }
};

bool printable_ascii(std::string_view text) {
    return std::all_of(text.begin(), text.end(), [](char c) { return c > 0x20 && c < 0x7f; });
}

bool is_continuation(char c) {
    return (static_cast<unsigned char>(c) & 0xc0) == 0x80;
}

// The longest prefix of `text` of at most `size` bytes that ends on a UTF-8 character boundary.
std::string_view utf8_prefix(std::string_view text, std::size_t size) {
    if (text.size() <= size) return text;
    while (size > 0 && is_continuation(text[size])) --size;
    return text.substr(0, size);
}

}  // namespace

file_metadata fit_metadata(file_metadata metadata) {
    if (metadata.type.empty() || metadata.type.size() > max_type_size ||
        !printable_ascii(metadata.type)) {
        metadata.type = std::string(default_media_type);
    }
    metadata.name = safe_file_name(metadata.name);
    const std::size_t room = max_name_and_type - metadata.type.size();
    if (metadata.name.size() > room) {
        std::string_view name = metadata.name;
        const auto dot = name.rfind('.');
        std::string_view extension;
        if (dot != std::string_view::npos && dot > 0) extension = name.substr(dot);
        extension = utf8_prefix(extension, max_extension_size);
        const std::string_view stem = utf8_prefix(name, room - extension.size());
        metadata.name = std::string(stem) + std::string(extension);
    }
    return metadata;
}

result<bytes> seal_metadata(const secret& key, const std::array<std::uint8_t, salt_size>& salt,
                            const file_metadata& metadata) {
    if (metadata.type.size() > 255 ||
        metadata.type.size() + metadata.name.size() > max_name_and_type) {
        return fail(errc::metadata_too_large,
                    "the file name and type are too long for the metadata record");
    }
    bytes plaintext;
    plaintext.reserve(max_metadata_size);
    plaintext.push_back(metadata_version);
    for (int shift = 56; shift >= 0; shift -= 8)
        plaintext.push_back(static_cast<std::uint8_t>(metadata.size >> shift));
    plaintext.push_back(static_cast<std::uint8_t>(metadata.type.size()));
    plaintext.insert(plaintext.end(), metadata.type.begin(), metadata.type.end());
    plaintext.insert(plaintext.end(), metadata.name.begin(), metadata.name.end());

    metadata_keys keys;
    detail::gcm_context gcm;
    bytes sealed(plaintext.size() + tag_size);
    const bool ok = keys.derive(key, salt) && gcm.init(keys.key, true) &&
                    gcm.seal(keys.nonce, plaintext, {}, sealed.data());
    OPENSSL_cleanse(plaintext.data(), plaintext.size());
    if (!ok) return fail(errc::crypto_failure, "libcrypto failed to seal the metadata record");
    return sealed;
}

result<file_metadata> open_metadata(const secret& key,
                                    const std::array<std::uint8_t, salt_size>& salt,
                                    std::span<const std::uint8_t> keyid) {
    const auto invalid = [] {
        return fail(
            errc::metadata_invalid,
            "the file's name and type do not decrypt: the key is wrong or the file was changed");
    };
    if (keyid.size() < metadata_overhead || keyid.size() > max_metadata_size) return invalid();
    metadata_keys keys;
    detail::gcm_context gcm;
    bytes plaintext(keyid.size() - tag_size);
    if (!keys.derive(key, salt) || !gcm.init(keys.key, false)) {
        return fail(errc::crypto_failure, "libcrypto could not set up AES-128-GCM");
    }
    if (!gcm.open(keys.nonce, keyid, plaintext.data())) return invalid();
    file_metadata metadata;
    std::size_t type_size = plaintext[9];
    if (plaintext[0] != metadata_version || 10 + type_size >= plaintext.size()) return invalid();
    for (std::size_t i = 1; i <= 8; ++i) metadata.size = (metadata.size << 8) | plaintext[i];
    metadata.type.assign(plaintext.begin() + 10,
                         plaintext.begin() + 10 + static_cast<std::ptrdiff_t>(type_size));
    metadata.name.assign(plaintext.begin() + 10 + static_cast<std::ptrdiff_t>(type_size),
                         plaintext.end());
    OPENSSL_cleanse(plaintext.data(), plaintext.size());
    return metadata;
}

std::string safe_file_name(std::string_view name) {
    const auto slash = name.find_last_of("/\\");
    if (slash != std::string_view::npos) name = name.substr(slash + 1);
    std::string out;
    out.reserve(name.size());
    for (const char c : name) {
        const auto byte = static_cast<unsigned char>(c);
        if (byte >= 0x20 && byte != 0x7f) out += c;
    }
    if (out.empty() || out == "." || out == "..") return "file";
    return out;
}

}  // namespace presign::e2e
