# SPDX-License-Identifier: Apache-2.0
# Runs a data test with its data directory pointed at nothing: it must exit 77 (CTest: skipped)
# and say where the data belongs. cmake -DBINARY=... -DVARIABLE=... -DMISSING=... -P expect_skip.cmake
set(ENV{${VARIABLE}} "${MISSING}")
execute_process(COMMAND "${BINARY}" RESULT_VARIABLE status OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT status EQUAL 77)
    message(FATAL_ERROR "${BINARY} without its data exited with '${status}', not 77 (skipped):\n${out}${err}")
endif()
if(NOT err MATCHES "skipped: .* not found at ${MISSING}; put it there .*-D${VARIABLE}=")
    message(FATAL_ERROR "${BINARY} without its data does not say where to put it:\n${out}${err}")
endif()
message(STATUS "skipped as it must, saying: ${err}")
