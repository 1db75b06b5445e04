// SPDX-License-Identifier: Apache-2.0
#include "presign/local/upload_sweeper.hpp"

#include <string>

namespace presign::local {

upload_sweeper::upload_sweeper(object_store& store, std::chrono::seconds max_age,
                               std::chrono::seconds interval,
                               std::function<void(std::string_view)> log)
    : store_(store), max_age_(max_age), interval_(interval), log_(std::move(log)) {
    if (max_age_.count() <= 0) return;
    sweep_once();  // at start, before the first request
    thread_ = std::thread([this] {
        std::unique_lock lock(mutex_);
        while (!wake_.wait_for(lock, interval_, [this] { return stopping_; })) {
            lock.unlock();
            sweep_once();
            lock.lock();
        }
    });
}

upload_sweeper::~upload_sweeper() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_all();
    if (thread_.joinable()) thread_.join();
}

std::size_t upload_sweeper::sweep_once() {
    if (max_age_.count() <= 0) return 0;
    const auto now = std::chrono::duration_cast<std::chrono::seconds>(
        std::chrono::system_clock::now().time_since_epoch());
    const std::size_t removed = store_.sweep_multipart_uploads((now - max_age_).count());
    if (removed > 0 && log_) {
        log_("swept " + std::to_string(removed) + " multipart upload(s) initiated more than " +
             std::to_string(max_age_.count()) + " s ago");
    }
    return removed;
}

}  // namespace presign::local
