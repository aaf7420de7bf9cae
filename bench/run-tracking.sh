#!/usr/bin/env bash
# Runs bench-tracking end to end: a private PostgreSQL 15 cluster, a fresh
# database (schema, sample sort plan activated), wcsd with a partner token
# (the role that may only follow the tracking feed), then the bench: N
# tracking events published and read through GET /v1/tracking/events
# beside a plain keyset SELECT, then followed on while the event log is
# written (docs/benchmarks.md). wcsd (SIGTERM) and the cluster stop after.
#   bench/run-tracking.sh [BUILD_DIR] [--events N] [--written M]
# Environment: WCS_BENCH_DIR (state, default /tmp/wcs-bench-tracking).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/bench/lib-wcsd.sh"
if bench_build "${1:-}"; then shift; fi
bench_need run-tracking bin/wcsd bin/wcsctl bench/bench-tracking
dir=${WCS_BENCH_DIR:-/tmp/wcs-bench-tracking}
bench_cluster "$dir" wcs_bench_tracking
"$build/bin/wcsctl" migrate
"$build/bin/wcsctl" sortplan load "$top/data/sortplan-sample.csv" --activate >/dev/null
bench_token "$dir" partner
rm -rf "$dir/spool"
cat >"$dir/wcsd.yaml" <<YAML
# written by bench/run-tracking.sh
node: WCS01
database:
  conninfo: "$WCS_DB"
http:
  listen: 127.0.0.1
  port: 0
  tokens_file: $dir/tokens
events:
  spool_path: $dir/spool
YAML
bench_wcsd_start "$dir"

echo "== bench-tracking"
rc=0
"$build/bench/bench-tracking" --db "$WCS_DB" --http "http://127.0.0.1:$http_port" \
    --token-file "$dir/bench.token" "$@" || rc=$?
bench_wcsd_stop "$dir" || rc=1
exit $rc
