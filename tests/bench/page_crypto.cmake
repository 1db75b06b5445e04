# SPDX-License-Identifier: Apache-2.0
# Decryption in the recipient page (headless Chromium) beside a plain download of the same file from
# serve's local store, and presign fetch/decrypt/encrypt (issue 19):
# `cmake --build BUILD --target bench_page_crypto`. Needs node, /usr/bin/chromium and
# `npm ci --prefix tests/browser` (the script lives there, beside its playwright-core).
if(TARGET presign)
    find_program(PRESIGN_BENCH_NODE node)
    if(PRESIGN_BENCH_NODE)
        add_custom_target(bench_page_crypto
            COMMAND ${PRESIGN_BENCH_NODE} ${PROJECT_SOURCE_DIR}/tests/browser/decrypt_bench.mjs $<TARGET_FILE:presign>
            WORKING_DIRECTORY ${PROJECT_SOURCE_DIR}/tests/browser
            DEPENDS presign
            USES_TERMINAL
            COMMENT "page decryption (Chromium) beside a plain download, and the CLI's fetch/decrypt/encrypt")
    endif()
endif()
