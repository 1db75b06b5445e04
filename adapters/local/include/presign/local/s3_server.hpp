// SPDX-License-Identifier: Apache-2.0
// A small S3-compatible endpoint (path-style http://HOST:PORT/BUCKET/KEY) over object_store.
// Every request is checked with sigv4::verify, presigned or header-signed, the way S3 does.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <presign/http/server.hpp>
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
    /// Further origins allowed by CORS, decided per request (empty: none).
    std::function<bool(std::string_view origin)> origin_check;
    /// Largest object accepted by PUT (S3's single-PUT limit by default).
    std::uint64_t max_object_bytes = 5ull << 30;
    /// Multipart uploads initiated longer ago than this are aborted, at start and hourly (S3's
    /// AbortIncompleteMultipartUpload lifecycle rule); zero keeps them forever.
    std::chrono::seconds abandoned_upload_age{24 * 3600};
    /// Threads running the connections and requests. Connections wait asynchronously (an idle
    /// one holds no thread); a request holds one while it works on the disk (fsync on commit).
    std::size_t threads = 4;
    /// Deadlines and limits of each connection (request head, body progress, idle keep-alive).
    http::limits deadlines;
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

/// True when host:port cannot be bound because another socket holds it (EADDRINUSE).
[[nodiscard]] bool port_in_use(const std::string& host, int port);

}  // namespace presign::local
