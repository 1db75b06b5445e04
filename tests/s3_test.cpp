// SPDX-License-Identifier: Apache-2.0
// sigv4/s3.hpp: AWS's documented S3 examples, addressing, key encoding, options and errors.
#include <doctest/doctest.h>

#include <sigv4/s3.hpp>
#include <sigv4/signer.hpp>
#include <sigv4/verify.hpp>

#include <algorithm>
#include <string>

using namespace std::chrono_literals;
namespace s3 = sigv4::s3;

namespace {

// The credentials of AWS's S3 SigV4 documentation examples.
sigv4::credentials doc_credentials() {
    return *sigv4::credentials::make("AKIAIOSFODNN7EXAMPLE",
                                     "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY");
}
sigv4::sys_seconds doc_time() {
    return *sigv4::parse_amz_date("20130524T000000Z");
}

std::string header_value(const std::vector<sigv4::header>& headers, std::string_view name) {
    for (const auto& h : headers) {
        if (h.name == name) return h.value;
    }
    return {};
}

std::string signature_of(const std::string& url) {
    auto pos = url.find("X-Amz-Signature=");
    return pos == std::string::npos ? std::string{} : url.substr(pos + 16, 64);
}

}  // namespace

TEST_CASE("documented example: presigned GET of examplebucket/test.txt (query parameters)") {
    // "Authenticating Requests: Using Query Parameters (AWS Signature Version 4)".
    sigv4::http_request request;
    request.method = "GET";
    request.host = "examplebucket.s3.amazonaws.com";
    request.path = "/test.txt";
    request.body = sigv4::payload::unsigned_payload();
    auto options = sigv4::signing_options::for_s3("us-east-1");
    options.signing_time = doc_time();
    options.expires = 86400s;
    options.capture_artifacts = true;
    auto presigned = sigv4::presign(doc_credentials(), request, options);
    REQUIRE(presigned);
    CHECK(presigned->artifacts.canonical_request ==
          "GET\n/"
          "test.txt\nX-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%"
          "2F20130524%2Fus-"
          "east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-"
          "SignedHeaders=host\n"
          "host:examplebucket.s3.amazonaws.com\n\nhost\nUNSIGNED-PAYLOAD");
    CHECK(presigned->artifacts.signature ==
          "aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404");
    CHECK(presigned->url ==
          "https://examplebucket.s3.amazonaws.com/"
          "test.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential="
          "AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date="
          "20130524T000000Z&X-Amz-"
          "SignedHeaders=host&X-Amz-Expires=86400&X-Amz-Signature="
          "aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404");
    CHECK(presigned->expires_at == doc_time() + 86400s);
    CHECK(presigned->headers.empty());
}

TEST_CASE("documented examples: header authentication (GET object, PUT object, lifecycle, list)") {
    struct example {
        const char* name;
        sigv4::http_request request;
        const char* signature;
    };
    auto base = [](std::string method, std::string path) {
        sigv4::http_request r;
        r.method = std::move(method);
        r.host = "examplebucket.s3.amazonaws.com";
        r.path = std::move(path);
        r.headers.push_back({"Host", "examplebucket.s3.amazonaws.com"});
        return r;
    };
    std::vector<example> examples;
    {
        auto r = base("GET", "/test.txt");
        r.headers.push_back({"Range", "bytes=0-9"});
        examples.push_back(
            {"GET object", r, "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"});
    }
    {
        auto r = base("PUT", "/test$file.text");
        r.headers.push_back({"Date", "Fri, 24 May 2013 00:00:00 GMT"});
        r.headers.push_back({"x-amz-storage-class", "REDUCED_REDUNDANCY"});
        r.body = sigv4::payload::from_body("Welcome to Amazon S3.");
        examples.push_back(
            {"PUT object", r, "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd"});
    }
    {
        auto r = base("GET", "/");
        r.query.push_back({"lifecycle", ""});
        examples.push_back({"GET lifecycle", r,
                            "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543"});
    }
    {
        auto r = base("GET", "/");
        r.query.push_back({"max-keys", "2"});
        r.query.push_back({"prefix", "J"});
        examples.push_back({"list objects", r,
                            "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7"});
    }
    for (const auto& ex : examples) {
        CAPTURE(ex.name);
        auto signed_request =
            s3::sign_request(doc_credentials(), ex.request, "us-east-1", doc_time());
        REQUIRE(signed_request);
        CHECK(signed_request->artifacts.signature == ex.signature);
        std::string authorization = header_value(signed_request->headers, "Authorization");
        CHECK(authorization.find(std::string("Signature=") + ex.signature) != std::string::npos);
        CHECK(header_value(signed_request->headers, "X-Amz-Date") == "20130524T000000Z");
    }
}

