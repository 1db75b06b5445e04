// SPDX-License-Identifier: Apache-2.0
// presign-lambda.zip as Lambda sees it: unpacked into an empty directory, chrooted into (so nothing
// from the host is reachable), `bootstrap` serves an invocation from the in-test Runtime API.
// Needs root for chroot; otherwise the test is skipped (exit 77).
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>
#include <elf.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "fake_runtime_api.hpp"
#include "process.hpp"

using nlohmann::json;
using presign::testing::child_process;
using presign::testing::fake_runtime_api;
namespace fs = std::filesystem;

namespace {

struct temp_dir {
    fs::path path;
    temp_dir() {
        std::string pattern = (fs::temp_directory_path() / "presign-lambda-root-XXXXXX").string();
        REQUIRE(::mkdtemp(pattern.data()) != nullptr);
        path = pattern;
    }
    ~temp_dir() {
        std::error_code ignored;
        fs::remove_all(path, ignored);
    }
};

// True when the ELF file has no program interpreter and no dynamic section: fully static.
bool is_static_elf(const fs::path& file) {
    auto bytes = presign::testing::slurp(file.string());
    if (bytes.size() < sizeof(Elf64_Ehdr) || bytes.compare(0, 4,
                                                           "\x7f"
                                                           "ELF") != 0)
        return false;
    Elf64_Ehdr header;
    std::memcpy(&header, bytes.data(), sizeof header);
    if (header.e_ident[EI_CLASS] != ELFCLASS64) return false;
    for (int i = 0; i < header.e_phnum; ++i) {
        // p_type is the first field of a program header (read directly: a system header #defines
        // the name p_type).
        std::uint32_t type = 0;
        auto offset = header.e_phoff + static_cast<std::size_t>(i) * header.e_phentsize;
        if (offset + sizeof(Elf64_Phdr) > bytes.size()) return false;
        std::memcpy(&type, bytes.data() + offset, sizeof type);
        if (type == PT_INTERP || type == PT_DYNAMIC) return false;
    }
    return true;
}

}  // namespace

TEST_CASE("package: the zip holds one static bootstrap that serves from an empty chroot") {
    temp_dir root;
    std::string command = std::string(PRESIGN_UNZIP) + " -q '" + PRESIGN_LAMBDA_ZIP + "' -d '" +
                          root.path.string() + "'";
    REQUIRE(std::system(command.c_str()) == 0);

    std::vector<std::string> entries;
    for (const auto& entry : fs::directory_iterator(root.path))
        entries.push_back(entry.path().filename().string());
    CHECK(entries == std::vector<std::string>{"bootstrap"});
    auto bootstrap = root.path / "bootstrap";
    REQUIRE(fs::is_regular_file(bootstrap));
    CHECK((fs::status(bootstrap).permissions() & fs::perms::owner_exec) != fs::perms::none);
    CHECK(is_static_elf(bootstrap));

    fake_runtime_api api;
    api.push({"chroot-1",
              json{{"version", "2.0"},
                   {"rawPath", "/uploads"},
                   {"requestContext",
                    {{"http", {{"method", "POST"}}},
                     {"authorizer", {{"jwt", {{"claims", {{"sub", "u"}}}}}}}}},
                   {"body", R"({"filename":"a.txt","contentType":"text/plain","size":1})"}}
                  .dump(),
              {}});
    // A share link made and redeemed through the packaged binary, over all three event formats:
    // POST /shares (HTTP API 2.0 with a JWT), the recipient page (REST 1.0), JSON (Function URL).
    api.push({"chroot-2",
              json{{"version", "2.0"},
                   {"rawPath", "/shares"},
                   {"requestContext",
                    {{"http", {{"method", "POST"}}},
                     {"domainName", "abc.execute-api.us-east-1.amazonaws.com"},
                     {"authorizer", {{"jwt", {{"claims", {{"sub", "u"}}}}}}}}},
                   {"body", R"({"key":"users/u/0123/a b.txt","expiresIn":3600})"}}
                  .dump(),
              {}});
    auto log_path = (root.path.parent_path() / (root.path.filename().string() + ".log")).string();
    child_process child(
        "/bootstrap",
        {"AWS_LAMBDA_RUNTIME_API=" + api.address(), "BUCKET_NAME=files-bucket",
         "AWS_REGION=us-east-1", "AWS_ACCESS_KEY_ID=AKIDEXAMPLE",
         "AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
         "AWS_SESSION_TOKEN=token", "LINK_SECRET=package-test-link-secret-0123456789abcdef"},
        log_path, root.path.string());
    bool answered = api.wait_for_posts(2);
    std::string link;
    if (answered) {
        auto shared = json::parse(api.posts()[1].body);
        CHECK(shared["statusCode"] == 200);
        link = json::parse(shared["body"].get<std::string>()).value("url", "");
    }
    CHECK(link.starts_with("https://abc.execute-api.us-east-1.amazonaws.com/s/"));
    const std::string path = link.empty() ? "/s/x" : link.substr(link.find("/s/"));
    api.push({"chroot-3",
              json{{"httpMethod", "GET"},
                   {"path", path},
                   {"headers", {{"Accept", "text/html,*/*;q=0.8"}}},
                   {"requestContext",
                    {{"stage", "prod"}, {"domainName", "abc.execute-api.us-east-1.amazonaws.com"}}}}
                  .dump(),
              {}});
    api.push(
        {"chroot-4",
         json{{"version", "2.0"},
              {"rawPath", path},
              {"headers", {{"accept", "application/json"}}},
              {"requestContext",
               {{"http", {{"method", "GET"}}}, {"domainName", "x.lambda-url.us-east-1.on.aws"}}}}
             .dump(),
         {}});
    api.push({"chroot-5", "{\"not\":\"an http event\"}", {}});
    answered = answered && api.wait_for_posts(5);
    child.stop();
    auto output = presign::testing::slurp(log_path);
    std::filesystem::remove(log_path);
    CAPTURE(output);
    REQUIRE(answered);
    auto posts = api.posts();
    CHECK(posts[0].kind == "response");
    auto first = json::parse(posts[0].body);
    CHECK(first["statusCode"] == 200);
    CHECK(json::parse(first["body"].get<std::string>())["url"].get<std::string>().starts_with(
        "https://files-bucket.s3.us-east-1.amazonaws.com/users/u/"));
    auto page = json::parse(posts[2].body);
    CHECK(page["statusCode"] == 200);
    CHECK(page["headers"]["Content-Type"] == "text/html; charset=utf-8");
    CHECK(page["headers"]["Referrer-Policy"] == "no-referrer");
    CHECK(page["body"].get<std::string>().find("a b.txt") != std::string::npos);
    auto as_json = json::parse(posts[3].body);
    CHECK(as_json["statusCode"] == 200);
    CHECK(json::parse(as_json["body"].get<std::string>())["url"].get<std::string>().starts_with(
        "https://files-bucket.s3.us-east-1.amazonaws.com/users/u/0123/a%20b.txt?"));
    CHECK(json::parse(posts[4].body)["statusCode"] == 400);
    CHECK(output.find(path.substr(3, 16)) == std::string::npos);  // the token is never logged
}

int main(int argc, char** argv) {
    if (::geteuid() != 0) {
        std::puts("skipped: chroot needs root");
        return 77;
    }
    if (!fs::exists(PRESIGN_LAMBDA_ZIP)) {
        std::printf("FAILED: %s was not built\n", PRESIGN_LAMBDA_ZIP);
        return 1;
    }
    doctest::Context context(argc, argv);
    return context.run();
}
