// SPDX-License-Identifier: Apache-2.0
// A speed goal stated as a ratio, measured in alternating batches so that a busy machine slows
// both sides alike.
#pragma once

#include <benchmark/benchmark.h>

#include <chrono>
#include <string>

namespace presign_bench {

/// Times `batch` runs of `first`, then `batch` runs of `second`, for as long as the benchmark
/// lasts; sets the counters "<first_name>_ns", "<second_name>_ns" (per run) and "ratio"
/// (first / second).
template <class First, class Second>
void time_alternately(benchmark::State& state, const std::string& first_name, First&& first,
                      const std::string& second_name, Second&& second) {
    using clock = std::chrono::steady_clock;
    constexpr int batch = 256;
    clock::duration first_time{}, second_time{};
    for (auto _ : state) {
        const auto start = clock::now();
        for (int i = 0; i < batch; ++i) first();
        const auto middle = clock::now();
        for (int i = 0; i < batch; ++i) second();
        const auto end = clock::now();
        first_time += middle - start;
        second_time += end - middle;
    }
    const double runs = static_cast<double>(state.iterations()) * batch;
    state.counters[first_name + "_ns"] =
        std::chrono::duration<double, std::nano>(first_time).count() / runs;
    state.counters[second_name + "_ns"] =
        std::chrono::duration<double, std::nano>(second_time).count() / runs;
    state.counters["ratio"] = std::chrono::duration<double>(first_time).count() /
                              std::chrono::duration<double>(second_time).count();
}

}  // namespace presign_bench
