// SPDX-License-Identifier: Apache-2.0
// Steps 5 and 6 of the credential chain, in-process: container credentials and EC2 instance
// metadata (IMDSv2) over cpp-httplib. Linked only by programs that already carry an HTTP stack
// (`presign-net`, the helper that serves and fetches these for `presign`).
#pragma once

#include "presign/cli/credential_chain.hpp"

namespace presign::cli {

/// Container credentials (AWS_CONTAINER_CREDENTIALS_RELATIVE_URI / _FULL_URI), then the EC2
/// instance-metadata service; "none" when neither is configured or reachable. A network_provider.
[[nodiscard]] provider_result fetch_network_credentials(const aws_config& config,
                                                        const env_lookup& env,
                                                        const chain_options& options);

}  // namespace presign::cli
