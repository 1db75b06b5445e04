# SPDX-License-Identifier: Apache-2.0
# End-to-end encryption in the CLI: `cmake --build . --target bench_crypto` runs the script.
if(TARGET presign)
    find_package(Python3 COMPONENTS Interpreter)
    if(Python3_Interpreter_FOUND)
        add_custom_target(bench_crypto
            COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/crypto_bench.py $<TARGET_FILE:presign>
            DEPENDS presign
            USES_TERMINAL
            COMMENT "presign encrypt/decrypt throughput beside cp of the same file")
    endif()
endif()
