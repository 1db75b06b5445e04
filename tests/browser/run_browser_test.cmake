# SPDX-License-Identifier: Apache-2.0
# Runs the browser test when its prerequisites are there; otherwise prints "skipped: ..." and passes,
# unless the environment says CI=true, where a missing prerequisite is a failure.
if(NOT SCRIPT)
    set(SCRIPT upload.test.mjs)
endif()
set(missing "")
if(NOT NODE OR NOT EXISTS "${NODE}")
    list(APPEND missing "node")
endif()
if(NOT EXISTS "${TEST_DIR}/node_modules/playwright-core/package.json")
    list(APPEND missing "${TEST_DIR}/node_modules/playwright-core (npm ci --prefix tests/browser)")
endif()
if(NOT EXISTS "${CHROMIUM}")
    list(APPEND missing "${CHROMIUM} (apt-get install -y chromium)")
endif()
if(NOT PRESIGN OR NOT EXISTS "${PRESIGN}")
    list(APPEND missing "the presign binary (target presign)")
endif()

if(missing)
    list(JOIN missing ", " missing_text)
    if("$ENV{CI}" STREQUAL "true")
        message(FATAL_ERROR "browser test cannot run under CI=true, missing: ${missing_text}")
    endif()
    message("skipped: browser test needs ${missing_text}")
    return()
endif()

execute_process(
    COMMAND "${NODE}" "${TEST_DIR}/${SCRIPT}" "${PRESIGN}"
    WORKING_DIRECTORY "${TEST_DIR}"
    RESULT_VARIABLE result)
if(NOT result EQUAL 0)
    message(FATAL_ERROR "browser test failed (${result})")
endif()
