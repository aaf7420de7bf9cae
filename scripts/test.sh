#!/usr/bin/env bash
# The test command (README, .ci/run): installs what is missing, builds a
# normal and an ASan+UBSan tree, and runs every test in both with ctest;
# then builds the libFuzzer harnesses with clang under ASan+UBSan (a third
# tree, build-fuzz, just the target `fuzz`) and runs each for a few seconds
# on its committed seeds (the ctest entries labelled `fuzz`; docs/fuzzing.md).
# Among each tree's tests, the operator console in headless Chromium
# (console-browser, tests/console/run.sh; screenshots in
# TREE/console-artifacts/).
# Each tree's tests start and stop their own private PostgreSQL 15.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
if [ "$(id -u)" = 0 ]; then
    scripts/deps.sh
    tests/console/install.sh   # Chromium, Node.js and playwright-core for the browser tests
fi

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:halt_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
# fontconfig's process-wide cache (the documents' text) is no leak of ours.
export LSAN_OPTIONS=suppressions=$top/tests/lsan.supp:print_suppressions=0

status=0
for variant in build build-asan; do
    opts=()
    [ "$variant" = build-asan ] && opts=(-DWCS_SANITIZE=ON)
    echo "== $variant: build"
    scripts/build.sh "$top/$variant" "${opts[@]}"
    echo "== $variant: test"
    (cd "$top/$variant" && ctest --output-on-failure --timeout 600 -j2) || status=1
done

echo "== build-fuzz: build"
cmake -S "$top" -B "$top/build-fuzz" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_COMPILER=clang \
    -DWCS_SANITIZE=ON >/dev/null
cmake --build "$top/build-fuzz" -j"$(nproc)" --target fuzz
echo "== build-fuzz: fuzz"
(cd "$top/build-fuzz" && ctest -L fuzz --output-on-failure -j2) || status=1
exit $status