TEST_CASE("addressing: regional virtual-hosted by default, path style when needed or asked") {
    struct row {
        const char* bucket;
        const char* key;
        s3::endpoint where;
        const char* url;
    };
    const row rows[] = {
        {"my-bucket",
         "a.txt",
         {"eu-west-1", "", s3::addressing::automatic},
         "https://my-bucket.s3.eu-west-1.amazonaws.com/a.txt"},
        {"my-bucket",
         "a.txt",
         {"us-east-1", "", s3::addressing::automatic},
         "https://my-bucket.s3.us-east-1.amazonaws.com/a.txt"},
        {"my-bucket",
         "a.txt",
         {"us-east-1", "", s3::addressing::path},
         "https://s3.us-east-1.amazonaws.com/my-bucket/a.txt"},
        {"my.dotted.bucket",
         "a",
         {"us-west-2", "", s3::addressing::automatic},
         "https://s3.us-west-2.amazonaws.com/my.dotted.bucket/a"},
        {"LegacyBucket",
         "a",
         {"us-east-1", "", s3::addressing::automatic},
         "https://s3.us-east-1.amazonaws.com/LegacyBucket/a"},
        {"b1", "k", {"us-east-1", "", s3::addressing::path}, nullptr},
        {"bkt",
         "k",
         {"cn-north-1", "", s3::addressing::automatic},
         "https://bkt.s3.cn-north-1.amazonaws.com.cn/k"},
        {"bkt",
         "k",
         {"us-east-1", "http://127.0.0.1:9000", s3::addressing::automatic},
         "http://127.0.0.1:9000/bkt/k"},
        {"bkt",
         "k",
         {"us-east-1", "http://localhost:9000/", s3::addressing::automatic},
         "http://localhost:9000/bkt/k"},
        {"bkt",
         "k",
         {"auto", "https://acct.r2.cloudflarestorage.com", s3::addressing::automatic},
         "https://bkt.acct.r2.cloudflarestorage.com/k"},
        {"bkt",
         "k",
         {"us-east-1", "https://minio.example:443", s3::addressing::path},
         "https://minio.example/bkt/k"},
        {"bkt",
         "a b/+%/ü//x/",
         {"us-east-1", "", s3::addressing::path},
         "https://s3.us-east-1.amazonaws.com/bkt/a%20b/%2B%25/%C3%BC//x/"},
    };
    for (const auto& r : rows) {
        CAPTURE(r.bucket);
        CAPTURE(r.where.url);
        auto located = s3::locate(r.bucket, r.key, r.where);
        if (!r.url) {
            REQUIRE_FALSE(located);
            CHECK(located.error().code == sigv4::errc::invalid_bucket_name);
            continue;
        }
        REQUIRE(located);
        CHECK(located->url == r.url);
    }
}

TEST_CASE("addressing errors carry exact codes") {
    CHECK(s3::locate("my.bucket", "k", {"us-east-1", "", s3::addressing::virtual_hosted})
              .error()
              .code == sigv4::errc::invalid_bucket_name);
    CHECK(
        s3::locate("bkt", "k", {"us-east-1", "ftp://x", s3::addressing::automatic}).error().code ==
        sigv4::errc::invalid_endpoint);
    CHECK(s3::locate("bkt", "k", {"us-east-1", "http://x/path", s3::addressing::automatic})
              .error()
              .code == sigv4::errc::invalid_endpoint);
    CHECK(s3::locate("bkt", "k", {"us-east-1", "http://x:port", s3::addressing::automatic})
              .error()
              .code == sigv4::errc::invalid_endpoint);
    CHECK(s3::locate("bkt", "k", {"US_EAST", "", s3::addressing::automatic}).error().code ==
          sigv4::errc::invalid_region);
    CHECK(s3::locate("bkt", "", {}).error().code == sigv4::errc::invalid_object_key);
    CHECK(s3::locate("bkt", std::string(1025, 'a'), {}).error().code ==
          sigv4::errc::invalid_object_key);
    CHECK(s3::locate("bkt", "\xff\xfe", {}).error().code == sigv4::errc::invalid_object_key);
    for (const char* bad :
         {"ab", "-abc", "abc-", "a..b", "192.168.1.1", "xn--abc", "abc-s3alias", "ab_c!", "Abc"}) {
        CAPTURE(bad);
        CHECK(s3::validate_bucket_name(bad).error().code == sigv4::errc::invalid_bucket_name);
    }
    CHECK(s3::validate_bucket_name("my-bucket.example"));
    CHECK(s3::validate_bucket_name("Legacy_Bucket", true));
}

