# SPDX-License-Identifier: Apache-2.0
# Lambda benchmarks (included by tests/bench/CMakeLists.txt; built, never run by the test command):
#   lambda_bench       warm handler time (Google Benchmark)
#   lambda_cold_start  the packaged bootstrap: exec -> first /next, exec -> first response (median
#                      of 20), peak RSS, zip size; beside python3 + boto3 when installed
if(TARGET presign_lambda)
    add_executable(lambda_bench ${CMAKE_CURRENT_SOURCE_DIR}/lambda_bench.cpp)
    target_link_libraries(lambda_bench PRIVATE presign::lambda benchmark::benchmark presign_project_options)

    if(TARGET presign_lambda_zip)
        add_executable(lambda_cold_start ${CMAKE_CURRENT_SOURCE_DIR}/lambda_cold_start.cpp)
        target_link_libraries(lambda_cold_start PRIVATE nlohmann_json::nlohmann_json presign_project_options)
        target_include_directories(lambda_cold_start PRIVATE ${PROJECT_SOURCE_DIR}/tests/lambda)
        target_link_libraries(lambda_cold_start PRIVATE presign_httplib)
        target_compile_definitions(lambda_cold_start PRIVATE
            PRESIGN_PACKAGED_BOOTSTRAP="${PROJECT_BINARY_DIR}/adapters/lambda/package/bootstrap"
            PRESIGN_LAMBDA_ZIP="${PRESIGN_LAMBDA_ZIP}")
        add_dependencies(lambda_cold_start presign_lambda_zip)
    endif()
endif()
