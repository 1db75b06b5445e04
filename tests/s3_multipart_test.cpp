// SPDX-License-Identifier: Apache-2.0
// sigv4/s3_multipart.hpp: every multipart step presigned with its sub-resource and headers signed,
// the verifier's view of them, and errors with exact codes.
#include <doctest/doctest.h>

#include <sigv4/s3_multipart.hpp>
#include <sigv4/verify.hpp>

#include <string>
#include <vector>

using namespace std::chrono_literals;
namespace s3 = sigv4::s3;

namespace {

sigv4::credentials test_credentials() {
    return *sigv4::credentials::make("AKIDEXAMPLE", "multipart-secret");
}
sigv4::sys_seconds test_time() {
    return *sigv4::parse_amz_date("20130524T000000Z");
}
const s3::endpoint local{"us-east-1", "http://127.0.0.1:9000", s3::addressing::path};

s3::object_options at_test_time() {
    s3::object_options options;
    options.signing_time = test_time();
    options.capture_artifacts = true;
    return options;
}

std::string target_of(const sigv4::presigned_request& signed_url) {
    return signed_url.url.substr(signed_url.url.find('/', 8));
}

auto verify_target(std::string_view method, std::string target,
                   std::vector<sigv4::header> headers = {}) {
    static const sigv4::known_key key{*sigv4::secret_key::from("multipart-secret"), {}};
    sigv4::key_lookup keys = [](std::string_view) -> const sigv4::known_key* { return &key; };
    sigv4::verify_options options;
    options.region = "us-east-1";
    options.now = test_time();
    sigv4::received_request received;
    received.method = std::string(method);
    received.target = std::move(target);
    received.headers.push_back({"Host", "127.0.0.1:9000"});
    for (auto& h : headers) received.headers.push_back(std::move(h));
    return sigv4::verify(received, keys, options);
}

std::string replaced(std::string text, std::string_view from, std::string_view to) {
    const auto at = text.find(from);
    REQUIRE(at != std::string::npos);
    text.replace(at, from.size(), to);
    return text;
}

}  // namespace

TEST_CASE("CreateMultipartUpload: POST ?uploads= with type, SSE and metadata signed as headers") {
    auto options = at_test_time();
    options.content_type = "video/mp4";
    options.sse = s3::server_side_encryption::aes256;
    options.metadata.push_back({"Owner", "alice"});
    auto created = s3::presign_create_multipart_upload(test_credentials(), "bkt",
                                                       "users/a/big file.mp4", local, options);
    REQUIRE(created);
    CHECK(created->method == "POST");
    CHECK(created->url.starts_with(
        "http://127.0.0.1:9000/bkt/users/a/big%20file.mp4?uploads=&X-Amz-Algorithm="));
    CHECK(
        created->artifacts.canonical_request ==
        "POST\n/bkt/users/a/big%20file.mp4\n"
        "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20130524%2Fus-east-1%2Fs3%"
        "2Faws4_request&"
        "X-Amz-Date=20130524T000000Z&X-Amz-Expires=300&"
        "X-Amz-SignedHeaders=content-type%3Bhost%3Bx-amz-meta-owner%3Bx-amz-server-side-encryption&"
        "uploads=\n"
        "content-type:video/"
        "mp4\nhost:127.0.0.1:9000\nx-amz-meta-owner:alice\nx-amz-server-side-encryption:AES256\n\n"
        "content-type;host;x-amz-meta-owner;x-amz-server-side-encryption\nUNSIGNED-PAYLOAD");
    std::vector<sigv4::header> sent = {{"Content-Type", "video/mp4"},
                                       {"x-amz-meta-owner", "alice"},
                                       {"x-amz-server-side-encryption", "AES256"}};
    CHECK(verify_target("POST", target_of(*created), sent));
    // The sub-resource is signed: without it the request is a different one.
    auto dropped = verify_target("POST", replaced(target_of(*created), "?uploads=&", "?"), sent);
    REQUIRE_FALSE(dropped);
    CHECK(dropped.error().code == sigv4::errc::signature_does_not_match);
    sent[0].value = "text/html";
    auto retyped = verify_target("POST", target_of(*created), sent);
    REQUIRE_FALSE(retyped);
    CHECK(retyped.error().code == sigv4::errc::signature_does_not_match);
}

TEST_CASE("UploadPart: partNumber and uploadId signed, the exact Content-Length signed") {
    auto options = at_test_time();
    options.content_length = 8u << 20;
    auto part = s3::presign_upload_part(test_credentials(), "bkt", "k/f.bin", local, "up+id/1=", 7,
                                        options);
    REQUIRE(part);
    CHECK(part->method == "PUT");
    CHECK(part->url.starts_with(
        "http://127.0.0.1:9000/bkt/k/f.bin?partNumber=7&uploadId=up%2Bid%2F1%3D&X-Amz-"));
    CHECK(part->artifacts.canonical_request.ends_with("\ncontent-length;host\nUNSIGNED-PAYLOAD"));
    CHECK(part->artifacts.canonical_request.find("&partNumber=7&uploadId=up%2Bid%2F1%3D\n") !=
          std::string::npos);
    const std::string target = target_of(*part);
    CHECK(verify_target("PUT", target, {{"Content-Length", "8388608"}}));
    const std::vector<std::string> tampered = {
        replaced(target, "partNumber=7", "partNumber=8"),
        replaced(target, "uploadId=up%2Bid%2F1%3D", "uploadId=other"),
    };
    for (const auto& changed : tampered) {
        CAPTURE(changed);
        auto refused = verify_target("PUT", changed, {{"Content-Length", "8388608"}});
        REQUIRE_FALSE(refused);
        CHECK(refused.error().code == sigv4::errc::signature_does_not_match);
    }
    auto longer = verify_target("PUT", target, {{"Content-Length", "8388609"}});
    REQUIRE_FALSE(longer);
    CHECK(longer.error().code == sigv4::errc::signature_does_not_match);
}

