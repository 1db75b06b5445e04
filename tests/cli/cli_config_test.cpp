// SPDX-License-Identifier: Apache-2.0
// The AWS config/credentials parser and chain (presign_credentials) and the CLI's pure helpers.
#include <doctest/doctest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <string>

#include <presign/cli/aws_config.hpp>
#include <presign/cli/credential_chain.hpp>

#include "cli_support.hpp"
#include "command_line.hpp"

using namespace presign::cli;

namespace {

struct temp_dir {
    std::string path;
    temp_dir() {
        char pattern[] = "/tmp/presign-cli-test-XXXXXX";
        const char* made = mkdtemp(pattern);
        REQUIRE(made != nullptr);
        path = made;
    }
    ~temp_dir() { std::system(("rm -rf '" + path + "'").c_str()); }
    std::string write(const std::string& name, const std::string& text,
                      bool executable = false) const {
        const std::string file = path + "/" + name;
        std::ofstream(file, std::ios::binary) << text;
        if (executable) chmod(file.c_str(), 0700);
        return file;
    }
};

struct fake_env {
    std::map<std::string, std::string, std::less<>> vars;
    env_lookup lookup() const {
        return [this](std::string_view name) -> std::optional<std::string> {
            const auto found = vars.find(name);
            if (found == vars.end()) return std::nullopt;
            return found->second;
        };
    }
};

// An environment whose files are in `dir` and whose metadata service is off.
fake_env env_for(const temp_dir& dir) {
    fake_env env;
    env.vars["HOME"] = dir.path;
    env.vars["AWS_CONFIG_FILE"] = dir.path + "/config";
    env.vars["AWS_SHARED_CREDENTIALS_FILE"] = dir.path + "/credentials";
    env.vars["AWS_EC2_METADATA_DISABLED"] = "true";
    return env;
}

bool same_secret(const sigv4::credentials& creds, std::string_view secret) {
    auto expected = sigv4::secret_key::from(secret);
    REQUIRE(expected.has_value());
    return creds.secret.equals(*expected);
}

}  // namespace

TEST_CASE("parse_ini: sections, settings, comments, continuations and nested values") {
    auto doc = parse_ini(
        "# comment\n"
        "; another\n"
        "[default]\n"
        "Region = eu-west-1\r\n"
        "output: json\n"
        "s3 =\n"
        "    addressing_style = path\n"
        "    signature_version=s3v4\n"
        "\n"
        "[profile dev]\n"
        "  region=us-west-2  \n");
    REQUIRE(doc.has_value());
    REQUIRE(doc->sections.size() == 2);
    const auto* def = doc->find("default");
    REQUIRE(def != nullptr);
    CHECK(*def->find("region") == "eu-west-1");
    CHECK(*def->find("output") == "json");
    const auto nested = parse_nested(*def->find("s3"));
    REQUIRE(nested.size() == 2);
    CHECK(nested[0] == std::pair<std::string, std::string>{"addressing_style", "path"});
    CHECK(nested[1] == std::pair<std::string, std::string>{"signature_version", "s3v4"});
    CHECK(*doc->find("profile dev")->find("region") == "us-west-2");
    CHECK(doc->find("profile nope") == nullptr);
}

TEST_CASE("parse_ini: malformed files are refused with the line number") {
    struct bad_case {
        const char* text;
        const char* message;
    };
    const bad_case cases[] = {
        {"region = us-east-1\n", "line 1: a setting before the first [section] header"},
        {"[default]\nregion us-east-1\n", "line 2: expected 'name = value'"},
        {"[default]\n= value\n", "line 2: empty setting name"},
        {"[default]\n[default]\n", "line 2: duplicate section [default]"},
        {"[default]\nregion=a\nREGION=b\n", "line 3: duplicate setting 'region' in [default]"},
        {"[default\nregion=a\n", "line 1: malformed section header"},
        {"[]\n", "line 1: malformed section header"},
        {"[default]\ns3 =\n  addressing_style path\n",
         "[default] s3: nested line without '=': addressing_style path"},
    };
    for (const auto& c : cases) {
        CAPTURE(c.text);
        auto doc = parse_ini(c.text);
        REQUIRE_FALSE(doc.has_value());
        CHECK(doc.error() == c.message);
    }
}

