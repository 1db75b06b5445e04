// SPDX-License-Identifier: Apache-2.0
// ListObjects / ListObjectsV2 of the local store, without HTTP: pages, tokens, common prefixes,
// encoding-type=url and the errors, as S3 answers them.
#include <doctest/doctest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <optional>
#include <regex>
#include <string>
#include <vector>

#include <presign/local/list_objects.hpp>
#include <presign/local/object_store.hpp>

namespace fs = std::filesystem;
using presign::local::list_objects_xml;
using presign::local::list_request;
using presign::local::object_store;
using presign::local::s3_url_encode;

namespace {

constexpr std::string_view bucket = "listing";

class scratch_store {
  public:
    explicit scratch_store(const std::vector<std::string>& keys) {
        std::string pattern = (fs::temp_directory_path() / "presign-list-test-XXXXXX").string();
        REQUIRE(::mkdtemp(pattern.data()) != nullptr);
        dir_ = pattern;
        store_.emplace(dir_);
        REQUIRE(store_->create_bucket(bucket).has_value());
        for (const auto& key : keys) put(key);
    }
    ~scratch_store() {
        store_.reset();
        std::error_code ignored;
        fs::remove_all(dir_, ignored);
    }
    scratch_store(const scratch_store&) = delete;
    scratch_store& operator=(const scratch_store&) = delete;

    void put(const std::string& key) {
        auto upload = store_->begin_upload(bucket, key, "text/plain", {});
        REQUIRE(upload.has_value());
        REQUIRE(upload->write(key.data(), key.size()).has_value());
        presign::local::upload_expectations expect;
        expect.content_length = key.size();
        REQUIRE(upload->commit(expect).has_value());
    }
    const object_store& store() const { return *store_; }

  private:
    fs::path dir_;
    std::optional<object_store> store_;
};

std::vector<std::string> all_of(const std::string& xml, const std::string& element) {
    std::vector<std::string> found;
    const std::regex pattern("<" + element + ">([^<]*)</" + element + ">");
    for (auto it = std::sregex_iterator(xml.begin(), xml.end(), pattern);
         it != std::sregex_iterator(); ++it) {
        found.push_back((*it)[1]);
    }
    return found;
}

std::optional<std::string> one_of(const std::string& xml, const std::string& element) {
    auto found = all_of(xml, element);
    if (found.empty()) return std::nullopt;
    return found.front();
}

/// Keys of <Contents> only (CommonPrefixes also hold a <Prefix>, the result itself too).
std::vector<std::string> keys_of(const std::string& xml) {
    return all_of(xml, "Key");
}

std::vector<std::string> common_prefixes_of(const std::string& xml) {
    std::vector<std::string> found;
    const std::regex pattern("<CommonPrefixes><Prefix>([^<]*)</Prefix></CommonPrefixes>");
    for (auto it = std::sregex_iterator(xml.begin(), xml.end(), pattern);
         it != std::sregex_iterator(); ++it) {
        found.push_back((*it)[1]);
    }
    return found;
}

std::string list_ok(const scratch_store& store, const list_request& request) {
    auto xml = list_objects_xml(store.store(), bucket, request);
    REQUIRE(xml.has_value());
    return *xml;
}

}  // namespace

TEST_CASE("encoding-type=url spells names as S3 does (form encoding, '/' kept)") {
    struct row {
        std::string key, encoded;
    };
    // The spellings real S3 answers (measured and published; see list_objects.hpp).
    const std::vector<row> rows = {
        {"a b.txt", "a+b.txt"},
        {"a+b.txt", "a%2Bb.txt"},
        {"100%.csv", "100%25.csv"},
        {"\xED\x95\x9C\xEA\xB8\x80/x.txt", "%ED%95%9C%EA%B8%80/x.txt"},
        {"run books/x.txt", "run+books/x.txt"},
        {"a~b*c-d_e.f", "a%7Eb*c-d_e.f"},
        {"q?&=#\"<>", "q%3F%26%3D%23%22%3C%3E"},
    };
    for (const auto& [key, encoded] : rows) {
        CAPTURE(key);
        CHECK(s3_url_encode(key) == encoded);
    }
}

