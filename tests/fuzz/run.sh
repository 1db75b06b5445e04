#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Runs each verifier fuzzer for a bounded time on a copy of its committed corpus; fails on a crash.
#   bash tests/fuzz/run.sh BUILD_DIR [SECONDS=60]
# BUILD_DIR is a build configured with -DSIGV4_BUILD_FUZZERS=ON (clang). A crash input is kept in
# the work directory printed below; add it to tests/fuzz/corpus/<name>/ as a regression file.
set -euo pipefail

build_dir=${1:?usage: run.sh BUILD_DIR [SECONDS]}
seconds=${2:-60}
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/sigv4-fuzz.XXXXXX")
status=0

for name in verify_target verify_request verify_paths; do
    binary="$build_dir/tests/fuzz/fuzz_$name"
    if [[ ! -x "$binary" ]]; then
        echo "run.sh: $binary not built (configure with -DSIGV4_BUILD_FUZZERS=ON and build it)" >&2
        exit 2
    fi
    mkdir -p "$work/$name/corpus" "$work/$name/artifacts"
    cp "$here/corpus/$name/"* "$work/$name/corpus/"
    echo "== fuzz_$name: ${seconds}s on $(ls "$work/$name/corpus" | wc -l) seeds (work dir $work/$name)"
    if ! "$binary" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=4096 \
        -print_final_stats=1 -artifact_prefix="$work/$name/artifacts/" "$work/$name/corpus" \
        >"$work/$name/log" 2>&1; then
        status=1
        echo "fuzz_$name FAILED; last lines of $work/$name/log:" >&2
        tail -n 40 "$work/$name/log" >&2
        echo "crash inputs:" >&2
        ls -l "$work/$name/artifacts" >&2
    else
        grep -E "^stat::(number_of_executed_units|new_units_added|peak_rss_mb)" "$work/$name/log" || true
        echo "fuzz_$name: no crash"
    fi
done

if [[ $status -eq 0 ]]; then rm -rf "$work"; fi
exit $status
