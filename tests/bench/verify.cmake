# SPDX-License-Identifier: Apache-2.0
# verify_bench: verify of a presigned S3 GET beside presigning it (goal: verify <= 1.5x presign).
add_executable(verify_bench ${CMAKE_CURRENT_SOURCE_DIR}/verify_bench.cpp)
target_link_libraries(verify_bench PRIVATE sigv4::sigv4 benchmark::benchmark presign_project_options)
