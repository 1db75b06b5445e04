// SPDX-License-Identifier: Apache-2.0
// sigv4/hash.hpp: SHA-256, one-shot and incremental (FIPS 180-2 vectors).
#include <doctest/doctest.h>

#include <sigv4/encoding.hpp>
#include <sigv4/hash.hpp>

#include <string>

TEST_CASE("SHA-256 known answers") {
    CHECK(sigv4::sha256_hex("") == sigv4::empty_payload_sha256);
    CHECK(sigv4::sha256_hex("abc") ==
          "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    CHECK(sigv4::sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq") ==
          "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

TEST_CASE("incremental SHA-256 equals one-shot and resets after finish") {
    std::string million(1000000, 'a');
    sigv4::sha256 h;
    for (std::size_t i = 0; i < million.size(); i += 4096)
        h.update(std::string_view(million).substr(i, 4096));
    auto digest = h.finish();
    CHECK(sigv4::hex_encode(digest) ==
          "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
    h.update("abc");
    CHECK(sigv4::hex_encode(h.finish()) == sigv4::sha256_hex("abc"));
}
