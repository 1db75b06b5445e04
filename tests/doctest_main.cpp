// SPDX-License-Identifier: Apache-2.0
// doctest's main, except that a run which passed but found its published test data missing exits
// with 77 (CTest: skipped) instead of 0 (see support/test_data.hpp).
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include "support/test_data.hpp"

int main(int argc, char** argv) {
    doctest::Context context(argc, argv);
    const int failed = context.run();
    if (context.shouldExit() || failed != 0) return failed;
    return test_data::missing_count > 0 ? test_data::skip_exit_code : 0;
}
