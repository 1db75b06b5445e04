// SPDX-License-Identifier: Apache-2.0
// Everything the sigv4 library offers.
#pragma once

#include "sigv4/caches.hpp"
#include "sigv4/credentials.hpp"
#include "sigv4/encoding.hpp"
#include "sigv4/hash.hpp"
#include "sigv4/request.hpp"
#include "sigv4/result.hpp"
#include "sigv4/s3.hpp"
#include "sigv4/s3_multipart.hpp"
#include "sigv4/signer.hpp"
#include "sigv4/time.hpp"
#include "sigv4/verify.hpp"
