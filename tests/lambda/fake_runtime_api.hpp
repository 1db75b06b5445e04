// SPDX-License-Identifier: Apache-2.0
// An in-test Lambda Runtime API (2018-06-01) on 127.0.0.1, a free port: hands out queued
// invocations on /next and records every response, error and init error posted back.
#pragma once

#include <httplib.h>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace presign::testing {

class fake_runtime_api {
  public:
    using clock = std::chrono::steady_clock;

    struct queued_invocation {
        std::string request_id;  // empty: the invocation comes without a request id header
        std::string payload;
        /// Header names exactly as sent (tests vary their case).
        std::vector<std::pair<std::string, std::string>> headers;
    };

    struct post {
        std::string kind;  // "response", "error" or "init_error"
        std::string request_id;
        std::string body;
        std::string error_type;  // Lambda-Runtime-Function-Error-Type
        std::string content_type;
        clock::time_point at;
    };

    /// How long /next waits for an invocation before answering 500 (bounds every test).
    explicit fake_runtime_api(std::chrono::milliseconds next_wait = std::chrono::seconds(10))
        : next_wait_(next_wait) {
        server_.Get("/2018-06-01/runtime/invocation/next", [this](const httplib::Request&,
                                                                  httplib::Response& res) {
            std::unique_lock lock(mutex_);
            next_requests_.push_back(clock::now());
            changed_.notify_all();
            if (!changed_.wait_for(lock, next_wait_,
                                   [this] { return stopping_ || !queue_.empty(); }) ||
                stopping_) {
                res.status = 500;
                res.set_content(R"({"errorMessage":"no invocation","errorType":"Test.Idle"})",
                                "application/json");
                return;
            }
            auto inv = std::move(queue_.front());
            queue_.pop_front();
            for (const auto& [name, value] : inv.headers) res.set_header(name, value);
            if (!inv.request_id.empty())
                res.set_header("Lambda-Runtime-Aws-Request-Id", inv.request_id);
            res.set_content(inv.payload, "application/json");
        });
        server_.Post(R"(/2018-06-01/runtime/invocation/([^/]+)/(response|error))", [this](
                                                                                       const httplib::
                                                                                           Request&
                                                                                               req,
                                                                                       httplib::
                                                                                           Response&
                                                                                               res) {
            std::string id = req.matches[1];
            std::string kind = req.matches[2];
            std::lock_guard lock(mutex_);
            if (kind == "response" && too_large_.count(id) != 0) {
                too_large_.erase(id);
                res.status = 413;
                res.set_content(
                    R"({"errorMessage":"Exceeded maximum allowed payload size (6291556 bytes).","errorType":"RequestEntityTooLarge"})",
                    "application/json");
                return;
            }
            record(kind, id, req);
            res.status = 202;
            res.set_content(R"({"status":"OK"})", "application/json");
        });
        server_.Post("/2018-06-01/runtime/init/error",
                     [this](const httplib::Request& req, httplib::Response& res) {
                         std::lock_guard lock(mutex_);
                         record("init_error", "", req);
                         res.status = 202;
                         res.set_content(R"({"status":"OK"})", "application/json");
                     });
        server_.set_tcp_nodelay(true);  // as a real Runtime API: no Nagle delay on small answers
        port_ = server_.bind_to_any_port("127.0.0.1");
        thread_ = std::thread([this] { server_.listen_after_bind(); });
        for (int i = 0; i < 500 && !server_.is_running(); ++i)
            std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }

    ~fake_runtime_api() {
        {
            std::lock_guard lock(mutex_);
            stopping_ = true;
        }
        changed_.notify_all();
        server_.stop();
        if (thread_.joinable()) thread_.join();
    }

    fake_runtime_api(const fake_runtime_api&) = delete;
    fake_runtime_api& operator=(const fake_runtime_api&) = delete;

    [[nodiscard]] int port() const { return port_; }
    [[nodiscard]] std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

    void push(queued_invocation inv) {
        std::lock_guard lock(mutex_);
        queue_.push_back(std::move(inv));
        changed_.notify_all();
    }

    /// The next response post for this request id is answered 413 (payload too large).
    void refuse_response_as_too_large(const std::string& request_id) {
        std::lock_guard lock(mutex_);
        too_large_.insert(request_id);
    }

    /// Waits until at least `count` posts arrived; false on timeout.
    bool wait_for_posts(std::size_t count,
                        std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
        std::unique_lock lock(mutex_);
        return changed_.wait_for(lock, timeout, [&] { return posts_.size() >= count; });
    }

    /// Waits until /next was requested at least `count` times; false on timeout.
    bool wait_for_next_requests(std::size_t count,
                                std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
        std::unique_lock lock(mutex_);
        return changed_.wait_for(lock, timeout, [&] { return next_requests_.size() >= count; });
    }

    [[nodiscard]] std::vector<post> posts() const {
        std::lock_guard lock(mutex_);
        return posts_;
    }

    [[nodiscard]] std::vector<clock::time_point> next_requests() const {
        std::lock_guard lock(mutex_);
        return next_requests_;
    }

    void clear() {
        std::lock_guard lock(mutex_);
        posts_.clear();
        next_requests_.clear();
    }

  private:
    void record(std::string kind, std::string id, const httplib::Request& req) {
        posts_.push_back({std::move(kind), std::move(id), req.body,
                          req.get_header_value("Lambda-Runtime-Function-Error-Type"),
                          req.get_header_value("Content-Type"), clock::now()});
        changed_.notify_all();
    }

    httplib::Server server_;
    std::thread thread_;
    int port_ = -1;
    std::chrono::milliseconds next_wait_;
    mutable std::mutex mutex_;
    std::condition_variable changed_;
    std::deque<queued_invocation> queue_;
    std::vector<post> posts_;
    std::vector<clock::time_point> next_requests_;
    std::set<std::string> too_large_;
    bool stopping_ = false;
};

}  // namespace presign::testing