TEST_CASE("profile selection: --profile > AWS_PROFILE > default; named profiles must exist") {
    temp_dir dir;
    dir.write("config",
              "[default]\nregion = eu-west-1\n[profile dev]\nregion = us-west-2\n"
              "[profile \"with space\"]\nregion = ap-south-1\n");
    dir.write("credentials",
              "[only-creds]\naws_access_key_id = AKIDONLY\naws_secret_access_key = s\n"
              "region = ca-central-1\n");
    auto env = env_for(dir);
    auto config = load_aws_config({}, env.lookup());
    REQUIRE(config.has_value());
    CHECK(config->profile == "default");
    CHECK(config->region == "eu-west-1");

    env.vars["AWS_PROFILE"] = "dev";
    config = load_aws_config({}, env.lookup());
    REQUIRE(config.has_value());
    CHECK(config->profile == "dev");
    CHECK(config->profile_source == "AWS_PROFILE");
    CHECK_FALSE(config->profile_explicit);
    CHECK(config->region == "us-west-2");

    config_overrides flags;
    flags.profile = "with space";
    config = load_aws_config(flags, env.lookup());
    REQUIRE(config.has_value());
    CHECK(config->profile_explicit);
    CHECK(config->region == "ap-south-1");

    flags.profile = "only-creds";  // a profile that only the credentials file has
    config = load_aws_config(flags, env.lookup());
    REQUIRE(config.has_value());
    CHECK(config->region == "ca-central-1");

    flags.profile = "missing";
    config = load_aws_config(flags, env.lookup());
    REQUIRE_FALSE(config.has_value());
    CHECK(config.error().what == config_error::kind::config);
    CHECK(config.error().message.find("'missing'") != std::string::npos);

    env.vars["AWS_PROFILE"] = "missing-too";
    config = load_aws_config({}, env.lookup());
    REQUIRE_FALSE(config.has_value());
    CHECK(config.error().what == config_error::kind::config);

    // No files at all and no named profile: fine, with the defaults.
    temp_dir empty;
    auto empty_env = env_for(empty);
    config = load_aws_config({}, empty_env.lookup());
    REQUIRE(config.has_value());
    CHECK(config->region == "us-east-1");
    CHECK(config->region_source == "default");
}

TEST_CASE("region precedence: --region > AWS_REGION > AWS_DEFAULT_REGION > profile") {
    temp_dir dir;
    dir.write("config", "[default]\nregion = eu-west-1\n");
    auto env = env_for(dir);
    env.vars["AWS_DEFAULT_REGION"] = "eu-north-1";
    CHECK(load_aws_config({}, env.lookup())->region == "eu-north-1");
    env.vars["AWS_REGION"] = "eu-south-1";
    CHECK(load_aws_config({}, env.lookup())->region == "eu-south-1");
    config_overrides flags;
    flags.region = "sa-east-1";
    auto config = load_aws_config(flags, env.lookup());
    CHECK(config->region == "sa-east-1");
    CHECK(config->endpoint.region == "sa-east-1");
    flags.region = "Not A Region";
    config = load_aws_config(flags, env.lookup());
    REQUIRE_FALSE(config.has_value());
    CHECK(config.error().what == config_error::kind::invalid_input);

    dir.write("config", "[default]\nregion = EU West\n");
    auto bad = env_for(dir);
    config = load_aws_config({}, bad.lookup());
    REQUIRE_FALSE(config.has_value());
    CHECK(config.error().what == config_error::kind::config);
}

