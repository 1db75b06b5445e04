// SPDX-License-Identifier: Apache-2.0
// Multipart uploads in the local store, without HTTP: parts on disk with MD5 ETags, Complete's
// checks and atomicity, ListParts and ListMultipartUploads pages, and the sweep of abandoned
// uploads.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/resource.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <presign/local/multipart_listing.hpp>
#include <presign/local/object_store.hpp>
#include <presign/local/upload_sweeper.hpp>
#include <sigv4/encoding.hpp>
#include <sigv4/hash.hpp>

namespace fs = std::filesystem;
namespace local = presign::local;

namespace {

constexpr std::string_view bucket = "parts";

struct scratch {
    fs::path dir;
    std::optional<local::object_store> store;
    scratch() {
        std::string pattern =
            (fs::temp_directory_path() / "presign-multipart-test-XXXXXX").string();
        REQUIRE(::mkdtemp(pattern.data()) != nullptr);
        dir = pattern;
        store.emplace(dir);
        REQUIRE(store->create_bucket(bucket).has_value());
    }
    ~scratch() {
        store.reset();
        std::error_code ignored;
        fs::remove_all(dir, ignored);
    }
    std::string create(std::string_view key) {
        auto id = store->create_multipart(bucket, key, "video/mp4", {});
        REQUIRE(id.has_value());
        return *id;
    }
    local::store_result<local::object_info> put_part(std::string_view key, const std::string& id,
                                                     int number, const std::string& bytes) {
        auto part = store->begin_part(bucket, key, id, number);
        REQUIRE(part.has_value());
        REQUIRE(part->write(bytes.data(), bytes.size()).has_value());
        local::upload_expectations expect;
        expect.content_length = bytes.size();
        return part->commit(expect);
    }
    /// A whole upload of `key` in these parts (each stored, then completed); the Complete's result.
    local::store_result<local::object_info> upload_in_parts(std::string_view key,
                                                            const std::vector<std::string>& parts) {
        const auto id = create(key);
        std::vector<local::object_store::completed_part> completed;
        for (std::size_t i = 0; i < parts.size(); ++i) {
            auto stored = put_part(key, id, static_cast<int>(i + 1), parts[i]);
            REQUIRE(stored);
            completed.push_back({static_cast<int>(i + 1), stored->etag});
        }
        return store->complete_multipart(bucket, key, id, completed);
    }
};

std::string md5_hex(std::string_view bytes) {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int size = 0;
    EVP_Digest(bytes.data(), bytes.size(), digest, &size, EVP_md5(), nullptr);
    return sigv4::hex_encode(std::span<const unsigned char>(digest, size));
}

std::size_t count_of(const std::string& text, std::string_view what) {
    std::size_t n = 0;
    for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
    return n;
}

}  // namespace