TEST_CASE("key encoding: S3 rules, no double encoding") {
    CHECK(s3::encode_key("photos/2024 summer/a+b%c~d.jpg") ==
          "photos/2024%20summer/a%2Bb%25c~d.jpg");
    CHECK(s3::encode_key("//lead/trail/") == "//lead/trail/");
    CHECK(s3::encode_key("\xc3\xa9t\xc3\xa9") == "%C3%A9t%C3%A9");
    CHECK(s3::encode_key("*=&?#!'()") == "%2A%3D%26%3F%23%21%27%28%29");
}

TEST_CASE("attachment disposition: RFC 6266 / 5987") {
    CHECK(s3::attachment_disposition("report.pdf") ==
          "attachment; filename=\"report.pdf\"; filename*=UTF-8''report.pdf");
    CHECK(
        s3::attachment_disposition("na\xc3\xafve \"file\".txt") ==
        "attachment; filename=\"na_ve _file_.txt\"; filename*=UTF-8''na%C3%AFve%20%22file%22.txt");
}

TEST_CASE("presign_put signs content type, length, checksum, SSE and metadata as headers") {
    auto creds = doc_credentials();
    s3::object_options options;
    options.signing_time = doc_time();
    options.content_type = "image/png";
    options.content_length = 1234;
    options.checksum_sha256 = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=";
    options.sse = s3::server_side_encryption::kms;
    options.sse_kms_key_id = "alias/my-key";
    options.metadata.push_back({"Owner", "me"});
    auto put = s3::presign_put(creds, "bkt", "dir/a b.png",
                               {"eu-central-1", "", s3::addressing::automatic}, options);
    REQUIRE(put);
    CHECK(put->method == "PUT");
    CHECK(put->url.starts_with(
        "https://bkt.s3.eu-central-1.amazonaws.com/dir/a%20b.png?X-Amz-Algorithm="));
    CHECK(put->url.find(
              "X-Amz-SignedHeaders=content-length%3Bcontent-type%3Bhost%3Bx-amz-checksum-sha256%3B"
              "x-amz-meta-owner%3Bx-amz-server-side-encryption%3B"
              "x-amz-server-side-encryption-aws-kms-key-id") != std::string::npos);
    CHECK(header_value(put->headers, "Content-Type") == "image/png");
    CHECK(header_value(put->headers, "Content-Length") == "1234");
    CHECK(header_value(put->headers, "x-amz-checksum-sha256") == options.checksum_sha256);
    CHECK(header_value(put->headers, "x-amz-meta-owner") == "me");
    CHECK(put->expires_in == 300s);

    options.checksum_sha256 = "not base64";
    CHECK(s3::presign_put(creds, "bkt", "k", {}, options).error().code ==
          sigv4::errc::invalid_option);
    options.checksum_sha256.clear();
    options.sse = s3::server_side_encryption::aes256;
    CHECK(s3::presign_put(creds, "bkt", "k", {}, options).error().code ==
          sigv4::errc::invalid_option);
}

TEST_CASE("presign_get puts response overrides in the signed query") {
    s3::object_options options;
    options.signing_time = doc_time();
    options.download_filename = "r\xc3\xa9sum\xc3\xa9.pdf";
    options.response_content_type = "application/pdf";
    options.version_id = "v1";
    auto get = s3::presign_get(doc_credentials(), "bkt", "k", {}, options);
    REQUIRE(get);
    CHECK(get->url.find("?response-content-disposition=attachment%3B%20filename%3D%22r_sum_.pdf%22%"
                        "3B%20filename%2A%3D"
                        "UTF-8%27%27r%25C3%25A9sum%25C3%25A9.pdf&response-content-type=application%"
                        "2Fpdf&versionId=v1&"
                        "X-Amz-Algorithm=") != std::string::npos);
    options.response_content_disposition = "inline";
    CHECK(s3::presign_get(doc_credentials(), "bkt", "k", {}, options).error().code ==
          sigv4::errc::invalid_option);
}

TEST_CASE("expiry: range, credentials that expire first, clamping") {
    auto creds = doc_credentials();
    s3::object_options options;
    options.signing_time = doc_time();
    for (auto bad : {0s, -1s, 604801s}) {
        options.expires = bad;
        CHECK(s3::presign_get(creds, "bkt", "k", {}, options).error().code ==
              sigv4::errc::invalid_expiry);
    }
    options.expires = 604800s;
    CHECK(s3::presign_get(creds, "bkt", "k", {}, options));

    creds.expiration = doc_time() + 60s;
    options.expires = 300s;
    auto refused = s3::presign_get(creds, "bkt", "k", {}, options);
    REQUIRE_FALSE(refused);
    CHECK(refused.error().code == sigv4::errc::credentials_expire_first);
    CHECK(refused.error().message.find("2013-05-24T00:01:00Z") != std::string::npos);
    CHECK(refused.error().message.find("2013-05-24T00:05:00Z") != std::string::npos);
    options.clamp_expiry = true;
    auto clamped = s3::presign_get(creds, "bkt", "k", {}, options);
    REQUIRE(clamped);
    CHECK(clamped->expires_in == 60s);
    CHECK(clamped->url.find("X-Amz-Expires=60&") != std::string::npos);

    creds.expiration = doc_time();
    CHECK(s3::presign_get(creds, "bkt", "k", {}, options).error().code ==
          sigv4::errc::credentials_expired);
}

