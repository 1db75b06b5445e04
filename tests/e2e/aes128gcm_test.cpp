// SPDX-License-Identifier: Apache-2.0
// RFC 8188 aes128gcm: the RFC's examples byte for byte, round trips at record edges, exact sizes,
// and every kind of tampering refused with its code.
#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "e2e_test_support.hpp"
#include "presign/e2e/aes128gcm.hpp"

using namespace presign::e2e;
using namespace e2e_test;

namespace {

// RFC 8188 §3.1 (one record, rs 4096) and §3.2 (two records of rs 25, keyid "a1", padding).
constexpr std::string_view rfc_3_1_ikm = "yqdlZ-tYemfogSmv7Ws5PQ";
constexpr std::string_view rfc_3_1_body =
    "I1BsxtFttlv3u_Oo94xnmwAAEAAA-NAVub2qFgBEuQKRapoZu-IxkIva3MEB1PD-ly8Thjg";
constexpr std::string_view rfc_3_1_cek = "_wniytB-ofscZDh4tbSjHw";
constexpr std::string_view rfc_3_1_nonce = "Bcs8gkIRKLI8GeI8";
constexpr std::string_view rfc_3_2_ikm = "BO3ZVPxUlnLORbVGMpbT1Q";
constexpr std::string_view rfc_3_2_body =
    "uNCkWiNYzKTnBN9ji3-qWAAAABkCYTHOG8chz_"
    "gnvgOqdGYovxyjuqRyJFjEDyoF1Fvkj6hQPdPHI51OEUKEpgz3SsLWIqS_uA";

// One record sealed directly with EVP under §3.1's CEK and NONCE: lets a test build records the
// encryptor never writes (no delimiter, wrong delimiter, padding).
bytes seal_record_with_rfc_keys(std::uint64_t sequence, const bytes& record_plaintext) {
    const bytes cek = from_base64url(rfc_3_1_cek);
    bytes nonce = from_base64url(rfc_3_1_nonce);
    for (int i = 0; i < 8; ++i) nonce[11 - i] ^= static_cast<std::uint8_t>(sequence >> (8 * i));
    EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
    bytes out(record_plaintext.size() + 16);
    int n = 0;
    REQUIRE(EVP_EncryptInit_ex(ctx, EVP_aes_128_gcm(), nullptr, cek.data(), nonce.data()) == 1);
    REQUIRE(EVP_EncryptUpdate(ctx, out.data(), &n, record_plaintext.data(),
                              static_cast<int>(record_plaintext.size())) == 1);
    REQUIRE(EVP_EncryptFinal_ex(ctx, out.data() + n, &n) == 1);
    REQUIRE(EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, 16,
                                out.data() + record_plaintext.size()) == 1);
    EVP_CIPHER_CTX_free(ctx);
    return out;
}

bytes rfc_3_1_header(std::uint32_t record_size) {
    bytes header = from_base64url("I1BsxtFttlv3u_Oo94xnmw");
    for (int shift = 24; shift >= 0; shift -= 8)
        header.push_back(static_cast<std::uint8_t>(record_size >> shift));
    header.push_back(0);
    return header;
}

}  // namespace

TEST_CASE("RFC 8188 section 3.1 and 3.2 decrypt byte for byte, in any piece size") {
    struct vector_case {
        std::string_view ikm, body;
        std::uint32_t record_size;
        std::string keyid;
    };
    const vector_case cases[] = {{rfc_3_1_ikm, rfc_3_1_body, 4096, ""},
                                 {rfc_3_2_ikm, rfc_3_2_body, 25, "a1"}};
    for (const auto& c : cases) {
        for (std::size_t piece :
             {std::size_t{1}, std::size_t{7}, std::size_t{25}, std::size_t{1 << 20}}) {
            CAPTURE(c.record_size);
            CAPTURE(piece);
            const bytes body = from_base64url(c.body);
            auto decryptor = decryptor::make(make_secret(c.ikm));
            REQUIRE(decryptor.has_value());
            bytes plaintext;
            for (std::size_t at = 0; at < body.size(); at += piece) {
                REQUIRE(decryptor
                            ->update(std::span(body).subspan(at, std::min(piece, body.size() - at)),
                                     plaintext)
                            .has_value());
            }
            REQUIRE(decryptor->finish(plaintext).has_value());
            CHECK(plaintext == from_text("I am the walrus"));
            REQUIRE(decryptor->parsed_header().has_value());
            CHECK(decryptor->parsed_header()->record_size == c.record_size);
            CHECK(decryptor->parsed_header()->keyid == from_text(c.keyid));
        }
    }
}

