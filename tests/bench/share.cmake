# SPDX-License-Identifier: Apache-2.0
# share_bench: redeeming a share link (token check + presign) beside a plain presign (goal: the
# token check without a password <= 1.5x a presign), the redemption through the service, and one
# password check (the KDF).
add_executable(share_bench ${CMAKE_CURRENT_SOURCE_DIR}/share_bench.cpp)
target_link_libraries(share_bench PRIVATE presign::service sigv4::sigv4 benchmark::benchmark presign_project_options)
