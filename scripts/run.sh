#!/usr/bin/env bash
# The main job (README): installs what is missing, builds, starts a private
# PostgreSQL under a local state directory, migrates, loads and activates the
# sample sort plan, imports the sample pre-advice (which declares every
# parcel to customs), starts wcsd, the customs broker emulator and the
# customs worker (declarations submitted, the broker's held/released
# decisions read back), and lets the line emulator (a virtual sorter PLC)
# sort the sample parcels at a realistic 36,000 parcels/hour (time-scaled
# x10 by default: WCS_DEMO_SPEED) with a live progress line, then prints a
# summary from the database, closes the bags of one route into a dispatch
# whose manifest goes to the broker, and lists the customs problems. It
# creates the console's demo user (admin, a fresh password each run); wcsd,
# the worker and the emulator (sorting on, 5 parcels/s) then keep running
# until Ctrl-C, and the last lines print the console's URL and the demo
# login (or everything stops at once with --once).
#   scripts/run.sh [--once]
# State: $WCS_STATE_DIR (default: var/ in the checkout, or /var/tmp/wcs-state
# when the postgres user cannot reach the checkout).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
once=0
[ "${1:-}" = --once ] && once=1

[ "$(id -u)" = 0 ] && scripts/deps.sh
echo "== build"
scripts/build.sh "$top/build" >/dev/null
bin="$top/build/bin"

state=${WCS_STATE_DIR:-$top/var}
mkdir -p "$state"
if ! runuser -u postgres -- test -x "$state" 2>/dev/null; then
    state=/var/tmp/wcs-state
    mkdir -p "$state"
fi
pgdir="$state/pg"
echo "== PostgreSQL 15 in $pgdir"
scripts/pg-test.sh start "$pgdir"
base=$(scripts/pg-test.sh conninfo "$pgdir")
psql "$base dbname=postgres" -qtAc "SELECT 1 FROM pg_database WHERE datname = 'wcs'" | grep -q 1 ||
    psql "$base dbname=postgres" -qc "CREATE DATABASE wcs"
export WCS_DB="$base dbname=wcs"

# Time scaling: the emulator runs x$speed; the WCS's read window (60 ms before,
# 30 ms after the request: narrower than the 100 ms between parcels at
# 36,000/h) and the
# PLC's own deadline are scaled alike so correlation and timeouts behave as
# they would on the real line.
# wcsd's API takes bearer tokens (docs/security.md): fresh secrets per run,
# in files only we can read, never printed. The line emulator posts scans
# (role scanner); wcsctl reads status and dry runs (role operator).
scan_secret=$(head -c 24 /dev/urandom | base64)
ctl_secret=$(head -c 24 /dev/urandom | base64)
(
    umask 077
    printf 'linesim scanner %s\nwcsctl operator %s\n' "$scan_secret" "$ctl_secret" \
        >"$state/tokens"
    printf '%s\n' "$scan_secret" >"$state/linesim.token"
    printf '%s\n' "$ctl_secret" >"$state/wcsctl.token"
)
unset scan_secret ctl_secret
export WCS_TOKEN_FILE="$state/wcsctl.token"

speed=${WCS_DEMO_SPEED:-10}
win_before=$((60 / speed + 1))
win_after=$((30 / speed + 1))
cat >"$state/wcsd.yaml" <<YAML
# wcsd configuration written by scripts/run.sh for the demo
node: WCS01
log_level: info
database:
  conninfo: "$WCS_DB"
  connect_wait_s: 30
http:
  listen: 127.0.0.1
  port: ${WCS_HTTP_PORT:-8080}
  tokens_file: $state/tokens
registry:
  expected_parcels: 100000
events:
  spool_path: $state/spool
customs:
  duty_rules: $top/data/duty-rules.csv
  exchange_rates: $top/data/exchange-rates.csv
plcs:
  - id: PLC01
    mode: server
    host: 127.0.0.1
    port: ${WCS_PLC_PORT:-2001}
    read_window_before_ms: $win_before
    read_window_after_ms: $win_after
    locations: [SCAN01]
console:
  chute_capacity: 60   # the line emulator's bags (--capacity) once the demo run is over
YAML
"$bin/wcsd" --config "$state/wcsd.yaml" -n