TEST_CASE("RFC 8188 section 3.1 is reproduced by the encryptor from its salt") {
    const bytes expected = from_base64url(rfc_3_1_body);
    std::array<std::uint8_t, salt_size> salt{};
    std::copy_n(expected.begin(), salt_size, salt.begin());
    auto encryptor = encryptor::make(make_secret(rfc_3_1_ikm), salt, {}, 4096);
    REQUIRE(encryptor.has_value());
    bytes body;
    REQUIRE(encryptor->update(from_text("I am the walrus"), body).has_value());
    REQUIRE(encryptor->finish(body).has_value());
    CHECK(body == expected);
    CHECK(*encrypted_size(15, 4096) == expected.size());
}

TEST_CASE("round trips at record edges, with the size known before encrypting") {
    const auto key = *secret::generate();
    struct size_case {
        std::uint32_t record_size;
        std::size_t size;
        std::size_t records;
    };
    constexpr std::size_t full = default_record_size - record_overhead;
    const size_case cases[] = {
        {default_record_size, 0, 1},
        {default_record_size, 1, 1},
        {default_record_size, full - 1, 1},
        {default_record_size, full, 1},
        {default_record_size, full + 1, 2},
        {default_record_size, 3u << 20, 49},
        {default_record_size, 2 * full, 2},
        {18, 0, 1},
        {18, 1, 1},
        {18, 5, 5},
        {100, 83, 1},
        {100, 84, 2},
    };
    for (const auto& c : cases) {
        for (std::size_t piece : {std::size_t{1} << 20, std::size_t{4093}, std::size_t{1}}) {
            if (piece == 1 && c.size > 200000) continue;
            CAPTURE(c.record_size);
            CAPTURE(c.size);
            CAPTURE(piece);
            const bytes plaintext = pattern(c.size);
            const bytes body = encrypt_all(key, plaintext, c.record_size, {}, piece);
            CHECK(body.size() == *encrypted_size(c.size, c.record_size));
            CHECK(body.size() == fixed_header_size + c.size + c.records * record_overhead);
            const auto decoded = decrypt_all(key, body, piece);
            REQUIRE(decoded.ok);
            CHECK(decoded.plaintext == plaintext);
        }
    }
}

TEST_CASE("encrypted_size: the formula, with keyids, and its refusals") {
    CHECK(*encrypted_size(0, 18) == 21 + 17);
    CHECK(*encrypted_size(10, 18, 255) == 21 + 255 + 10 + 10 * 17);
    CHECK(*encrypted_size(2ull << 30) == 21 + (2ull << 30) + 32777 * 17);  // ceil(2^31 / 65519)
    CHECK(encrypted_size(1, 17).error().code == errc::invalid_record_size);
    CHECK(encrypted_size(1, default_record_size, 256).error().code == errc::metadata_too_large);
    const auto key = *secret::generate();
    const bytes keyid(200, 0x41);
    CHECK(encrypt_all(key, pattern(70000), default_record_size, keyid).size() ==
          *encrypted_size(70000, default_record_size, 200));
}