TEST_CASE("session token is signed into presigned URLs") {
    auto creds = *sigv4::credentials::make("AKIDEXAMPLE", "secret", "token/with+chars=");
    s3::object_options options;
    options.signing_time = doc_time();
    auto get = s3::presign_get(creds, "bkt", "k", {}, options);
    REQUIRE(get);
    CHECK(get->url.find("&X-Amz-Security-Token=token%2Fwith%2Bchars%3D&X-Amz-Signature=") !=
          std::string::npos);
    // The token is part of the signature: the verifier rejects the URL with a different token.
    sigv4::key_lookup keys =
        [key = sigv4::known_key{*sigv4::secret_key::from("secret"), "token/with+chars="}](
            std::string_view) -> const sigv4::known_key* { return &key; };
    sigv4::received_request received;
    received.method = "GET";
    received.target = get->url.substr(get->url.find('/', 8));
    received.headers.push_back({"Host", "bkt.s3.us-east-1.amazonaws.com"});
    sigv4::verify_options verify_options;
    verify_options.region = "us-east-1";
    verify_options.now = doc_time();
    CHECK(sigv4::verify(received, keys, verify_options));
    CHECK(signature_of(get->url).size() == 64);
}

namespace {

// What presign_object must mean: the generic signer on the request the S3 rules describe.
sigv4::result<sigv4::presigned_request> presign_generically(const sigv4::credentials& creds,
                                                            std::string method, std::string bucket,
                                                            const std::string& key,
                                                            const s3::endpoint& where,
                                                            const s3::object_options& options) {
    auto location = s3::locate(bucket, key, where);
    REQUIRE(location);
    sigv4::http_request request;
    request.method = std::move(method);
    request.scheme = location->scheme;
    request.host = location->host;
    request.path = location->path;
    request.body = sigv4::payload::unsigned_payload();
    if (!options.content_type.empty())
        request.headers.push_back({"Content-Type", options.content_type});
    if (options.content_length)
        request.headers.push_back({"Content-Length", std::to_string(*options.content_length)});
    if (options.if_none_match_any) request.headers.push_back({"If-None-Match", "*"});
    if (!options.checksum_sha256.empty())
        request.headers.push_back({"x-amz-checksum-sha256", options.checksum_sha256});
    if (options.sse == s3::server_side_encryption::aes256)
        request.headers.push_back({"x-amz-server-side-encryption", "AES256"});
    if (options.sse == s3::server_side_encryption::kms)
        request.headers.push_back({"x-amz-server-side-encryption", "aws:kms"});
    if (!options.sse_kms_key_id.empty()) {
        request.headers.push_back(
            {"x-amz-server-side-encryption-aws-kms-key-id", options.sse_kms_key_id});
    }
    for (const auto& meta : options.metadata)
        request.headers.push_back({"x-amz-meta-" + meta.name, meta.value});
    for (const auto& h : options.extra_headers) request.headers.push_back(h);
    if (!options.download_filename.empty()) {
        request.query.push_back({"response-content-disposition",
                                 s3::attachment_disposition(options.download_filename)});
    } else if (!options.response_content_disposition.empty()) {
        request.query.push_back(
            {"response-content-disposition", options.response_content_disposition});
    }
    if (!options.response_content_type.empty())
        request.query.push_back({"response-content-type", options.response_content_type});
    if (!options.version_id.empty()) request.query.push_back({"versionId", options.version_id});
    auto signing = sigv4::signing_options::for_s3(where.region);
    signing.expires = options.expires;
    signing.signing_time = options.signing_time;
    signing.clamp_expiry = options.clamp_expiry;
    signing.capture_artifacts = true;
    return sigv4::presign(creds, request, signing);
}

}  // namespace

