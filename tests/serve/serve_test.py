#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""`presign serve` end to end on 127.0.0.1: page, API, store, refusals, concurrency, restart,
credentials, signals and a taken port.  usage: serve_test.py PRESIGN_BINARY"""
import concurrent.futures
import hashlib
import http.client
import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
import urllib.parse

from serve_support import Serve, api_json, check, finish, profile_env, request, s3_code, share_link, upload


def check_one_connection(serve):
    """Several API answers on one keep-alive connection (the JSON leaves with the headers in one
    send): each is framed by its Content-Length, parses as JSON, and is logged."""
    parts = urllib.parse.urlsplit(serve.api)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    ticket_body = json.dumps({"filename": "one.txt", "contentType": "text/plain", "size": 3})
    asks = [("POST", "/uploads", ticket_body, 200), ("POST", "/uploads", "{", 400),
            ("GET", "/nope-not-a-route", None, 404), ("HEAD", "/uploads", None, None),
            ("OPTIONS", "/uploads", None, None), ("POST", "/uploads", ticket_body, 200)]
    answers = []
    for method, path, body, want in asks:
        headers = {"Origin": serve.api}
        if body is not None:
            headers["Content-Type"] = "application/json"
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        data = response.read()
        length = response.getheader("Content-Length")
        framed = length is not None and int(length) == len(data)
        parsed = None
        if data:
            try:
                parsed = json.loads(data)
            except ValueError:
                pass
        answers.append((method, path, response.status))
        if want is not None:
            check(response.status == want, "%s %s on one connection answers %d (got %d)"
                  % (method, path, want, response.status))
            check(framed and isinstance(parsed, dict), "%s %s: JSON body framed by Content-Length (%r)"
                  % (method, path, data[:80]))
        if want == 200:
            check(parsed is not None and "url" in parsed and "key" in parsed, "POST /uploads answers a ticket")
            check(response.getheader("Access-Control-Allow-Origin") == serve.api, "CORS header with the answer")
    connection.close()
    # The access log is written in batches: the lines appear within a moment.
    deadline = time.time() + 5
    while time.time() < deadline and sum('"route":"POST /uploads"' in l for l in serve.lines) < 3:
        time.sleep(0.05)
    check(sum('"route":"POST /uploads"' in l for l in serve.lines) >= 3, "the API's requests are logged")


def main():
    binary = sys.argv[1]
    scratch = tempfile.mkdtemp(prefix="presign-serve-test-")
    data_dir = os.path.join(scratch, "data")
    serve = Serve(binary, data_dir, "--bucket", "presign")
    try:
        text = "\n".join(serve.lines)
        check(serve.api.startswith("http://127.0.0.1:") and serve.s3.startswith("http://127.0.0.1:"),
              "listening line names both listeners")
        check("one local user" in text, "start message says there is one local user")
        secret_line = open(os.path.join(data_dir, "credentials")).read().split("aws_secret_access_key = ")[1].split()[0]
        check(secret_line not in text, "the secret is not printed")
        mode = stat.S_IMODE(os.stat(os.path.join(data_dir, "credentials")).st_mode)
        check(mode == 0o600, "credentials file has mode 0600 (got %o)" % mode)

        status, page, headers = request("GET", serve.api + "/")
        check(status == 200 and headers.get("content-type", "").startswith("text/html"), "GET / serves the page")
        status, _, _ = request("GET", serve.api + "/nope-not-a-route")
        check(status == 404, "unknown API path answers 404")
        check_one_connection(serve)

        # Upload, share, download.
        content = os.urandom(256 * 1024)
        ticket, put_status, put_body = upload(serve, "report 2024.pdf", content, "application/pdf")
        check(put_status == 200, "PUT with the returned headers succeeds (%s %r)" % (put_status, put_body[:200]))
        key = ticket["key"]
        check(key.startswith("users/local/") and key.endswith("/report 2024.pdf"), "key is in the local user's prefix")
        link = share_link(serve, key)
        status, data, headers = request("GET", link)
        check(status == 200 and data == content, "share link downloads the same bytes")
        check(headers.get("content-disposition", "").startswith("attachment;"), "download is an attachment")
        status, data, headers = request("GET", link, headers={"Range": "bytes=100-199"})
        check(status == 206 and data == content[100:200], "share link honours Range")

        # Refusals, with S3's codes.
        tampered = link[:-1] + ("0" if link[-1] != "0" else "1")
        status, data, _ = request("GET", tampered)
        check(status == 403 and s3_code(data) == "SignatureDoesNotMatch", "tampered link: 403 SignatureDoesNotMatch")
        status, data, _ = request("PUT", link, b"replaced", {"Content-Type": "application/pdf"})
        check(status == 403 and s3_code(data) == "SignatureDoesNotMatch", "download link used to PUT: 403")
        status, data, _ = request("DELETE", link)
        check(status == 403 and s3_code(data) == "SignatureDoesNotMatch", "download link used to DELETE: 403")
        other_key = link.replace("report%202024.pdf", "other.pdf")
        status, data, _ = request("GET", other_key)
        check(status == 403 and s3_code(data) == "SignatureDoesNotMatch", "link with another key: 403")
        status, ticket2, _ = api_json(serve, "POST", "/uploads", {"filename": "a.txt", "contentType": "text/plain", "size": 10})
        headers2 = dict(ticket2["headers"])
        status, data, _ = request("PUT", ticket2["url"], b"01234567890", {k: v for k, v in headers2.items() if k.lower() != "content-length"})
        check(status == 403 and s3_code(data) == "SignatureDoesNotMatch", "upload of another size than signed: 403")
        headers2_typed = dict(headers2, **{"Content-Type": "text/html"})
        status, data, _ = request("PUT", ticket2["url"], b"0123456789", headers2_typed)
        check(status == 403 and s3_code(data) == "SignatureDoesNotMatch", "upload with another content type: 403")
        status, data, _ = request("GET", share_link(serve, ticket2["key"]))
        check(status == 404 and s3_code(data) == "NoSuchKey", "refused uploads left no object: 404 NoSuchKey")
        checksum_ticket = api_json(serve, "POST", "/uploads", {
            "filename": "c.bin", "contentType": "application/octet-stream", "size": 4,
            "sha256": __import__("base64").b64encode(hashlib.sha256(b"good").digest()).decode()})[1]
        status, data, _ = request("PUT", checksum_ticket["url"], b"evil", dict(checksum_ticket["headers"]))
        check(status == 400 and s3_code(data) == "BadDigest", "body not matching the signed checksum: 400 BadDigest")
        status, data, _ = request("GET", share_link(serve, checksum_ticket["key"]))
        check(status == 404, "checksum mismatch left no object")

        # An expired link, made with the printed profile and the presign CLI at a past date.
        env = profile_env(serve)
        made = subprocess.run([binary, "get", "s3://presign/" + key, "--date", "2020-01-01T00:00:00Z",
                               "--expires", "60"], env=env, capture_output=True, text=True, timeout=30)
        if check(made.returncode == 0, "presign get with the printed profile works: " + made.stderr.strip()):
            expired = made.stdout.strip().splitlines()[-1]
            check(expired.startswith(serve.s3 + "/presign/"), "the profile points presign at the local store")
            status, data, _ = request("GET", expired)
            check(status == 403 and s3_code(data) == "AccessDenied" and b"Request has expired" in data,
                  "expired link: 403 AccessDenied, Request has expired")
            fresh = subprocess.run([binary, "get", "s3://presign/" + key], env=env, capture_output=True,
                                   text=True, timeout=30).stdout.strip().splitlines()[-1]
            status, data, _ = request("GET", fresh)
            check(status == 200 and data == content, "a link from the presign CLI and the profile downloads")

        # The AWS CLI with the printed profile.
        if shutil.which("aws"):
            listed = subprocess.run(["aws", "s3", "ls", "s3://presign/", "--recursive"], env=env,
                                    capture_output=True, text=True, timeout=60)
            check(listed.returncode == 0 and "report 2024.pdf" in listed.stdout,
                  "aws s3 ls with the printed profile: " + listed.stderr.strip())
        else:
            print("skipped: aws CLI not installed")

        # CORS for the page's origin on the store.
        status, _, headers = request("OPTIONS", ticket["url"], headers={
            "Origin": serve.api, "Access-Control-Request-Method": "PUT",
            "Access-Control-Request-Headers": "content-type"})
        check(status == 200 and headers.get("access-control-allow-origin") == serve.api, "store preflight for the page")
        status, _, headers = request("OPTIONS", serve.api + "/uploads", headers={
            "Origin": serve.api, "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type"})
        check(status == 204, "API preflight answers 204")

        # 32 concurrent uploads through the API, then every one downloaded and compared.
        bodies = [os.urandom(64 * 1024 + i * 1031) for i in range(32)]

        def one(i):
            t, s, _ = upload(serve, "file-%02d.bin" % i, bodies[i])
            return t["key"] if s == 200 else None

        with concurrent.futures.ThreadPoolExecutor(max_workers=32) as pool:
            keys = list(pool.map(one, range(32)))
        check(all(keys) and len(set(keys)) == 32, "32 concurrent uploads all succeeded with distinct keys")
        good = 0
        for i, k in enumerate(keys):
            if k:
                status, data, _ = request("GET", share_link(serve, k))
                good += status == 200 and data == bodies[i]
        check(good == 32, "32 concurrent uploads: every download matches its upload (%d/32)" % good)

        # A taken port: a clear message and its own exit code.
        port = serve.api.rsplit(":", 1)[1]
        taken = subprocess.run([binary, "serve", "--port", port, "--s3-port", "0", "--data-dir",
                                os.path.join(scratch, "other")], capture_output=True, text=True, timeout=30)
        check(taken.returncode == 8 and "already in use" in taken.stderr,
              "a taken API port: exit 8 and 'already in use' (%d %s)" % (taken.returncode, taken.stderr.strip()))
        s3_port = serve.s3.rsplit(":", 1)[1]
        taken = subprocess.run([binary, "serve", "--port", "0", "--s3-port", s3_port, "--data-dir",
                                os.path.join(scratch, "other")], capture_output=True, text=True, timeout=30)
        check(taken.returncode == 8 and "already in use" in taken.stderr, "a taken S3 port: exit 8")
    finally:
        code = serve.stop(signal.SIGTERM)
    check(code == 0 and any("stopped" in line for line in serve.lines), "SIGTERM: clean stop, exit 0")
    check(not any("X-Amz-Signature" in line for line in serve.lines), "no signature in the output")

    # Restart on the same data: same credentials, the objects are still there.
    again = Serve(binary, data_dir)
    try:
        first_id = [l for l in serve.lines if "access key id" in l][0].split("access key id ")[1].split()[0]
        check(any(("access key id " + first_id) in l and "reused" in l for l in again.lines),
              "restart reuses the generated credentials")
        status, data, _ = request("GET", share_link(again, key))
        check(status == 200 and data == content, "an upload survives a restart")
    finally:
        code = again.stop(signal.SIGINT)
    check(code == 0, "SIGINT: clean stop, exit 0")
    shutil.rmtree(scratch, ignore_errors=True)
    return finish()


if __name__ == "__main__":
    sys.exit(main())