TEST_CASE("the encryptor refuses bad record sizes and keyids, and use after finish") {
    const auto key = *secret::generate();
    const auto salt = *random_salt();
    CHECK(encryptor::make(key, salt, {}, 17).error().code == errc::invalid_record_size);
    CHECK(encryptor::make(key, salt, {}, max_record_size + 1).error().code ==
          errc::invalid_record_size);
    const bytes keyid(256, 1);
    CHECK(encryptor::make(key, salt, keyid).error().code == errc::metadata_too_large);
    auto encryptor = encryptor::make(key, salt);
    bytes out;
    REQUIRE(encryptor->finish(out).has_value());
    CHECK(encryptor->update(from_text("x"), out).error().code == errc::crypto_failure);
    CHECK(encryptor->finish(out).error().code == errc::crypto_failure);
}

TEST_CASE("every header byte changed is refused with its code") {
    const auto key = *secret::generate();
    constexpr std::uint32_t rs = 1024;
    const bytes plaintext = pattern(3000);
    const bytes body = encrypt_all(key, plaintext, rs);
    struct flip_case {
        std::size_t offset;
        std::uint8_t mask;
        errc expected;
    };
    std::vector<flip_case> cases;
    for (std::size_t i = 0; i < salt_size; ++i) cases.push_back({i, 0x01, errc::record_tampered});
    cases.push_back({16, 0x01, errc::invalid_record_size});  // rs = 16 MiB + 1024
    cases.push_back({17, 0x01, errc::record_tampered});      // rs = 66560: one short last record
    cases.push_back({18, 0x04, errc::invalid_record_size});  // rs = 0: below the minimum
    cases.push_back({18, 0x01, errc::record_tampered});      // rs = 1280: boundaries move
    cases.push_back({19, 0x01, errc::record_tampered});      // rs = 1025
    cases.push_back({20, 0x01, errc::record_tampered});      // idlen 1: records start a byte late
    cases.push_back({20, 0xff, errc::record_tampered});      // idlen 255
    for (const auto& c : cases) {
        CAPTURE(c.offset);
        CAPTURE(int{c.mask});
        bytes changed = body;
        changed[c.offset] ^= c.mask;
        const auto decoded = decrypt_all(key, changed);
        CHECK_FALSE(decoded.ok);
        CHECK(decoded.code == c.expected);
    }
}

TEST_CASE("changed records, truncation, extension and a wrong key are refused") {
    const auto key = *secret::generate();
    constexpr std::uint32_t rs = 1024;
    constexpr std::size_t header = fixed_header_size;
    const bytes plaintext =
        pattern(3 * (rs - record_overhead) + 28);  // 3 full records, a last of 45
    const bytes body = encrypt_all(key, plaintext, rs);
    REQUIRE(body.size() == header + 3 * rs + 45);

    struct change_case {
        const char* what;
        bytes body;
        errc expected;
    };
    std::vector<change_case> cases;
    for (std::size_t offset :
         {header, header + 500, header + rs - 1, header + rs, header + 3 * rs, body.size() - 1}) {
        bytes changed = body;
        changed[offset] ^= 0x80;
        cases.push_back({"record byte flipped", changed, errc::record_tampered});
    }
    cases.push_back(
        {"cut inside the header", bytes(body.begin(), body.begin() + 20), errc::header_truncated});
    cases.push_back({"empty", bytes{}, errc::header_truncated});
    cases.push_back(
        {"cut after the header", bytes(body.begin(), body.begin() + header), errc::truncated});
    cases.push_back({"cut at a record boundary",
                     bytes(body.begin(), body.begin() + header + 2 * rs), errc::truncated});
    cases.push_back({"cut inside a record", bytes(body.begin(), body.begin() + header + rs + 100),
                     errc::record_tampered});
    cases.push_back(
        {"cut inside the last tag", bytes(body.begin(), body.end() - 1), errc::record_tampered});
    cases.push_back({"cut to a stub under 17 bytes",
                     bytes(body.begin(), body.begin() + header + 3 * rs + 10), errc::truncated});
    bytes extended = body;
    extended.push_back(0);
    cases.push_back({"one byte appended", extended, errc::record_tampered});
    bytes reordered = body;
    std::swap_ranges(reordered.begin() + header, reordered.begin() + header + rs,
                     reordered.begin() + header + rs);
    cases.push_back({"records swapped", reordered, errc::record_tampered});
    for (const auto& c : cases) {
        CAPTURE(std::string(c.what));
        for (std::size_t piece : {std::size_t{1} << 20, std::size_t{1}}) {
            const auto decoded = decrypt_all(key, c.body, piece);
            CHECK_FALSE(decoded.ok);
            CHECK(decoded.code == c.expected);
        }
    }
    CHECK(decrypt_all(*secret::generate(), body).code == errc::record_tampered);
}