TEST_CASE("1,200 keys: two pages of 1000 and 200 joined by the continuation token") {
    std::vector<std::string> keys;
    for (int i = 0; i < 1200; ++i) {
        char name[32];
        std::snprintf(name, sizeof name, "user/%04d.txt", i);
        keys.emplace_back(name);
    }
    keys.emplace_back("other/0000.txt");
    scratch_store store(keys);

    list_request request;
    request.v2 = true;
    request.prefix = "user/";
    const std::string first = list_ok(store, request);
    CHECK(keys_of(first).size() == 1000);
    CHECK(one_of(first, "KeyCount") == "1000");
    CHECK(one_of(first, "MaxKeys") == "1000");
    CHECK(one_of(first, "IsTruncated") == "true");
    const auto token = one_of(first, "NextContinuationToken");
    REQUIRE(token.has_value());

    request.continuation_token = token;
    const std::string second = list_ok(store, request);
    const auto rest = keys_of(second);
    REQUIRE(rest.size() == 200);
    CHECK(rest.front() == "user/1000.txt");
    CHECK(rest.back() == "user/1199.txt");
    CHECK(one_of(second, "IsTruncated") == "false");
    CHECK(one_of(second, "ContinuationToken") == token);
    CHECK_FALSE(one_of(second, "NextContinuationToken").has_value());
}

TEST_CASE("delimiter: each common prefix once across pages, counted as one entry") {
    // The layout of s3-tests / versitygw #816.
    scratch_store store({"asdf", "boo/bar", "boo/baz/xyzzy", "cquux/thud", "cquux/bla"});
    list_request request;
    request.v2 = true;
    request.delimiter = "/";
    request.max_keys = "1";
    std::vector<std::string> entries;
    for (int pages = 0; pages < 10; ++pages) {
        const std::string xml = list_ok(store, request);
        for (auto& key : keys_of(xml)) entries.push_back(key);
        for (auto& common : common_prefixes_of(xml)) entries.push_back(common);
        CHECK(one_of(xml, "KeyCount") == "1");
        const auto next = one_of(xml, "NextContinuationToken");
        if (!next) break;
        request.continuation_token = next;
    }
    CHECK(entries == std::vector<std::string>{"asdf", "boo/", "cquux/"});

    // V1: a marker equal to a common prefix skips every key under it.
    list_request v1;
    v1.delimiter = "/";
    v1.start_after = "boo/";
    v1.max_keys = "1";
    const std::string after_marker = list_ok(store, v1);
    CHECK(common_prefixes_of(after_marker) == std::vector<std::string>{"cquux/"});
    CHECK(one_of(after_marker, "IsTruncated") == "false");
    CHECK(one_of(after_marker, "Marker") == "boo/");
}

TEST_CASE("V1 names NextMarker only under a delimiter; V2 echoes StartAfter unless continued") {
    scratch_store store({"a", "b", "c/d", "c/e"});
    list_request v1;
    v1.max_keys = "1";
    const std::string plain = list_ok(store, v1);
    CHECK(one_of(plain, "IsTruncated") == "true");
    CHECK_FALSE(one_of(plain, "NextMarker").has_value());
    CHECK(plain.find("<Owner>") != std::string::npos);
    v1.delimiter = "/";
    CHECK(one_of(list_ok(store, v1), "NextMarker") == "a");

    list_request v2;
    v2.v2 = true;
    v2.start_after = "a";
    v2.max_keys = "1";
    const std::string started = list_ok(store, v2);
    CHECK(keys_of(started) == std::vector<std::string>{"b"});
    CHECK(one_of(started, "StartAfter") == "a");
    CHECK(started.find("<Owner>") == std::string::npos);
    v2.continuation_token = one_of(started, "NextContinuationToken");
    REQUIRE(v2.continuation_token.has_value());
    const std::string continued = list_ok(store, v2);
    CHECK(keys_of(continued) == std::vector<std::string>{"c/d"});
    CHECK_FALSE(one_of(continued, "StartAfter").has_value());
    v2.fetch_owner = true;
    CHECK(list_ok(store, v2).find("<Owner>") != std::string::npos);
}

