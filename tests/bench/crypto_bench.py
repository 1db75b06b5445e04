#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Throughput of `presign decrypt` and `presign encrypt` (RFC 8188 aes128gcm, 64 KiB records) beside
a plain copy of the same file (`cp`), in one run: rounds alternate the three so the machine's load
hits them alike; the best round of each is reported with its GB/s and its ratio to the copy.
Goal (issue 19): decrypt >= 1 GB/s. Files live in /dev/shm when it exists, so the disk is not measured.
Usage: crypto_bench.py PATH_TO_presign [MiB (default 1024)] [rounds (default 5)]"""
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time


def timed(argv):
    """(wall seconds, CPU seconds user+sys) of one run."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main():
    presign = os.path.abspath(sys.argv[1])
    mib = int(sys.argv[2]) if len(sys.argv) > 2 else 1024
    rounds = int(sys.argv[3]) if len(sys.argv) > 3 else 5
    base = "/dev/shm" if os.path.isdir("/dev/shm") else None
    work = tempfile.mkdtemp(prefix="presign-crypto-bench-", dir=base)
    try:
        plain = os.path.join(work, "plain.bin")
        with open(plain, "wb") as f:
            block = os.urandom(1 << 20)
            for _ in range(mib):
                f.write(block)
        encrypted = os.path.join(work, "plain.bin.enc")
        key = subprocess.run([presign, "encrypt", plain, "-o", encrypted], check=True,
                             capture_output=True, text=True).stdout.strip()
        size = os.path.getsize(plain)
        runs = {
            "copy (cp)": ["cp", plain, os.path.join(work, "copy.bin")],
            "presign decrypt": [presign, "decrypt", encrypted, "--key", key, "-o", os.path.join(work, "decrypted.bin")],
            "presign encrypt": [presign, "encrypt", plain, "-o", os.path.join(work, "again.enc")],
        }
        best = {name: (float("inf"), float("inf")) for name in runs}
        for _ in range(rounds):
            for name, argv in runs.items():
                best[name] = min(best[name], timed(argv))
            for name in ("copy.bin", "decrypted.bin", "again.enc"):
                os.remove(os.path.join(work, name))
        print("%d MiB in %s, best of %d rounds" % (mib, base or "the temp dir", rounds))
        copy = best["copy (cp)"][0]
        for name, (wall, cpu) in best.items():
            print("%-16s %7.3f s wall  %6.2f GB/s  %5.2fx the copy's time  (CPU %.3f s: %.2f GB/s)" % (
                name, wall, size / wall / 1e9, wall / copy, cpu, size / max(cpu, 1e-9) / 1e9))
        rate = size / best["presign decrypt"][0] / 1e9
        print("decrypt goal >= 1 GB/s: %s (%.2f GB/s)" % ("met" if rate >= 1 else "NOT met", rate))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
