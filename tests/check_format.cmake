# SPDX-License-Identifier: Apache-2.0
# Checks that every C++ file of the project is as .clang-format says (clang-format 14, Debian 12's):
# lists each file that is not and fails. Fix with: clang-format-14 -i <files>.
# Inputs: CLANG_FORMAT (the program), SOURCE_DIR (the project's root).
file(GLOB_RECURSE sources RELATIVE "${SOURCE_DIR}"
    "${SOURCE_DIR}/lib/*.cpp" "${SOURCE_DIR}/lib/*.hpp" "${SOURCE_DIR}/lib/*.h"
    "${SOURCE_DIR}/adapters/*.cpp" "${SOURCE_DIR}/adapters/*.hpp" "${SOURCE_DIR}/adapters/*.h"
    "${SOURCE_DIR}/tests/*.cpp" "${SOURCE_DIR}/tests/*.hpp" "${SOURCE_DIR}/tests/*.h"
    "${SOURCE_DIR}/examples/*.cpp" "${SOURCE_DIR}/examples/*.hpp")
list(FILTER sources EXCLUDE REGEX "(^|/)node_modules/")
list(LENGTH sources count)
if(count EQUAL 0)
    message(FATAL_ERROR "no C++ files found under ${SOURCE_DIR}")
endif()
set(unformatted "")
foreach(source IN LISTS sources)
    execute_process(COMMAND "${CLANG_FORMAT}" --dry-run -Werror "${source}"
        WORKING_DIRECTORY "${SOURCE_DIR}" RESULT_VARIABLE result OUTPUT_QUIET ERROR_QUIET)
    if(NOT result EQUAL 0)
        list(APPEND unformatted "${source}")
    endif()
endforeach()
if(unformatted)
    list(JOIN unformatted "\n  " listed)
    message(FATAL_ERROR "not formatted as .clang-format says (clang-format-14 -i <file>):\n  ${listed}")
endif()
message("${count} C++ files formatted as .clang-format says")
