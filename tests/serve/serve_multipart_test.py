#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Multipart uploads through `presign serve`: 300 MiB in parts, 4 in flight, equal SHA-256 on
download; part bodies longer or shorter than signed refused; kill -9 of serve in the middle of a
part, restart, resume (only the missing parts sent), complete, bytes equal; the object is absent
until Complete.  usage: serve_multipart_test.py PRESIGN_BINARY"""
import hashlib
import os
import resource
import shutil
import signal
import socket
import sys
import tempfile
import threading
import time
import urllib.parse

from multipart_client import Upload, api, http_call, signed_headers
from serve_support import Serve, check, finish

MIB = 1 << 20
SIZE = 300 * MIB + 12345


def write_random(path, size):
    digest = hashlib.sha256()
    with open(path, "wb") as f:
        remaining = size
        while remaining:
            block = os.urandom(min(remaining, 4 * MIB))
            digest.update(block)
            f.write(block)
            remaining -= len(block)
    return digest.hexdigest()


def download_sha256(serve, key):
    status, answer = api(serve.api, "GET", "/downloads?key=" + urllib.parse.quote(key, safe=""))
    if status != 200:
        return None
    status, body, _ = http_call("GET", answer["url"])
    return hashlib.sha256(body).hexdigest() if status == 200 else "status %d" % status


def half_sent_part(url, headers, total, sent_bytes):
    """Opens an UploadPart and sends only part of its body, leaving the connection open."""
    parts = urllib.parse.urlsplit(url)
    sock = socket.create_connection((parts.hostname, parts.port), timeout=30)
    head = "PUT %s?%s HTTP/1.1\r\nHost: %s\r\nContent-Length: %d\r\n" % (parts.path, parts.query, parts.netloc, total)
    head += "".join("%s: %s\r\n" % kv for kv in headers.items()) + "\r\n"
    sock.sendall(head.encode() + os.urandom(sent_bytes))
    return sock


def main():
    binary = sys.argv[1]
    scratch = tempfile.mkdtemp(prefix="presign-serve-multipart-")
    data_dir = os.path.join(scratch, "data")
    source = os.path.join(scratch, "video.bin")
    expected = write_random(source, SIZE)
    serve = Serve(binary, data_dir)
    try:
        # ---- 300 MiB in parts, 4 in flight ------------------------------------------------
        upload = Upload(serve.api, source, "video.bin", "video/mp4")
        plan = upload.start(multipart=None)  # above the 64 MiB threshold: parts without asking
        check(plan["multipart"] is True and plan["partSize"] == 8 * MIB and plan["partCount"] == 38,
              "POST /uploads for 300 MiB answers a plan of 38 parts of 8 MiB")
        check(download_sha256(serve, plan["key"]) == "status 404", "no object before Complete")
        started = time.time()
        upload.send_parts(in_flight=4)
        etag = upload.complete()
        print("300 MiB in parts: %.1f s" % (time.time() - started))
        check(etag.endswith('-38"'), "final ETag names 38 parts: " + etag)
        check(download_sha256(serve, plan["key"]) == expected, "download of 300 MiB has the same SHA-256")
        objects = os.path.join(data_dir, "buckets", "presign", "objects")
        data_files = [name for name in os.listdir(objects) if name.endswith(".data")]
        check(len(data_files) == 38 and all(os.path.getsize(os.path.join(objects, name)) == 8 * MIB or
                                            name.endswith(".38.data") for name in data_files),
              "the object is its 38 part files, moved into place, not a copy of them (%d data files)" % len(data_files))
        # Parts go straight to disk and Complete renames them: nothing near 300 MiB in memory.
        peak = serve.peak_rss_kib()
        check(peak is not None and peak < 128 * 1024,
              "serve's memory stays flat through 300 MiB in parts (peak RSS %s KiB < 128 MiB)" % peak)

        # ---- bodies that differ from the signed length are refused ------------------------
        small = os.path.join(scratch, "small.bin")
        write_random(small, 9 * MIB)
        bad = Upload(serve.api, small)
        bad.start()
        signed = bad.sign_parts([1, 2])
        longer_status, longer_body, _ = http_call("PUT", signed[1]["url"], os.urandom(signed[1]["size"] + 1),
                                                  signed_headers(signed[1]))
        check(longer_status == 403 and b"SignatureDoesNotMatch" in longer_body,
              "a part body longer than signed: 403 SignatureDoesNotMatch (%d)" % longer_status)
        shorter_status, _, _ = http_call("PUT", signed[0]["url"], os.urandom(signed[0]["size"] - 1),
                                         signed_headers(signed[0]))
        check(shorter_status == 403, "a part body shorter than signed: refused (%d)" % shorter_status)
        check(bad.stored_parts() == [], "neither refused body became a part")
        status, answer = api(serve.api, "POST", "/uploads/parts",
                             {"plan": bad.plan["plan"], "uploadId": bad.upload_id, "partNumbers": [3]})
        check(status == 400 and answer["error"]["code"] == "invalid_part_numbers", "a part beyond the plan: 400")
        check(bad.abort() == 204, "abort through the API: 204")
        check(upload.abort() == 404, "aborting a completed upload: 404 NoSuchUpload")

        # ---- kill -9 in the middle of a part, restart, resume, complete --------------------
        crash_source = os.path.join(scratch, "crash.bin")
        crash_sha = write_random(crash_source, 40 * MIB + 7)
        crash = Upload(serve.api, crash_source)
        crash_plan = crash.start()
        crash.send_parts(numbers=[1, 2])
        in_flight = crash.sign_parts([3])[0]
        sock = half_sent_part(in_flight["url"], signed_headers(in_flight), in_flight["size"], 3 * MIB)
        time.sleep(0.5)
        serve.proc.send_signal(signal.SIGKILL)
        serve.proc.wait(timeout=30)
        sock.close()
        serve = Serve(binary, data_dir)  # new ports; the plan and the upload id still hold
        check(download_sha256(serve, crash_plan["key"]) == "status 404", "after the crash: no object")
        resumed = Upload(serve.api, crash_source)
        resumed.resume(crash_plan, crash.upload_id)
        check(sorted(resumed.etags) == [1, 2], "after the crash the store holds parts 1 and 2 only: %r"
              % sorted(resumed.etags))
        sent = []
        original_send = resumed.send_part
        resumed.send_part = lambda signed: sent.append(signed["partNumber"]) or original_send(signed)
        resumed.send_parts()
        check(sorted(sent) == [3, 4, 5, 6], "resume sends only the missing parts: %r" % sorted(sent))
        resumed.complete()
        check(download_sha256(serve, crash_plan["key"]) == crash_sha, "resumed upload: bytes equal")
        leftovers = [os.path.join(root, name) for root, _, names in os.walk(data_dir) for name in names
                     if os.sep + "multipart" + os.sep in root + os.sep]
        check(leftovers == [], "completed and aborted uploads leave no part on disk: %r" % leftovers[:3])

        # ---- --abandoned-uploads-after: an upload older than that is aborted at start ---------
        abandoned = Upload(serve.api, small)
        abandoned.start()
        abandoned.send_parts(numbers=[1])
        check(serve.stop() == 0, "serve stops cleanly with an upload in progress")
        serve = Serve(binary, data_dir)  # the default (24 h) keeps it
        abandoned.api_url = serve.api
        check([n for n, _ in abandoned.stored_parts()] == [1], "restarted with the default age: the upload is kept")
        serve.stop()
        time.sleep(2.2)  # initiation times are whole seconds
        # Started with a soft limit of 40 open files (below what a GET of 38 parts needs beside
        # serve's own), which serve raises to the hard limit.
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(40, hard), hard))
        try:
            serve = Serve(binary, data_dir, "--abandoned-uploads-after", "1s")
        finally:
            resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
        with open("/proc/%d/limits" % serve.proc.pid) as f:
            limits = next(line.split()[3:5] for line in f if line.startswith("Max open files"))
        check(int(limits[0]) == min(hard, 1 << 20), "serve takes the hard limit on open files: %r (hard %d)" % (limits, hard))
        check(download_sha256(serve, plan["key"]) == expected, "the 38-part object downloads after the restart")
        abandoned.api_url = serve.api
        try:
            abandoned.stored_parts()
            swept = False
        except RuntimeError as error:
            swept = "NoSuchUpload" in str(error)
        check(swept, "restarted with --abandoned-uploads-after 1s: the 2-s-old upload was aborted (NoSuchUpload)")
    finally:
        serve.stop()
        shutil.rmtree(scratch, ignore_errors=True)
    return finish()


if __name__ == "__main__":
    sys.exit(main())
