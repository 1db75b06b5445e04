// SPDX-License-Identifier: Apache-2.0
// Reads presign cases as JSON lines on stdin and writes one presigned URL (or "error: ...") per
// line: the library's side of the botocore differential test.
#include <iostream>
#include <string>

#include <nlohmann/json.hpp>
#include <sigv4/sigv4.hpp>

int main() {
    std::string line;
    while (std::getline(std::cin, line)) {
        try {
            auto c = nlohmann::json::parse(line);
            auto creds = sigv4::credentials::make(c.at("access_key").get<std::string>(),
                                                  c.at("secret_key").get<std::string>(),
                                                  c.value("token", std::string{}));
            if (!creds) {
                std::cout << "error: " << creds.error().message << '\n';
                continue;
            }
            sigv4::s3::endpoint where;
            where.region = c.at("region").get<std::string>();
            where.style = c.value("style", std::string{"virtual"}) == "path"
                              ? sigv4::s3::addressing::path
                              : sigv4::s3::addressing::virtual_hosted;
            sigv4::s3::object_options options;
            options.signing_time = *sigv4::parse_amz_date(c.at("time").get<std::string>());
            options.expires = std::chrono::seconds{c.value("expires", 300)};
            options.content_type = c.value("content_type", std::string{});
            if (c.contains("content_length"))
                options.content_length = c.at("content_length").get<std::uint64_t>();
            if (c.contains("metadata")) {
                for (auto& [name, value] : c.at("metadata").items()) {
                    options.metadata.push_back({name, value.get<std::string>()});
                }
            }
            std::string sse = c.value("sse", std::string{});
            if (sse == "AES256") options.sse = sigv4::s3::server_side_encryption::aes256;
            options.response_content_disposition =
                c.value("response_content_disposition", std::string{});
            options.response_content_type = c.value("response_content_type", std::string{});
            options.version_id = c.value("version_id", std::string{});
            auto presigned = sigv4::s3::presign_object(
                *creds, c.at("method").get<std::string>(), c.at("bucket").get<std::string>(),
                c.at("key").get<std::string>(), where, options);
            if (!presigned) {
                std::cout << "error: " << presigned.error().message << '\n';
                continue;
            }
            std::cout << presigned->url << '\n';
        } catch (const std::exception& e) {
            std::cout << "error: bad case: " << e.what() << '\n';
        }
    }
    return 0;
}