TEST_CASE("bytes after a full-size last record are trailing data") {
    const auto key = *secret::generate();
    constexpr std::uint32_t rs = 100;
    bytes body = encrypt_all(key, pattern(2 * (rs - record_overhead)), rs);
    REQUIRE(body.size() == fixed_header_size + 2 * rs);
    body.insert(body.end(), 20, 0x55);
    CHECK(decrypt_all(key, body).code == errc::trailing_data);
}

TEST_CASE("padding and delimiters as RFC 8188 section 2 requires") {
    const auto key = make_secret(rfc_3_1_ikm);
    constexpr std::uint32_t rs = 40;
    struct padding_case {
        const char* what;
        std::vector<bytes> records;  // plaintext of each record, delimiter and padding included
        bool ok;
        errc expected;
        std::string plaintext;
    };
    const auto text = [](std::string_view t, std::initializer_list<std::uint8_t> tail) {
        bytes out = from_text(t);
        out.insert(out.end(), tail);
        return out;
    };
    const padding_case cases[] = {
        {"last with padding", {text("hello", {2, 0, 0, 0})}, true, {}, "hello"},
        {"padding only", {text("", {2, 0})}, true, {}, ""},
        {"full record then padded last",
         {text("0123456789012345678901", {1, 0}), text("ab", {2, 0, 0})},
         true,
         {},
         "0123456789012345678901ab"},
        {"no delimiter, only zeros", {text("abc", {0, 0})}, false, errc::padding_invalid, ""},
        {"a bare tag, no delimiter", {bytes{}}, false, errc::truncated, ""},
        {"delimiter 3", {text("abc", {3})}, false, errc::padding_invalid, ""},
        {"last record with delimiter 1", {text("abc", {1})}, false, errc::truncated, ""},
        {"delimiter 2 before the last record",
         {text("0123456789012345678901", {2, 0}), text("ab", {2})},
         false,
         errc::trailing_data,
         ""},
    };
    for (const auto& c : cases) {
        CAPTURE(std::string(c.what));
        bytes body = rfc_3_1_header(rs);
        for (std::size_t i = 0; i < c.records.size(); ++i) {
            const bytes sealed = seal_record_with_rfc_keys(i, c.records[i]);
            body.insert(body.end(), sealed.begin(), sealed.end());
        }
        const auto decoded = decrypt_all(key, body);
        CHECK(decoded.ok == c.ok);
        if (c.ok) {
            CHECK(decoded.plaintext == from_text(c.plaintext));
        } else {
            CHECK(decoded.code == c.expected);
        }
    }
}

TEST_CASE("a failure is final, and nothing of a failed record is returned") {
    const auto key = *secret::generate();
    bytes body = encrypt_all(key, pattern(5000), 1024);
    body[fixed_header_size + 1024 + 3] ^= 1;
    auto decryptor = decryptor::make(key);
    bytes out;
    auto first = decryptor->update(body, out);
    REQUIRE_FALSE(first.has_value());
    CHECK(first.error().code == errc::record_tampered);
    CHECK(out.size() == 1024 - record_overhead);  // the first record only
    CHECK(decryptor->update(from_text("more"), out).error().code == errc::record_tampered);
    CHECK(decryptor->finish(out).error().code == errc::record_tampered);
}
