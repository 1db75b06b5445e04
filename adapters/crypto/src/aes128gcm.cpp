// SPDX-License-Identifier: Apache-2.0
#include "presign/e2e/aes128gcm.hpp"

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <algorithm>
#include <cstring>

#include "detail.hpp"

namespace presign::e2e {
namespace {

using detail::fail;

constexpr std::uint8_t delimiter_more = 0x01;
constexpr std::uint8_t delimiter_last = 0x02;

// CEK and nonce base of RFC 8188 §2.2 and §2.3, wiped on destruction.
struct content_keys {
    std::array<std::uint8_t, 16> cek{};
    std::array<std::uint8_t, 12> nonce_base{};
    content_keys() = default;
    content_keys(const content_keys&) = delete;
    content_keys& operator=(const content_keys&) = delete;
    ~content_keys() {
        OPENSSL_cleanse(cek.data(), cek.size());
        OPENSSL_cleanse(nonce_base.data(), nonce_base.size());
    }

    bool derive(const secret& key, std::span<const std::uint8_t> salt) {
        std::array<std::uint8_t, 32> block{};
        bool ok = detail::hkdf_sha256_block(
            salt, key.bytes(), std::string_view("Content-Encoding: aes128gcm\0", 28), block);
        std::copy_n(block.begin(), cek.size(), cek.begin());
        ok = ok && detail::hkdf_sha256_block(
                       salt, key.bytes(), std::string_view("Content-Encoding: nonce\0", 24), block);
        std::copy_n(block.begin(), nonce_base.size(), nonce_base.begin());
        OPENSSL_cleanse(block.data(), block.size());
        return ok;
    }

    // NONCE xor SEQ, SEQ as a 96-bit big-endian integer (RFC 8188 §2.3).
    std::array<std::uint8_t, 12> nonce(std::uint64_t sequence) const {
        std::array<std::uint8_t, 12> out = nonce_base;
        for (int i = 0; i < 8; ++i) {
            out[11 - i] ^= static_cast<std::uint8_t>(sequence >> (8 * i));
        }
        return out;
    }
};

std::string record_name(std::uint64_t sequence) {
    return "record " + std::to_string(sequence);
}

}  // namespace

result<std::uint64_t> encrypted_size(std::uint64_t plaintext_size, std::uint32_t record_size,
                                     std::size_t keyid_size) {
    if (record_size < min_record_size) {
        return fail(errc::invalid_record_size, "the record size is below the RFC's minimum of 18");
    }
    if (keyid_size > 255) {
        return fail(errc::metadata_too_large, "the keyid is longer than 255 bytes");
    }
    const std::uint64_t per_record = record_size - record_overhead;
    const std::uint64_t records =
        std::max<std::uint64_t>(1, (plaintext_size + per_record - 1) / per_record);
    return fixed_header_size + keyid_size + plaintext_size + records * record_overhead;
}

result<std::array<std::uint8_t, salt_size>> random_salt() {
    std::array<std::uint8_t, salt_size> salt{};
    if (RAND_bytes(salt.data(), static_cast<int>(salt.size())) != 1) {
        return fail(errc::crypto_failure, "the random generator failed");
    }
    return salt;
}

// ---- encryptor --------------------------------------------------------------------------------

struct encryptor::state {
    content_keys keys;
    detail::gcm_context gcm;
    bytes header_bytes;
    bytes pending;  // plaintext of the record not yet known to be the last
    std::size_t per_record = 0;
    std::uint64_t sequence = 0;
    bool header_written = false;
    bool finished = false;

    bool seal(std::span<const std::uint8_t> plaintext, bool last, bytes& out) {
        const std::uint8_t delimiter = last ? delimiter_last : delimiter_more;
        const std::size_t at = out.size();
        out.resize(at + plaintext.size() + record_overhead);
        const bool ok =
            gcm.seal(keys.nonce(sequence), plaintext, std::span(&delimiter, 1), out.data() + at);
        ++sequence;
        if (!ok) out.resize(at);
        return ok;
    }

