# SPDX-License-Identifier: Apache-2.0
# Warning and sanitizer flags shared by every target of this project (not exported to consumers).
add_library(presign_project_options INTERFACE)
target_compile_features(presign_project_options INTERFACE cxx_std_20)
target_compile_options(presign_project_options INTERFACE -Wall -Wextra -Wpedantic -Wshadow -Wconversion
    -Wno-sign-conversion)
# GCC 12 reports false positives inside libstdc++: "maybe-uninitialized" in std::variant at -O2
# (GCC bug 105562) and "restrict" in std::string::assign at -O3 (GCC bug 105329).
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    target_compile_options(presign_project_options INTERFACE -Wno-maybe-uninitialized -Wno-restrict)
endif()
if(SIGV4_WARNINGS_AS_ERRORS)
    target_compile_options(presign_project_options INTERFACE -Werror)
endif()
if(SIGV4_SANITIZE)
    add_compile_options(-fsanitize=${SIGV4_SANITIZE} -fno-omit-frame-pointer -fno-sanitize-recover=all)
    add_link_options(-fsanitize=${SIGV4_SANITIZE})
endif()
