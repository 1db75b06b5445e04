// SPDX-License-Identifier: Apache-2.0
// Starting `bootstrap` as a child process (optionally chrooted), with a given environment and its
// output in a file; stopped by pid in the destructor.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace presign::testing {

class child_process {
  public:
    /// fork + (chroot) + execve. `output` receives stdout and stderr. The program path is taken
    /// inside the chroot when `root` is given.
    child_process(const std::string& program, const std::vector<std::string>& environment,
                  const std::string& output, const std::string& root = {}) {
        std::vector<char*> argv = {const_cast<char*>(program.c_str()), nullptr};
        std::vector<char*> envp;
        for (const auto& entry : environment) envp.push_back(const_cast<char*>(entry.c_str()));
        envp.push_back(nullptr);
        pid_ = ::fork();
        if (pid_ == 0) {
            // Only async-signal-safe calls between fork and exec.
            int fd = ::open(output.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
            if (fd >= 0) {
                ::dup2(fd, STDOUT_FILENO);
                ::dup2(fd, STDERR_FILENO);
            }
            if (!root.empty() && (::chroot(root.c_str()) != 0 || ::chdir("/") != 0)) ::_exit(126);
            ::execve(program.c_str(), argv.data(), envp.data());
            ::_exit(127);
        }
    }

    ~child_process() { stop(); }
    child_process(const child_process&) = delete;
    child_process& operator=(const child_process&) = delete;

    [[nodiscard]] bool started() const { return pid_ > 0; }

    /// Waits for the exit status (bounded); nullopt when still running after `timeout`.
    std::optional<int> wait_exit(std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
        auto until = std::chrono::steady_clock::now() + timeout;
        while (pid_ > 0) {
            int status = 0;
            rusage usage{};
            pid_t done = ::wait4(pid_, &status, WNOHANG, &usage);
            if (done == pid_) {
                pid_ = -1;
                max_rss_kib_ = usage.ru_maxrss;
                exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
                return exit_code_;
            }
            if (std::chrono::steady_clock::now() >= until) return std::nullopt;
            std::this_thread::sleep_for(std::chrono::milliseconds(2));
        }
        return exit_code_;
    }

    /// Stops the child (SIGKILL, by pid) and reaps it.
    void stop() {
        if (pid_ <= 0) return;
        ::kill(pid_, SIGKILL);
        int status = 0;
        rusage usage{};
        ::wait4(pid_, &status, 0, &usage);
        max_rss_kib_ = usage.ru_maxrss;
        pid_ = -1;
    }

    /// Peak resident set of the reaped child, KiB.
    [[nodiscard]] long max_rss_kib() const { return max_rss_kib_; }

  private:
    pid_t pid_ = -1;
    std::optional<int> exit_code_;
    long max_rss_kib_ = 0;
};

inline std::string slurp(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream out;
    out << in.rdbuf();
    return out.str();
}

}  // namespace presign::testing
