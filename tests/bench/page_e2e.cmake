# SPDX-License-Identifier: Apache-2.0
# The page's encrypted upload beside its plain upload (issue 19), in headless Chromium against
# presign serve: `cmake --build BUILD --target page_e2e_bench` (needs npm ci --prefix tests/browser).
if(TARGET presign)
    find_program(PRESIGN_BENCH_NODE node)
    if(PRESIGN_BENCH_NODE)
        add_custom_target(page_e2e_bench
            COMMAND ${PRESIGN_BENCH_NODE} ${CMAKE_CURRENT_SOURCE_DIR}/page_e2e_bench.mjs $<TARGET_FILE:presign>
            DEPENDS presign
            USES_TERMINAL
            COMMENT "The page's encrypted upload vs its plain upload (headless Chromium, presign serve)")
    endif()
endif()
