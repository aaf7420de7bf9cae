#!/usr/bin/env bash
# The test command (README, .ci/run): installs what is missing, builds a
# normal and an ASan+UBSan tree, and runs every test in both with ctest.
# Each tree's tests start and stop their own private PostgreSQL 15.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
[ "$(id -u)" = 0 ] && scripts/deps.sh

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:halt_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

status=0
for variant in build build-asan; do
    opts=()
    [ "$variant" = build-asan ] && opts=(-DWCS_SANITIZE=ON)
    echo "== $variant: build"
    scripts/build.sh "$top/$variant" "${opts[@]}"
    echo "== $variant: test"
    (cd "$top/$variant" && ctest --output-on-failure --timeout 600 -j2) || status=1
done
exit $status