TEST_CASE("endpoint and addressing: flags, environment, services section, profile") {
    temp_dir dir;
    dir.write(
        "config",
        "[default]\nendpoint_url = http://profile.example:1\nservices = local\n"
        "s3 =\n  addressing_style = path\n"
        "[services local]\ns3 =\n  endpoint_url = http://services.example:2\n"
        "[profile virt]\ns3 =\n  addressing_style = virtual\nendpoint_url = http://virt.example\n"
        "[profile bad]\ns3 =\n  addressing_style = sideways\n");
    auto env = env_for(dir);
    auto config = load_aws_config({}, env.lookup());
    REQUIRE(config.has_value());
    CHECK(config->endpoint.url == "http://services.example:2");
    CHECK(config->endpoint.style == sigv4::s3::addressing::path);

    env.vars["AWS_ENDPOINT_URL"] = "http://global.example:3";
    CHECK(load_aws_config({}, env.lookup())->endpoint.url == "http://global.example:3");
    env.vars["AWS_ENDPOINT_URL_S3"] = "http://s3.example:4";
    CHECK(load_aws_config({}, env.lookup())->endpoint.url == "http://s3.example:4");
    config_overrides flags;
    flags.endpoint = "http://flag.example:5";
    CHECK(load_aws_config(flags, env.lookup())->endpoint.url == "http://flag.example:5");

    env.vars["AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"] = "true";
    CHECK(load_aws_config({}, env.lookup())->endpoint.url.empty());
    CHECK(load_aws_config(flags, env.lookup())->endpoint.url == "http://flag.example:5");
    env.vars.erase("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS");
    env.vars.erase("AWS_ENDPOINT_URL");
    env.vars.erase("AWS_ENDPOINT_URL_S3");

    flags = {};
    flags.profile = "virt";
    config = load_aws_config(flags, env.lookup());
    CHECK(config->endpoint.url == "http://virt.example");
    CHECK(config->endpoint.style == sigv4::s3::addressing::virtual_hosted);
    flags.path_style = true;
    CHECK(load_aws_config(flags, env.lookup())->endpoint.style == sigv4::s3::addressing::path);

    flags = {};
    flags.profile = "bad";
    config = load_aws_config(flags, env.lookup());
    REQUIRE_FALSE(config.has_value());
    CHECK(config.error().what == config_error::kind::config);
}

TEST_CASE("a malformed config or credentials file is a configuration error naming the file") {
    temp_dir dir;
    dir.write("config", "[default]\nthis line is wrong\n");
    auto env = env_for(dir);
    auto config = load_aws_config({}, env.lookup());
    REQUIRE_FALSE(config.has_value());
    CHECK(config.error().what == config_error::kind::config);
    CHECK(config.error().message ==
          "malformed config file " + dir.path + "/config: line 2: expected 'name = value'");

    dir.write("config", "[default]\n");
    dir.write("credentials", "aws_access_key_id = x\n");
    config = load_aws_config({}, env.lookup());
    REQUIRE_FALSE(config.has_value());
    CHECK(config.error().message.find("malformed credentials file") == 0);
}

