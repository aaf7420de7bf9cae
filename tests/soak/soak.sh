#!/usr/bin/env bash
# soak.sh - the chaos soak: the whole system (PostgreSQL, wcsd, the customs
# worker, the broker emulator, the line emulator) at line rate, time-scaled,
# while faults are injected at random, then an independent check of what was
# stored against the emulators' own records (tests/soak/check.sql).
#
#   tests/soak/soak.sh [--seconds S] [--rate PARCELS_PER_HOUR] [--speed X]
#                      [--seed N] [--build DIR] [--dir DIR] [--keep]
#
# --seconds is real time at the line's rate (default 60); with --speed X the
# run covers X times as much line time (default 10: a minute = 10 minutes of
# a 36,000/h line). Faults, one at a time in a random order and at random
# moments (from --seed): wcsd killed with SIGKILL and restarted, PostgreSQL
# stopped and started, the customs worker killed and restarted, a lock on the
# events table held for seconds, a flood of scans on the operator API; all
# the while the line emulator drops the link, sends garbage, duplicates and
# repeats, and the broker emulator answers 5xx, 429, resets, lost answers and
# slowly. State under --dir (default /tmp/wcs-soak-$$), removed after a
# passing run unless --keep. Prints the report (also DIR/report.txt).
# Exit 0 when every check holds, 1 when one fails, 2 when the run could not
# be set up or the system did not recover.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
seconds=60
rate=36000
speed=10
seed=1
build=$top/build
dir=/tmp/wcs-soak-$$
keep=0
while [ $# -gt 0 ]; do
    case $1 in
    --seconds) seconds=$2; shift 2 ;;
    --rate) rate=$2; shift 2 ;;
    --speed) speed=$2; shift 2 ;;
    --seed) seed=$2; shift 2 ;;
    --build) build=$(cd "$2" && pwd); shift 2 ;;
    --dir) dir=$2; shift 2 ;;
    --keep) keep=1; shift ;;
    *) echo "usage: soak.sh [--seconds S] [--rate R] [--speed X] [--seed N] [--build DIR]" \
            "[--dir DIR] [--keep]" >&2; exit 2 ;;
    esac
done
bin=$build/bin
for p in wcsd wcsctl wcs-linesim wcs-brokersim wcs-customs-worker; do
    [ -x "$bin/$p" ] || { echo "soak: $bin/$p missing (build first)" >&2; exit 2; }
done
RANDOM=$seed
count=$((rate * seconds * speed / 3600))
[ $count -ge 50 ] || count=50

# --- state, processes ------------------------------------------------------------