TEST_CASE(
    "parts: MD5 ETags, a re-sent part replaces the old one, Complete's checks and final ETag") {
    scratch s;
    const std::string key = "videos/a.mp4";
    auto id = s.create(key);
    const std::string first(5 << 20, 'a'), second(5 << 20, 'b'), last = "end";
    auto p1 = s.put_part(key, id, 1, std::string(5 << 20, 'z'));  // replaced below
    REQUIRE(p1);
    p1 = s.put_part(key, id, 1, first);
    auto p2 = s.put_part(key, id, 2, second);
    auto p3 = s.put_part(key, id, 3, last);
    REQUIRE((p1 && p2 && p3));
    CHECK(p1->etag == "\"" + md5_hex(first) + "\"");
    CHECK(p3->etag == "\"" + md5_hex(last) + "\"");

    using part = local::object_store::completed_part;
    auto code = [&](std::vector<part> parts) {
        auto done = s.store->complete_multipart(bucket, key, id, parts);
        REQUIRE_FALSE(done);
        return done.error().code;
    };
    CHECK(code({{2, p2->etag}, {1, p1->etag}, {3, p3->etag}}) == "InvalidPartOrder");
    CHECK(code({{1, p1->etag}, {1, p1->etag}}) == "InvalidPartOrder");
    CHECK(code({{1, p1->etag}, {2, p1->etag}, {3, p3->etag}}) == "InvalidPart");
    CHECK(code({{1, p1->etag}, {4, p3->etag}}) == "InvalidPart");
    CHECK(code({{1, p1->etag}, {3, p3->etag}, {4, p3->etag}}) == "EntityTooSmall");
    CHECK(code({}) == "MalformedXML");
    CHECK_FALSE(s.store->stat(bucket, key));  // nothing appears before a successful Complete

    // ETags may come with or without quotes; the object is whole or absent.
    auto done = s.store->complete_multipart(bucket, key, id,
                                            {{1, p1->etag}, {2, md5_hex(second)}, {3, p3->etag}});
    REQUIRE(done);
    std::string md5s;
    for (const auto& bytes : {first, second, last}) {
        auto hex = md5_hex(bytes);
        for (std::size_t i = 0; i < hex.size(); i += 2)
            md5s += static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16));
    }
    CHECK(done->etag == "\"" + md5_hex(md5s) + "-3\"");
    CHECK(done->size == first.size() + second.size() + last.size());
    CHECK(done->content_type == "video/mp4");
    auto stat = s.store->stat(bucket, key);
    REQUIRE(stat);
    CHECK(stat->etag == done->etag);
    // The upload is gone once completed.
    CHECK(s.store->list_parts(bucket, key, id).error().code == "NoSuchUpload");
    CHECK(s.store->complete_multipart(bucket, key, id, {{1, p1->etag}}).error().code ==
          "NoSuchUpload");
}

namespace {

std::size_t data_files_in(const fs::path& bucket_dir) {
    std::size_t n = 0;
    for (const auto& entry : fs::directory_iterator(bucket_dir / "objects")) {
        if (entry.path().extension() == ".data") ++n;
    }
    return n;
}

std::string read_all(const local::open_object& object, std::uint64_t first, std::size_t length,
                     std::size_t step) {
    std::string out;
    std::string buffer(step, '\0');
    while (out.size() < length) {
        const long n =
            object.read_at(first + out.size(), buffer.data(), std::min(step, length - out.size()));
        REQUIRE(n > 0);
        out.append(buffer.data(), static_cast<std::size_t>(n));
    }
    return out;
}

}  // namespace