TEST_CASE("credential chain: environment, credentials file, process, config file, in that order") {
    temp_dir dir;
    dir.write("credentials",
              "[default]\naws_access_key_id = AKIDFILE\naws_secret_access_key = file-secret\n"
              "aws_session_token = file-token\n"
              "[partial]\naws_access_key_id = AKIDPARTIAL\n");
    dir.write(
        "config",
        "[default]\naws_access_key_id = AKIDCONFIG\naws_secret_access_key = config-secret\n"
        "[profile cfg]\naws_access_key_id = AKIDCONFIG\naws_secret_access_key = config-secret\n"
        "[profile partial]\n"
        "[profile role]\nrole_arn = arn:aws:iam::123456789012:role/x\nsource_profile = default\n");
    auto env = env_for(dir);
    env.vars["AWS_ACCESS_KEY_ID"] = "AKIDENV";
    env.vars["AWS_SECRET_ACCESS_KEY"] = "env-secret";
    env.vars["AWS_SESSION_TOKEN"] = "env-token";

    auto resolve = [&](std::optional<std::string> profile) {
        config_overrides flags;
        flags.profile = std::move(profile);
        auto config = load_aws_config(flags, env.lookup());
        REQUIRE(config.has_value());
        return resolve_credentials(*config, env.lookup());
    };

    auto creds = resolve(std::nullopt);
    REQUIRE(creds.has_value());
    CHECK(creds->source == "environment");
    CHECK(creds->credentials.access_key_id == "AKIDENV");
    CHECK(creds->credentials.session_token == "env-token");
    CHECK(same_secret(creds->credentials, "env-secret"));

    // An explicit --profile skips the environment, as the AWS CLI does.
    creds = resolve("default");
    REQUIRE(creds.has_value());
    CHECK(creds->credentials.access_key_id == "AKIDFILE");
    CHECK(creds->credentials.session_token == "file-token");
    CHECK(same_secret(creds->credentials, "file-secret"));

    creds = resolve("cfg");
    REQUIRE(creds.has_value());
    CHECK(creds->credentials.access_key_id == "AKIDCONFIG");
    CHECK(creds->source == "config file " + dir.path + "/config");

    creds = resolve("partial");
    REQUIRE_FALSE(creds.has_value());
    CHECK(creds.error().what == config_error::kind::credentials);

    creds = resolve("role");
    REQUIRE_FALSE(creds.has_value());
    CHECK(creds.error().what == config_error::kind::credentials);
    CHECK(creds.error().message.find("role_arn") != std::string::npos);

    env.vars.erase("AWS_SECRET_ACCESS_KEY");
    creds = resolve(std::nullopt);
    REQUIRE_FALSE(creds.has_value());
    CHECK(creds.error().what == config_error::kind::credentials);
    CHECK(creds.error().message.find("partial credentials") == 0);
}

TEST_CASE("credential_process: JSON with Expiration, failures and bad versions") {
    temp_dir dir;
    dir.write("good.sh",
              "#!/bin/sh\necho '{\"Version\": 1, \"AccessKeyId\": \"AKIDPROCESS\", "
              "\"SecretAccessKey\": \"process-secret\", \"SessionToken\": \"process-token\", "
              "\"Expiration\": \"2030-01-02T03:04:05Z\"}'\n",
              true);
    dir.write("fails.sh", "#!/bin/sh\necho 'oops' >&2\nexit 3\n", true);
    dir.write(
        "v2.sh",
        "#!/bin/sh\necho '{\"Version\": 2, \"AccessKeyId\": \"A\", \"SecretAccessKey\": \"s\"}'\n",
        true);
    dir.write("garbage.sh", "#!/bin/sh\necho 'not json'\n", true);
    dir.write("config", "[profile good]\ncredential_process = " + dir.path +
                            "/good.sh --flag 'two words'\n"
                            "[profile fails]\ncredential_process = " +
                            dir.path +
                            "/fails.sh\n"
                            "[profile v2]\ncredential_process = " +
                            dir.path +
                            "/v2.sh\n"
                            "[profile garbage]\ncredential_process = " +
                            dir.path +
                            "/garbage.sh\n"
                            "[profile missing]\ncredential_process = " +
                            dir.path + "/does-not-exist\n");
    auto env = env_for(dir);
    auto resolve = [&](const std::string& profile) {
        config_overrides flags;
        flags.profile = profile;
        auto config = load_aws_config(flags, env.lookup());
        REQUIRE(config.has_value());
        return resolve_credentials(*config, env.lookup());
    };
    auto creds = resolve("good");
    REQUIRE(creds.has_value());
    CHECK(creds->source == "credential_process");
    CHECK(creds->credentials.access_key_id == "AKIDPROCESS");
    CHECK(creds->credentials.session_token == "process-token");
    CHECK(same_secret(creds->credentials, "process-secret"));
    REQUIRE(creds->credentials.expiration.has_value());
    CHECK(*sigv4::format_iso8601(*creds->credentials.expiration) == "2030-01-02T03:04:05Z");

    for (const char* bad : {"fails", "v2", "garbage", "missing"}) {
        CAPTURE(bad);
        creds = resolve(bad);
        REQUIRE_FALSE(creds.has_value());
        CHECK(creds.error().what == config_error::kind::credentials);
    }
    CHECK(resolve("fails").error().message == "credential_process failed (exit status 3)");
}