echo "== schema, sort plan, pre-advice"
"$bin/wcsctl" migrate
"$bin/wcsctl" sortplan load data/sortplan-sample.csv --activate
# Exit 1 = some declarations are invalid (their parcels are blocked), which
# the sample data has on purpose; 2 would be a real failure.
"$bin/wcsctl" --config "$state/wcsd.yaml" import data/preadvice-sample.csv \
    data/preadvice-sample.jsonl || [ $? = 1 ]

echo "== wcsd"
pidfile="$state/wcsd.pid"
if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
    kill "$(cat "$pidfile")" && sleep 1
fi
"$bin/wcsd" --config "$state/wcsd.yaml" >"$state/wcsd.log" 2>&1 &
pid=$!
echo $pid >"$pidfile"
broker_pid=
worker_pid=
live_pid=
stop() {
    for p in $live_pid $worker_pid $broker_pid $pid; do
        kill -TERM "$p" 2>/dev/null && wait "$p" 2>/dev/null || true
    done
    rm -f "$pidfile"
    scripts/pg-test.sh stop "$pgdir"
}
trap stop EXIT
for _ in $(seq 1 300); do
    grep -q "ready:" "$state/wcsd.log" && break
    kill -0 $pid 2>/dev/null || { cat "$state/wcsd.log"; exit 1; }
    sleep 0.1
done
grep "ready:" "$state/wcsd.log"
export WCS_HTTP="http://127.0.0.1:${WCS_HTTP_PORT:-8080}"

echo "== customs: broker emulator and customs worker"
# A fresh token per run, readable by us only; never printed.
token="$state/broker.token"
(umask 077 && head -c 24 /dev/urandom | base64 >"$token")
"$bin/wcs-brokersim" --token-file "$token" --port 0 \
    --state "$state/brokersim.journal" --held-share 0.03 --duty-share 0.02 \
    --decision-delay-ms 100 --seed 1 >"$state/brokersim.log" 2>&1 &
broker_pid=$!
broker_url=
for _ in $(seq 1 100); do
    broker_url=$(sed -n 's/^brokersim ready \(http[^ ]*\).*/\1/p' "$state/brokersim.log" | head -1)
    [ -n "$broker_url" ] && break
    kill -0 $broker_pid 2>/dev/null || { cat "$state/brokersim.log"; exit 1; }
    sleep 0.1
done
[ -n "$broker_url" ] || { echo "wcs-brokersim did not start" >&2; exit 1; }
echo "broker emulator at $broker_url"
"$bin/wcs-customs-worker" --db "$WCS_DB" --broker "$broker_url" \
    --token-file "$token" --insecure-http --events 250 --broker-name demo \
    >"$state/customs-worker.log" 2>&1 &
worker_pid=$!
sql() { psql "$WCS_DB" -qtAc "$1"; }
# Bounded: the line starts once the broker has decided on what was declared.
for _ in $(seq 1 600); do
    open=$(sql "SELECT count(*) FROM customs_outbox WHERE done_at IS NULL")
    pending=$(sql "SELECT count(*) FROM parcels WHERE customs_status = 'pending'")
    [ "$open" = 0 ] && [ "$pending" = 0 ] && break
    kill -0 $worker_pid 2>/dev/null || { cat "$state/customs-worker.log"; exit 1; }
    sleep 0.2
done
sql "SELECT 'declarations: ' || string_agg(status || ' ' || n, ', ' ORDER BY status)
     FROM (SELECT status, count(*) n FROM declarations GROUP BY status) x"
sql "SELECT 'parcels by customs status: ' || string_agg(customs_status || ' ' || n, ', '
     ORDER BY customs_status) FROM (SELECT customs_status, count(*) n FROM parcels GROUP BY 1) x"

echo "== the operator console: a demo user"
# A fresh password per run, in a file only we can read; printed at the end
# (a demo login is there to be typed in).
(umask 077 && head -c 18 /dev/urandom | base64 | tr -d '/+=' | head -c 16 >"$state/demo.password" &&
    echo >>"$state/demo.password")
if "$bin/wcsctl" user list | grep -q '^demo[[:space:]]'; then
    "$bin/wcsctl" user passwd demo --password-file "$state/demo.password"
    "$bin/wcsctl" user enable demo
else
    "$bin/wcsctl" user add demo --role admin --password-file "$state/demo.password"
fi
console_url="$WCS_HTTP/"
echo "console: $console_url (user demo, password in $state/demo.password)"

