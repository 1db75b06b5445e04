// SPDX-License-Identifier: Apache-2.0
// `presign` signs without an HTTP stack: loading cpp-httplib (and with it libssl, libcrypto's full
// initialization, zlib and brotli) would cost a one-shot `presign get` more than everything else.
// What needs HTTP lives in the helper program `presign-net`, installed next to `presign`:
// `presign serve` becomes `presign-net serve`, and the container / instance-metadata credential
// providers run as `presign-net credentials`, only when the chain gets that far.
#pragma once

#include <string>
#include <vector>

#include "presign/cli/credential_chain.hpp"

namespace presign::cli {

/// The helper's file name, looked up in the directory of the running executable.
inline constexpr const char* network_helper_name = "presign-net";

/// The helper's absolute path (next to /proc/self/exe); empty when it cannot be determined.
[[nodiscard]] std::string network_helper_path();

/// Replaces this process with `presign-net args...`, run under the name `program_name` (argv[0],
/// which its usage messages show). Returns only on failure, with the exit code after printing a
/// one-line message.
[[nodiscard]] int exec_network_helper(const char* program_name,
                                      const std::vector<std::string>& args);

/// A network_provider that runs `presign-net credentials` (with the process environment, which
/// must be what `env` reads) when container credentials are configured or the instance-metadata
/// service is not disabled, and "none" without starting anything otherwise.
[[nodiscard]] provider_result network_credentials_from_helper(const aws_config& config,
                                                              const env_lookup& env,
                                                              const chain_options& options);

/// The helper side of `presign-net credentials`: one JSON object on stdout, parsed by
/// network_credentials_from_helper. `found` is fetch_network_credentials's answer.
[[nodiscard]] std::string helper_credentials_answer(const provider_result& found);

}  // namespace presign::cli