TEST_CASE("no credentials anywhere is a credentials error") {
    temp_dir dir;
    auto env = env_for(dir);
    auto config = load_aws_config({}, env.lookup());
    REQUIRE(config.has_value());
    auto creds = resolve_credentials(*config, env.lookup());
    REQUIRE_FALSE(creds.has_value());
    CHECK(creds.error().what == config_error::kind::credentials);
    CHECK(creds.error().message.find("no AWS credentials found") == 0);
}

TEST_CASE("mask_access_key_id shows only the last four characters") {
    CHECK(mask_access_key_id("AKIAIOSFODNN7EXAMPLE") == "****************MPLE");
    CHECK(mask_access_key_id("ABC") == "***");
}

TEST_CASE("parse_expires") {
    CHECK(*parse_expires("300") == std::chrono::seconds{300});
    CHECK(*parse_expires("90s") == std::chrono::seconds{90});
    CHECK(*parse_expires("15m") == std::chrono::seconds{900});
    CHECK(*parse_expires("12h") == std::chrono::seconds{43200});
    CHECK(*parse_expires("7d") == std::chrono::seconds{604800});
    CHECK(*parse_expires("604800") == std::chrono::seconds{604800});
    for (const char* bad : {"0", "0s", "8d", "604801", "", "-5", "1.5h", "1w", "abc", "10x", "s",
                            "99999999999999999999"}) {
        CAPTURE(bad);
        CHECK_FALSE(parse_expires(bad).has_value());
    }
}

TEST_CASE("parse_byte_size: bytes, decimal and binary units, the flag named once") {
    const std::pair<const char*, std::uint64_t> good[] = {{"0", 0},
                                                          {"10485760", 10485760},
                                                          {"10MB", 10000000},
                                                          {"10mb", 10000000},
                                                          {"1KB", 1000},
                                                          {"2GB", 2000000000},
                                                          {"1KiB", 1024},
                                                          {"10MiB", 10485760},
                                                          {"5GiB", 5ull << 30},
                                                          {"5 GiB", 5ull << 30},
                                                          {"7B", 7},
                                                          {"17179869183GiB", 17179869183ull << 30}};
    for (const auto& [text, bytes] : good) {
        CAPTURE(text);
        const auto parsed = parse_byte_size(text, "--max-upload-bytes");
        REQUIRE(parsed.has_value());
        CHECK(*parsed == bytes);
    }
    for (const char* bad : {"", "MB", "10XB", "10M", "1.5GB", "-1", "10 MB x", "1TB",
                            "9999999999999", "17179869184GiB"}) {
        CAPTURE(bad);
        const auto parsed = parse_byte_size(bad, "--max-upload-bytes");
        REQUIRE_FALSE(parsed.has_value());
        const std::string& message = parsed.error();
        CHECK(message.find("--max-upload-bytes") == message.rfind("--max-upload-bytes"));
        CHECK(message.find("MiB") != std::string::npos);
    }
    // The serve flag of issue 20 names itself once: "--expires '10x' is not a duration ...".
    const auto expires = parse_expires("10x");
    REQUIRE_FALSE(expires.has_value());
    CHECK(expires.error().find("--expires") == expires.error().rfind("--expires"));
}