rm -rf "$dir"
mkdir -p "$dir"
pgdir=$dir/pg
faults=$dir/faults.log      # "KIND START_MS RECOVERED_MS" per injected fault
: >"$faults"
now_ms() { date +%s%3N; }
log() { printf '%s soak: %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
die() { log "$*"; exit 2; }

cleanup() {
    [ -n "${fault_pid:-}" ] && kill "$fault_pid" 2>/dev/null || true
    kill_all
    "$top/scripts/pg-test.sh" stop "$pgdir" || true
}
trap cleanup EXIT

. "$top/tests/common/procs.sh"

"$top/scripts/pg-test.sh" start "$pgdir"
base=$("$top/scripts/pg-test.sh" conninfo "$pgdir")
db=wcs_soak
psql "$base dbname=postgres" -qc "SET client_min_messages = warning" \
    -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" >/dev/null
export WCS_DB="$base dbname=$db"
sql() { psql "$WCS_DB" -qtAX -c "$1"; }

# --- configuration -------------------------------------------------------------------

# The line runs x$speed: the PLC's deadline (150 ms) stays real time, the
# read window (60 ms before, 30 after: narrower than the 100 ms between
# parcels at 36,000/h) shrinks with the line's time, as in scripts/run.sh.
# Fixed ports (wcsd is restarted on them), below Linux's ephemeral range
# (32768-60999), where a client's connection could hold one.
plc_port=$(( (RANDOM % 4000) + 20000 ))
http_port=$(( plc_port + 5000 ))
(umask 077 && head -c 24 /dev/urandom | base64 >"$dir/broker.token")
# wcsd's API takes bearer tokens (docs/security.md): the line emulator posts
# its scans as a scanner, the flood comes from a camera with a valid scanner
# token (and another address) gone mad, the settle loop reads /v1/status as
# a monitor. Fresh secrets, files only we can read, headers for curl -H @FILE.
scan_secret=$(head -c 24 /dev/urandom | base64)
flood_secret=$(head -c 24 /dev/urandom | base64)
status_secret=$(head -c 24 /dev/urandom | base64)
(
    umask 077
    printf 'linesim scanner %s\ncam-flood scanner %s\nsoak monitor %s\n' "$scan_secret" \
        "$flood_secret" "$status_secret" >"$dir/tokens"
    printf '%s\n' "$scan_secret" >"$dir/linesim.token"
    printf 'Authorization: Bearer %s\n' "$flood_secret" >"$dir/flood.header"
    printf 'Authorization: Bearer %s\n' "$status_secret" >"$dir/status.header"
)
unset scan_secret flood_secret status_secret
cat >"$dir/wcsd.yaml" <<YAML
node: WCS01
database:
  conninfo: "$WCS_DB"
  connect_wait_s: 120
http:
  listen: 127.0.0.1
  port: $http_port
  tokens_file: $dir/tokens
registry:
  expected_parcels: 10000
  resync_s: 5
events:
  spool_path: $dir/spool
customs:
  duty_rules: $top/data/duty-rules.csv
  exchange_rates: $top/data/exchange-rates.csv
plcs:
  - id: PLC01
    host: 127.0.0.1
    port: $plc_port
    life_interval_ms: 2000
    read_window_before_ms: $((60 / speed + 1))
    read_window_after_ms: $((30 / speed + 1))
    locations: [SCAN01]
    allow: [127.0.0.1]
YAML
"$bin/wcsd" -n --config "$dir/wcsd.yaml" >/dev/null
"$bin/wcsctl" migrate >/dev/null
"$bin/wcsctl" sortplan load "$top/data/sortplan-sample.csv" --activate >/dev/null
"$bin/wcsctl" --config "$dir/wcsd.yaml" import "$top/data/preadvice-sample.csv" >/dev/null ||
    [ $? = 1 ] || die "import failed"

start brokersim "$bin/wcs-brokersim" --token-file "$dir/broker.token" --port 0 --seed "$seed" \
    --state "$dir/brokersim.journal" --record "$dir/broker-record.jsonl" --held-share 0.03 \
    --decision-delay-ms 100 --fail-5xx 0.05 --rate-limit 0.03 --retry-after 1 --reset 0.02 \
    --reset-after 0.02 --latency-ms 2 --jitter-ms 30
wait_line brokersim 0 "brokersim ready" || die "wcs-brokersim did not start"
broker_url=$(sed -n 's/^brokersim ready \(http[^ ]*\).*/\1/p' "$dir/brokersim.log" | head -1)
start_worker() {
    start worker "$bin/wcs-customs-worker" --db "$WCS_DB" --broker "$broker_url" \
        --token-file "$dir/broker.token" --insecure-http --events 250 --broker-name soak
}
start_wcsd() {
    local from
    from=$(lines wcsd)
    start wcsd "$bin/wcsd" --config "$dir/wcsd.yaml"
    wait_line wcsd "$from" "ready:"
}
start_worker
start_wcsd || die "wcsd did not start"

# --- the line, and faults while it runs -----------------------------------------------

log "line: $count parcels at $rate/h, x$speed (about $seconds s), seed $seed"
start linesim "$bin/wcs-linesim" --connect "127.0.0.1:$plc_port" \
    --preadvice "$top/data/preadvice-sample.csv" --count "$count" --rate "$rate" \
    --speed "$speed" --seed "$seed" --plc-timeout-ms $((150 * speed)) --capacity 60 \
    --empty-ms 30000 --noread 0.02 --divert-fail 0.02 --lost 0.005 --removed 0.005 \
    --fault-drop 0.002 --fault-garbage 0.01 --fault-badlen 0.005 --fault-dup 0.02 \
    --fault-repeat 0.02 --fault-slow 0.002 --slow-ms 300 --fault-noscan 0.05 \
    --scan-url "http://127.0.0.1:$http_port/v1/scans" --token-file "$dir/linesim.token" \
    --drain-timeout 180 \
    --report "$dir/linesim-report.json" --journal "$dir/journal.jsonl"

# Holds an exclusive lock on the events table for 3 s.
lock_events() {
    psql "$WCS_DB" -qc "BEGIN; LOCK TABLE events IN ACCESS EXCLUSIVE MODE;
                        SELECT pg_sleep(3); COMMIT" >/dev/null 2>>"$dir/faults.err" ||
        { echo "$(date -u +%T) db_lock: psql exited $?" >>"$dir/faults.err"; return 1; }
}

# One fault: records "KIND START END" with END the moment the system was
# back (the restarted program ready), or "KIND START -1" when it was not.
inject() {
    local kind=$1 t0 ok=0
    t0=$(now_ms)
    case $kind in
    wcsd_kill)
        kill -KILL "$(pid_of wcsd)" 2>/dev/null || true
        sleep 0.5
        start_wcsd && ok=1 ;;
    db_restart)
        "$top/scripts/pg-test.sh" stop "$pgdir"
        sleep 2
        "$top/scripts/pg-test.sh" start "$pgdir" && ok=1 ;;
    worker_kill)
        kill -KILL "$(pid_of worker)" 2>/dev/null || true
        sleep 0.5
        start_worker
        ok=1 ;;
    db_lock)
        # Why psql failed goes to faults.err; one more try before the fault
        # counts as not recovered (a long run once saw psql fail at once,
        # with nothing in the server's log).
        lock_events || { sleep 0.5; lock_events; } && ok=1 ;;
    scan_flood)
        local i
        for i in $(seq 1 300); do
            curl -s -o /dev/null -m 2 --interface 127.0.0.2 -X POST \
                -H 'Content-Type: application/json' -H @"$dir/flood.header" \
                -d "{\"location\": \"SCAN01\", \"code\": \"RR$((100000000 + i))CN\"}" \
                "http://127.0.0.1:$http_port/v1/scans" || true
        done
        ok=1 ;;
    esac
    if [ $ok = 1 ]; then
        echo "$kind $t0 $(now_ms)" >>"$faults"
    else
        echo "$kind $t0 -1" >>"$faults"
    fi
    # The worker exits when it loses the database (ERR_DB); in production
    # systemd restarts it (deploy/wcs-customs-worker.service.in), here we do.
    # wcsd must survive everything but SIGKILL: it is never restarted here.
    alive worker || start_worker
}

