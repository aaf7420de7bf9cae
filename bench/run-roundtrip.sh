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
. "$top/bench/lib-wcsd.sh"
if bench_build "${1:-}"; then shift; fi
bench_need run-roundtrip bin/wcsd bin/wcsctl bin/wcs-gen-preadvice bench/bench-roundtrip

dir=${WCS_BENCH_DIR:-/tmp/wcs-bench-rt}
plc_port=${WCS_BENCH_PLC_PORT:-23010}
nparcels=${WCS_BENCH_PARCELS:-100000}
db=wcs_bench_rt

# The PLC port must be free: wcsd listens on it.
if [ "$plc_port" != 0 ] && (exec 3<>"/dev/tcp/127.0.0.1/$plc_port") 2>/dev/null; then
    echo "run-roundtrip: port $plc_port is in use; set WCS_BENCH_PLC_PORT" >&2
    exit 2
fi

bench_cluster "$dir" "$db"

echo "== schema, sort plan, pre-advice"
bench_preadvice "$dir" "$nparcels"

rm -rf "$dir/spool"
# wcsd's API wants a bearer token: one of role monitor for the bench's
# GET /v1/status, a fresh secret per run, in files only we can read.
bench_token "$dir" monitor
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

echo "== wcsd"
bench_wcsd_start "$dir"
if [ "$plc_port" = 0 ]; then
    plc_port=$(sed -n 's/.*PLC01: listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$dir/wcsd.log" | head -1)
    [ -n "$plc_port" ] || { echo "run-roundtrip: wcsd did not log its PLC port" >&2; exit 1; }
fi

echo "== bench-roundtrip"
rc=0
"$build/bench/bench-roundtrip" --connect "127.0.0.1:$plc_port" --http "http://127.0.0.1:$http_port" \
    --token-file "$dir/bench.token" --preadvice "$codes" --db "$WCS_DB" "$@" || rc=$?
bench_wcsd_stop "$dir" || rc=1
exit $rc
