// SPDX-License-Identifier: Apache-2.0
// Without libFuzzer (g++, the normal test build): runs a fuzz target over every file of the given
// corpus directories once, so the seeds and the crash regressions run with every test run.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);
// Optional, defined by a target whose corpus must reach some state (0 when it did): so that a
// replay which exercised nothing fails instead of passing.
extern "C" __attribute__((weak)) int sigv4_fuzz_replay_check();

int main(int argc, char** argv) {
    std::vector<std::filesystem::path> files;
    for (int i = 1; i < argc; ++i) {
        std::filesystem::path arg(argv[i]);
        if (std::filesystem::is_directory(arg)) {
            for (const auto& entry : std::filesystem::directory_iterator(arg)) {
                if (entry.is_regular_file()) files.push_back(entry.path());
            }
        } else {
            files.push_back(arg);
        }
    }
    std::sort(files.begin(), files.end());
    for (const auto& file : files) {
        std::ifstream in(file, std::ios::binary);
        std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        LLVMFuzzerTestOneInput(reinterpret_cast<const std::uint8_t*>(data.data()), data.size());
    }
    std::cout << "replayed " << files.size() << " corpus inputs without a crash\n";
    if (files.empty()) return 1;
    return sigv4_fuzz_replay_check ? sigv4_fuzz_replay_check() : 0;
}
