#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Benchmark of the `presign` command (not run by the tests):
  - one-shot `presign get`: wall time and peak RSS per run, side by side with `aws s3 presign`
    when the AWS CLI is installed (goal: <= 5 ms and <= 8 MiB);
  - batch `presign get --stdin`: URLs per second written to /dev/null (goal: >= 500,000/s).
Usage: cli_bench.py PATH_TO_presign [RUNS] [BATCH_KEYS]"""
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

PRESIGN = sys.argv[1] if len(sys.argv) > 1 else "presign"
RUNS = int(sys.argv[2]) if len(sys.argv) > 2 else 50
BATCH_KEYS = int(sys.argv[3]) if len(sys.argv) > 3 else 1_000_000

ENV = {
    "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
    "HOME": tempfile.gettempdir(),
    "AWS_CONFIG_FILE": "/dev/null",
    "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
    "AWS_EC2_METADATA_DISABLED": "true",
    "AWS_ACCESS_KEY_ID": "AKIAIOSFODNN7EXAMPLE",
    "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    "AWS_DEFAULT_REGION": "us-east-1",
}


# A child forked from this (large) Python process inherits its RSS high-water mark across exec,
# so peak RSS is taken from GNU time, a small parent, when it is installed.
GNU_TIME = "/usr/bin/time" if os.access("/usr/bin/time", os.X_OK) else None


def run_once(argv, stdin_path=None):
    """Runs argv with stdout to /dev/null; returns (wall seconds, user+sys seconds, peak RSS KiB)."""
    stdin = open(stdin_path, "rb") if stdin_path else subprocess.DEVNULL
    full = [GNU_TIME, "-f", "presign-bench %U %S %M", *argv] if GNU_TIME else argv
    with open(os.devnull, "wb") as devnull:
        start = time.perf_counter()
        process = subprocess.Popen(full, env=ENV, stdin=stdin, stdout=devnull, stderr=subprocess.PIPE)
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - start
    if stdin_path:
        stdin.close()
    err = process.stderr.read().decode()
    process.stderr.close()
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit("%s failed: %s" % (" ".join(argv), err))
    cpu, rss = usage.ru_utime + usage.ru_stime, usage.ru_maxrss
    for line in err.splitlines():
        if line.startswith("presign-bench "):
            user, system, peak = line.split()[1:]
            cpu, rss = float(user) + float(system), int(peak)
    return wall, cpu, rss


def run_bare(argv):
    """Runs argv directly (posix_spawn, no GNU time in between) with stdin and stdout on /dev/null;
    returns (wall seconds, user+sys seconds)."""
    devnull = os.open(os.devnull, os.O_RDWR)
    try:
        actions = [(os.POSIX_SPAWN_DUP2, devnull, 0), (os.POSIX_SPAWN_DUP2, devnull, 1)]
        start = time.perf_counter()
        pid = os.posix_spawn(argv[0], argv, ENV, file_actions=actions)
        _, status, usage = os.wait4(pid, 0)
        wall = time.perf_counter() - start
    finally:
        os.close(devnull)
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit("%s failed" % " ".join(argv))
    return wall, usage.ru_utime + usage.ru_stime


def one_shot(name, argv, runs):
    # Wall and CPU time of the command alone; peak RSS from GNU time in separate runs.
    samples = [run_bare(argv) for _ in range(runs)]
    walls = sorted(s[0] * 1000 for s in samples)
    cpu = statistics.median(s[1] * 1000 for s in samples)
    rss = max(run_once(argv)[2] for _ in range(min(runs, 20))) / 1024
    print("%-22s runs=%-3d wall median %7.2f ms  p90 %7.2f ms  min %7.2f ms  CPU median %6.2f ms"
          "  peak RSS %6.1f MiB"
          % (name, runs, statistics.median(walls), walls[int(0.9 * (len(walls) - 1))], walls[0],
             cpu, rss))
    return statistics.median(walls), rss


def main():
    print("presign CLI benchmark (%s), load average %s" % (PRESIGN, os.getloadavg()))
    print("-- one-shot: s3://examplebucket/reports/2026/q1.pdf, 1 h")
    ours = one_shot("presign get", [shutil.which(PRESIGN) or PRESIGN, "get", "s3://examplebucket/reports/2026/q1.pdf", "--expires", "1h"], RUNS)
    aws = shutil.which("aws")
    if aws:
        theirs = one_shot("aws s3 presign", [aws, "s3", "presign", "s3://examplebucket/reports/2026/q1.pdf",
                                             "--expires-in", "3600"], max(3, RUNS // 10))
        print("presign is %.0fx faster and uses %.1fx less memory than aws s3 presign"
              % (theirs[0] / ours[0], theirs[1] / ours[1]))
    else:
        print("aws s3 presign: not installed, skipped")

    print("-- batch: %d keys on stdin, URLs to /dev/null" % BATCH_KEYS)
    with tempfile.NamedTemporaryFile("w", prefix="presign-bench-keys-", delete=False) as keys:
        for i in range(BATCH_KEYS):
            keys.write("photos/2026/img_%07d.jpg\n" % i)
        keys_path = keys.name
    try:
        best = None
        for _ in range(3):
            wall, cpu, rss = run_once([PRESIGN, "get", "--stdin", "s3://examplebucket/", "--expires", "1d"], keys_path)
            if best is None or wall < best[0]:
                best = (wall, cpu, rss)
        wall, cpu, rss = best
        print("presign get --stdin     %d URLs in %.3f s wall (%.3f s CPU): %.0f URLs/s wall, %.0f URLs/s per CPU "
              "second, peak RSS %.1f MiB" % (BATCH_KEYS, wall, cpu, BATCH_KEYS / wall, BATCH_KEYS / cpu, rss / 1024))
    finally:
        os.unlink(keys_path)


main()
