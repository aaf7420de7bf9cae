#!/usr/bin/env bash
# Runs bench-roundtrip end to end: a private PostgreSQL 15 cluster, a fresh
# database (schema, sample sort plan activated, the sample pre-advice plus
# 100,000 generated parcels), wcsd with one PLC link in server mode and full
# event persistence (spool in the state directory) and a bearer token of its
# own for the bench's GET /v1/status, then the bench playing
# the PLC (and its baseline of the durable ACK_, a single-row COPY + COMMIT,
# in wcsd's database); wcsd (SIGTERM) and the cluster are stopped afterwards.
#   bench/run-roundtrip.sh [BUILD_DIR] [bench-roundtrip options...]
# BUILD_DIR defaults to the current directory when it holds bin/wcsd, else
# build/ in the checkout. Options go to bench-roundtrip (--seconds S,
# --max-seconds S, --window N, --consoles N). Environment: WCS_BENCH_DIR (state, default
# /tmp/wcs-bench-rt), WCS_BENCH_PLC_PORT (default 23010; 0 = wcsd picks a
# free one, as the smoke run in the test command does), WCS_BENCH_PARCELS
# (generated pre-advice, default 100000; 0 = only the sample).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
if [ $# -gt 0 ] && [ "${1#--}" = "$1" ]; then
    build=$(cd "$1" && pwd)
    shift
elif [ -x bin/wcsd ]; then
    build=$(pwd)
else
    build=$top/build
fi
for b in bin/wcsd bin/wcsctl bin/wcs-gen-preadvice bench/bench-roundtrip; do
    [ -x "$build/$b" ] || { echo "run-roundtrip: $build/$b missing (build it first)" >&2; exit 2; }
done

dir=${WCS_BENCH_DIR:-/tmp/wcs-bench-rt}
plc_port=${WCS_BENCH_PLC_PORT:-23010}
nparcels=${WCS_BENCH_PARCELS:-100000}
db=wcs_bench_rt

# The PLC port must be free: wcsd listens on it.
if [ "$plc_port" != 0 ] && (exec 3<>"/dev/tcp/127.0.0.1/$plc_port") 2>/dev/null; then
    echo "run-roundtrip: port $plc_port is in use; set WCS_BENCH_PLC_PORT" >&2
    exit 2
fi

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

# wcsctl import exits 1 when it reported refused rows or blocked
# declarations (the sample has six deliberately invalid declarations) and 2
# on a real failure (I/O, database): only that stops the run.
import_preadvice() {
    local rc=0
    "$build/bin/wcsctl" import "$1" || rc=$?
    if [ "$rc" -gt 1 ]; then
        echo "run-roundtrip: wcsctl import $1 failed (exit $rc)" >&2
        exit 1
    fi
}

echo "== schema, sort plan, pre-advice"
"$build/bin/wcsctl" migrate
"$build/bin/wcsctl" sortplan load "$top/data/sortplan-sample.csv" --activate
import_preadvice "$top/data/preadvice-sample.csv"
codes=$top/data/preadvice-sample.csv
if [ "$nparcels" -gt 0 ]; then
    codes=$dir/preadvice-gen.csv
    "$build/bin/wcs-gen-preadvice" --count "$nparcels" --seed 7 --out "$codes"
    import_preadvice "$codes"
fi

rm -rf "$dir/spool"
# wcsd's API wants a bearer token: one of role monitor for the bench's
# GET /v1/status, a fresh secret per run, in files only we can read.
secret=$(head -c 24 /dev/urandom | base64)
(
    umask 077
    printf 'bench monitor %s\n' "$secret" >"$dir/tokens"
    printf '%s\n' "$secret" >"$dir/bench.token"
)
unset secret
cat >"$dir/wcsd.yaml" <<YAML
# written by bench/run-roundtrip.sh
node: WCS01
log_level: info
database:
  conninfo: "$WCS_DB"
http:
  listen: 127.0.0.1
  port: 0
  tokens_file: $dir/tokens
  connections_per_client: 40   # --consoles: each console is a stream of its own
registry:
  expected_parcels: $((nparcels + 10000))
events:
  spool_path: $dir/spool
plcs:
  - id: PLC01
    host: 127.0.0.1
    port: $plc_port
    locations: [SCAN01]
YAML
"$build/bin/wcsd" --config "$dir/wcsd.yaml" -n

echo "== wcsd"
"$build/bin/wcsd" --config "$dir/wcsd.yaml" >"$dir/wcsd.log" 2>&1 &
pid=$!
ready=
for _ in $(seq 1 600); do
    ready=$(grep -m1 "ready:" "$dir/wcsd.log" || true)
    [ -n "$ready" ] && break
    kill -0 "$pid" 2>/dev/null || { cat "$dir/wcsd.log" >&2; exit 1; }
    sleep 0.1
done
[ -n "$ready" ] || { echo "run-roundtrip: wcsd not ready" >&2; cat "$dir/wcsd.log" >&2; exit 1; }
echo "$ready"
http_port=$(sed -n 's/.*http 127\.0\.0\.1:\([0-9]*\).*/\1/p' <<<"$ready")
if [ "$plc_port" = 0 ]; then
    plc_port=$(sed -n 's/.*PLC01: listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$dir/wcsd.log" | head -1)
    [ -n "$plc_port" ] || { echo "run-roundtrip: wcsd did not log its PLC port" >&2; exit 1; }
fi

echo "== bench-roundtrip"
rc=0
"$build/bench/bench-roundtrip" --connect "127.0.0.1:$plc_port" --http "http://127.0.0.1:$http_port" \
    --token-file "$dir/bench.token" --preadvice "$codes" --db "$WCS_DB" "$@" || rc=$?
if grep -E " (warn|error):" "$dir/wcsd.log" | grep -v "^$" | head -5 | grep -q .; then
    echo "== wcsd warnings (first 5 of $(grep -cE ' (warn|error):' "$dir/wcsd.log"))"
    grep -E " (warn|error):" "$dir/wcsd.log" | head -5
fi
# wcsd must stop cleanly (under ASan+UBSan a report makes it exit non-zero).
kill -TERM "$pid"
wcsd_rc=0
wait "$pid" || wcsd_rc=$?
pid=
if [ "$wcsd_rc" != 0 ]; then
    echo "run-roundtrip: wcsd exited with status $wcsd_rc" >&2
    tail -20 "$dir/wcsd.log" >&2
    rc=1
fi
exit $rc
