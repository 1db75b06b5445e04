// SPDX-License-Identifier: Apache-2.0
// A small S3-compatible endpoint (path-style http://HOST:PORT/BUCKET/KEY) over object_store.
// Every request is checked with sigv4::verify, presigned or header-signed, the way S3 does.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <sigv4/result.hpp>
#include <sigv4/verify.hpp>

namespace presign::local {

struct s3_server_options {
    std::filesystem::path data_dir;
    std::string region = "us-east-1";
    /// The keys allowed to sign requests (every known key may do everything: one local user).
    sigv4::key_lookup keys;
    /// Origins allowed by CORS (exact match, or "*" for any).
    std::vector<std::string> allowed_origins;
    /// Largest object accepted by PUT (S3's single-PUT limit by default).
    std::uint64_t max_object_bytes = 5ull << 30;
    /// Worker threads (each serves one connection at a time).
    std::size_t threads = 64;
    /// One line per request (method, bucket/key, status): never the query, which holds the
    /// signature. Empty: no log.
    std::function<void(std::string_view line)> log;
};

/// Owns the HTTP listener. Thread-safe: stop() may be called from any thread (or a signal
/// watcher) while listen() runs.
class s3_server {
public:
    explicit s3_server(s3_server_options options);
    ~s3_server();
    s3_server(const s3_server&) = delete;
    s3_server& operator=(const s3_server&) = delete;

    /// Binds host:port (port 0: any free port) and returns the bound port, or an error message
    /// (for example when the port is taken).
    [[nodiscard]] sigv4::result<int, std::string> bind(const std::string& host, int port);
    /// Serves until stop(). Returns false if the server could not run.
    bool listen();
    void stop();
    [[nodiscard]] bool is_running() const;

    /// Creates a bucket directly on disk (serve does this for its bucket at start).
    [[nodiscard]] bool ensure_bucket(std::string_view bucket);

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

/// Socket options for httplib servers: SO_REUSEADDR without httplib's SO_REUSEPORT, so binding
/// a port another server listens on fails (EADDRINUSE) instead of silently sharing it.
void exclusive_socket_options(int socket);

/// listen() again with a SOMAXCONN backlog on an httplib server's bound socket (httplib uses 5).
void widen_backlog(int socket);

/// True when host:port cannot be bound because another socket holds it (EADDRINUSE).
[[nodiscard]] bool port_in_use(const std::string& host, int port);

}  // namespace presign::local
