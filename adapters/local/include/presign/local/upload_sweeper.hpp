// SPDX-License-Identifier: Apache-2.0
// Removes abandoned multipart uploads, as S3's AbortIncompleteMultipartUpload lifecycle rule does:
// once when started, then every `interval`, on a thread of its own.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string_view>
#include <thread>

#include "presign/local/object_store.hpp"

namespace presign::local {

class upload_sweeper {
  public:
    /// Sweeps `store` (which must outlive the sweeper) for uploads initiated more than `max_age`
    /// ago; a zero max_age sweeps nothing and starts no thread. `log` (may be empty) gets one
    /// line per sweep that removed something.
    upload_sweeper(object_store& store, std::chrono::seconds max_age, std::chrono::seconds interval,
                   std::function<void(std::string_view)> log);
    /// Stops the thread (waiting for a sweep under way).
    ~upload_sweeper();
    upload_sweeper(const upload_sweeper&) = delete;
    upload_sweeper& operator=(const upload_sweeper&) = delete;

    /// One sweep now, on the caller's thread; returns how many uploads it removed.
    std::size_t sweep_once();

  private:
    object_store& store_;
    std::chrono::seconds max_age_;
    std::chrono::seconds interval_;
    std::function<void(std::string_view)> log_;
    std::mutex mutex_;
    std::condition_variable wake_;
    bool stopping_ = false;
    std::thread thread_;
};

}  // namespace presign::local
