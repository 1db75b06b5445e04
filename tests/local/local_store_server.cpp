// SPDX-License-Identifier: Apache-2.0
// The local store alone, for client tests: `local_store_server DATA_DIR` listens on a free port
// of 127.0.0.1 with the key from PRESIGN_TEST_ACCESS_KEY_ID / PRESIGN_TEST_SECRET_ACCESS_KEY,
// prints "listening s3=http://127.0.0.1:PORT" and serves until SIGINT/SIGTERM.
#include <pthread.h>
#include <signal.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>

#include <presign/local/s3_server.hpp>
#include <sigv4/credentials.hpp>

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: local_store_server DATA_DIR\n");
        return 2;
    }
    const char* id = std::getenv("PRESIGN_TEST_ACCESS_KEY_ID");
    const char* secret = std::getenv("PRESIGN_TEST_SECRET_ACCESS_KEY");
    if (id == nullptr || secret == nullptr) {
        std::fprintf(stderr, "set PRESIGN_TEST_ACCESS_KEY_ID and PRESIGN_TEST_SECRET_ACCESS_KEY\n");
        return 2;
    }
    auto creds = sigv4::credentials::make(id, secret);
    if (!creds) {
        std::fprintf(stderr, "bad credentials: %s\n", creds.error().message.c_str());
        return 2;
    }
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop, nullptr);
    std::signal(SIGPIPE, SIG_IGN);

    presign::local::s3_server_options options;
    options.data_dir = argv[1];
    options.allowed_origins = {"*"};
    const sigv4::credentials key = *creds;
    options.keys = [id = key.access_key_id, known = sigv4::known_key{key.secret, {}}](
                       std::string_view access_key_id) -> const sigv4::known_key* {
        return access_key_id == id ? &known : nullptr;
    };
    presign::local::s3_server server(options);
    auto port = server.bind("127.0.0.1", 0);
    if (!port) {
        std::fprintf(stderr, "%s\n", port.error().c_str());
        return 1;
    }
    std::printf("listening s3=http://127.0.0.1:%d\n", *port);
    std::fflush(stdout);
    std::thread listener([&] { server.listen(); });
    int signal_number = 0;
    sigwait(&stop, &signal_number);
    while (!server.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    server.stop();
    listener.join();
    return 0;
}