TEST_CASE("media_type_for_file_name: by extension, case-insensitive, octet-stream otherwise") {
    CHECK(media_type_for_file_name("up photo.png") == "image/png");
    CHECK(media_type_for_file_name("/tmp/dir.d/Report.PDF") == "application/pdf");
    CHECK(media_type_for_file_name("a.tar.gz") == "application/gzip");
    CHECK(media_type_for_file_name("notes.txt") == "text/plain");
    CHECK(media_type_for_file_name("clip.mp4") == "video/mp4");
    CHECK(media_type_for_file_name("Makefile") == "application/octet-stream");
    CHECK(media_type_for_file_name(".bashrc") == "application/octet-stream");
    CHECK(media_type_for_file_name("dir.png/file") == "application/octet-stream");
    CHECK(media_type_for_file_name("x.unknownext") == "application/octet-stream");
}

TEST_CASE("suggest_command: synonyms, typos, nothing for unrelated words") {
    const std::vector<std::string> commands{"get",    "put",     "head", "delete",
                                            "verify", "explain", "serve"};
    CHECK(suggest_command("upload", commands) == "put");
    CHECK(suggest_command("Download", commands) == "get");
    CHECK(suggest_command("rm", commands) == "delete");
    CHECK(suggest_command("gte", commands) == "get");
    CHECK(suggest_command("verfiy", commands) == "verify");
    CHECK(suggest_command("serv", commands) == "serve");
    CHECK(suggest_command("xyzzy", commands).empty());
    CHECK(suggest_command("upload", {"get"}).empty());
}

TEST_CASE("parse_s3_uri, parse_header_option, normalize_checksum_sha256") {
    auto uri = parse_s3_uri("s3://bucket/dir/file name.txt", true);
    REQUIRE(uri.has_value());
    CHECK(uri->bucket == "bucket");
    CHECK(uri->key == "dir/file name.txt");
    CHECK_FALSE(parse_s3_uri("s3://bucket", true).has_value());
    CHECK_FALSE(parse_s3_uri("s3://bucket/", true).has_value());
    CHECK(parse_s3_uri("s3://bucket/", false)->key.empty());
    CHECK_FALSE(parse_s3_uri("s3:///key", true).has_value());
    CHECK_FALSE(parse_s3_uri("https://bucket/key", true).has_value());

    auto header = parse_header_option("X-Amz-Meta-Owner:  me and you ");
    REQUIRE(header.has_value());
    CHECK(header->name == "X-Amz-Meta-Owner");
    CHECK(header->value == "me and you");
    CHECK(parse_header_option("x-a:")->value.empty());
    CHECK_FALSE(parse_header_option("no colon").has_value());
    CHECK_FALSE(parse_header_option(": value").has_value());
    CHECK_FALSE(parse_header_option("bad name: value").has_value());

    const std::string empty_b64 = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=";
    CHECK(*normalize_checksum_sha256(empty_b64) == empty_b64);
    CHECK(*normalize_checksum_sha256(std::string(sigv4::empty_payload_sha256)) == empty_b64);
    CHECK_FALSE(normalize_checksum_sha256("abcd").has_value());
}

TEST_CASE("URL, XML and diff helpers") {
    auto url = parse_url("https://b.s3.amazonaws.com:8443/k%20x?a=1&X-Amz-Date=2#frag");
    REQUIRE(url.has_value());
    CHECK(url->host == "b.s3.amazonaws.com:8443");
    CHECK(url->target == "/k%20x?a=1&X-Amz-Date=2");
    CHECK(url->raw_query == "a=1&X-Amz-Date=2");
    CHECK(*query_value(url->raw_query, "X-Amz-Date") == "2");
    CHECK(parse_url("http://host")->target == "/");
    CHECK_FALSE(parse_url("ftp://host/x").has_value());
    CHECK_FALSE(parse_url("https:///x").has_value());
    CHECK_FALSE(parse_url("https://host/a b").has_value());

    const std::string xml =
        "<?xml version=\"1.0\"?><Error><Code>SignatureDoesNotMatch</Code>"
        "<CanonicalRequest>GET\n/a&amp;b\n&#x41;&#66;&lt;&gt;</CanonicalRequest></Error>";
    CHECK(*xml_element_text(xml, "CanonicalRequest") == "GET\n/a&b\nAB<>");
    CHECK_FALSE(xml_element_text(xml, "StringToSign").has_value());

    CHECK(line_diff("a\nb\nc", "a\nb\nc").empty());
    CHECK(line_diff("a\nb\nc", "a\nB\nc") == "  a\n- b\n+ B\n  c\n");
    CHECK(redact_session_token(
              "X-Amz-Date=1&X-Amz-Security-Token=secret%2Ftoken&X-Amz-SignedHeaders=host") ==
          "X-Amz-Date=1&X-Amz-Security-Token=<session-token>&X-Amz-SignedHeaders=host");
}

