// SPDX-License-Identifier: Apache-2.0
// Prints a presigned GET URL for s3://BUCKET/KEY using credentials from the environment.
// Usage: AWS_ACCESS_KEY_ID=... AWS_SECRET_ACCESS_KEY=... presign_get_example BUCKET KEY [REGION]
#include <sigv4/sigv4.hpp>

#include <cstdio>
#include <cstdlib>

int main(int argc, char** argv) {
    if (argc < 3) {
        std::fprintf(stderr, "usage: %s BUCKET KEY [REGION]\n", argv[0]);
        return 2;
    }
    const char* id = std::getenv("AWS_ACCESS_KEY_ID");
    const char* secret = std::getenv("AWS_SECRET_ACCESS_KEY");
    const char* token = std::getenv("AWS_SESSION_TOKEN");
    auto creds = sigv4::credentials::make(id ? id : "", secret ? secret : "", token ? token : "");
    if (!creds) {
        std::fprintf(stderr, "credentials: %s\n", creds.error().message.c_str());
        return 1;
    }
    sigv4::s3::endpoint where;
    where.region = argc > 3 ? argv[3] : "us-east-1";
    auto url = sigv4::s3::presign_get(*creds, argv[1], argv[2], where);
    if (!url) {
        std::fprintf(stderr, "presign: %s\n", url.error().message.c_str());
        return 1;
    }
    std::puts(url->url.c_str());
    return 0;
}
