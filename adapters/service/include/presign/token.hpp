// SPDX-License-Identifier: Apache-2.0
// Stateless capability tokens: a versioned payload authenticated with HMAC-SHA256 under a 32-byte
// server secret, carried as base64url. Whatever the service must remember across calls (a share
// link's object, a multipart upload's plan) travels in one of these instead of a database.
//
// Wire format (before base64url, no padding), every field covered by the MAC:
//   [0]      format version (2; version 1 tokens, whose payload was in the clear, still open)
//   [1]      purpose (token::purpose): a token of one purpose never opens as another
//   [2..5]   key id of the secret that sealed it (big-endian), so secrets can rotate
//   [6..13]  expiry, seconds since the epoch (big-endian, signed)
//   [14]     flags: bit 0 = password lock follows; bit 1 = the object is end-to-end encrypted
//            (share links: the recipient needs the key from the link's #fragment, which the
//            server never sees; see adapters/crypto/FORMAT.md)
//   lock     (only with bit 0) 16-byte salt, iterations (4 bytes, big-endian), 32-byte tag
//   nonce    16 bytes (version 2 only), synthetic: the first 16 bytes of
//            HMAC-SHA256(payload key, 0x00 || every byte above || plaintext payload)
//   payload  the caller's bytes, encrypted (version 2): XORed with the keystream whose 32-byte
//            block i is HMAC-SHA256(payload key, 0x01 || nonce || i as 4 bytes big-endian)
//   mac      HMAC-SHA256(secret, every byte above), 32 bytes (encrypt-then-MAC)
// where payload key = HMAC-SHA256(secret, "token payload key").
//
// Why the payload is encrypted: a share link is handed to other people, and its payload names the
// object, whose key holds the owner's prefix (derived from their sign-in identity) and the file's
// name. Whoever holds a link learns only its expiry, whether it has a password and whether its
// object is end-to-end encrypted (the flags). The nonce is
// derived from the whole plaintext (the SIV construction of RFC 5297, with HMAC-SHA256 as the
// PRF), so sealing needs no randomness and stays deterministic: the same contents give the same
// token, and two tokens with different contents never share a keystream.
//
// Security contract:
// - Opening checks the length (at most max_token_chars) before decoding anything, decodes strict
//   base64url (no padding, no stray bits, nothing outside the alphabet), finds the secret by key
//   id, compares the MAC with CRYPTO_memcmp, then checks purpose and expiry. Every failure is a
//   distinct errc for tests and logs; callers answering the public must answer all of them the same
//   way.
// - A password lock stores salt and tag = HMAC-SHA256(secret, "password" || PBKDF2-HMAC-SHA256(
//   password, salt, iterations)): the token reveals nothing of the password, and a guess needs the
//   server's secret and one slow KDF run (password_iterations is chosen so that costs 20-50 ms).
// - Secrets live in fixed-size buffers wiped with OPENSSL_cleanse on destruction; nothing here
// logs,
//   and no error message holds a secret, a token or a password.
// Thread safety: every function is reentrant; const objects may be shared between threads.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include <sigv4/result.hpp>
#include <sigv4/time.hpp>

namespace presign::token {

/// What a token authorizes. Values are part of the wire format: never reuse one.
enum class purpose : std::uint8_t {
    share_link = 1,   ///< GET /s/<token>: a lasting link to one object
    upload_plan = 2,  ///< reserved for multipart upload plans (issue 15)
};

/// Tokens longer than this are refused before any decoding work.
inline constexpr std::size_t max_token_chars = 2048;
/// PBKDF2-HMAC-SHA256 iterations for new password locks (about 30 ms on a 2020s server core; the
/// benchmark reports the cost of one check).
inline constexpr std::uint32_t password_iterations = 200'000;

/// Why a token did not open.
enum class errc : std::uint8_t {
    too_long = 1,    ///< more than max_token_chars characters (nothing decoded)
    malformed,       ///< not strict base64url, too short, unknown version or flags
    unknown_key,     ///< no configured secret has the token's key id
    forged,          ///< the MAC does not match (tampered, or sealed under another secret)
    wrong_purpose,   ///< authentic, but made for another purpose
    expired,         ///< authentic, but now >= its expiry
    wrong_password,  ///< check_password: the password does not match the lock
    no_randomness,   ///< the kernel's random source failed (sealing a lock, generating a secret)
};

/// Short stable name, e.g. "forged".
[[nodiscard]] std::string_view to_string(errc code) noexcept;

/// A server secret of 32 bytes, held only as the HMAC-SHA256 inner and outer states precomputed
/// from it and from the payload key derived from it (so one MAC costs only the message's blocks;
/// the states are as secret as the key). Fixed-size storage, wiped with OPENSSL_cleanse on
/// destruction; copies are independent and wiped too. Never printed, and there is no way to read
/// the key back.
class secret {
  public:
    static constexpr std::size_t size = 32;

