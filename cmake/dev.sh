#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The project's two commands (see README.md):
#   bash cmake/dev.sh serve [presign serve options]   build if needed, run presign serve on 127.0.0.1
#   bash cmake/dev.sh test                            install what the tests need, build, run every test
# Both install missing Debian packages first (apt-get; as root, or through sudo).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
jobs=$(nproc 2>/dev/null || echo 2)

build_packages=(build-essential cmake pkg-config libssl-dev nlohmann-json3-dev libcpp-httplib-dev libboost1.81-dev
    libcli11-dev doctest-dev libbenchmark-dev libcjose-dev)
test_packages=(clang clang-format-14 libclang-rt-14-dev zip unzip python3 python3-cryptography chromium ca-certificates curl python3-boto3 awscli)
rgw_packages=(ceph-mon ceph-osd radosgw ceph-common)

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
        echo "dev.sh: need root (or sudo) to run: $*" >&2
        return 1
    fi
}

apt_updated=0
ensure_packages() {  # [--no-install-recommends] package...
    local flags=()
    if [ "${1:-}" = "--no-install-recommends" ]; then flags+=("$1"); shift; fi
    local missing=()
    for package in "$@"; do
        dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    echo "dev.sh: installing ${missing[*]}"
    if [ "$apt_updated" -eq 0 ]; then as_root apt-get update -qq; apt_updated=1; fi
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${flags[@]}" "${missing[@]}" >/dev/null
}

configure_and_build() {  # build_dir [cmake options...] [-- build options...]
    local dir=$1; shift
    local configure=() build=()
    while [ $# -gt 0 ] && [ "$1" != "--" ]; do configure+=("$1"); shift; done
    [ "${1:-}" = "--" ] && shift && build=("$@")
    cmake -S "$root" -B "$dir" "${configure[@]}" >/dev/null
    cmake --build "$dir" -j"$jobs" "${build[@]}"
}

run_serve() {
    ensure_packages "${build_packages[@]}"
    configure_and_build "$root/build-release" -DCMAKE_BUILD_TYPE=Release -DSIGV4_BUILD_TESTS=OFF \
        -DSIGV4_BUILD_BENCHMARKS=OFF -- --target presign
    exec "$root/build-release/adapters/cli/presign" serve "$@"
}

# Fails when a test labelled "data" (it reads ../shared) was skipped: its data is missing, and CI
# must not pass without having run it. $1: the build dir, $2: that run's ctest output.
fail_on_skipped_data_tests() {
    local data_tests skipped name failed=0
    data_tests=$(cd "$1" && ctest -N -L '^data$' | sed -n 's/^ *Test *#[0-9]*: *//p')
    skipped=$(sed -n '/The following tests did not run:/,$p' "$2" | sed -n 's/^[[:space:]]*[0-9]* - \([^ ]*\) (Skipped).*/\1/p')
    for name in $skipped; do
        if grep -qx "$name" <<<"$data_tests"; then
            echo "FAIL: $name was skipped: its published test data is missing (ctest -R "^$name\$" -V says where to put it)" >&2
            failed=1
        fi
    done
    return $failed
}

run_tests() {
    ensure_packages "${build_packages[@]}" "${test_packages[@]}"
    ensure_packages --no-install-recommends "${rgw_packages[@]}"
    command -v node >/dev/null || ensure_packages nodejs npm
    if [ -f "$root/tests/browser/package-lock.json" ]; then
        (cd "$root/tests/browser" && npm ci --no-audit --no-fund --loglevel=error)
    fi

    echo "== build (-Wall -Wextra -Werror) and every test"
    configure_and_build "$root/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSIGV4_WARNINGS_AS_ERRORS=ON
    (cd "$root/build" && ctest --output-on-failure -j2 --timeout 1500) 2>&1 | tee "$root/build/ctest.log"
    fail_on_skipped_data_tests "$root/build" "$root/build/ctest.log"

    echo "== ASan + UBSan build and the unit and end-to-end tests again"
    configure_and_build "$root/build-asan" -DCMAKE_BUILD_TYPE=Debug -DSIGV4_WARNINGS_AS_ERRORS=ON \
        -DSIGV4_SANITIZE=address,undefined -DSIGV4_BUILD_BENCHMARKS=OFF
    (cd "$root/build-asan" && ASAN_OPTIONS=detect_leaks=1 ctest --output-on-failure -j2 --timeout 1500 \
        -LE "slow|rgw|browser|packaging")

    if [ -f "$root/tests/fuzz/CMakeLists.txt" ]; then
        echo "== libFuzzer targets, bounded runs"
        CC=clang CXX=clang++ configure_and_build "$root/build-fuzz" -DSIGV4_BUILD_FUZZERS=ON \
            -DSIGV4_BUILD_ADAPTERS=OFF -DSIGV4_BUILD_TESTS=OFF -DSIGV4_BUILD_BENCHMARKS=OFF
        bash "$root/tests/fuzz/run.sh" "$root/build-fuzz" "${FUZZ_SECONDS:-30}"
    fi
}

case "${1:-}" in
    serve) shift; run_serve "$@" ;;
    test) shift; run_tests "$@" ;;
    *) echo "usage: bash cmake/dev.sh serve [options] | bash cmake/dev.sh test" >&2; exit 2 ;;
esac