TEST_CASE("exit codes per error class") {
    CHECK(exit_code_for(config_error::kind::config) == 3);
    CHECK(exit_code_for(config_error::kind::credentials) == 4);
    CHECK(exit_code_for(config_error::kind::invalid_input) == 5);
    CHECK(exit_code_for(sigv4::errc::credentials_expire_first, true) == 4);
    CHECK(exit_code_for(sigv4::errc::invalid_bucket_name, false) == 5);
    CHECK(exit_code_for(sigv4::errc::invalid_endpoint, true) == 5);
    CHECK(exit_code_for(sigv4::errc::invalid_endpoint, false) == 3);
}

TEST_CASE("credentials_provider caches credentials and refreshes them before they expire") {
    temp_dir dir;
    // Each run appends a line to `runs`, so the test can count how often the chain ran.
    const std::string far = dir.write(
        "far.sh",
        "#!/bin/sh\necho run >> \"$(dirname \"$0\")/runs-far\"\n"
        "echo '{\"Version\": 1, \"AccessKeyId\": \"AKIDFAR\", \"SecretAccessKey\": \"s\", "
        "\"SessionToken\": \"t\", \"Expiration\": \"2099-01-01T00:00:00Z\"}'\n",
        true);
    const std::string soon = dir.write(
        "soon.sh",
        "#!/bin/sh\necho run >> \"$(dirname \"$0\")/runs-soon\"\n"
        "echo '{\"Version\": 1, \"AccessKeyId\": \"AKIDSOON\", \"SecretAccessKey\": \"s\", "
        "\"SessionToken\": \"t\", \"Expiration\": \"2000-01-01T00:00:00Z\"}'\n",
        true);
    dir.write("config", "[profile far]\ncredential_process = " + far +
                            "\n[profile soon]\ncredential_process = " + soon + "\n");
    auto env = env_for(dir);
    auto count_runs = [&](const std::string& name) {
        std::ifstream in(dir.path + "/runs-" + name);
        int lines = 0;
        for (std::string line; std::getline(in, line);) ++lines;
        return lines;
    };
    auto provider_for = [&](const std::string& profile) {
        config_overrides flags;
        flags.profile = profile;
        auto config = load_aws_config(flags, env.lookup());
        REQUIRE(config.has_value());
        return std::make_unique<credentials_provider>(*config, env.lookup());
    };

    auto cached = provider_for("far");
    for (int i = 0; i < 3; ++i) {
        auto creds = cached->get();
        REQUIRE(creds.has_value());
        CHECK(creds->access_key_id == "AKIDFAR");
    }
    CHECK(count_runs("far") == 1);

    auto refreshed = provider_for("soon");
    for (int i = 0; i < 2; ++i) {
        auto creds = refreshed->get();
        REQUIRE(creds.has_value());
        CHECK(creds->access_key_id == "AKIDSOON");
    }
    CHECK(count_runs("soon") == 2);

    auto failing = provider_for("far");
    dir.write("far.sh", "#!/bin/sh\nexit 1\n", true);
    auto creds = failing->get();
    REQUIRE_FALSE(creds.has_value());
    CHECK(creds.error().message == "credential_process failed (exit status 1)");
}
