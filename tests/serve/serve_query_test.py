#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""`presign serve` decodes GET /downloads?QUERY with the service's decoder: the shared table
(tests/support/query_decoding.json, also run through the Lambda's rawQueryString) row by row.
usage: serve_query_test.py PRESIGN_BINARY TABLE_JSON"""
import json
import os
import shutil
import sys
import tempfile
import urllib.parse

from serve_support import Serve, check, finish, request

PREFIX = "users/local/"  # the one local user's prefix


def main():
    binary, table_path = sys.argv[1], sys.argv[2]
    with open(table_path, encoding="utf-8") as table:
        rows = json.load(table)["rows"]
    scratch = tempfile.mkdtemp(prefix="presign-serve-query-")
    serve = Serve(binary, os.path.join(scratch, "data"), "--bucket", "presign")
    try:
        check(len(rows) >= 10, "the table has its rows")
        for row in rows:
            raw = row["raw"].replace("{prefix}", PREFIX)
            # Sent as is: urllib would not re-encode an already encoded target.
            status, body, _ = request("GET", serve.api + "/downloads?" + raw)
            answer = json.loads(body) if body else {}
            if "error" in row:
                error = answer.get("error", {})
                check(status == 400 and error.get("code") == "invalid_query" and row["error"] in error.get("message", ""),
                      "%s: 400 invalid_query naming %s (got %d %r)" % (raw, row["error"], status, answer))
                continue
            params = [(name.replace("{prefix}", PREFIX), value.replace("{prefix}", PREFIX)) for name, value in row["query"]]
            keys = [value for name, value in params if name == "key"] or [value for name, value in params if name == "file"]
            want = keys[0]
            url = answer.get("url", "")
            signed_key = urllib.parse.unquote(urllib.parse.urlsplit(url).path).split("/", 2)[-1] if url else None
            check(status == 200 and answer.get("filename") == want.rsplit("/", 1)[1] and signed_key == want,
                  "%s: decoded key %r (got %d, filename %r, signed key %r)"
                  % (raw, want, status, answer.get("filename"), signed_key))
    finally:
        serve.stop()
        shutil.rmtree(scratch, ignore_errors=True)
    return finish()


if __name__ == "__main__":
    sys.exit(main())
