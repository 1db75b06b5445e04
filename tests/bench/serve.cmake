# SPDX-License-Identifier: Apache-2.0
# `presign serve` benchmark: 1 GiB PUT/GET through the local store beside `cp`, peak RSS, and
# POST /uploads requests per second with wrk. Run it with: cmake --build BUILD --target serve_bench
if(TARGET presign AND TARGET presign_serve)
    find_package(Python3 COMPONENTS Interpreter)
    if(Python3_FOUND)
        add_custom_target(serve_bench
            COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/serve_bench.py $<TARGET_FILE:presign>
            DEPENDS presign
            USES_TERMINAL
            COMMENT "Benchmarking presign serve")
    endif()
endif()
