# SPDX-License-Identifier: Apache-2.0
# The `presign` command's benchmark is a script; `cmake --build . --target bench_cli` runs it.
if(TARGET presign)
    find_package(Python3 COMPONENTS Interpreter)
    if(Python3_Interpreter_FOUND)
        add_custom_target(bench_cli
            COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/cli_bench.py $<TARGET_FILE:presign>
            DEPENDS presign
            USES_TERMINAL
            COMMENT "presign CLI benchmark (one-shot wall/RSS vs aws s3 presign, batch URLs/s)")
    endif()
endif()