TEST_CASE(
    "a completed upload is its parts (nothing copied): reads across parts, replaced, deleted") {
    scratch s;
    const fs::path bucket_dir = s.dir / "buckets" / std::string(bucket);
    const std::string key = "disk.img";
    auto id = s.create(key);
    std::string bytes;
    std::vector<local::object_store::completed_part> parts;
    for (int number = 1; number <= 3; ++number) {
        // Parts of different sizes (S3 allows it), the last one small.
        std::string part(number == 3 ? 1000 : (5 << 20) + number * 4099, '\0');
        for (std::size_t i = 0; i < part.size(); ++i)
            part[i] = static_cast<char>((i * 31 + number * 7) & 0xff);
        auto stored = s.put_part(key, id, number, part);
        REQUIRE(stored);
        parts.push_back({number, stored->etag});
        bytes += part;
    }
    const auto before = fs::space(s.dir).available;
    auto done = s.store->complete_multipart(bucket, key, id, parts);
    REQUIRE(done);
    CHECK(done->size == bytes.size());
    CHECK(done->data_file.empty());
    REQUIRE(done->part_files.size() == 3);
    CHECK(done->part_files[2].size == 1000);
    CHECK(data_files_in(bucket_dir) == 3);  // the three parts, moved: no assembled copy
    CHECK(fs::space(s.dir).available + (4u << 20) > before);
    CHECK_FALSE(fs::exists(bucket_dir / "multipart" / id));

    // The metadata survives a restart of the store.
    s.store.reset();
    s.store.emplace(s.dir);
    auto opened = s.store->open(bucket, key);
    REQUIRE(opened);
    CHECK(opened->pieces().size() == 3);
    CHECK(opened->info().size == bytes.size());
    // Whole, in odd steps that cross the boundaries, and ranges inside and across parts.
    CHECK(read_all(*opened, 0, bytes.size(), 1 << 20) == bytes);
    CHECK(read_all(*opened, 0, bytes.size(), 777777) == bytes);
    const std::uint64_t boundary = done->part_files[0].size;
    CHECK(read_all(*opened, boundary - 10, 20, 4096) == bytes.substr(boundary - 10, 20));
    CHECK(read_all(*opened, bytes.size() - 1500, 1500, 4096) == bytes.substr(bytes.size() - 1500));
    char past[8];
    CHECK(opened->read_at(bytes.size(), past, sizeof past) == 0);

    // Replaced by a PUT: the part files go; a reader that opened the object still reads it whole.
    auto upload = s.store->begin_upload(bucket, key, "text/plain", {});
    REQUIRE(upload);
    REQUIRE(upload->write("new", 3));
    local::upload_expectations expect;
    expect.content_length = 3;
    REQUIRE(upload->commit(expect));
    CHECK(data_files_in(bucket_dir) == 1);
    CHECK(read_all(*opened, 0, bytes.size(), 1 << 20) == bytes);

    // A multipart object over a multipart object, then deleted: no file left behind.
    REQUIRE(s.upload_in_parts(key, {std::string(5 << 20, 'x'), "tail"}));
    CHECK(data_files_in(bucket_dir) == 2);
    REQUIRE(s.upload_in_parts(key, {std::string(5 << 20, 'y'), "end"}));
    CHECK(data_files_in(bucket_dir) == 2);
    auto reopened = s.store->open(bucket, key);
    REQUIRE(reopened);
    CHECK(read_all(*reopened, (5 << 20) - 2, 5, 4096) == "yyend");
    REQUIRE(s.store->remove(bucket, key));
    CHECK(data_files_in(bucket_dir) == 0);
}

TEST_CASE("a multipart object opened without enough file descriptors: 503 SlowDown, none leaked") {
    scratch s;
    REQUIRE(s.upload_in_parts("k", {std::string(5 << 20, 'a'), std::string(5 << 20, 'b'), "c"}));
    // The two lowest free descriptor numbers: with the soft limit just above the second, the
    // process can open exactly two more files, and the object needs three.
    const auto two_lowest_free = [] {
        const int a = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
        const int b = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
        REQUIRE((a >= 0 && b > a));
        ::close(a);
        ::close(b);
        return std::pair{a, b};
    };
    rlimit saved{};
    REQUIRE(::getrlimit(RLIMIT_NOFILE, &saved) == 0);
    const auto free_before = two_lowest_free();
    rlimit tight = saved;
    tight.rlim_cur = static_cast<rlim_t>(free_before.second) + 1;
    REQUIRE(::setrlimit(RLIMIT_NOFILE, &tight) == 0);
    auto opened = s.store->open(bucket, "k");
    REQUIRE(::setrlimit(RLIMIT_NOFILE, &saved) == 0);
    REQUIRE_FALSE(opened);
    CHECK(opened.error().status == 503);
    CHECK(opened.error().code == "SlowDown");
    CHECK(two_lowest_free() == free_before);  // the parts opened before the failure were closed
    auto again = s.store->open(bucket, "k");
    REQUIRE(again);
    CHECK(again->pieces().size() == 3);
}