    void write_header(bytes& out) {
        if (header_written) return;
        out.insert(out.end(), header_bytes.begin(), header_bytes.end());
        header_written = true;
    }
};

encryptor::encryptor(std::unique_ptr<state> s) noexcept : state_(std::move(s)) {}
encryptor::encryptor(encryptor&&) noexcept = default;
encryptor& encryptor::operator=(encryptor&&) noexcept = default;
encryptor::~encryptor() {
    if (state_) OPENSSL_cleanse(state_->pending.data(), state_->pending.size());
}

result<encryptor> encryptor::make(const secret& key,
                                  const std::array<std::uint8_t, salt_size>& salt,
                                  std::span<const std::uint8_t> keyid, std::uint32_t record_size) {
    if (record_size < min_record_size || record_size > max_record_size) {
        return fail(errc::invalid_record_size, "the record size must be 18 bytes to 16 MiB");
    }
    if (keyid.size() > 255)
        return fail(errc::metadata_too_large, "the keyid is longer than 255 bytes");
    auto made = std::make_unique<state>();
    if (!made->keys.derive(key, salt) || !made->gcm.init(made->keys.cek, true)) {
        return fail(errc::crypto_failure, "libcrypto could not set up AES-128-GCM");
    }
    made->per_record = record_size - record_overhead;
    made->pending.reserve(made->per_record);
    auto& h = made->header_bytes;
    h.assign(salt.begin(), salt.end());
    for (int shift = 24; shift >= 0; shift -= 8)
        h.push_back(static_cast<std::uint8_t>(record_size >> shift));
    h.push_back(static_cast<std::uint8_t>(keyid.size()));
    h.insert(h.end(), keyid.begin(), keyid.end());
    return encryptor(std::move(made));
}

result<void> encryptor::update(std::span<const std::uint8_t> plaintext, bytes& out) {
    auto& s = *state_;
    if (s.finished) return fail(errc::crypto_failure, "update after finish");
    s.write_header(out);
    // Seal a record only once a later byte proves it is not the last one.
    while (s.pending.size() + plaintext.size() > s.per_record) {
        bool ok = false;
        if (s.pending.empty()) {
            ok = s.seal(plaintext.first(s.per_record), false, out);
            plaintext = plaintext.subspan(s.per_record);
        } else {
            const std::size_t take = s.per_record - s.pending.size();
            s.pending.insert(s.pending.end(), plaintext.begin(),
                             plaintext.begin() + static_cast<std::ptrdiff_t>(take));
            plaintext = plaintext.subspan(take);
            ok = s.seal(s.pending, false, out);
            s.pending.clear();
        }
        if (!ok) return fail(errc::crypto_failure, "libcrypto failed to encrypt a record");
    }
    s.pending.insert(s.pending.end(), plaintext.begin(), plaintext.end());
    return {};
}

result<void> encryptor::finish(bytes& out) {
    auto& s = *state_;
    if (s.finished) return fail(errc::crypto_failure, "finish called twice");
    s.finished = true;
    s.write_header(out);
    const bool ok = s.seal(s.pending, true, out);
    OPENSSL_cleanse(s.pending.data(), s.pending.size());
    s.pending.clear();
    if (!ok) return fail(errc::crypto_failure, "libcrypto failed to encrypt a record");
    return {};
}

// ---- decryptor --------------------------------------------------------------------------------

struct decryptor::state {
    secret key;
    content_keys keys;
    detail::gcm_context gcm;
    std::optional<e2e::header> parsed;
    bytes pending;  // header bytes, then the ciphertext of a record not yet known to be the last
    std::uint64_t sequence = 0;
    std::optional<error> failure;

    explicit state(const secret& k) : key(k) {}

    result<void> failed(errc code, std::string message) {
        failure = error{code, std::move(message)};
        return sigv4::unexpected<error>{*failure};
    }

    // Consumes header bytes from `in`; true once the header is complete.
    result<bool> read_header(std::span<const std::uint8_t>& in) {
        const auto need = [&]() -> std::size_t {
            if (pending.size() < fixed_header_size) return fixed_header_size;
            return fixed_header_size + pending[fixed_header_size - 1];
        };
        while (!in.empty() && pending.size() < need()) {
            const std::size_t take = std::min(in.size(), need() - pending.size());
            pending.insert(pending.end(), in.begin(),
                           in.begin() + static_cast<std::ptrdiff_t>(take));
            in = in.subspan(take);
        }
        if (pending.size() < need()) return false;
        e2e::header h;
        std::copy_n(pending.begin(), salt_size, h.salt.begin());
        h.record_size = (std::uint32_t{pending[16]} << 24) | (std::uint32_t{pending[17]} << 16) |
                        (std::uint32_t{pending[18]} << 8) | pending[19];
        h.keyid.assign(pending.begin() + fixed_header_size, pending.end());
        pending.clear();
        if (h.record_size < min_record_size || h.record_size > max_record_size) {
            auto f = failed(errc::invalid_record_size, "the header's record size " +
                                                           std::to_string(h.record_size) +
                                                           " is outside 18 bytes to 16 MiB");
            return sigv4::unexpected<error>{f.error()};
        }
        if (!keys.derive(key, h.salt) || !gcm.init(keys.cek, false)) {
            auto f = failed(errc::crypto_failure, "libcrypto could not set up AES-128-GCM");
            return sigv4::unexpected<error>{f.error()};
        }
        pending.reserve(h.record_size);
        parsed = std::move(h);
        return true;
    }