TEST_CASE("presign_object equals the generic signer on every option combination, byte for byte") {
    // presign_object writes the common shapes directly; this pins it to sigv4::presign().
    const auto long_term = doc_credentials();
    const auto temporary =
        *sigv4::credentials::make("ASIAEXAMPLE", "secret/with+chars", "token/with+chars=&?");
    const std::vector<std::string> keys = {"a",
                                           "photos/2026/11/holiday-0001.jpg",
                                           "dir//trailing/",
                                           "sp ace+plus%percent~tilde",
                                           "\xc3\xa9t\xc3\xa9/\xe6\x97\xa5\xe6\x9c\xac.txt",
                                           std::string(300, 'k') + "/" + std::string(40, ' ')};
    const std::vector<s3::endpoint> endpoints = {
        {"eu-west-1", "", s3::addressing::automatic},
        {"us-east-1", "", s3::addressing::path},
        {"us-east-1", "http://127.0.0.1:9000", s3::addressing::automatic},
        {"cn-north-1", "https://minio.example:9443/", s3::addressing::automatic}};
    std::vector<s3::object_options> option_sets;
    auto base = [] {
        s3::object_options o;
        o.signing_time = *sigv4::parse_amz_date("20261128T120000Z");
        o.capture_artifacts = true;
        return o;
    };
    option_sets.push_back(base());
    {
        auto o = base();
        o.content_type = "image/jpeg";
        o.content_length = 1234567;
        o.expires = 7 * 24h;
        option_sets.push_back(o);
    }
    {
        auto o = base();
        o.content_type = "text/plain; charset=utf-8";
        o.checksum_sha256 = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=";
        o.sse = s3::server_side_encryption::kms;
        o.sse_kms_key_id = "arn:aws:kms:eu-west-1:111122223333:key/abcd";
        o.expires = 1s;
        option_sets.push_back(o);
    }
    {
        auto o = base();  // an upload ticket that writes once: every header of the direct path
        o.content_type = "image/png";
        o.content_length = 42;
        o.if_none_match_any = true;
        o.checksum_sha256 = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=";
        o.sse = s3::server_side_encryption::kms;
        o.sse_kms_key_id = "arn:aws:kms:eu-west-1:111122223333:key/abcd";
        option_sets.push_back(o);
    }
    {
        auto o = base();  // and through the generic path (metadata)
        o.if_none_match_any = true;
        o.metadata = {{"owner", "me"}};
        option_sets.push_back(o);
    }
    {
        auto o = base();
        o.sse = s3::server_side_encryption::aes256;
        o.content_length = 0;
        option_sets.push_back(o);
    }
    {
        auto o = base();
        o.download_filename = "r\xc3\xa9sum\xc3\xa9 \"final\".pdf";
        o.response_content_type = "application/pdf";
        o.version_id = "3/L4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY+MTRCxf3vjVBH40Nr8X8gdRQBpUMLUo";
        option_sets.push_back(o);
    }
    {
        auto o = base();
        o.response_content_disposition = "inline";
        o.content_type = "  spaced   out  ";  // needs whitespace folding: the generic path
        option_sets.push_back(o);
    }
    {
        auto o = base();
        o.metadata = {{"owner", "me"}};
        o.extra_headers = {{"x-amz-acl", "private"}};
        option_sets.push_back(o);
    }
    int compared = 0;
    for (const auto* creds : {&long_term, &temporary}) {
        for (const auto& where : endpoints) {
            for (const auto& key : keys) {
                for (const auto& options : option_sets) {
                    for (std::string method : {"GET", "PUT", "HEAD", "DELETE", "POST"}) {
                        CAPTURE(key);
                        CAPTURE(method);
                        CAPTURE(where.url);
                        auto direct =
                            s3::presign_object(*creds, method, "my-bucket", key, where, options);
                        auto generic =
                            presign_generically(*creds, method, "my-bucket", key, where, options);
                        REQUIRE(direct);
                        REQUIRE(generic);
                        CHECK(direct->url == generic->url);
                        CHECK(direct->auth_query() == generic->auth_query());
                        CHECK(direct->headers == generic->headers);
                        CHECK(direct->method == generic->method);
                        CHECK(direct->expires_at == generic->expires_at);
                        CHECK(direct->expires_in == generic->expires_in);
                        CHECK(direct->artifacts.canonical_request ==
                              generic->artifacts.canonical_request);
                        CHECK(direct->artifacts.string_to_sign ==
                              generic->artifacts.string_to_sign);
                        CHECK(direct->artifacts.signature == generic->artifacts.signature.view());
                        ++compared;
                    }
                }
            }
        }
    }
    CHECK(compared == 2 * 4 * 6 * 9 * 5);
}