TEST_CASE(
    "a multipart object's metadata whose parts do not add up to its size is refused as damaged") {
    scratch s;
    REQUIRE(s.upload_in_parts("k", {std::string(5 << 20, 'a'), "b"}));
    fs::path meta;
    for (const auto& entry :
         fs::directory_iterator(s.dir / "buckets" / std::string(bucket) / "objects")) {
        if (entry.path().extension() == ".meta") meta = entry.path();
    }
    REQUIRE_FALSE(meta.empty());
    std::string text;
    {
        std::ifstream in(meta);
        text.assign(std::istreambuf_iterator<char>(in), {});
    }
    const auto at = text.find("\"size\":");
    REQUIRE(at != std::string::npos);
    text.replace(at, 7, "\"size\":1");  // "size":1<digits>: valid JSON, no longer the parts' sum
    { std::ofstream(meta) << text; }
    auto stat = s.store->stat(bucket, "k");
    REQUIRE_FALSE(stat);
    CHECK(stat.error().code == "InternalError");
}

TEST_CASE(
    "a Complete or a PUT whose metadata cannot be written leaves the upload whole and nothing in "
    "the bucket") {
    scratch s;
    const fs::path bucket_dir = s.dir / "buckets" / std::string(bucket);
    // The key's metadata path is taken by a directory that is not empty: the commit point fails.
    const fs::path blocked = bucket_dir / "objects" / (sigv4::sha256_hex("k") + ".meta");
    fs::create_directories(blocked / "in-the-way");
    const auto id = s.create("k");
    auto p1 = s.put_part("k", id, 1, std::string(5 << 20, 'a'));
    auto p2 = s.put_part("k", id, 2, "b");
    REQUIRE((p1 && p2));
    const std::vector<local::object_store::completed_part> parts{{1, p1->etag}, {2, p2->etag}};
    auto failed = s.store->complete_multipart(bucket, "k", id, parts);
    REQUIRE_FALSE(failed);
    CHECK(failed.error().code == "InternalError");
    CHECK(data_files_in(bucket_dir) == 0);
    // The upload still holds both parts, with their bytes.
    auto listed = s.store->list_parts(bucket, "k", id);
    REQUIRE(listed);
    CHECK(listed->size() == 2);
    CHECK(fs::file_size(bucket_dir / "multipart" / id / "1.part") == (5u << 20));

    auto upload = s.store->begin_upload(bucket, "k", "text/plain", {});
    REQUIRE(upload);
    REQUIRE(upload->write("new", 3));
    local::upload_expectations expect;
    expect.content_length = 3;
    REQUIRE_FALSE(upload->commit(expect));
    CHECK(data_files_in(bucket_dir) == 0);
    CHECK(fs::is_empty(bucket_dir / "tmp"));

    // Once the way is clear, the same upload completes; its parts' names are gone with it.
    fs::remove_all(blocked);
    auto done = s.store->complete_multipart(bucket, "k", id, parts);
    REQUIRE(done);
    CHECK(data_files_in(bucket_dir) == 2);
    CHECK_FALSE(fs::exists(bucket_dir / "multipart" / id));
    auto opened = s.store->open(bucket, "k");
    REQUIRE(opened);
    CHECK(read_all(*opened, (5u << 20) - 1, 2, 16) == "ab");
    // A PUT's temporary name is gone once committed.
    auto put = s.store->begin_upload(bucket, "other", "text/plain", {});
    REQUIRE(put);
    REQUIRE(put->write("xyz", 3));
    REQUIRE(put->commit(expect));
    CHECK(fs::is_empty(bucket_dir / "tmp"));
}

TEST_CASE("parts: a part finishing after its upload was aborted is refused and leaves nothing") {
    scratch s;
    auto id = s.create("k");
    auto part = s.store->begin_part(bucket, "k", id, 1);
    REQUIRE(part);
    REQUIRE(part->write("abc", 3));
    REQUIRE(s.store->abort_multipart(bucket, "k", id));
    local::upload_expectations expect;
    expect.content_length = 3;
    auto committed = part->commit(expect);
    REQUIRE_FALSE(committed);
    CHECK(committed.error().code == "NoSuchUpload");
    CHECK_FALSE(fs::exists(s.dir / "buckets" / std::string(bucket) / "multipart" / id));
    CHECK(s.store->begin_part(bucket, "k", id, 1).error().code == "NoSuchUpload");
    CHECK(s.store->begin_part(bucket, "k", "not-an-id", 1).error().code == "NoSuchUpload");
    auto other = s.create("k");
    CHECK(s.store->begin_part(bucket, "another key", other, 1).error().code == "NoSuchUpload");
    CHECK(s.store->begin_part(bucket, "k", other, 0).error().code == "InvalidArgument");
    CHECK(s.store->begin_part(bucket, "k", other, 10001).error().code == "InvalidArgument");
}

