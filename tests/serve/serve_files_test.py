#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""`presign serve` end to end for "Your files": GET /files and DELETE /files against the real
binary and its store, the way the page uses them (presigned ListObjectsV2, DeleteObject).

usage: serve_files_test.py PRESIGN_BINARY
"""
import os
import shutil
import signal
import sys
import tempfile
import time
import urllib.parse
import xml.etree.ElementTree as ET
from concurrent.futures import ThreadPoolExecutor

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from serve_support import Serve, api_json, check, failures, request, s3_code, share_link, upload  # noqa: E402

NS = "{http://s3.amazonaws.com/doc/2006-03-01/}"


def list_page(serve, cursor=None):
    """One GET /files ticket, sent. Returns (ticket, status, parsed ListBucketResult or body)."""
    path = "/files" + ("?cursor=" + urllib.parse.quote(cursor, safe="") if cursor else "")
    status, ticket, _ = api_json(serve, "GET", path)
    if status != 200:
        return ticket, status, None
    s3_status, body, _ = request(ticket["method"], ticket["url"])
    return ticket, s3_status, ET.fromstring(body) if s3_status == 200 else body


def list_all(serve):
    """Every object of the caller, following NextContinuationToken: ([(key, size)], pages)."""
    found, pages, cursor = [], 0, None
    while True:
        _, status, result = list_page(serve, cursor)
        if not check(status == 200, "listing page %d answers 200" % (pages + 1)):
            return found, pages
        pages += 1
        encoded = result.findtext(NS + "EncodingType") == "url"
        for item in result.iter(NS + "Contents"):
            key = item.findtext(NS + "Key")
            found.append((urllib.parse.unquote_plus(key) if encoded else key, int(item.findtext(NS + "Size"))))
        cursor = result.findtext(NS + "NextContinuationToken")
        if result.findtext(NS + "IsTruncated") != "true" or not cursor:
            return found, pages


def display_name(key):
    return key[key.rfind("/") + 1:]


def main():
    binary = sys.argv[1]
    scratch = tempfile.mkdtemp(prefix="presign-serve-files-")
    serve = Serve(binary, os.path.join(scratch, "data"), "--bucket", "presign")
    try:
        # Three uploads whose names need every kind of escaping.
        names = ["report 2026.pdf", "a+b%c&d=e.txt", "\u00e9t\u00e9 \u2603 \ud55c\uae00.txt"]
        contents = {}
        for i, name in enumerate(names):
            content = os.urandom(100 + i)
            ticket, put_status, _ = upload(serve, name, content)
            check(put_status == 200, "upload of %r" % name)
            contents[ticket["key"]] = content
        listed, pages = list_all(serve)
        check(sorted(listed) == sorted((k, len(v)) for k, v in contents.items()) and pages == 1,
              "GET /files lists exactly the 3 uploads with their sizes: %r" % listed)
        check(sorted(display_name(k) for k, _ in listed) == sorted(names),
              "each display name is recovered from its key alone")
        ticket, _, result = list_page(serve)
        check(ticket["prefix"] == "users/local/" and result.findtext(NS + "Prefix") == "users/local/" and
              result.findtext(NS + "KeyCount") == "3", "the listing is of the caller's prefix only")

        # Delete one; its link stops working; deleting again is still 204.
        doomed = next(k for k in contents if display_name(k) == names[1])
        link = share_link(serve, doomed)
        check(request("GET", link)[0] == 200, "the share link works before the delete")
        status, ticket, _ = api_json(serve, "DELETE", "/files?key=" + urllib.parse.quote(doomed, safe=""))
        check(status == 200 and ticket["method"] == "DELETE" and ticket["key"] == doomed, "DELETE /files ticket")
        status, body, _ = request("DELETE", ticket["url"])
        check(status == 204 and body == b"", "the presigned DeleteObject answers 204")
        status, _, _ = request("DELETE", ticket["url"])
        check(status == 204, "DeleteObject of a missing key: 204 again")
        listed, _ = list_all(serve)
        check(sorted(k for k, _ in listed) == sorted(k for k in contents if k != doomed),
              "the listing after the delete has the 2 others")
        status, body, _ = request("GET", link)
        check(status == 404 and s3_code(body) == "NoSuchKey", "the deleted file's share link is refused (404)")

        # Re-targeted tickets fail the store's signature check.
        keep = sorted(k for k in contents if k != doomed)
        status, ticket, _ = api_json(serve, "DELETE", "/files?key=" + urllib.parse.quote(keep[0], safe=""))
        parts = urllib.parse.urlsplit(ticket["url"])
        other_path = "/presign/" + urllib.parse.quote(keep[1], safe="/")
        status, body, _ = request("DELETE", urllib.parse.urlunsplit(parts._replace(path=other_path)))
        check(status == 403 and s3_code(body) == "SignatureDoesNotMatch",
              "a delete ticket re-targeted at another key: 403 SignatureDoesNotMatch")
        status, list_ticket, _ = api_json(serve, "GET", "/files")
        for changed in (list_ticket["url"].replace("prefix=users%2Flocal%2F", "prefix="),
                        list_ticket["url"].replace("prefix=users%2Flocal%2F", "prefix=users%2F"),
                        list_ticket["url"].replace("max-keys=1000", "max-keys=5")):
            status, body, _ = request("GET", changed)
            check(status == 403 and s3_code(body) == "SignatureDoesNotMatch",
                  "a listing ticket with a changed prefix or max-keys: 403 SignatureDoesNotMatch")
        check(len(list_all(serve)[0]) == 2, "nothing was deleted by the refused tickets")

        # A bad cursor is a JSON 400, never a signature.
        for cursor in ("x" * 1025, "has space", "caf\u00e9"):
            status, answer, headers = api_json(serve, "GET", "/files?cursor=" + urllib.parse.quote(cursor, safe=""))
            check(status == 400 and answer["error"]["code"] == "invalid_cursor" and "url" not in answer and
                  headers.get("content-type") == "application/json", "bad cursor %r: 400 invalid_cursor" % cursor[:12])
        status, answer, _ = api_json(serve, "DELETE", "/files?key=" + urllib.parse.quote("users/other/x/a.txt"))
        check(status == 403 and answer["error"]["code"] == "key_outside_prefix", "DELETE of another prefix: 403")

        # The store answers the page's CORS preflights for the listing (GET on the bucket) and
        # the delete (DELETE on an object).
        for method, url in (("GET", list_ticket["url"]), ("DELETE", ticket["url"])):
            status, _, headers = request("OPTIONS", url, headers={"Origin": serve.api,
                                                                  "Access-Control-Request-Method": method})
            check(status == 200 and method in headers.get("access-control-allow-methods", ""),
                  "store preflight allows %s from the page's origin" % method)

        # 1,200 more files: the listing pages at 1000 and the cursor carries on.
        started = time.time()
        with ThreadPoolExecutor(max_workers=4) as pool:
            results = list(pool.map(lambda i: upload(serve, "bulk %04d.bin" % i, b"x")[1], range(1200)))
        check(results.count(200) == 1200, "1,200 uploads (%.1f s)" % (time.time() - started))
        started = time.time()
        listed, pages = list_all(serve)
        check(len(listed) == 1202 and pages == 2, "1,202 files listed in %d pages (%.2f s)" %
              (pages, time.time() - started))
        check(len(set(k for k, _ in listed)) == 1202, "no file listed twice across pages")
    finally:
        code = serve.stop(signal.SIGTERM)
    check(code == 0, "serve stops cleanly")
    check(not any("X-Amz-Signature" in line for line in serve.lines), "no signature in the output")
    shutil.rmtree(scratch, ignore_errors=True)
    print("%d failure(s)" % len(failures) if failures else "all passed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