TEST_CASE(
    "presign_object: content types needing folding or refused bytes agree with the generic signer "
    "at every position") {
    // The direct path takes a content type only when it needs no whitespace folding; the check
    // looks at 16 bytes at a time, so odd bytes are placed at every position of 1..40-byte values.
    const auto creds = doc_credentials();
    const s3::endpoint where{"eu-west-1", "", s3::addressing::automatic};
    const std::vector<std::string> odd_runs = {"  ",   "\t",   " \t",      "\x01",
                                               "\x7f", "\x1f", "\xc3\xa9", " "};
    int compared = 0;
    for (std::size_t length = 1; length <= 40; ++length) {
        for (std::size_t at = 0; at < length; ++at) {
            for (const auto& run : odd_runs) {
                std::string value(length, 'a');
                value.replace(at, std::min(run.size(), length - at), run.substr(0, length - at));
                s3::object_options options;
                options.signing_time = *sigv4::parse_amz_date("20261128T120000Z");
                options.capture_artifacts = true;
                options.content_type = value;
                CAPTURE(length);
                CAPTURE(at);
                CAPTURE(run);
                auto direct = s3::presign_object(creds, "PUT", "my-bucket", "k", where, options);
                auto generic = presign_generically(creds, "PUT", "my-bucket", "k", where, options);
                REQUIRE(direct.has_value() == generic.has_value());
                if (!direct) {
                    CHECK(direct.error().code == generic.error().code);
                    continue;
                }
                CHECK(direct->artifacts.canonical_request == generic->artifacts.canonical_request);
                CHECK(direct->url == generic->url);
                CHECK(direct->headers == generic->headers);
                ++compared;
            }
        }
    }
    CHECK(compared > 3000);
}

TEST_CASE(
    "presign_object: alternating lifetimes, tokens, buckets and shapes each match the generic "
    "signer") {
    // The cached canonical tail and URL head of the plain shape must follow every input they hold.
    const auto long_term = doc_credentials();
    const auto token_one = *sigv4::credentials::make("ASIAEXAMPLE", "secret/one", "token-one");
    const auto token_two = *sigv4::credentials::make("ASIAEXAMPLE", "secret/one", "token/two+");
    const s3::endpoint where{"eu-west-1", "", s3::addressing::automatic};
    const s3::endpoint local{"eu-west-1", "http://127.0.0.1:9000", s3::addressing::automatic};
    int compared = 0;
    for (int round = 0; round < 2; ++round) {
        for (std::chrono::seconds lifetime : {300s, 301s, 604800s}) {
            for (const auto* endpoint : {&where, &local}) {
                for (bool with_type : {false, true}) {
                    // Innermost, so that consecutive calls differ in the token alone.
                    for (const auto* creds : {&long_term, &token_one, &token_two, &token_one}) {
                        s3::object_options options;
                        options.signing_time = *sigv4::parse_amz_date("20261128T120000Z") +
                                               std::chrono::seconds{round};
                        options.capture_artifacts = true;
                        options.expires = lifetime;
                        if (with_type) options.content_type = "image/png";
                        auto direct = s3::presign_object(*creds, "GET", "my-bucket", "a b/c",
                                                         *endpoint, options);
                        auto generic = presign_generically(*creds, "GET", "my-bucket", "a b/c",
                                                           *endpoint, options);
                        REQUIRE(direct);
                        REQUIRE(generic);
                        CHECK(direct->url == generic->url);
                        CHECK(direct->auth_query() == generic->auth_query());
                        CHECK(direct->artifacts.canonical_request ==
                              generic->artifacts.canonical_request);
                        ++compared;
                    }
                }
            }
        }
    }
    CHECK(compared == 2 * 3 * 2 * 2 * 4);
}

TEST_CASE(
    "presign_object: the per-thread caches follow changes of credentials, bucket, region and "
    "time") {
    s3::object_options options;
    options.signing_time = *sigv4::parse_amz_date("20261128T120000Z");
    const s3::endpoint eu{"eu-west-1", "", s3::addressing::automatic};
    const s3::endpoint us{"us-east-1", "", s3::addressing::automatic};
    const auto first = *sigv4::credentials::make("AKIDONE", "secret-one");
    const auto same_id_other_secret = *sigv4::credentials::make("AKIDONE", "secret-two");
    auto a = s3::presign_get(first, "bucket-one", "k", eu, options);
    auto b = s3::presign_get(same_id_other_secret, "bucket-one", "k", eu, options);
    auto c = s3::presign_get(first, "bucket-two", "k", eu, options);
    auto d = s3::presign_get(first, "bucket-one", "k", us, options);
    options.signing_time = *options.signing_time + 1s;
    auto e = s3::presign_get(first, "bucket-one", "k", eu, options);
    REQUIRE((a && b && c && d && e));
    CHECK(a->artifacts.signature != b->artifacts.signature.view());
    CHECK(c->url.starts_with("https://bucket-two.s3.eu-west-1.amazonaws.com/k?"));
    CHECK(d->url.starts_with("https://bucket-one.s3.us-east-1.amazonaws.com/k?"));
    CHECK(d->url.find("%2Fus-east-1%2Fs3%2F") != std::string::npos);
    CHECK(e->url.find("X-Amz-Date=20261128T120001Z") != std::string::npos);
    // Each verifies with its own secret and region at its own time.
    for (auto [url, creds, region] : {std::tuple{&a->url, &first, "eu-west-1"},
                                      std::tuple{&b->url, &same_id_other_secret, "eu-west-1"},
                                      std::tuple{&d->url, &first, "us-east-1"}}) {
        auto again = s3::presign_get(
            *creds, "bucket-one", "k", s3::endpoint{region, "", s3::addressing::automatic}, [] {
                s3::object_options o;
                o.signing_time = *sigv4::parse_amz_date("20261128T120000Z");
                return o;
            }());
        REQUIRE(again);
        CHECK(again->url == *url);
    }
}

