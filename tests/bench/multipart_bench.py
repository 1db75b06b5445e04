#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Benchmark of multipart uploads through `presign serve` (not run by the tests).

In one run, against one serve and the same file: (1) the file through the API in parts, 4 in
flight (as the page sends it), (2) the same file as one pre-signed PUT, (3) `cp` of the file plus
fsync, the file system's own rate. Prints MB/s of each and the ratio multipart / single PUT beside
its goal (>= 1.5x on a 2-core machine). The three alternate for --rounds rounds (this VM's CPU time
for the same work varies up to 2x from minute to minute): each round's ratio is printed, and the
median of the rounds' ratios is the figure compared with the goal.

usage: multipart_bench.py PRESIGN_BINARY [--size-mib N] [--in-flight N] [--rounds N]
"""
import argparse
import os
import resource
import shutil
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "serve"))
from multipart_client import Upload, api, http_call  # noqa: E402
from serve_support import Serve  # noqa: E402

GOAL_RATIO = 1.5


def write_random(path, size):
    with open(path, "wb") as f:
        remaining = size
        while remaining:
            block = os.urandom(min(remaining, 4 << 20))
            f.write(block)
            remaining -= len(block)


def single_put(serve, path, size, name="single.bin"):
    status, ticket = api(serve.api, "POST", "/uploads", {"filename": name, "size": size, "multipart": False})
    if status != 200 or ticket.get("method") != "PUT":
        raise SystemExit("POST /uploads for a single PUT: %d %r" % (status, ticket))
    headers = {k: v for k, v in ticket["headers"].items() if k.lower() != "content-length"}
    with open(path, "rb") as f:  # http.client streams a file object
        status, body, _ = http_call("PUT", ticket["url"], f, dict(headers, **{"Content-Length": str(size)}))
    if status != 200:
        raise SystemExit("single PUT: %d %r" % (status, body[:200]))


def cp_fsync(path, target):
    shutil.copyfile(path, target)
    fd = os.open(target, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def cpu_seconds(pid):
    """User + system CPU seconds of process `pid` (all its threads) so far."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def own_cpu_seconds():
    """CPU seconds of this client and the processes it waited for."""
    usage = [resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]
    return sum(u.ru_utime + u.ru_stime for u in usage)


def timed(what, action, size, serve_pid=None):
    """Runs `action`; prints its rate and the CPU seconds serve and this client spent on it (on
    2 cores, their sum over the wall time says whether the CPU was the bound)."""
    serve_before = cpu_seconds(serve_pid) if serve_pid else 0.0
    client_before = own_cpu_seconds()
    started = time.perf_counter()
    action()
    seconds = time.perf_counter() - started
    serve_cpu = cpu_seconds(serve_pid) - serve_before if serve_pid else float("nan")
    client_cpu = own_cpu_seconds() - client_before
    rate = size / seconds / 1e6
    print("%-28s %8.2f s %9.1f MB/s   CPU s: serve %.2f, client %.2f" % (what, seconds, rate, serve_cpu, client_cpu),
          flush=True)
    return rate


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("binary")
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--in-flight", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    size = args.size_mib << 20
    scratch = tempfile.mkdtemp(prefix="presign-multipart-bench-")
    source = os.path.join(scratch, "source.bin")
    write_random(source, size)
    serve = Serve(args.binary, os.path.join(scratch, "data"))
    try:
        print("file: %d MiB; parts of 8 MiB or more, %d in flight; %d rounds" % (args.size_mib, args.in_flight, args.rounds))
        pid = serve.proc.pid
        rates = {"multipart": [], "single": [], "cp": []}
        ratios = []
        for round_number in range(1, args.rounds + 1):
            print("round %d" % round_number)

            def multipart():
                upload = Upload(serve.api, source, "multipart-%d.bin" % round_number)
                upload.start(multipart=True)
                upload.send_parts(in_flight=args.in_flight)
                upload.complete()

            copy = os.path.join(scratch, "copy.bin")
            rates["multipart"].append(timed("  multipart through the API", multipart, size, pid))
            rates["single"].append(timed("  single pre-signed PUT",
                                         lambda: single_put(serve, source, size, "single-%d.bin" % round_number), size, pid))
            rates["cp"].append(timed("  cp + fsync", lambda: cp_fsync(source, copy), size))
            os.unlink(copy)
            ratios.append(rates["multipart"][-1] / rates["single"][-1])
            print("  multipart / single PUT: %.2fx" % ratios[-1], flush=True)
        print("load average: %s (%d cores)" % (" ".join("%.2f" % x for x in os.getloadavg()), os.cpu_count()))
        print("best of %d rounds: multipart %.1f MB/s, single PUT %.1f MB/s, cp + fsync %.1f MB/s"
              % (args.rounds, max(rates["multipart"]), max(rates["single"]), max(rates["cp"])))
        ratio = statistics.median(ratios)
        print("multipart / single PUT: median %.2fx of %s (goal >= %.1fx: %s); best multipart / best cp+fsync: %.2fx"
              % (ratio, ", ".join("%.2f" % r for r in ratios), GOAL_RATIO, "met" if ratio >= GOAL_RATIO else "NOT met",
                 max(rates["multipart"]) / max(rates["cp"])))
    finally:
        serve.stop()
        shutil.rmtree(scratch, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
