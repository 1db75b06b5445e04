#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""A 200 MiB file through `presign serve`: POST /uploads, streamed PUT, share link, streamed GET;
equal SHA-256, and serve's memory stays flat.  usage: serve_large_test.py PRESIGN_BINARY"""
import hashlib
import os
import shutil
import sys
import tempfile
import urllib.request

from serve_support import Serve, api_json, check, finish, share_link, stream_put

SIZE = 200 * 1024 * 1024


def main():
    binary = sys.argv[1]
    scratch = tempfile.mkdtemp(prefix="presign-serve-large-")
    source = os.path.join(scratch, "big.bin")
    digest = hashlib.sha256()
    with open(source, "wb") as f:
        remaining = SIZE
        while remaining:
            block = os.urandom(min(remaining, 4 << 20))
            digest.update(block)
            f.write(block)
            remaining -= len(block)
    serve = Serve(binary, os.path.join(scratch, "data"))
    try:
        status, ticket, _ = api_json(serve, "POST", "/uploads",
                                     {"filename": "big.bin", "contentType": "application/octet-stream", "size": SIZE,
                                      "multipart": False})
        check(status == 200, "POST /uploads for 200 MiB")
        status, body = stream_put(ticket["url"], ticket["headers"], source, SIZE)
        check(status == 200, "streamed PUT of 200 MiB (%d %r)" % (status, body[:200]))
        download = hashlib.sha256()
        received = 0
        with urllib.request.urlopen(share_link(serve, ticket["key"]), timeout=300) as response:
            while True:
                block = response.read(1 << 20)
                if not block:
                    break
                received += len(block)
                download.update(block)
        check(received == SIZE and download.hexdigest() == digest.hexdigest(), "download has the same SHA-256")
        peak = serve.peak_rss_kib()
        print("serve peak RSS: %d KiB" % peak)
        check(peak is not None and peak < 128 * 1024, "serve's memory stays flat (peak RSS %d KiB < 128 MiB)" % peak)
    finally:
        check(serve.stop() == 0, "clean stop")
        shutil.rmtree(scratch, ignore_errors=True)
    return finish()


if __name__ == "__main__":
    sys.exit(main())