TEST_CASE("presign_list_objects_v2: every parameter signed, canonical request as SigV4 spells it") {
    s3::list_objects_options list;
    list.prefix = "users/J k+/";
    list.max_keys = 2;
    list.continuation_token = "1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=";
    s3::object_options options;
    options.signing_time = doc_time();
    options.expires = 300s;
    options.capture_artifacts = true;
    auto listed =
        s3::presign_list_objects_v2(doc_credentials(), "examplebucket", {}, list, options);
    REQUIRE(listed);
    CHECK(listed->method == "GET");
    CHECK(listed->artifacts.canonical_request ==
          "GET\n/\n"
          "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-"
          "east-1%2Fs3%2F"
          "aws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=300&X-Amz-SignedHeaders=host&"
          "continuation-token=1ueGcxLPRx1Tr%2FXYExHnhbYLgveDs2J%2Fwm36Hy4vbOwM%3D&encoding-type="
          "url&list-type=2&"
          "max-keys=2&prefix=users%2FJ%20k%2B%2F\n"
          "host:examplebucket.s3.us-east-1.amazonaws.com\n\nhost\nUNSIGNED-PAYLOAD");
    // The listing's own parameters first, in a fixed order, then the X-Amz-* ones.
    CHECK(
        listed->url.starts_with("https://examplebucket.s3.us-east-1.amazonaws.com/"
                                "?list-type=2&prefix=users%2FJ%20k%2B%2F&max-keys=2&"
                                "continuation-token=1ueGcxLPRx1Tr%2FXYExHnhbYLgveDs2J%"
                                "2Fwm36Hy4vbOwM%3D&encoding-type=url&X-Amz-Algorithm="));
    CHECK(listed->headers.empty());
    CHECK(listed->expires_at == doc_time() + 300s);

    // Path style names the bucket as "/bucket/"; optional parameters appear only when set.
    s3::endpoint local{"us-east-1", "http://127.0.0.1:9000", s3::addressing::path};
    s3::list_objects_options plain;
    plain.url_encoding = false;
    plain.delimiter = "/";
    plain.start_after = "a";
    plain.fetch_owner = true;
    auto path_style = s3::presign_list_objects_v2(doc_credentials(), "bkt", local, plain, options);
    REQUIRE(path_style);
    CHECK(path_style->url.starts_with(
        "http://127.0.0.1:9000/bkt/"
        "?list-type=2&prefix=&delimiter=%2F&start-after=a&fetch-owner=true&X-Amz-"));
}

TEST_CASE(
    "presign_list_objects_v2: the verifier accepts it and refuses any widened or changed "
    "parameter") {
    auto creds = *sigv4::credentials::make("AKIDEXAMPLE", "list-secret");
    s3::endpoint local{"us-east-1", "http://127.0.0.1:9000", s3::addressing::path};
    s3::list_objects_options list;
    list.prefix = "users/alice/";
    list.max_keys = 1000;
    s3::object_options options;
    options.signing_time = doc_time();
    auto listed = s3::presign_list_objects_v2(creds, "bkt", local, list, options);
    REQUIRE(listed);
    sigv4::key_lookup keys = [key = sigv4::known_key{*sigv4::secret_key::from("list-secret"), {}}](
                                 std::string_view) -> const sigv4::known_key* { return &key; };
    sigv4::verify_options verify_options;
    verify_options.region = "us-east-1";
    verify_options.now = doc_time();
    auto verify_target = [&](std::string target) {
        sigv4::received_request received;
        received.method = "GET";
        received.target = std::move(target);
        received.headers.push_back({"Host", "127.0.0.1:9000"});
        return sigv4::verify(received, keys, verify_options);
    };
    const std::string target = listed->url.substr(listed->url.find('/', 8));
    auto accepted = verify_target(target);
    REQUIRE(accepted);
    CHECK(accepted->path == "/bkt/");

    auto replaced = [&](std::string_view from, std::string_view to) {
        std::string changed = target;
        const auto at = changed.find(from);
        REQUIRE(at != std::string::npos);
        changed.replace(at, from.size(), to);
        return changed;
    };
    const std::vector<std::string> tampered = {
        replaced("prefix=users%2Falice%2F", "prefix=users%2F"),            // another caller's files
        replaced("prefix=users%2Falice%2F", "prefix="),                    // the whole bucket
        replaced("max-keys=1000", "max-keys=999"),                         // any change at all
        replaced("list-type=2&", "list-type=2&start-after=users%2Fbob&"),  // an added parameter
        replaced("/bkt/?", "/other/?"),                                    // another bucket
    };
    for (const auto& changed : tampered) {
        CAPTURE(changed);
        auto refused = verify_target(changed);
        REQUIRE_FALSE(refused);
        CHECK(refused.error().code == sigv4::errc::signature_does_not_match);
    }
}

