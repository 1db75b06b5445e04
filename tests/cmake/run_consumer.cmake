# SPDX-License-Identifier: Apache-2.0
# cmake -DMODE=find_package|add_subdirectory -DSOURCE_DIR=... -DWORK_DIR=... -P run_consumer.cmake
file(REMOVE_RECURSE ${WORK_DIR})
function(run)
    execute_process(COMMAND ${ARGN} RESULT_VARIABLE code OUTPUT_VARIABLE out ERROR_VARIABLE out)
    if(NOT code EQUAL 0)
        message(FATAL_ERROR "failed (${code}): ${ARGN}\n${out}")
    endif()
endfunction()
set(consumer_args -S ${SOURCE_DIR}/tests/cmake/consumer -B ${WORK_DIR}/consumer -DSIGV4_CONSUME_MODE=${MODE})
if(MODE STREQUAL "find_package")
    run(${CMAKE_COMMAND} -S ${SOURCE_DIR} -B ${WORK_DIR}/lib -DCMAKE_BUILD_TYPE=Release
        -DSIGV4_BUILD_TESTS=OFF -DSIGV4_BUILD_ADAPTERS=OFF -DSIGV4_BUILD_BENCHMARKS=OFF -DSIGV4_INSTALL=ON
        -DCMAKE_INSTALL_PREFIX=${WORK_DIR}/prefix)
    run(${CMAKE_COMMAND} --build ${WORK_DIR}/lib -j2)
    run(${CMAKE_COMMAND} --install ${WORK_DIR}/lib)
    list(APPEND consumer_args -DCMAKE_PREFIX_PATH=${WORK_DIR}/prefix)
else()
    list(APPEND consumer_args -DSIGV4_SOURCE_DIR=${SOURCE_DIR})
endif()
run(${CMAKE_COMMAND} ${consumer_args})
run(${CMAKE_COMMAND} --build ${WORK_DIR}/consumer -j2)
run(${WORK_DIR}/consumer/consumer)
message(STATUS "consumer (${MODE}) built and produced the documented signature")
