#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""`presign serve` under hostile clients (issue 17), on 127.0.0.1, bounded in count and time: each
attack reproduced and the right answer asserted; for the bombs and the slow clients also that the
server's RSS stays within +16 MiB and that a valid request made during the attack is answered
within 1 s.  usage: serve_hostile_test.py PRESIGN_BINARY"""
import gzip
import json
import os
import shlex
import socket
import stat
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

from serve_support import Serve, api_json, check, finish, request

MIB = 1 << 20
RSS_ALLOWANCE_KIB = 16 * 1024
TICKET = {"filename": "a.txt", "contentType": "text/plain", "size": 3}


def status_value(pid, field):
    with open("/proc/%d/status" % pid) as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def address(url):
    parts = urllib.parse.urlsplit(url)
    return parts.hostname, parts.port


def connect(url, timeout=10):
    return socket.create_connection(address(url), timeout=timeout)


class buffered:
    """A socket whose bytes read past one response are kept for the next (pipelining)."""

    def __init__(self, sock):
        self.sock, self.pending = sock, b""

    def recv(self, size):
        if self.pending:
            out, self.pending = self.pending, b""
            return out
        return self.sock.recv(size)


def read_response(sock, head_only=False):
    """(status, headers with lowercase names, body) of one response read from `sock` (a socket or
    buffered); None when the connection closed first."""
    conn = sock if isinstance(sock, buffered) else buffered(sock)
    data = b""
    while b"\r\n\r\n" not in data:
        more = conn.recv(65536)
        if not more:
            return None
        data += more
    head, rest = data.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        name, value = line.split(":", 1)
        headers[name.strip().lower()] = value.strip()
    length = 0 if head_only or status in (204, 304) else int(headers.get("content-length", "0"))
    while len(rest) < length:
        more = conn.recv(65536)
        if not more:
            break
        rest += more
    conn.pending = rest[length:]
    return status, headers, rest[:length]


def closed_by_server(sock, within):
    """True when the server ends the connection (EOF or reset) within `within` seconds."""
    sock.settimeout(within)
    try:
        while sock.recv(65536):
            pass
        return True
    except (ConnectionResetError, BrokenPipeError):
        return True
    except socket.timeout:
        return False


def timed_valid_request(serve):
    """(status, seconds) of a valid POST /uploads."""
    started = time.monotonic()
    status, _, _ = api_json(serve, "POST", "/uploads", TICKET)
    return status, time.monotonic() - started


def timed_valid_download(serve):
    """(status, seconds) of a valid presigned GET from the store (of the object `stored` put there)."""
    started = time.monotonic()
    status, body, _ = request("GET", serve.shared_url)
    return (status if body == b"abc" else None), time.monotonic() - started


def store_one_object(serve):
    status, ticket, _ = api_json(serve, "POST", "/uploads", TICKET)
    put_status, _, _ = request("PUT", ticket["url"], b"abc", dict(ticket["headers"]))
    serve.shared_url = share_or_none(serve, ticket["key"])
    check(put_status == 200 and serve.shared_url, "an object stored for the valid downloads")


def reset_peak_rss(pid):
    """Resets VmHWM to the current RSS (Linux clear_refs), so a peak is the attack's own."""
    with open("/proc/%d/clear_refs" % pid, "w") as f:
        f.write("5")


def error_code(body):
    try:
        return json.loads(body)["error"]["code"]
    except (ValueError, KeyError, TypeError):
        return None


def during(attack, serve, what):
    """Runs `attack` in threads, makes a valid request meanwhile, and checks its answer and time and
    the server's memory."""
    pid = serve.proc.pid
    reset_peak_rss(pid)
    rss_before = status_value(pid, "VmRSS")
    threads = [threading.Thread(target=attack, args=(i,), daemon=True) for i in range(attack.count)]
    for thread in threads:
        thread.start()
    time.sleep(attack.settle)
    for name, valid in (("API request", timed_valid_request), ("store download", timed_valid_download)):
        status, seconds = valid(serve)
        check(status == 200 and seconds < 1.0, "%s: a valid %s during the attack answered %s in %.3f s"
              % (what, name, status, seconds))
    for thread in threads:
        thread.join(timeout=60)
    grown = status_value(pid, "VmHWM") - rss_before
    check(grown <= RSS_ALLOWANCE_KIB, "%s: peak RSS grew by %d KiB (allowed %d)" % (what, grown, RSS_ALLOWANCE_KIB))