TEST_CASE("Complete with a precondition: checked at the commit; a refused upload keeps its parts") {
    scratch s;
    // "Create only" (If-None-Match: *): refused when the key holds an object.
    const local::write_precondition create_only =
        [](const local::object_info* current) -> std::optional<local::s3_error> {
        if (current == nullptr) return std::nullopt;
        return local::s3_error{412, "PreconditionFailed",
                               "At least one of the pre-conditions you specified did not hold"};
    };
    SUBCASE("over an existing object") {
        auto id = s.create("taken");
        auto part = s.put_part("taken", id, 1, "first");
        REQUIRE(part);
        REQUIRE(s.store->complete_multipart(bucket, "taken", id, {{1, part->etag}}));
        auto again = s.create("taken");
        auto second = s.put_part("taken", again, 1, "second");
        REQUIRE(second);
        auto refused =
            s.store->complete_multipart(bucket, "taken", again, {{1, second->etag}}, create_only);
        REQUIRE_FALSE(refused);
        CHECK(refused.error().status == 412);
        CHECK(refused.error().code == "PreconditionFailed");
        auto kept = s.store->list_parts(bucket, "taken", again);
        REQUIRE(kept);
        CHECK(kept->size() == 1);
        auto stat = s.store->stat(bucket, "taken");
        REQUIRE(stat);
        CHECK(stat->size == 5);  // "first", untouched
        std::size_t temporary = 0;
        for ([[maybe_unused]] const auto& e :
             fs::directory_iterator(s.dir / "buckets" / std::string(bucket) / "tmp"))
            ++temporary;
        CHECK(temporary == 0);
        // The check sees the key's current object, and an unconditional Complete still succeeds.
        const local::object_info* seen = nullptr;
        std::string seen_etag;
        auto done = s.store->complete_multipart(
            bucket, "taken", again, {{1, second->etag}},
            [&](const local::object_info* current) -> std::optional<local::s3_error> {
                seen = current;
                if (current != nullptr) seen_etag = current->etag;
                return std::nullopt;
            });
        REQUIRE(done);
        CHECK(seen != nullptr);
        CHECK(seen_etag == stat->etag);
        CHECK(s.store->stat(bucket, "taken")->size == 6);
    }
    SUBCASE("racing Completes of one absent key: exactly one wins") {
        constexpr int uploads = 6;
        std::vector<std::string> ids;
        std::vector<std::string> etags;
        for (int i = 0; i < uploads; ++i) {
            ids.push_back(s.create("contended"));
            auto part = s.put_part("contended", ids.back(), 1,
                                   std::string(1 << 20, static_cast<char>('a' + i)));
            REQUIRE(part);
            etags.push_back(part->etag);
        }
        std::atomic<int> won{0}, refused{0};
        std::vector<std::thread> threads;
        for (int i = 0; i < uploads; ++i) {
            threads.emplace_back([&, i] {
                auto done = s.store->complete_multipart(bucket, "contended", ids[i],
                                                        {{1, etags[i]}}, create_only);
                if (done) {
                    ++won;
                } else if (done.error().code == "PreconditionFailed") {
                    ++refused;
                }
            });
        }
        for (auto& t : threads) t.join();
        CHECK(won == 1);
        CHECK(refused == uploads - 1);
    }
}