TEST_CASE("presign_bucket_request and presign_list_objects_v2: errors carry exact codes") {
    const auto creds = doc_credentials();
    CHECK(s3::presign_list_objects_v2(creds, "Bad_Bucket!", {}, {}).error().code ==
          sigv4::errc::invalid_bucket_name);
    CHECK(s3::presign_list_objects_v2(creds, "bkt", {"US EAST", "", s3::addressing::automatic}, {})
              .error()
              .code == sigv4::errc::invalid_region);
    CHECK(s3::presign_list_objects_v2(creds, "bkt",
                                      {"us-east-1", "ftp://x", s3::addressing::automatic}, {})
              .error()
              .code == sigv4::errc::invalid_endpoint);
    s3::list_objects_options too_many;
    too_many.max_keys = 2147483648u;
    CHECK(s3::presign_list_objects_v2(creds, "bkt", {}, too_many).error().code ==
          sigv4::errc::invalid_option);
    s3::object_options forever;
    forever.expires = 604801s;
    CHECK(s3::presign_list_objects_v2(creds, "bkt", {}, {}, forever).error().code ==
          sigv4::errc::invalid_expiry);
    const std::vector<sigv4::query_param> unnamed = {{"", "x"}};
    CHECK(s3::presign_bucket_request(creds, "GET", "bkt", {}, unnamed).error().code ==
          sigv4::errc::invalid_query);
    s3::object_options bad_checksum;
    bad_checksum.checksum_sha256 = "not base64";
    const std::vector<sigv4::query_param> location_query = {{"location", ""}};
    CHECK(s3::presign_bucket_request(creds, "GET", "bkt", {}, location_query, bad_checksum)
              .error()
              .code == sigv4::errc::invalid_option);
    auto location = s3::presign_bucket_request(creds, "GET", "bkt", {}, location_query);
    REQUIRE(location);
    CHECK(location->url.starts_with(
        "https://bkt.s3.us-east-1.amazonaws.com/?location=&X-Amz-Algorithm="));
}

TEST_CASE(
    "presign_put with if_none_match_any signs If-None-Match: * (write once); the verifier needs it "
    "sent") {
    s3::object_options options;
    options.signing_time = *sigv4::parse_amz_date("20261128T120000Z");
    options.content_type = "image/png";
    options.content_length = 3;
    options.if_none_match_any = true;
    const s3::endpoint where{"us-east-1", "http://127.0.0.1:9000", s3::addressing::path};
    auto put = s3::presign_put(doc_credentials(), "bkt", "a/b.png", where, options);
    REQUIRE(put);
    const std::vector<sigv4::header> expected = {
        {"Content-Type", "image/png"}, {"Content-Length", "3"}, {"If-None-Match", "*"}};
    CHECK(put->headers == expected);
    CHECK(put->url.find(
              "X-Amz-SignedHeaders=content-length%3Bcontent-type%3Bhost%3Bif-none-match&") !=
          std::string::npos);

    const auto target = put->url.substr(put->url.find("/bkt/"));
    const sigv4::known_key key{doc_credentials().secret, {}};
    const sigv4::key_lookup keys = [&](std::string_view) { return &key; };
    sigv4::verify_options verify_options;
    verify_options.region = "us-east-1";
    verify_options.now = *options.signing_time;
    auto headers = put->headers;
    headers.push_back({"Host", "127.0.0.1:9000"});
    auto verified = sigv4::verify({"PUT", target, headers, sigv4::payload::from_hash({})}, keys,
                                  verify_options);
    REQUIRE(verified);
    CHECK(std::find(verified->signed_headers.begin(), verified->signed_headers.end(),
                    "if-none-match") != verified->signed_headers.end());
    // A client that drops the condition (to overwrite) no longer matches the signature.
    headers.erase(std::find_if(headers.begin(), headers.end(),
                               [](const auto& h) { return h.name == "If-None-Match"; }));
    auto dropped = sigv4::verify({"PUT", target, headers, sigv4::payload::from_hash({})}, keys,
                                 verify_options);
    REQUIRE_FALSE(dropped);
    CHECK(dropped.error().code == sigv4::errc::signature_does_not_match);
}