# ---- item 1: bodies over the API's limit, compressed bodies --------------------------------------

def api_bombs(serve):
    host = "Host: %s:%d\r\n" % address(serve.api)
    # A compressed body is refused before it is read: the answer comes with only the head sent.
    for encoding in ("br", "gzip", "deflate", "identity, gzip"):
        sock = connect(serve.api)
        sock.sendall(("POST /uploads HTTP/1.1\r\n%sContent-Type: application/json\r\nContent-Encoding: %s\r\n"
                      "Content-Length: 809\r\n\r\n" % (host, encoding)).encode())
        answer = read_response(sock)
        check(answer is not None and answer[0] == 415 and error_code(answer[2]) == "unsupported_content_encoding",
              "API: Content-Encoding %s refused with 415 JSON before the body (%s)"
              % (encoding, str(answer and (answer[0], answer[2][:80]))))
        sock.close()
    status, _, _ = request("POST", serve.api + "/uploads", json.dumps(TICKET).encode(),
                           {"Content-Type": "application/json", "Content-Encoding": "identity"})
    check(status == 200, "API: Content-Encoding identity accepted (%s)" % status)

    # A declared length over 64 KiB: the JSON 413 at once.
    sock = connect(serve.api)
    sock.sendall(("POST /uploads HTTP/1.1\r\n%sContent-Type: application/json\r\nContent-Length: 300000000\r\n\r\n"
                  % host).encode())
    answer = read_response(sock)
    check(answer is not None and answer[0] == 413 and error_code(answer[2]) == "body_too_large",
          "API: Content-Length 300 MB refused with the JSON 413 (%s)" % str(answer and (answer[0], answer[2][:80])))
    sock.close()

    # Chunked zeros: the limit counts the bytes read; 8 connections at once, 32 MiB each at most.
    results = []

    def chunked_bomb(_):
        sock = connect(serve.api)
        sock.sendall(("POST /uploads HTTP/1.1\r\n%sContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
                      % host).encode())
        chunk = b"10000\r\n" + b"\0" * 0x10000 + b"\r\n"
        try:
            for _ in range(512):
                sock.sendall(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass
        try:
            answer = read_response(sock)
        except (ConnectionResetError, socket.timeout):
            answer = None
        results.append(answer)
        sock.close()

    chunked_bomb.count, chunked_bomb.settle = 8, 0.3
    during(chunked_bomb, serve, "API chunked bomb")
    check(len(results) == 8 and all(r is not None and r[0] == 413 and error_code(r[2]) == "body_too_large"
                                    for r in results),
          "API: 32 MiB of chunked zeros refused with the JSON 413 (%s)" % [r and r[0] for r in results])


# ---- item 2: a refused unsigned PUT is neither decompressed nor drained without bound ---------------

def unsigned_put_bomb(serve):
    bucket_url = serve.s3 + "/presign/bomb"
    host = "Host: %s:%d\r\n" % address(serve.s3)
    bomb = gzip.compress(b"\0" * (64 * MIB), 9)  # ~64 KB that inflate to 64 MiB
    pid = serve.proc.pid
    cpu_before = cpu_seconds(pid)
    sock = connect(serve.s3)
    started = time.monotonic()
    sock.sendall(("PUT /presign/bomb HTTP/1.1\r\n%sContent-Encoding: gzip\r\nContent-Length: %d\r\n\r\n"
                  % (host, len(bomb))).encode() + bomb)
    answer = read_response(sock)
    seconds = time.monotonic() - started
    check(answer is not None and answer[0] == 403 and b"<Code>AccessDenied</Code>" in answer[2] and seconds < 1.0,
          "store: an unsigned gzip-bomb PUT gets 403 AccessDenied in %.3f s" % seconds)
    sock.close()
    used = cpu_seconds(pid) - cpu_before
    check(used < 0.5, "store: refusing the bomb cost %.3f s of CPU (never decompressed)" % used)

    # 8 MiB declared: more than the store drops (1 MiB), so it answers and closes.
    results = []

    def big_refused_put(_):
        sock = connect(serve.s3, timeout=20)
        sock.sendall(("PUT /presign/bomb HTTP/1.1\r\n%sContent-Encoding: gzip\r\nContent-Length: %d\r\n\r\n"
                      % (host, 8 * MIB)).encode())
        sent = 0
        try:
            while sent < 8 * MIB:
                sock.sendall(bomb[:65536])
                sent += 65536
        except (BrokenPipeError, ConnectionResetError, socket.timeout):
            pass
        try:
            answer = read_response(sock)
        except (ConnectionResetError, socket.timeout):
            answer = None
        closed = answer is not None and answer[1].get("connection") == "close"
        results.append((answer and answer[0], closed, sent))
        sock.close()

    big_refused_put.count, big_refused_put.settle = 16, 0.3
    cpu_before = cpu_seconds(pid)
    during(big_refused_put, serve, "store unsigned 8 MiB PUTs")
    used = cpu_seconds(pid) - cpu_before
    check(all(status == 403 and closed for status, closed, _ in results) and len(results) == 16,
          "store: 16 unsigned 8 MiB PUTs answered 403 and closed (%s)" % results[:3])
    check(used < 2.0, "store: 16 refused 8 MiB PUTs cost %.3f s of CPU" % used)
    status, _, _ = request("GET", bucket_url)
    check(status == 403, "store: still answering after the bombs (%s)" % status)


# ---- item 3: slow clients --------------------------------------------------------------------------

def trickle(sock, pieces, limit):
    """Sends `pieces` one by one, 0.5 s apart, for at most `limit` seconds; returns how long the server
    took to end the connection, or None when it did not."""
    started = time.monotonic()
    for piece in pieces:
        try:
            sock.sendall(piece)
        except (BrokenPipeError, ConnectionResetError):
            return time.monotonic() - started
        if closed_by_server(sock, 0.5):
            return time.monotonic() - started
        if time.monotonic() - started > limit:
            break
    return None


def put_head(ticket, length=None):
    """The request head of a PUT through an upload ticket (its URL and headers)."""
    parts = urllib.parse.urlsplit(ticket["url"])
    head = "PUT %s?%s HTTP/1.1\r\nHost: %s\r\n" % (parts.path, parts.query, parts.netloc)
    head += "".join("%s: %s\r\n" % (k, v) for k, v in ticket["headers"].items() if k.lower() != "host")
    if length is not None and "content-length" not in {k.lower() for k in ticket["headers"]}:
        head += "Content-Length: %d\r\n" % length
    return (head + "\r\n").encode()


def slow_clients(serve, head_timeout, body_timeout):
    verdicts = []

    def slow_head(i):
        sock = connect(serve.api if i % 2 else serve.s3, timeout=30)
        text = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + b"a" * 100
        verdicts.append(trickle(sock, (bytes([byte]) for byte in text), head_timeout + 5))
        sock.close()

    slow_head.count, slow_head.settle = 140, 1.0
    during(slow_head, serve, "140 slowloris heads")
    check(len(verdicts) == 140 and all(v is not None and v < head_timeout + 2 for v in verdicts),
          "slow heads closed by the head deadline (%.1f s): latest after %s s"
          % (head_timeout, max((v or 99) for v in verdicts)))

    # A body that trickles (100 bytes every 0.5 s, under 1 KiB per window) through a valid upload URL.
    status, ticket, _ = api_json(serve, "POST", "/uploads",
                                 {"filename": "slow.bin", "contentType": "application/octet-stream", "size": MIB})
    head = put_head(ticket, MIB)
    slow_bodies = []

    def slow_body(_):
        sock = connect(serve.s3, timeout=30)
        sock.sendall(head)
        slow_bodies.append(trickle(sock, iter(lambda: b"x" * 100, None), body_timeout + 5))
        sock.close()

    slow_body.count, slow_body.settle = 20, 1.0
    during(slow_body, serve, "20 trickling upload bodies")
    check(len(slow_bodies) == 20 and all(v is not None and v < body_timeout + 2 for v in slow_bodies),
          "trickling bodies closed by the progress deadline (%.1f s per KiB): %s"
          % (body_timeout, sorted(slow_bodies)[-1:]))
    status, _, _ = request("GET", share_or_none(serve, ticket["key"]) or serve.s3)
    check(status == 404, "a trickled upload stored nothing (%s)" % status)


def share_or_none(serve, key):
    status, answer, _ = api_json(serve, "GET", "/downloads?key=" + urllib.parse.quote(key, safe=""))
    return answer["url"] if status == 200 else None


def idle_keep_alive(serve, idle_timeout):
    sock = connect(serve.api)
    sock.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    answer = read_response(sock)
    started = time.monotonic()
    closed = closed_by_server(sock, idle_timeout + 3)
    waited = time.monotonic() - started
    check(answer is not None and answer[0] == 200 and closed and idle_timeout - 0.5 < waited < idle_timeout + 2,
          "an idle kept-alive connection closed after %.1f s (idle deadline %.1f s)" % (waited, idle_timeout))
    sock.close()


def many_idle_connections(serve, count=1000):
    pid = serve.proc.pid
    rss_before = status_value(pid, "VmRSS")
    sockets = []
    for i in range(count):
        sockets.append(connect(serve.api if i % 2 else serve.s3))
    time.sleep(0.5)
    times = []
    for _ in range(3):
        status, seconds = timed_valid_request(serve)
        times.append(seconds if status == 200 else 99)
    grown = status_value(pid, "VmRSS") - rss_before
    check(min(times) < 0.1, "%d idle connections held: a valid request answered in %.1f ms (best of 3)"
          % (count, 1000 * min(times)))
    check(grown <= RSS_ALLOWANCE_KIB, "%d idle connections cost %d KiB of RSS" % (count, grown))
    for sock in sockets:
        sock.close()


# ---- items 6 and 7: protocol ----------------------------------------------------------------------

def protocol(serve):
    api_host = "%s:%d" % address(serve.api)
    body = json.dumps(TICKET)
    # Pipelined requests, answered in order on one connection.
    sock = connect(serve.api)
    post = ("POST /uploads HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s"
            % (api_host, len(body), body))
    sock.sendall((("GET /nope HTTP/1.1\r\nHost: %s\r\n\r\n" % api_host) + post + post).encode())
    conn = buffered(sock)
    statuses = [(read_response(conn) or [None])[0] for _ in range(3)]
    check(statuses == [404, 200, 200], "three pipelined API requests answered in order: %s" % statuses)
    sock.close()

    sock = connect(serve.s3)
    sock.sendall(b"GET /presign/a HTTP/1.1\r\nHost: x\r\n\r\nGET /presign/b HTTP/1.1\r\nHost: x\r\n\r\n")
    conn = buffered(sock)
    first, second = read_response(conn), read_response(conn)
    check(first and second and first[0] == second[0] == 403 and b"/presign/a" in first[2] and b"/presign/b" in second[2],
          "two pipelined store requests answered in order")
    sock.close()

    # Item 7: the JSON body is exactly the JSON; head and body leave in one write.
    sock = connect(serve.api)
    sock.sendall(post.encode())
    time.sleep(0.2)
    data = sock.recv(1 << 20)
    head, _, json_body = data.partition(b"\r\n\r\n")
    length = int([line.split(b":")[1] for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")][0])
    check(len(json_body) == length and json_body.rstrip() == json_body and json.loads(json_body)["method"] == "PUT",
          "the API's JSON answer is exactly its Content-Length, no stray bytes, one write (%d/%d)"
          % (len(json_body), length))
    sock.close()

    # DNS rebinding: a name the server was not told about is refused; IP literals and localhost pass.
    port = address(serve.api)[1]
    for host, wanted in (("evil.example:%d" % port, 421), ("localhost:%d" % port, 200),
                         ("127.0.0.1:%d" % port, 200), ("[::1]:%d" % port, 200)):
        status, _, _ = request("POST", serve.api + "/uploads", body.encode(),
                               {"Content-Type": "application/json", "Host": host})
        check(status == wanted, "API with Host %s: %s (want %s)" % (host, status, wanted))

    # Links are signed for the host the client reached the API under (with --host 0.0.0.0, the
    # LAN address it used; bound to 127.0.0.1, also localhost), and work there.
    s3_port = address(serve.s3)[1]
    for host in ("localhost", "127.0.0.1"):
        status, ticket_bytes, _ = request("POST", serve.api + "/uploads", json.dumps(TICKET).encode(),
                                          {"Content-Type": "application/json", "Host": "%s:%d" % (host, port)})
        ticket = json.loads(ticket_bytes) if status == 200 else {}
        link_host = urllib.parse.urlsplit(ticket.get("url", "")).netloc
        put_status, _, _ = request("PUT", ticket.get("url", serve.s3).replace("localhost", "127.0.0.1", 1), b"abc",
                                   dict(ticket.get("headers", {}), Host=link_host))
        check(link_host == "%s:%d" % (host, s3_port) and put_status == 200,
              "API reached as %s: link signed for %s, PUT %s" % (host, link_host, put_status))
        # A share link names the API under that host too (with --host 0.0.0.0: the LAN address).
        status, share_bytes, _ = request("POST", serve.api + "/shares", json.dumps({"key": ticket.get("key")}).encode(),
                                         {"Content-Type": "application/json", "Host": "%s:%d" % (host, port)})
        share_host = urllib.parse.urlsplit(json.loads(share_bytes).get("url", "") if status == 200 else "").netloc
        check(share_host == "%s:%d" % (host, port), "API reached as %s: share link under %s" % (host, share_host))

    # A malformed Range does not beat the signature check.
    status, _, _ = request("GET", serve.s3 + "/presign/a", headers={"Range": "bytes=5-2"})
    check(status == 403, "store: unsigned GET with Range bytes=5-2 gets 403 first (%s)" % status)


# ---- item 8: crash leftovers -----------------------------------------------------------------------

def crash_leftovers(binary, scratch):
    data_dir = os.path.join(scratch, "crash data 'dir'")
    serve = Serve(binary, data_dir)
    check(stat.S_IMODE(os.stat(data_dir).st_mode) == 0o700, "a data directory serve creates is 0700")
    export = [line.strip() for line in serve.lines if line.strip().startswith("export ")]
    shown = subprocess.run(["sh", "-c", export[0] + '; printf "%s\\n%s" "$AWS_SHARED_CREDENTIALS_FILE" '
                            '"$AWS_CONFIG_FILE"'], capture_output=True, text=True).stdout.split("\n")
    check(shown == [os.path.join(data_dir, "credentials"), os.path.join(data_dir, "aws-config")],
          "the export line is shell-quoted: %s" % shown)
    # kill -9 in the middle of an upload.
    status, ticket, _ = api_json(serve, "POST", "/uploads",
                                 {"filename": "big.bin", "contentType": "application/octet-stream", "size": 8 * MIB})
    sock = connect(serve.s3)
    sock.sendall(put_head(ticket) + b"x" * (3 * MIB))
    time.sleep(0.5)
    serve.proc.kill()
    serve.proc.wait()
    sock.close()
    tmp = os.path.join(data_dir, "buckets", "presign", "tmp")
    left = os.listdir(tmp)
    check(len(left) == 1, "kill -9 during a PUT leaves its temporary file (%s)" % left)
    old = time.time() - 2 * 3600
    for name in left:
        os.utime(os.path.join(tmp, name), (old, old))
    fresh = os.path.join(tmp, "upload-fresh")
    open(fresh, "wb").close()
    serve = Serve(binary, data_dir)
    check(os.listdir(tmp) == ["upload-fresh"], "restart sweeps temporary files older than 1 h, keeps newer (%s)"
          % os.listdir(tmp))
    serve.stop()

    # An existing directory keeps its mode.
    existing = os.path.join(scratch, "shared")
    os.mkdir(existing)
    os.chmod(existing, 0o755)
    serve = Serve(binary, existing)
    check(stat.S_IMODE(os.stat(existing).st_mode) == 0o755, "--data-dir leaves an existing directory's mode alone")
    serve.stop()


def main():
    if len(sys.argv) != 2:
        print(__doc__)
        return 2
    binary = sys.argv[1]
    head_timeout, body_timeout, idle_timeout = 2.0, 2.0, 3.0
    with tempfile.TemporaryDirectory(prefix="presign-hostile-") as scratch:
        serve = Serve(binary, os.path.join(scratch, "data"), "--head-timeout", str(head_timeout),
                      "--body-timeout", str(body_timeout), "--idle-timeout", str(idle_timeout))
        try:
            store_one_object(serve)
            api_bombs(serve)
            unsigned_put_bomb(serve)
            slow_clients(serve, head_timeout, body_timeout)
            idle_keep_alive(serve, idle_timeout)
            protocol(serve)
        finally:
            serve.stop()
        serve = Serve(binary, os.path.join(scratch, "idle"))
        try:
            many_idle_connections(serve)
        finally:
            serve.stop()
        crash_leftovers(binary, scratch)
    return finish()


if __name__ == "__main__":
    sys.exit(main())