TEST_CASE("ListParts: pages by max-parts and part-number-marker; errors") {
    scratch s;
    auto id = s.create("big & <odd>.bin");
    for (int n : {7, 1, 3, 5, 2})
        REQUIRE(
            s.put_part("big & <odd>.bin", id, n, std::string(static_cast<std::size_t>(n), 'x')));
    local::list_parts_request ask;
    ask.upload_id = id;
    auto all = local::list_parts_xml(*s.store, bucket, "big & <odd>.bin", ask);
    REQUIRE(all);
    CHECK(all->find("<Key>big &amp; &lt;odd&gt;.bin</Key>") != std::string::npos);
    CHECK(count_of(*all, "<Part>") == 5);
    CHECK(all->find("<IsTruncated>false</IsTruncated>") != std::string::npos);
    CHECK(all->find("<PartNumber>1</PartNumber>") < all->find("<PartNumber>7</PartNumber>"));
    CHECK(all->find("<Size>7</Size>") != std::string::npos);
    CHECK(all->find("<ETag>&quot;" + md5_hex("xxx") + "&quot;</ETag>") != std::string::npos);

    ask.max_parts = "2";
    auto first = local::list_parts_xml(*s.store, bucket, "big & <odd>.bin", ask);
    REQUIRE(first);
    CHECK(count_of(*first, "<Part>") == 2);
    CHECK(first->find("<IsTruncated>true</IsTruncated>") != std::string::npos);
    CHECK(first->find("<NextPartNumberMarker>2</NextPartNumberMarker>") != std::string::npos);
    ask.part_number_marker = "3";
    auto later = local::list_parts_xml(*s.store, bucket, "big & <odd>.bin", ask);
    REQUIRE(later);
    CHECK(later->find("<PartNumberMarker>3</PartNumberMarker>") != std::string::npos);
    CHECK(later->find("<PartNumber>5</PartNumber>") != std::string::npos);
    CHECK(later->find("<PartNumber>7</PartNumber>") != std::string::npos);
    CHECK(later->find("<IsTruncated>false</IsTruncated>") != std::string::npos);

    for (const char* bad : {"-1", "x", "", "2147483648"}) {
        CAPTURE(bad);
        ask.max_parts = bad;
        CHECK(local::list_parts_xml(*s.store, bucket, "big & <odd>.bin", ask).error().code ==
              "InvalidArgument");
    }
    ask.max_parts.reset();
    ask.part_number_marker.reset();
    ask.upload_id = "0123456789abcdef0123456789abcdef";
    CHECK(local::list_parts_xml(*s.store, bucket, "big & <odd>.bin", ask).error().code ==
          "NoSuchUpload");
    CHECK(local::list_parts_xml(*s.store, "nobucket", "k", ask).error().code == "NoSuchBucket");
}