    result<void> open(std::span<const std::uint8_t> record, bool last, bytes& out) {
        const std::uint64_t sequence_now = sequence++;
        if (record.size() < record_overhead) {
            return failed(errc::truncated, "the file ends inside " + record_name(sequence_now));
        }
        const std::size_t at = out.size();
        out.resize(at + record.size() - tag_size);
        if (!gcm.open(keys.nonce(sequence_now), record, out.data() + at)) {
            OPENSSL_cleanse(out.data() + at, out.size() - at);
            out.resize(at);
            return failed(errc::record_tampered,
                          record_name(sequence_now) +
                              " does not authenticate: the key is wrong or the file was changed");
        }
        // Strip the zero padding, then the delimiter (RFC 8188 §2).
        std::size_t end = out.size();
        while (end > at && out[end - 1] == 0) --end;
        const std::uint8_t delimiter = end > at ? out[end - 1] : 0;
        out.resize(end > at ? end - 1 : at);
        if (delimiter == delimiter_last && !last) {
            out.resize(at);
            return failed(errc::trailing_data, "data follows the last record");
        }
        if (delimiter == delimiter_more && last) {
            out.resize(at);
            return failed(errc::truncated, "the file ends after " + record_name(sequence_now) +
                                               ", which is not the last record");
        }
        if (delimiter != delimiter_more && delimiter != delimiter_last) {
            out.resize(at);
            return failed(errc::padding_invalid,
                          record_name(sequence_now) + " has no valid delimiter");
        }
        return {};
    }
};

decryptor::decryptor(std::unique_ptr<state> s) noexcept : state_(std::move(s)) {}
decryptor::decryptor(decryptor&&) noexcept = default;
decryptor& decryptor::operator=(decryptor&&) noexcept = default;
decryptor::~decryptor() = default;

result<decryptor> decryptor::make(const secret& key) {
    return decryptor(std::make_unique<state>(key));
}

const std::optional<header>& decryptor::parsed_header() const noexcept {
    return state_->parsed;
}

result<void> decryptor::update(std::span<const std::uint8_t> ciphertext, bytes& out) {
    auto& s = *state_;
    if (s.failure) return sigv4::unexpected<error>{*s.failure};
    if (!s.parsed) {
        auto complete = s.read_header(ciphertext);
        if (!complete) return sigv4::unexpected<error>{std::move(complete).error()};
        if (!*complete) return {};
    }
    const std::size_t rs = s.parsed->record_size;
    // A record is opened only once a later byte proves it is not the last one.
    while (s.pending.size() + ciphertext.size() > rs) {
        if (s.pending.empty()) {
            if (auto opened = s.open(ciphertext.first(rs), false, out); !opened) return opened;
            ciphertext = ciphertext.subspan(rs);
        } else {
            const std::size_t take = rs - s.pending.size();
            s.pending.insert(s.pending.end(), ciphertext.begin(),
                             ciphertext.begin() + static_cast<std::ptrdiff_t>(take));
            ciphertext = ciphertext.subspan(take);
            auto opened = s.open(s.pending, false, out);
            s.pending.clear();
            if (!opened) return opened;
        }
    }
    s.pending.insert(s.pending.end(), ciphertext.begin(), ciphertext.end());
    return {};
}

result<void> decryptor::finish(bytes& out) {
    auto& s = *state_;
    if (s.failure) return sigv4::unexpected<error>{*s.failure};
    if (!s.parsed) return s.failed(errc::header_truncated, "the file ends inside its header");
    if (s.pending.empty()) {
        return s.failed(errc::truncated, s.sequence == 0 ? "the file holds no record"
                                                         : "the file ends without its last record");
    }
    auto opened = s.open(s.pending, true, out);
    s.pending.clear();
    if (opened) s.failure = error{errc::crypto_failure, "finish called twice"};
    return opened;
}

}  // namespace presign::e2e
