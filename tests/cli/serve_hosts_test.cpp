// SPDX-License-Identifier: Apache-2.0
// `presign serve`'s Host names (adapters/cli/serve/hosts.hpp): the API refuses names a
// DNS-rebinding page would use, and links are signed for the address the client used, never for
// 127.0.0.1 when serve listens on every address. (The end-to-end half, over 127.0.0.1, is in
// tests/serve/serve_hostile_test.py.)
#include <doctest/doctest.h>

#include <optional>
#include <string>
#include <vector>

#include "hosts.hpp"

using namespace presign::serve;

TEST_CASE("is_wildcard and url_host: what serve prints for the address it listens on") {
    struct row {
        std::string listen;
        bool wildcard;
        std::string shown;
    };
    for (const auto& r : std::vector<row>{{"0.0.0.0", true, "127.0.0.1"},
                                          {"::", true, "[::1]"},
                                          {"", true, "127.0.0.1"},
                                          {"127.0.0.1", false, "127.0.0.1"},
                                          {"192.168.1.20", false, "192.168.1.20"},
                                          {"::1", false, "[::1]"},
                                          {"files.example", false, "files.example"}}) {
        CAPTURE(r.listen);
        CHECK(is_wildcard(r.listen) == r.wildcard);
        CHECK(url_host(r.listen) == r.shown);
    }
}

TEST_CASE("host_name and origin_host: the name without port or scheme, IPv6 in brackets") {
    CHECK(host_name("192.168.1.20:8080") == "192.168.1.20");
    CHECK(host_name("localhost") == "localhost");
    CHECK(host_name("[fe80::1]:8080") == "[fe80::1]");
    CHECK(host_name("[::1]") == "[::1]");
    CHECK(origin_host("https://files.example:8443") == "files.example");
    CHECK(origin_host("http://[::1]:8080") == "[::1]");
    CHECK(origin_host("http://localhost") == "localhost");
}

TEST_CASE(
    "host_allowed: IP literals, localhost and the configured names; any other name is refused") {
    const std::vector<std::string> names{"0.0.0.0", "files.example"};
    struct row {
        std::string host;
        bool allowed;
    };
    for (const auto& r : std::vector<row>{{"127.0.0.1:8080", true},
                                          {"192.168.1.20:8080", true},
                                          {"10.0.0.1", true},
                                          {"localhost:8080", true},
                                          {"LocalHost:8080", true},
                                          {"[::1]:8080", true},
                                          {"[fe80::1]", true},
                                          {"files.example:8080", true},
                                          {"FILES.EXAMPLE", true},
                                          // what a DNS-rebinding page sends: its own name
                                          {"evil.example:8080", false},
                                          {"localhost.evil.example:8080", false},
                                          {"127.0.0.1.evil.example", false},
                                          {"files.example.evil:8080", false},
                                          {"[not-an-address]:8080", false},
                                          {"[::1", false},
                                          {"[::1]junk", false},
                                          {"", false}}) {
        CAPTURE(r.host);
        CHECK(host_allowed(r.host, names) == r.allowed);
    }
}

TEST_CASE(
    "link_host: on a wildcard address, links are for the address the client used, never "
    "127.0.0.1") {
    struct row {
        std::string listen;
        std::string host;
        std::optional<std::string> link;
    };
    for (const auto& r : std::vector<row>{
             // --host 0.0.0.0: a LAN client gets links to the LAN address it used.
             {"0.0.0.0", "192.168.1.20:8080", "192.168.1.20"},
             {"0.0.0.0", "192.168.1.20", "192.168.1.20"},
             {"0.0.0.0", "files.example:8080", "files.example"},
             {"0.0.0.0", "Files.Example:8080", "files.example"},
             {"0.0.0.0", "localhost:8080", "localhost"},
             {"::", "[fe80::1]:8080", "[fe80::1]"},
             {"", "10.1.2.3:80", "10.1.2.3"},
             // Bound to 127.0.0.1, the store answers under localhost too.
             {"127.0.0.1", "localhost:8080", "localhost"},
             {"127.0.0.1", "127.0.0.1:8080", std::nullopt},
             // Bound to one address, the store is reachable there only: the default links.
             {"192.168.1.20", "localhost:8080", std::nullopt},
             {"192.168.1.20", "192.168.1.20:8080", std::nullopt},
             {"0.0.0.0", "", std::nullopt},
             {"0.0.0.0", ":8080", std::nullopt},
             // Only the name is taken: a port part cannot smuggle another authority into a link.
             {"0.0.0.0", "10.0.0.7:1@evil.example", "10.0.0.7"},
             {"0.0.0.0", "10.0.0.7:80/../x", "10.0.0.7"}}) {
        CAPTURE(r.listen);
        CAPTURE(r.host);
        CHECK(link_host(r.listen, r.host) == r.link);
        if (is_wildcard(r.listen) && r.link) CHECK(*r.link != "127.0.0.1");
    }
}
