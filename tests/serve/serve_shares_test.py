#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""`presign serve` end to end for share links: POST /shares, then the link opened with curl -L
(bytes equal), as JSON, as the recipient page, with a wrong and the right password, after expiry,
after a restart (the secret is reused), and after the file is deleted from the store.

usage: serve_shares_test.py PRESIGN_BINARY
"""
import html
import json
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from serve_support import Serve, api_json, check, failures, request, s3_code, upload  # noqa: E402


def curl(*args):
    """(exit code, stdout bytes, stderr text) of curl with these arguments."""
    done = subprocess.run(["curl", "-sS", *args], capture_output=True, timeout=60)
    return done.returncode, done.stdout, done.stderr.decode(errors="replace")


def make_link(serve, key, **extra):
    status, answer, _ = api_json(serve, "POST", "/shares", {"key": key, **extra})
    check(status == 200, "POST /shares answers 200 (%s)" % (extra or "defaults"))
    return answer


def encrypted_checks(binary, serve, data_dir):
    work = tempfile.mkdtemp(prefix="presign-shares-e2e-")
    try:
        plain = os.urandom(65519 + 1) + "naïve".encode()
        source = os.path.join(work, "Tagebuch 2026.txt")
        with open(source, "wb") as f:
            f.write(plain)
        done = subprocess.run([binary, "encrypt", source, "-o", os.path.join(work, "body.enc")],
                              capture_output=True, timeout=60)
        check(done.returncode == 0, "presign encrypt (%s)" % done.stderr.decode(errors="replace").strip())
        secret = done.stdout.decode().strip()
        with open(os.path.join(work, "body.enc"), "rb") as f:
            body = f.read()
        ticket, put_status, _ = upload(serve, "0f1e2d3c4b5a6978", body)
        check(put_status == 200, "the ciphertext is stored under an opaque name")
        made = make_link(serve, ticket["key"], encrypted=True)
        check(made["encrypted"] is True, "POST /shares answers encrypted: true")
        status, answer, _ = api_json(serve, "POST", "/shares", {"key": ticket["key"], "encrypted": "yes"})
        check(status == 400 and answer["error"]["code"] == "invalid_encrypted", "encrypted must be a boolean")
        status, data, _ = request("GET", made["url"], headers={"Accept": "application/json"})
        check(status == 200 and json.loads(data)["encrypted"] is True, "the link's JSON says encrypted: true")
        status, page, _ = request("GET", made["url"], headers={"Accept": "text/html"})
        check(status == 200 and 'data-encrypted="true"' in page.decode(), "the page gets data-encrypted")
        check('<script src="e2e.js" defer></script>' in page.decode(), "the page loads e2e.js")
        status, script, _ = request("GET", serve.api + "/s/e2e.js")
        check(status == 200 and b"presignE2E" in script, "e2e.js is served beside the links")
        status, data, _ = request("GET", make_link(serve, ticket["key"])["url"], headers={"Accept": "application/json"})
        check(json.loads(data)["encrypted"] is False, "a plain link's JSON says encrypted: false")

        out = os.path.join(work, "out")
        os.mkdir(out)
        done = subprocess.run([binary, "fetch", made["url"] + "#" + secret], cwd=out, capture_output=True, timeout=60)
        check(done.returncode == 0 and done.stdout.decode().strip() == "./Tagebuch 2026.txt",
              "presign fetch <link>#<key> saves under the sealed name (%s)" % done.stderr.decode(errors="replace"))
        with open(os.path.join(out, "Tagebuch 2026.txt"), "rb") as f:
            check(f.read() == plain, "presign fetch decrypts the same bytes")
        done = subprocess.run([binary, "fetch", made["url"], "-o", "x"], cwd=out, capture_output=True, timeout=60)
        check(done.returncode != 0 and b"key is missing" in done.stderr and not os.path.exists(os.path.join(out, "x")),
              "presign fetch without the fragment refuses in words and saves nothing")
        logged = "\n".join(serve.lines)
        check(secret not in logged, "the key never reaches serve's log")
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main():
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    if shutil.which("curl") is None:
        raise SystemExit("curl is required (cmake/dev.sh installs it)")
    binary = sys.argv[1]
    data_dir = tempfile.mkdtemp(prefix="presign-shares-")
    content = os.urandom(70_000) + "ünïcode €".encode()
    serve = Serve(binary, data_dir, "--share-max", "2d")
    try:
        ticket, put_status, _ = upload(serve, "report 2024 (final).bin", content)
        check(put_status == 200, "upload stored")
        key = ticket["key"]

        secret_file = os.path.join(data_dir, "link-secret")
        mode = stat.S_IMODE(os.stat(secret_file).st_mode)
        check(mode == 0o600, "the link secret is kept in data-dir/link-secret with mode 0600 (%o)" % mode)
        with open(secret_file) as f:
            secret_text = f.read().strip()

        link = make_link(serve, key)
        check(link["url"].startswith(serve.api + "/s/"), "the link is <api>/s/<token>")
        check(link["expiresIn"] == 86400 and link["passwordRequired"] is False, "1 day by default, no password")
        status, answer, _ = api_json(serve, "POST", "/shares", {"key": key, "expiresIn": 3 * 86400})
        check(status == 400 and answer["error"]["code"] == "invalid_expires_in", "--share-max 2d caps expiresIn")

        code, body, err = curl("-L", "--fail", link["url"])
        check(code == 0 and body == content, "curl -L on the link downloads the same bytes (%s)" % err.strip())
        code, headers, _ = curl("-o", "/dev/null", "-D", "-", link["url"])
        head = headers.decode(errors="replace")
        check(head.startswith("HTTP/1.1 302"), "curl without -L sees 302")
        for wanted in ("Referrer-Policy: no-referrer", "X-Robots-Tag: noindex", "Cache-Control: no-store"):
            check(wanted.lower() in head.lower(), "the link answers " + wanted)
        location = re.search(r"(?im)^location: (\S+)", head)
        check(location is not None and "X-Amz-Expires=300" in location.group(1), "the redirect is a 300-s URL")

        status, data, headers = request("GET", link["url"], headers={"Accept": "application/json"})
        answer = json.loads(data)
        check(status == 200 and answer["filename"] == "report 2024 (final).bin", "JSON: status and filename")
        status, fetched, _ = request("GET", answer["url"])
        check(status == 200 and fetched == content, "JSON: the url downloads the same bytes")

        status, page, headers = request("GET", link["url"], headers={"Accept": "text/html"})
        text = page.decode()
        check(status == 200 and headers["content-type"].startswith("text/html"), "a browser gets the page")
        check("report 2024 (final).bin" in text and "data-password=\"none\"" in text, "the page names the file")
        check("script-src 'self'" in text, "the page carries the main page's CSP")
        head_url = html.unescape(re.search(r'data-head-url="([^"]*)"', text).group(1))
        status, _, head_headers = request("HEAD", head_url)
        check(status == 200 and int(head_headers["content-length"]) == len(content),
              "the page's pre-signed HEAD gives the file's size")
        for asset in ("share.js", "style.css"):
            status, _, _ = request("GET", serve.api + "/s/" + asset)
            check(status == 200, "the page's " + asset + " is served beside the links")

        # A password.
        locked = make_link(serve, key, password="open sesame", expiresIn=3600)
        check(locked["passwordRequired"] is True, "passwordRequired true")
        status, data, _ = request("GET", locked["url"], headers={"Accept": "application/json"})
        check(status == 403 and json.loads(data)["error"]["code"] == "password_required", "no password: 403")
        code, body, _ = curl("-L", "-d", '{"password":"open sesam"}', "-H", "Content-Type: application/json",
                             "-w", "%{http_code}", "-o", "/dev/null", locked["url"])
        check(body == b"403", "a wrong password: 403")
        code, body, err = curl("-L", "--fail", "-d", '{"password":"open sesame"}', "-H",
                               "Content-Type: application/json", locked["url"])
        check(code == 0 and body == content, "the right password: curl -L downloads the bytes (%s)" % err.strip())
        status, data, _ = request("POST", locked["url"], json.dumps({"password": "open sesame"}).encode(),
                                  {"Accept": "application/json", "Content-Type": "application/json"})
        check(status == 200 and "X-Amz-Signature=" in json.loads(data)["url"], "the right password: JSON url")

        # End-to-end encrypted (issue 19): `presign encrypt`, uploaded under an opaque name, shared
        # with "encrypted": true. The flag is in the token; the server never sees the key.
        encrypted_checks(binary, serve, data_dir)

        # Expiry: a one-second link.
        short = make_link(serve, key, expiresIn=1)
        time.sleep(2.2)
        status, data, _ = request("GET", short["url"], headers={"Accept": "application/json"})
        check(status == 404 and json.loads(data)["error"]["code"] == "not_found", "an expired link is 404")
        code, body, _ = curl("-w", "%{http_code}", "-o", "/dev/null", short["url"])
        check(body == b"404", "curl on an expired link: 404, no redirect")
        status, page, _ = request("GET", short["url"], headers={"Accept": "text/html"})
        check(status == 404 and "This link has expired or does not exist." in page.decode(),
              "the expired link's page says so in words")
        tampered = link["url"][:-3] + ("AAA" if not link["url"].endswith("AAA") else "BBB")
        status, data2, _ = request("GET", tampered, headers={"Accept": "application/json"})
        check(status == 404 and data2 == data, "a tampered link: the same 404 as an expired one")
        status, _, _ = request("GET", serve.api + "/s/" + "A" * 3000)
        check(status == 404, "an over-long token: 404")

        logged = "\n".join(serve.lines)
        token = link["url"].rsplit("/", 1)[1]
        check(token[:20] not in logged, "no token in the log")
        check("open sesame" not in logged and secret_text not in logged, "no password or secret in the log")
        check(re.search(r'"route":"GET /s/~[0-9a-f]{12}"', logged) is not None, "the log names links by a hash")
    finally:
        code = serve.stop()
        check(code == 0, "serve stops cleanly")

    # The secret is reused: links survive a restart.
    serve = Serve(binary, data_dir)
    try:
        code, body, _ = curl("-L", "--fail", link["url"].replace(link["url"].split("/s/")[0], serve.api))
        check(code == 0 and body == content, "after a restart the link still works (secret reused)")
        check(any("link-secret (reused" in line for line in serve.lines), "serve says it reused the secret")

        # Revoking: delete the file. The page's HEAD says 404, which share.js puts in words.
        status, ticket, _ = api_json(serve, "DELETE", "/files?key=" + urllib.parse.quote(key, safe=""))
        check(status == 200, "DELETE /files signs a delete")
        status, _, _ = request(ticket["method"], ticket["url"])
        check(status == 204, "the file is deleted from the store")
        url = link["url"].replace(link["url"].split("/s/")[0], serve.api)
        status, page, _ = request("GET", url, headers={"Accept": "text/html"})
        head_url = html.unescape(re.search(r'data-head-url="([^"]*)"', page.decode()).group(1))
        status, _, _ = request("HEAD", head_url)
        check(status == 404, "after deleting, the page's pre-signed HEAD answers 404")
        status, script, _ = request("GET", serve.api + "/s/share.js")
        check(b"This file is no longer available" in script, "the page turns that 404 into words")
        status, body, _ = request("GET", url)
        check(status == 404 and s3_code(body) == "NoSuchKey", "curl -L after deleting: the store's 404")
    finally:
        code = serve.stop()
        check(code == 0, "serve stops cleanly after the restart")
        shutil.rmtree(data_dir, ignore_errors=True)

    if failures:
        print("%d check(s) failed" % len(failures))
        sys.exit(1)
    print("all share-link checks passed")


if __name__ == "__main__":
    main()
