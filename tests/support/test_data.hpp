// SPDX-License-Identifier: Apache-2.0
// Published test data (AWS's SigV4 suite, API Gateway / Lambda events) lives outside the
// repository, at the CMake cache paths SIGV4_TEST_SUITE_DIR and SIGV4_EVENTS_DIR (default
// ../shared/... beside the checkout); an environment variable of the same name overrides the
// path at run time. A test whose data is missing calls missing_test_data(): the binary then exits
// with 77, which CTest reports as skipped (SKIP_RETURN_CODE), never as passed, and CI
// (cmake/dev.sh test) fails on a skipped test labelled "data".
#pragma once

#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <string_view>

namespace test_data {

inline constexpr int skip_exit_code = 77;

/// How many data sets this process found missing (read by tests/doctest_main.cpp).
inline int missing_count = 0;

/// The data directory: the environment variable `variable` when set, else `configured`.
inline std::filesystem::path directory(const char* variable, std::string_view configured) {
    const char* from_environment = std::getenv(variable);
    return from_environment && *from_environment ? std::filesystem::path(from_environment)
                                                 : std::filesystem::path(configured);
}

/// Records a missing data set and says where to put it.
inline void missing(std::string_view what, const std::filesystem::path& where,
                    std::string_view variable) {
    ++missing_count;
    std::cerr << "skipped: " << what << " not found at " << where.string()
              << "; put it there (the default is "
              << "../shared/ beside the repository), or configure -D" << variable
              << "=<dir> (or set the environment variable " << variable << ")\n";
}

}  // namespace test_data
