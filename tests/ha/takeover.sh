#!/usr/bin/env bash
# takeover.sh - the hot standby of wcsd (docs/ha.md): two wcsd with one
# line's configuration (node WCS01) on one PostgreSQL, each as it would run
# on its own machine (holder host names "hostA" and "hostB"), the line
# emulator as the PLC listening for its WCS (plcs mode client: whichever
# wcsd is active connects). One takes the line's lease and is active, the
# other waits as standby.
#
#  1. kill -9: in the middle of a line-rate run the active is killed; the
#     standby takes the lease when it lapses and connects to the PLC. The
#     line emulator's journal is checked against the database afterwards by
#     an independent query (tests/soak/check-upd.sql): every UPD_ the WCS
#     acknowledged is stored exactly once, whoever acknowledged it. The
#     takeover time (kill -> the new active's PLC link up) is printed.
#  2. a stale active: the killed wcsd comes back (standby now); the active
#     one is frozen (SIGSTOP, a paused VM), the standby takes over, and the
#     frozen one is thawed: it must answer nothing, write nothing (its
#     writer's fencing token is refused) and stop by itself; the database
#     must still refuse a batch with its token.
#
#   tests/ha/takeover.sh [BUILD_DIR] [--seconds S] [--keep]
# State in /tmp/wcs-takeover-$$, removed after a passing run unless --keep.
# Exit 0 when every check holds, 1 when one fails, 2 when it could not run.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/common/procs.sh"
run_args takeover 18 "$@"
bin=$build/bin
dir=/tmp/wcs-takeover-$$
pgdir=$dir/pg
rm -rf "$dir"
mkdir -p "$dir"
log() { printf '%s takeover: %s\n' "$(date -u +%H:%M:%S.%N | cut -c1-12)" "$*" >&2; }
die() { log "$*"; exit 2; }
now_ms() { date +%s%3N; }
cleanup() {
    kill_all
    "$top/scripts/pg-test.sh" stop "$pgdir" || true
}
trap cleanup EXIT
fail=0
check() { if eval "$2"; then log "ok: $1"; else log "FAILED: $1"; fail=1; fi; }

"$top/scripts/pg-test.sh" start "$pgdir"
base=$("$top/scripts/pg-test.sh" conninfo "$pgdir")
db=wcs_takeover
psql "$base dbname=postgres" -qc "CREATE DATABASE $db" >/dev/null
export WCS_DB="$base dbname=$db"
sql() { psql "$WCS_DB" -qtAX -c "$1"; }
"$bin/wcsctl" migrate >/dev/null
"$bin/wcsctl" sortplan load "$top/data/sortplan-sample.csv" --activate >/dev/null
"$bin/wcsctl" import "$top/data/preadvice-sample.csv" >/dev/null || [ $? = 1 ] || die "import failed"

# --- the PLC, and the line's two wcsd ----------------------------------------------------

speed=10
count=$((36000 * seconds * speed / 3600))
start linesim "$bin/wcs-linesim" --listen 127.0.0.1:0 \
    --preadvice "$top/data/preadvice-sample.csv" --count "$count" --rate 36000 \
    --speed "$speed" --seed 5 --plc-timeout-ms 1500 --capacity 60 --empty-ms 30000 \
    --drain-timeout 120 --journal "$dir/journal.jsonl" --report "$dir/linesim-report.json"