echo "== wcsctl status"
"$bin/wcsctl" status
echo "== where would these parcels go? (dry runs through wcsd)"
for code in $(cut -d, -f1 data/preadvice-sample.csv | sed -n '2,6p') RR473124829GB; do
    printf '%s\t' "$code"
    "$bin/wcsctl" decide "$code" || true
done

echo "== sorting: wcs-linesim plays the sorter PLC (36,000 parcels/h, x$speed time)"
started=$(date -u +%Y-%m-%dT%H:%M:%S)
"$bin/wcs-linesim" --connect 127.0.0.1:${WCS_PLC_PORT:-2001} \
    --preadvice data/preadvice-sample.csv --count 2000 --rate 36000 --speed "$speed" --seed 1 \
    --plc-timeout-ms $((150 * speed)) \
    --noread 0.02 --unreadable 0.01 --divert-fail 0.01 --capacity 150 --empty-ms 30000 \
    --fault-noscan 0.05 --scan-url "$WCS_HTTP/v1/scans" --token-file "$state/linesim.token" \
    --report "$state/linesim-report.json" --progress
echo "== summary from the database (wcsctl summary --since $started)"
"$bin/wcsctl" summary --since "$started"
"$bin/wcsctl" status
echo "emulator's own report: $state/linesim-report.json"
first=$(cut -d, -f1 data/preadvice-sample.csv | sed -n 2p)
echo "== wcsctl parcel show $first"
"$bin/wcsctl" parcel show "$first"

echo "== bags of route RU-ZAB-RAIL closed into a dispatch; its manifest goes to the broker"
bags=()
for chute in CH012 CH013 CH014 CH015 CH016 CH017; do
    if line=$("$bin/wcsctl" bag close "$chute" 2>/dev/null); then
        echo "$line"
        bags+=("$(echo "$line" | awk '{print $2}')")
    fi
done
if [ ${#bags[@]} -gt 0 ]; then
    departure="$(date -u -d tomorrow +%Y-%m-%d)T18:00:00+08:00"
    dispatch=$("$bin/wcsctl" dispatch open RU-ZAB-RAIL --transport rail --departure "$departure" \
        --crossing Manzhouli-Zabaykalsk | awk '{print $NF}')
    "$bin/wcsctl" dispatch add "$dispatch" "${bags[@]}"
    "$bin/wcsctl" dispatch close "$dispatch"
    for _ in $(seq 1 150); do
        "$bin/wcsctl" dispatch show "$dispatch" | grep -qE "broker: (received|refused)" && break
        sleep 0.2
    done
    "$bin/wcsctl" dispatch show "$dispatch" || true
fi
echo "== wcsctl customs problems --kind invalid,manifest"
"$bin/wcsctl" customs problems --kind invalid,manifest || true
echo "(and $(sql "SELECT count(*) FROM parcels WHERE customs_status = 'held'") parcel(s) held by" \
    "customs at the customs-hold chute: wcsctl customs problems --kind held)"

if [ $once = 1 ]; then
    echo "== done (--once): stopping wcsd and PostgreSQL"
    exit 0
fi
# The line keeps sorting (5 parcels/s, bags of 60: chutes fill and raise
# alarms for the console to show) until Ctrl-C.
"$bin/wcs-linesim" --connect 127.0.0.1:${WCS_PLC_PORT:-2001} \
    --preadvice data/preadvice-sample.csv --duration 86400 --rate 1800 --speed "$speed" --seed 2 \
    --tracking-base 5000000 --plc-timeout-ms $((150 * speed)) \
    --noread 0.03 --unreadable 0.01 --divert-fail 0.01 --capacity 60 --empty-ms 600000 \
    --scan-url "$WCS_HTTP/v1/scans" --token-file "$state/linesim.token" \
    >"$state/linesim-live.log" 2>&1 &
live_pid=$!
echo "== wcsd is running (log: $state/wcsd.log), the line emulator keeps sorting. Try:"
echo "   WCS_DB='$WCS_DB' WCS_HTTP=$WCS_HTTP WCS_TOKEN_FILE=$WCS_TOKEN_FILE $bin/wcsctl --help"
echo "   Ctrl-C stops everything."
echo "== operator console: $console_url"
echo "   user: demo   password: $(cat "$state/demo.password")"
wait $pid