TEST_CASE("ListParts, Complete and Abort: method and uploadId signed") {
    const auto creds = test_credentials();
    s3::list_parts_options page;
    page.max_parts = 100;
    page.part_number_marker = 200;
    auto listed = s3::presign_list_parts(creds, "bkt", "k/f", local, "ID", page, at_test_time());
    REQUIRE(listed);
    CHECK(listed->method == "GET");
    CHECK(listed->url.starts_with(
        "http://127.0.0.1:9000/bkt/k/f?max-parts=100&part-number-marker=200&uploadId=ID&X-Amz-"));
    CHECK(verify_target("GET", target_of(*listed)));
    auto first = s3::presign_list_parts(creds, "bkt", "k/f", local, "ID", {}, at_test_time());
    REQUIRE(first);
    CHECK(first->url.starts_with("http://127.0.0.1:9000/bkt/k/f?uploadId=ID&X-Amz-"));

    auto complete =
        s3::presign_complete_multipart_upload(creds, "bkt", "k/f", local, "ID", at_test_time());
    REQUIRE(complete);
    CHECK(complete->method == "POST");
    CHECK(complete->url.starts_with("http://127.0.0.1:9000/bkt/k/f?uploadId=ID&X-Amz-"));
    CHECK(verify_target("POST", target_of(*complete)));
    // A Complete URL cannot abort the upload.
    auto as_delete = verify_target("DELETE", target_of(*complete));
    REQUIRE_FALSE(as_delete);
    CHECK(as_delete.error().code == sigv4::errc::signature_does_not_match);

    auto abort =
        s3::presign_abort_multipart_upload(creds, "bkt", "k/f", local, "ID", at_test_time());
    REQUIRE(abort);
    CHECK(abort->method == "DELETE");
    CHECK(verify_target("DELETE", target_of(*abort)));
}

TEST_CASE("presign_object_request equals presign_object when no query is added") {
    auto options = at_test_time();
    options.content_type = "text/plain";
    options.content_length = 12;
    options.capture_artifacts = false;
    auto direct = s3::presign_object(test_credentials(), "PUT", "bkt", "a/b c", local, options);
    auto generic =
        s3::presign_object_request(test_credentials(), "PUT", "bkt", "a/b c", local, {}, options);
    REQUIRE(direct);
    REQUIRE(generic);
    CHECK(direct->url == generic->url);
    CHECK(direct->headers == generic->headers);
}

TEST_CASE("multipart presign errors carry exact codes") {
    const auto creds = test_credentials();
    s3::object_options sized;
    sized.content_length = 1;
    CHECK(s3::presign_upload_part(creds, "bkt", "k", local, "ID", 0, sized).error().code ==
          sigv4::errc::invalid_option);
    CHECK(s3::presign_upload_part(creds, "bkt", "k", local, "ID", 10001, sized).error().code ==
          sigv4::errc::invalid_option);
    CHECK(s3::presign_upload_part(creds, "bkt", "k", local, "ID", 10000, sized));
    CHECK(s3::presign_upload_part(creds, "bkt", "k", local, "ID", 1, {}).error().code ==
          sigv4::errc::invalid_option);
    s3::object_options too_big;
    too_big.content_length = s3::max_part_bytes + 1;
    CHECK(s3::presign_upload_part(creds, "bkt", "k", local, "ID", 1, too_big).error().code ==
          sigv4::errc::invalid_option);
    CHECK(s3::presign_upload_part(creds, "bkt", "k", local, "", 1, sized).error().code ==
          sigv4::errc::invalid_option);
    CHECK(s3::presign_abort_multipart_upload(creds, "bkt", "k", local, std::string(1025, 'x'))
              .error()
              .code == sigv4::errc::invalid_option);
    CHECK(s3::presign_complete_multipart_upload(creds, "bkt", "", local, "ID").error().code ==
          sigv4::errc::invalid_object_key);
    CHECK(s3::presign_create_multipart_upload(creds, "Bad_Bucket!", "k", {}).error().code ==
          sigv4::errc::invalid_bucket_name);
    CHECK(s3::presign_create_multipart_upload(creds, "bkt", "k",
                                              {"US EAST", "", s3::addressing::automatic})
              .error()
              .code == sigv4::errc::invalid_region);
    const sigv4::query_param unnamed{"", "x"};
    CHECK(s3::presign_object_request(creds, "GET", "bkt", "k", local, std::span(&unnamed, 1))
              .error()
              .code == sigv4::errc::invalid_query);
    s3::object_options bad_meta;
    bad_meta.metadata.push_back({"bad name", "x"});
    CHECK(s3::presign_create_multipart_upload(creds, "bkt", "k", local, bad_meta).error().code ==
          sigv4::errc::invalid_option);
}