wait_line linesim 0 "linesim ready listen" || die "the line emulator did not start"
plc_port=$(sed -n 's/^linesim ready listen 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$dir/linesim.log" | head -1)

# One line, one configuration; each machine its own spool.
for m in A B; do
    cat >"$dir/wcsd-$m.yaml" <<YAML
node: WCS01
database:
  conninfo: "$WCS_DB"
  connect_wait_s: 30
http:
  listen: ""
registry:
  expected_parcels: 10000
events:
  node_id: 1
  spool_path: $dir/spool-$m
plcs:
  - id: PLC01
    mode: client
    host: 127.0.0.1
    port: $plc_port
    life_interval_ms: 1000
    locations: [SCAN01]
YAML
done
start_wcsd() { # NAME MACHINE
    local from
    from=$(lines "$1")
    WCS_HOLDER_HOST=host$2 start "$1" "$bin/wcsd" --config "$dir/wcsd-$2.yaml"
    wait_line "$1" "$from" "ready:"
}
start_wcsd wcsdA A || die "wcsd A did not start"
grep -q "ready:.*active" "$dir/wcsdA.log" || die "wcsd A is not active"
start_wcsd wcsdB B || die "wcsd B did not start"
grep -q "ready:.*standby" "$dir/wcsdB.log" || die "wcsd B is not the standby"
"$bin/wcsctl" status >"$dir/status-1.txt" 2>&1 || true
check "wcsctl status names the active and the standby" \
    "grep -q 'line WCS01 (events.node_id 1): active hostA:.*standby hostB:' '$dir/status-1.txt'"
log "line: $count parcels at 36,000/h x$speed (about $seconds s)"

# --- 1. kill -9 of the active in the middle of the run ----------------------------------

sleep $((seconds / 3))
decided_before=$(sql "SELECT count(*) FROM events WHERE kind = 'decision'")
t_kill=$(now_ms)
kill -KILL "$(pid_of wcsdA)"
log "active wcsd A killed (-9) after $decided_before decisions"
wait_line wcsdB 0 "PLC01: link up" || die "wcsd B did not take over"
t_up=$(now_ms)
takeover_ms=$((t_up - t_kill))
log "wcsd B active, its PLC link up $takeover_ms ms after the kill"
check "takeover under 5 s after the active's death ($takeover_ms ms)" "[ $takeover_ms -lt 5000 ]"

# The killed one comes back: the standby now.
start_wcsd wcsdA A || die "wcsd A did not restart"
check "the restarted wcsd A waits as standby" "tail -3 '$dir/wcsdA.log' | grep -q 'ready:.*standby'"

line_rc=0
wait "$(pid_of linesim)" || line_rc=$?
check "the line emulator finished (exit $line_rc)" "[ $line_rc = 0 ]"
psql "$WCS_DB" -qc "CREATE TABLE soak_journal (line jsonb)" >/dev/null
psql "$WCS_DB" -qc "\\copy soak_journal FROM '$dir/journal.jsonl' WITH (FORMAT csv, DELIMITER E'\\x02', QUOTE E'\\x01')" >/dev/null
upd=$(psql "$WCS_DB" -qtAX -v ON_ERROR_STOP=1 -f "$top/tests/soak/check-upd.sql")
log "$upd"
check "every acknowledged UPD_ stored exactly once" \
    "case \"\$upd\" in 'check ok: every acknowledged UPD_ stored exactly once: '*) true ;; *) false ;; esac"
acked=$(sed -n 's/.*exactly once: \([0-9]*\) UPD_.*/\1/p' <<<"$upd")
check "UPD_s were acknowledged on both sides of the takeover ($acked)" "[ '${acked:-0}' -gt 0 ]"
timeouts=$(sed -n 's/.*"plc_timeouts": *\([0-9]*\).*/\1/p' "$dir/linesim-report.json" | head -1)
log "the PLC gave up on ${timeouts:-?} requests (default exit) while no wcsd answered"

# --- 2. a stale active: frozen, taken over, thawed --------------------------------------

token_b=$(sql "SELECT token FROM wcs_lines WHERE node = 'WCS01'")
kill -STOP "$(pid_of wcsdB)"
t_stop=$(now_ms)
log "active wcsd B frozen (SIGSTOP) with token $token_b"
wait_line wcsdA "$(($(lines wcsdA) - 3))" "line WCS01 active" || die "wcsd A did not take over"
log "wcsd A active $(( $(now_ms) - t_stop )) ms after B froze"
events_a=$(sql "SELECT count(*) FROM events")
kill -CONT "$(pid_of wcsdB)"
for _ in $(seq 1 100); do alive wcsdB || break; sleep 0.1; done
check "the thawed wcsd B stopped by itself" "! alive wcsdB"
check "it said why (lease lapsed or lost)" "grep -q 'lease lapsed\|lease lost\|took the line' '$dir/wcsdB.log'"
check "it answered no telegram after the thaw" \
    "! sed -n '/SIGCONT\|lease lapsed/,\$p' '$dir/wcsdB.log' | grep -q 'link up'"
check "the database refuses a batch with B's token" \
    "! psql '$WCS_DB' -qtAX -c \"SELECT wcs_lease_fence('WCS01', $token_b)\" >/dev/null 2>&1"
check "the database takes A's token" \
    "psql '$WCS_DB' -qtAX -c \"SELECT wcs_lease_fence('WCS01', (SELECT token FROM wcs_lines))\" >/dev/null"
"$bin/wcsctl" status >"$dir/status-2.txt" 2>&1 || true
check "wcsctl status shows the takeovers" "grep -q '2 takeover(s), the last at .* from hostB:' '$dir/status-2.txt'"
events_now=$(sql "SELECT count(*) FROM events")
log "events: $events_a when A took over, $events_now now"

kill -TERM "$(pid_of wcsdA)"
for _ in $(seq 1 300); do alive wcsdA || break; sleep 0.1; done
check "wcsd A stopped on SIGTERM" "! alive wcsdA"
check "and released the lease" "grep -q 'lease of line WCS01 released' '$dir/wcsdA.log'"

echo "takeover: $count parcels; kill -9 of the active after $decided_before decisions;" \
    "takeover $takeover_ms ms (kill -> the standby's PLC link up; ha.lease_ms 3000);" \
    "${timeouts:-?} requests timed out at the PLC meanwhile (x$speed line time); $upd;" \
    "line exit $line_rc"
run_end takeover $fail