    /// Exactly 32 bytes; anything else is nullopt.
    [[nodiscard]] static std::optional<secret> from_bytes(std::span<const unsigned char> bytes);
    /// A configured secret string of 32..4096 bytes (such as Secrets Manager's GenerateSecretString
    /// output, or to_text()'s) becomes SHA-256("presign token secret" || text); shorter or longer
    /// text is nullopt (too weak to be a 256-bit key, or not a secret string at all).
    [[nodiscard]] static std::optional<secret> from_text(std::string_view text);
    /// 32 bytes from the kernel's CSPRNG, returned as the text form from_text() accepts (43
    /// base64url characters), for storing. nullopt when the random source fails.
    [[nodiscard]] static std::optional<std::string> generate_text();

    /// Identifies the secret inside tokens: the first four bytes of HMAC(secret, "key id").
    [[nodiscard]] std::uint32_t key_id() const noexcept { return key_id_; }

    /// HMAC-SHA256 of `message` under this secret.
    [[nodiscard]] std::array<unsigned char, 32> mac(
        std::span<const unsigned char> message) const noexcept;
    /// HMAC-SHA256 of domain || first || second under the payload key derived from this secret
    /// (the format's nonce and keystream blocks; the key itself cannot be read back).
    [[nodiscard]] std::array<unsigned char, 32> payload_mac(
        unsigned char domain, std::span<const unsigned char> first,
        std::span<const unsigned char> second) const noexcept;

    secret(const secret&) = default;
    secret& operator=(const secret&);
    ~secret();

  private:
    secret() = default;
    void wipe() noexcept;

    // Two SHA256_CTX (inner and outer HMAC state), sized and aligned in token.cpp's static_assert.
    static constexpr std::size_t state_bytes = 128;
    alignas(16) std::array<unsigned char, state_bytes> inner_{};
    alignas(16) std::array<unsigned char, state_bytes> outer_{};
    // The same for the payload key (HMAC-SHA256(secret, "token payload key")).
    alignas(16) std::array<unsigned char, state_bytes> payload_inner_{};
    alignas(16) std::array<unsigned char, state_bytes> payload_outer_{};
    std::uint32_t key_id_ = 0;
};

/// The secrets that open tokens: the current one (which seals) and, only when configured, the
/// previous one (which still opens, so a rotation need not revoke every token at once).
class keyring {
  public:
    explicit keyring(secret current, std::optional<secret> previous = std::nullopt)
        : current_(std::move(current)), previous_(std::move(previous)) {}
    [[nodiscard]] const secret& current() const noexcept { return current_; }
    /// The secret with this key id, or nullptr.
    [[nodiscard]] const secret* find(std::uint32_t key_id) const noexcept;

  private:
    secret current_;
    std::optional<secret> previous_;
};

/// What seal() writes.
struct contents {
    token::purpose purpose = purpose::share_link;
    sigv4::sys_seconds expires_at{};
    std::string_view payload;
    /// Locks the token with this password (not stored; only salt and tag are).
    std::optional<std::string_view> password;
    /// Marks the object as end-to-end encrypted (flag bit 1, authenticated like every field).
    bool encrypted = false;
};

/// Seals a token under keys.current(). With a password this runs the slow KDF once. Fails only
/// with no_randomness (the salt).
[[nodiscard]] sigv4::result<std::string, errc> seal(const keyring& keys, const contents& what);

/// An authentic, unexpired token of the expected purpose.
struct opened {
    token::purpose purpose = purpose::share_link;
    sigv4::sys_seconds expires_at{};
    std::string payload;
    std::uint32_t key_id = 0;
    /// The password lock, when the token has one (check it with check_password).
    struct lock {
        std::array<unsigned char, 16> salt{};
        std::uint32_t iterations = 0;
        std::array<unsigned char, 32> tag{};
    };
    std::optional<lock> password_lock;
    /// Sealed with contents::encrypted.
    bool encrypted = false;

    [[nodiscard]] bool needs_password() const noexcept { return password_lock.has_value(); }
};

/// Opens `text` (checks in the order the header describes). `now` decides expiry: a token is valid
/// while now < expires_at.
[[nodiscard]] sigv4::result<opened, errc> open(const keyring& keys, std::string_view text,
                                               purpose expected, sigv4::sys_seconds now);

/// Checks a password against an opened token's lock (slow: one KDF run, then a constant-time
/// compare). A token without a lock accepts any password. Errors: wrong_password, unknown_key.
[[nodiscard]] sigv4::result<void, errc> check_password(const keyring& keys, const opened& token,
                                                       std::string_view password);

/// base64url without padding (RFC 4648 §5), as tokens are written.
[[nodiscard]] std::string base64url_encode(std::span<const unsigned char> bytes);
/// Strict inverse of base64url_encode: no padding, no whitespace, unused trailing bits zero.
[[nodiscard]] std::optional<std::string> base64url_decode(std::string_view text);

/// PBKDF2-HMAC-SHA256 (RFC 8018) of one 32-byte block: byte for byte libcrypto's
/// PKCS5_PBKDF2_HMAC(password, salt, iterations, SHA-256, 32), on the low-level SHA-256 so the
/// static Lambda bootstrap needs none of OpenSSL's provider machinery.
[[nodiscard]] std::array<unsigned char, 32> pbkdf2_sha256(std::string_view password,
                                                          std::span<const unsigned char> salt,
                                                          std::uint32_t iterations) noexcept;

/// A short, non-reversible label for logs: the first 12 hex digits of SHA-256(token).
[[nodiscard]] std::string log_label(std::string_view token);

}  // namespace presign::token