TEST_CASE("ListMultipartUploads: by key, prefix, markers, pages, delimiter") {
    scratch s;
    auto a = s.create("a/1"), b = s.create("b/2"), c1 = s.create("c"), c2 = s.create("c");
    local::list_uploads_request ask;
    auto all = local::list_multipart_uploads_xml(*s.store, bucket, ask);
    REQUIRE(all);
    CHECK(count_of(*all, "<Upload>") == 4);
    CHECK(all->find("<UploadId>" + a + "</UploadId>") <
          all->find("<UploadId>" + b + "</UploadId>"));
    ask.prefix = "b/";
    auto only_b = local::list_multipart_uploads_xml(*s.store, bucket, ask);
    CHECK(count_of(*only_b, "<Upload>") == 1);
    CHECK(only_b->find("<Prefix>b/</Prefix>") != std::string::npos);
    ask.prefix.clear();
    ask.max_uploads = "2";
    auto page = local::list_multipart_uploads_xml(*s.store, bucket, ask);
    CHECK(count_of(*page, "<Upload>") == 2);
    CHECK(page->find("<IsTruncated>true</IsTruncated>") != std::string::npos);
    CHECK(page->find("<NextKeyMarker>b/2</NextKeyMarker>") != std::string::npos);
    ask.max_uploads.reset();
    ask.key_marker = "b/2";
    auto rest = local::list_multipart_uploads_xml(*s.store, bucket, ask);
    CHECK(count_of(*rest, "<Upload>") == 2);
    ask.key_marker = "c";
    ask.upload_id_marker = std::min(c1, c2);
    auto after_id = local::list_multipart_uploads_xml(*s.store, bucket, ask);
    CHECK(count_of(*after_id, "<Upload>") == 1);
    CHECK(after_id->find("<UploadId>" + std::max(c1, c2) + "</UploadId>") != std::string::npos);
    local::list_uploads_request grouped;
    grouped.delimiter = "/";
    auto folders = local::list_multipart_uploads_xml(*s.store, bucket, grouped);
    CHECK(count_of(*folders, "<Upload>") == 2);  // the two uploads of "c"
    CHECK(folders->find("<CommonPrefixes><Prefix>a/</Prefix></CommonPrefixes>") !=
          std::string::npos);
    CHECK(folders->find("<CommonPrefixes><Prefix>b/</Prefix></CommonPrefixes>") !=
          std::string::npos);
    grouped.max_uploads = "nope";
    CHECK(local::list_multipart_uploads_xml(*s.store, bucket, grouped).error().code ==
          "InvalidArgument");
    CHECK(local::list_multipart_uploads_xml(*s.store, "nobucket", {}).error().code ==
          "NoSuchBucket");
}

TEST_CASE(
    "sweep: uploads initiated before the cutoff are aborted, younger ones kept, objects "
    "untouched") {
    scratch s;
    auto old_id = s.create("old");
    REQUIRE(s.put_part("old", old_id, 1, "bytes"));
    const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
    CHECK(s.store->sweep_multipart_uploads(now - 3600) == 0);  // an hour's grace keeps it
    CHECK(s.store->list_parts(bucket, "old", old_id));
    {
        // A sweeper that thinks an upload is abandoned after 0 s... is off; 1 s sweeps at start.
        local::upload_sweeper off(*s.store, std::chrono::seconds(0), std::chrono::seconds(1), {});
        CHECK(s.store->list_parts(bucket, "old", old_id));
    }
    REQUIRE(s.store->create_bucket("other"));
    auto other = s.store->create_multipart("other", "x", "", {});
    REQUIRE(other);
    std::vector<std::string> lines;
    ::sleep(3);  // whole seconds: "old" is then at least 3 s old, "young" 0 s
    auto young = s.create("young");
    local::upload_sweeper sweeper(*s.store, std::chrono::seconds(2), std::chrono::hours(1),
                                  [&](std::string_view line) { lines.emplace_back(line); });
    CHECK(s.store->list_parts(bucket, "old", old_id).error().code == "NoSuchUpload");
    CHECK(s.store->list_parts("other", "x", *other).error().code == "NoSuchUpload");
    CHECK(s.store->list_parts(bucket, "young", young));
    REQUIRE(lines.size() == 1);
    CHECK(lines[0].find("swept 2 multipart upload(s)") == 0);
    CHECK(sweeper.sweep_once() == 0);
}

TEST_CASE("sweep: the sweeper sweeps again every interval, not only at start") {
    scratch s;
    std::mutex mutex;
    std::vector<std::string> lines;
    local::upload_sweeper sweeper(*s.store, std::chrono::seconds(1), std::chrono::seconds(1),
                                  [&](std::string_view line) {
                                      std::lock_guard lock(mutex);
                                      lines.emplace_back(line);
                                  });
    auto late = s.create("late");  // after the sweep at start
    REQUIRE(s.store->list_parts(bucket, "late", late));
    const auto logged = [&] {
        std::lock_guard lock(mutex);
        return lines.size();
    };
    // At most 10 s; it goes after about 2 s (the line is logged once the sweep has removed it).
    for (int i = 0; i < 100 && logged() == 0; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    CHECK(logged() == 1);
    CHECK_FALSE(s.store->list_parts(bucket, "late", late));
}
