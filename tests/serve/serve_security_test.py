#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""`presign serve` and issue 18: GET /downloads?QUERY decoded with the service's decoder, on the
shared table (tests/support/query_decoding.json, also run through the Lambda's rawQueryString) row
by row; and an upload ticket writes once (If-None-Match: * is signed; the store answers a replay
with 412 PreconditionFailed and keeps the first upload).
usage: serve_security_test.py PRESIGN_BINARY TABLE_JSON"""
import json
import os
import shutil
import sys
import tempfile
import urllib.parse

from serve_support import Serve, check, finish, request, s3_code, share_link, upload

PREFIX = "users/local/"  # the one local user's prefix


def check_ticket_replay(serve):
    ticket, status, _ = upload(serve, "replay.txt", b"first", "text/plain")
    check(status == 200, "the ticket's first PUT stores the file (got %d)" % status)
    headers = {name.lower(): value for name, value in ticket["headers"].items()}
    check(headers.get("if-none-match") == "*", "the ticket carries If-None-Match: * (%r)" % headers)
    replay_status, replay_body, _ = request(ticket["method"], ticket["url"], b"other", dict(ticket["headers"]))
    check(replay_status == 412 and s3_code(replay_body) == "PreconditionFailed",
          "a replayed ticket gets 412 PreconditionFailed (got %d %r)" % (replay_status, replay_body[:200]))
    stripped = {name: value for name, value in ticket["headers"].items() if name.lower() != "if-none-match"}
    forced_status, forced_body, _ = request(ticket["method"], ticket["url"], b"other", stripped)
    check(forced_status == 403 and s3_code(forced_body) == "SignatureDoesNotMatch",
          "dropping the condition breaks the signature (got %d)" % forced_status)
    link = share_link(serve, ticket["key"])
    got_status, got, _ = request("GET", link) if link else (None, b"", {})
    check(got_status == 200 and got == b"first", "the first upload is what is stored (%r)" % got[:20])


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
        check_ticket_replay(serve)
    finally:
        serve.stop()
        shutil.rmtree(scratch, ignore_errors=True)
    return finish()


if __name__ == "__main__":
    sys.exit(main())
