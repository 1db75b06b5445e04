# SPDX-License-Identifier: Apache-2.0
# Multipart benchmark: 1 GiB through the API in parts (4 in flight) vs one PUT vs cp + fsync.
# Run it with: cmake --build BUILD --target multipart_bench
if(TARGET presign AND TARGET presign_serve)
    find_package(Python3 COMPONENTS Interpreter)
    if(Python3_FOUND)
        add_custom_target(multipart_bench
            COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/multipart_bench.py $<TARGET_FILE:presign>
            DEPENDS presign
            USES_TERMINAL
            COMMENT "Benchmarking multipart uploads through presign serve")
    endif()
endif()