# Every kind once per round, rounds in a random order, 2-6 s apart.
fault_loop() {
    local kinds=(wcsd_kill db_restart worker_kill db_lock scan_flood) k i j t
    while :; do
        for ((i = ${#kinds[@]} - 1; i > 0; i--)); do
            j=$((RANDOM % (i + 1)))
            t=${kinds[$i]}; kinds[$i]=${kinds[$j]}; kinds[$j]=$t
        done
        for k in "${kinds[@]}"; do
            sleep "$((2 + RANDOM % 5))"
            alive linesim || return 0
            inject "$k"
        done
    done
}
fault_loop &
fault_pid=$!
while alive linesim; do
    sleep 1
done
wait "$(pid_of linesim)" 2>/dev/null && line_rc=0 || line_rc=$?
# The fault loop ends by itself before its next fault (at most 6 s of sleep
# and one fault away): killing it could cut a fault in half, such as
# PostgreSQL stopped and never started again.
wait "$fault_pid" 2>/dev/null || true
fault_pid=
[ "$line_rc" = 0 ] || log "wcs-linesim exited $line_rc (2: parcels left unfinished)"

# --- settle: everything stored, declared, bagged ------------------------------------

alive wcsd || die "wcsd died (not by an injected fault): see $dir/wcsd.log"
alive worker || start_worker
status_field() {
    curl -s -m 5 -H @"$dir/status.header" "http://127.0.0.1:$http_port/v1/status" |
        grep -o "\"$1\":[0-9]*" | head -1 |
        cut -d: -f2
}
settled=0
for _ in $(seq 1 600); do
    q=$(status_field queued)
    s=$(status_field spool_records)
    o=$(sql "SELECT count(*) FROM customs_outbox WHERE done_at IS NULL" 2>/dev/null || echo x)
    if [ "${q:-x}" = 0 ] && [ "${s:-x}" = 0 ] && [ "$o" = 0 ]; then
        settled=1
        break
    fi
    sleep 0.5
done
[ $settled = 1 ] || die "not settled: writer queue ${q:-?}, spool ${s:-?}, outbox $o"
for chute in $(sql "SELECT DISTINCT chute FROM events WHERE kind = 'confirm'
                    AND reason = 'SORTED__' AND chute NOT LIKE 'SP-%' ORDER BY 1"); do
    "$bin/wcsctl" bag close "$chute" >/dev/null 2>&1 || true
done
kill -TERM "$(pid_of wcsd)" "$(pid_of worker)" "$(pid_of brokersim)" 2>/dev/null || true
for p in wcsd worker brokersim; do
    for _ in $(seq 1 100); do alive $p || break; sleep 0.1; done
done

# --- the independent check ------------------------------------------------------------

# The emulators' own records, as they wrote them, beside what the WCS stored.
sql "CREATE TABLE soak_journal (line jsonb); CREATE TABLE soak_record (line jsonb);
     CREATE TABLE soak_faults (kind text, t0 bigint, t1 bigint)" >/dev/null
raw="WITH (FORMAT csv, DELIMITER E'\\x02', QUOTE E'\\x01')"
psql "$WCS_DB" -qc "\\copy soak_journal FROM '$dir/journal.jsonl' $raw" >/dev/null
[ -f "$dir/broker-record.jsonl" ] &&
    psql "$WCS_DB" -qc "\\copy soak_record FROM '$dir/broker-record.jsonl' $raw" >/dev/null
psql "$WCS_DB" -qc "\\copy soak_faults FROM '$faults' WITH (FORMAT text, DELIMITER ' ')" >/dev/null
if psql "$WCS_DB" -qtAX -v ON_ERROR_STOP=1 -f "$top/tests/soak/check.sql" \
    >"$dir/report.txt" 2>&1; then
    rc=0
else
    rc=1
fi
{
    echo "soak: $count parcels at $rate/h x$speed, seed $seed, line exit $line_rc"
    cat "$dir/report.txt"
} | tee "$dir/report.full"
grep -q '^CHECK FAILED' "$dir/report.txt" && rc=1
[ "$line_rc" = 0 ] || rc=1
if [ $rc = 0 ] && [ $keep = 0 ]; then
    cleanup
    trap - EXIT
    rm -rf "$dir"
fi
exit $rc