TEST_CASE("encoding-type=url applies to Key, Prefix, Delimiter, StartAfter and CommonPrefixes") {
    scratch_store store(
        {"my files/a b+c%d.txt", "my files/sub dir/x", "my files/\xC3\xA9t\xC3\xA9.txt"});
    list_request request;
    request.v2 = true;
    request.prefix = "my files/";
    request.delimiter = " ";
    request.start_after = "my files/0 0";
    request.encoding_type = "url";
    std::string xml = list_ok(store, request);
    CHECK(one_of(xml, "EncodingType") == "url");
    CHECK(one_of(xml, "Prefix") == "my+files/");
    CHECK(one_of(xml, "Delimiter") == "+");
    CHECK(one_of(xml, "StartAfter") == "my+files/0+0");
    CHECK(common_prefixes_of(xml) == std::vector<std::string>{"my+files/a+", "my+files/sub+"});
    CHECK(keys_of(xml) == std::vector<std::string>{"my+files/%C3%A9t%C3%A9.txt"});

    request.encoding_type.reset();
    request.delimiter.clear();
    xml = list_ok(store, request);
    CHECK_FALSE(one_of(xml, "EncodingType").has_value());
    CHECK_FALSE(one_of(xml, "Delimiter").has_value());
    CHECK(keys_of(xml) == std::vector<std::string>{"my files/a b+c%d.txt", "my files/sub dir/x",
                                                   "my files/\xC3\xA9t\xC3\xA9.txt"});
}

TEST_CASE("max-keys=0 is an empty page that is not truncated") {
    scratch_store store({"a", "b"});
    for (const bool v2 : {false, true}) {
        list_request request;
        request.v2 = v2;
        request.max_keys = "0";
        const std::string xml = list_ok(store, request);
        CHECK(keys_of(xml).empty());
        CHECK(one_of(xml, "IsTruncated") == "false");
        CHECK(one_of(xml, "MaxKeys") == "0");
        CHECK_FALSE(one_of(xml, "NextContinuationToken").has_value());
    }
}

TEST_CASE("refused listings: max-keys, encoding-type, continuation token, bucket") {
    scratch_store store({"a"});
    struct row {
        const char* what;
        list_request request;
        int status;
        std::string code;
    };
    auto with = [](auto change) {
        list_request request;
        request.v2 = true;
        change(request);
        return request;
    };
    const std::vector<row> rows = {
        {"negative max-keys", with([](list_request& r) { r.max_keys = "-1"; }), 400,
         "InvalidArgument"},
        {"max-keys not a number", with([](list_request& r) { r.max_keys = "ten"; }), 400,
         "InvalidArgument"},
        {"max-keys beyond int32", with([](list_request& r) { r.max_keys = "2147483648"; }), 400,
         "InvalidArgument"},
        {"empty max-keys", with([](list_request& r) { r.max_keys = ""; }), 400, "InvalidArgument"},
        {"encoding-type other than url", with([](list_request& r) { r.encoding_type = "base64"; }),
         400, "InvalidArgument"},
        {"token not base64", with([](list_request& r) { r.continuation_token = "not a token!"; }),
         400, "InvalidArgument"},
        {"empty token", with([](list_request& r) { r.continuation_token = ""; }), 400,
         "InvalidArgument"},
        {"token of bytes that are no key",
         with([](list_request& r) { r.continuation_token = "/w=="; }), 400, "InvalidArgument"},
    };
    for (const auto& [what, request, status, code] : rows) {
        CAPTURE(what);
        auto xml = list_objects_xml(store.store(), bucket, request);
        REQUIRE_FALSE(xml.has_value());
        CHECK(xml.error().status == status);
        CHECK(xml.error().code == code);
    }
    auto missing = list_objects_xml(store.store(), "no-such-bucket", list_request{});
    REQUIRE_FALSE(missing.has_value());
    CHECK(missing.error().code == "NoSuchBucket");
    CHECK(missing.error().status == 404);

    list_request big;
    big.max_keys = "5000";  // allowed, answered with at most 1000
    CHECK(one_of(list_ok(store, big), "MaxKeys") == "1000");
}
