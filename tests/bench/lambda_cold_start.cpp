// SPDX-License-Identifier: Apache-2.0
// Cold start of the packaged `bootstrap` against the in-test Runtime API on 127.0.0.1:
// exec -> first /next and exec -> first response posted (median of 20), peak RSS after one and
// after 1000 invocations, zip size; then the same figures for python3 + boto3 when installed. Goals
// (issue 5): <= 2 ms, <= 3 ms, <= 8 MiB, zip <= 2 MiB.
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "fake_runtime_api.hpp"

extern char** environ;

namespace {

using presign::testing::fake_runtime_api;
using clock_type = std::chrono::steady_clock;

constexpr int runs = 20;

std::string upload_event() {
    return nlohmann::json{{"version", "2.0"},
                          {"rawPath", "/uploads"},
                          {"headers", {{"origin", "https://app.example.com"}}},
                          {"requestContext",
                           {{"http", {{"method", "POST"}}},
                            {"authorizer", {{"jwt", {{"claims", {{"sub", "user-1"}}}}}}}}},
                          {"body", R"({"filename":"a.png","contentType":"image/png","size":1000})"}}
        .dump();
}

pid_t spawn(const std::vector<std::string>& argv_strings,
            const std::vector<std::string>& env_strings) {
    std::vector<char*> argv;
    for (const auto& a : argv_strings) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    std::vector<char*> envp;
    for (const auto& e : env_strings) envp.push_back(const_cast<char*>(e.c_str()));
    envp.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
    pid_t pid = -1;
    if (posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), envp.data()) != 0) pid = -1;
    posix_spawn_file_actions_destroy(&actions);
    return pid;
}

// The child's peak resident set (VmHWM, KiB) read before it is killed. ru_maxrss would not do:
// posix_spawn's vfork-style child briefly shares this process's memory, which counts there.
long kill_and_reap(pid_t pid) {
    long peak = 0;
    std::ifstream status_file("/proc/" + std::to_string(pid) + "/status");
    for (std::string line; std::getline(status_file, line);)
        if (line.starts_with("VmHWM:")) peak = std::stol(line.substr(6));
    ::kill(pid, SIGKILL);
    int status = 0;
    ::waitpid(pid, &status, 0);
    return peak;
}

double median(std::vector<double> values) {
    std::sort(values.begin(), values.end());
    auto n = values.size();
    return n % 2 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

double ms(clock_type::duration d) {
    return std::chrono::duration<double, std::milli>(d).count();
}

std::vector<std::string> lambda_env(const fake_runtime_api& api) {
    return {"AWS_LAMBDA_RUNTIME_API=" + api.address(),
            "BUCKET_NAME=files-bucket",
            "AWS_REGION=us-east-1",
            "ALLOWED_ORIGINS=https://app.example.com",
            "ALLOWED_CONTENT_TYPES=image/*",
            "AWS_ACCESS_KEY_ID=ASIAEXAMPLE",
            "AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            "AWS_SESSION_TOKEN=IQoJb3JpZ2luX2VjEXAMPLETOKEN"};
}

void measure_bootstrap() {
    std::vector<double> to_next;
    std::vector<double> to_response;
    long rss_one = 0;
    for (int i = 0; i < runs; ++i) {
        fake_runtime_api api;
        api.push({"cold-" + std::to_string(i), upload_event(), {}});
        auto started = clock_type::now();
        pid_t pid = spawn({PRESIGN_PACKAGED_BOOTSTRAP}, lambda_env(api));
        if (pid < 0 || !api.wait_for_posts(1)) {
            std::fprintf(stderr, "bootstrap did not answer\n");
            if (pid > 0) kill_and_reap(pid);
            return;
        }
        auto posted = api.posts().front().at;
        auto first_next = api.next_requests().front();
        rss_one = std::max(rss_one, kill_and_reap(pid));
        to_next.push_back(ms(first_next - started));
        to_response.push_back(ms(posted - started));
    }

    // Peak RSS after a warm run of 1000 invocations.
    fake_runtime_api api;
    constexpr int warm = 1000;
    for (int i = 0; i < warm; ++i) api.push({"warm-" + std::to_string(i), upload_event(), {}});
    auto started = clock_type::now();
    pid_t pid = spawn({PRESIGN_PACKAGED_BOOTSTRAP}, lambda_env(api));
    bool done = api.wait_for_posts(warm, std::chrono::seconds(60));
    auto elapsed = clock_type::now() - started;
    long rss_warm = kill_and_reap(pid);

    auto zip_size = std::filesystem::file_size(PRESIGN_LAMBDA_ZIP);
    std::printf(
        "presign bootstrap (static, packaged), %d cold starts against the local Runtime API:\n",
        runs);
    std::printf(
        "  exec -> first /next          median %.3f ms (min %.3f, max %.3f)   goal <= 2 ms\n",
        median(to_next), *std::min_element(to_next.begin(), to_next.end()),
        *std::max_element(to_next.begin(), to_next.end()));
    std::printf(
        "  exec -> first response       median %.3f ms (min %.3f, max %.3f)   goal <= 3 ms\n",
        median(to_response), *std::min_element(to_response.begin(), to_response.end()),
        *std::max_element(to_response.begin(), to_response.end()));
    std::printf(
        "  peak RSS, one invocation     %.2f MiB                             goal <= 8 MiB\n",
        static_cast<double>(rss_one) / 1024);
    std::printf(
        "  peak RSS, %d invocations   %.2f MiB (%s, %.1f us per round trip incl. the test "
        "server)\n",
        warm, static_cast<double>(rss_warm) / 1024, done ? "all answered" : "NOT all answered",
        std::chrono::duration<double, std::micro>(elapsed).count() / warm);
    std::printf("  presign-lambda.zip           %.2f MiB (%ju bytes)               goal <= 2 MiB\n",
                static_cast<double>(zip_size) / (1024 * 1024),
                static_cast<std::uintmax_t>(zip_size));
}

void measure_python() {
    const char* script =
        "import boto3\n"
        "s3 = boto3.client('s3', region_name='us-east-1', aws_access_key_id='ASIAEXAMPLE',\n"
        "    aws_secret_access_key='wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY', "
        "aws_session_token='T')\n"
        "s3.generate_presigned_url('put_object', Params={'Bucket': 'files-bucket', 'Key': "
        "'a.png',\n"
        "    'ContentType': 'image/png', 'ContentLength': 1000}, ExpiresIn=300)\n";
    std::vector<double> wall;
    long rss = 0;
    for (int i = 0; i < 5; ++i) {
        auto started = clock_type::now();
        std::vector<std::string> env;
        for (char** e = environ; *e != nullptr; ++e) env.emplace_back(*e);
        pid_t pid =
            spawn({"/usr/bin/env", "python3", "-c", script}, env);  // ru_maxrss: python's own
        if (pid < 0) return;
        int status = 0;
        rusage usage{};
        ::wait4(pid, &status, 0, &usage);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            std::printf("python3 + boto3: not available (skipped)\n");
            return;
        }
        wall.push_back(ms(clock_type::now() - started));
        rss = std::max(rss, usage.ru_maxrss);
    }
    std::printf(
        "python3 + boto3, same presign (import boto3, client, one URL; no Runtime API), 5 runs:\n");
    std::printf("  exec -> exit                 median %.1f ms\n", median(wall));
    std::printf("  peak RSS                     %.2f MiB\n", static_cast<double>(rss) / 1024);
}

}  // namespace

int main() {
    measure_bootstrap();
    measure_python();
    return 0;
}
