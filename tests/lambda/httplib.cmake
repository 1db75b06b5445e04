# SPDX-License-Identifier: Apache-2.0
# The in-test Runtime API server uses cpp-httplib. Debian's libcpp-httplib-dev ships the split
# build (declarations in httplib.h, code in libcpp-httplib.so): when presign_httplib carries no
# implementation, test binaries link Debian's library with the configuration it was built with.
function(presign_lambda_link_httplib target)
    target_link_libraries(${target} PRIVATE presign_httplib)
    get_target_property(dirs presign_httplib INTERFACE_INCLUDE_DIRECTORIES)
    get_target_property(libs presign_httplib INTERFACE_LINK_LIBRARIES)
    find_file(header httplib.h PATHS ${dirs} NO_DEFAULT_PATH NO_CACHE)
    if(header)
        file(STRINGS "${header}" implementation REGEX "^inline .*ClientImpl::send\\(" LIMIT_COUNT 1)
    endif()
    if(NOT implementation AND NOT "${libs}" MATCHES "httplib")
        find_library(PRESIGN_CPP_HTTPLIB_LIBRARY cpp-httplib)
        find_package(OpenSSL 3.0 REQUIRED COMPONENTS SSL Crypto)
        if(PRESIGN_CPP_HTTPLIB_LIBRARY)
            target_link_libraries(${target} PRIVATE ${PRESIGN_CPP_HTTPLIB_LIBRARY} OpenSSL::SSL)
            target_compile_definitions(${target} PRIVATE CPPHTTPLIB_OPENSSL_SUPPORT CPPHTTPLIB_ZLIB_SUPPORT
                CPPHTTPLIB_BROTLI_SUPPORT)
        endif()
    endif()
endfunction()
