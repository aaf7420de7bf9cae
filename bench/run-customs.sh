#!/usr/bin/env bash
# Runs bench-customs end to end: a private PostgreSQL 15 cluster, a fresh
# migrated database, wcs-brokersim on a free port with no faults, then the
# bench (enqueue, plain libcurl baseline, the outbox worker in-process);
# the emulator (SIGTERM) and the cluster are stopped afterwards.
#   bench/run-customs.sh [BUILD_DIR] [bench-customs options...]
# BUILD_DIR defaults to the current directory when it holds
# bench/bench-customs, else build/ in the checkout. Options go to
# bench-customs (--count N, default 100000; --batch B, default 500;
# --parallel P, default 8). Environment: WCS_BENCH_DIR (state, default
# /tmp/wcs-bench-customs).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
if [ $# -gt 0 ] && [ "${1#--}" = "$1" ]; then
    build=$(cd "$1" && pwd)
    shift
elif [ -x bench/bench-customs ]; then
    build=$(pwd)
else
    build=$top/build
fi
for b in bin/wcsctl bin/wcs-brokersim bench/bench-customs; do
    [ -x "$build/$b" ] || { echo "run-customs: $build/$b missing (build it first)" >&2; exit 2; }
done

dir=${WCS_BENCH_DIR:-/tmp/wcs-bench-customs}
db=wcs_bench_customs

"$top/scripts/pg-test.sh" start "$dir"
pid=
stop() {
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid"
        wait "$pid" || true
    fi
    "$top/scripts/pg-test.sh" stop "$dir"
}
trap stop EXIT

base=$("$top/scripts/pg-test.sh" conninfo "$dir")
psql "$base dbname=postgres" -qc "DROP DATABASE IF EXISTS $db" >/dev/null
psql "$base dbname=postgres" -qc "CREATE DATABASE $db" >/dev/null
export WCS_DB="$base dbname=$db"
"$build/bin/wcsctl" migrate

# A private token, readable only by us.
umask 077
token_file=$dir/broker-token
head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$token_file"
echo >>"$token_file"

echo "== wcs-brokersim (no faults)"
"$build/bin/wcs-brokersim" --token-file "$token_file" --port 0 \
    --log-level warn >"$dir/brokersim.out" 2>"$dir/brokersim.log" &
pid=$!
ready=
for _ in $(seq 1 200); do
    ready=$(grep -m1 "brokersim ready" "$dir/brokersim.out" || true)
    [ -n "$ready" ] && break
    kill -0 "$pid" 2>/dev/null || { cat "$dir/brokersim.log" >&2; exit 1; }
    sleep 0.1
done
[ -n "$ready" ] || { echo "run-customs: brokersim not ready" >&2; cat "$dir/brokersim.log" >&2; exit 1; }
url=${ready#brokersim ready }
echo "$url"

echo "== bench-customs"
"$build/bench/bench-customs" --db "$WCS_DB" --broker "$url" --token-file "$token_file" \
    --seed-decl "$top/tests/customs/fuzz/seed-valid.json" "$@"
