#!/usr/bin/env bash
# failover.sh - database failover under line load (docs/ha.md): a primary
# and a streaming replica (two PostgreSQL 15 clusters on this machine, the
# replica synchronous: synchronous_standby_names), wcsd on a libpq
# multi-host conninfo (host=primary,replica target_session_attrs=read-write)
# with its spool, the line emulator sorting at line rate; in the middle the
# primary is stopped with -m immediate and the replica promoted. Checked
# against the line emulator's own journal: every UPD_ the WCS acknowledged is
# in the new primary exactly once. Prints the gap (RTO: the primary gone ->
# events stored on the new primary) and the loss (RPO: acknowledged events
# missing, expected 0 with a synchronous replica).
#
#   tests/ha/failover.sh [BUILD_DIR] [--seconds S] [--keep]
# State in /tmp/wcs-failover-$$, removed after a passing run unless --keep.
# Exit 0 when every check holds, 1 when one fails, 2 when it could not run.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/common/procs.sh"
run_args failover 16 "$@"
bin=$build/bin
pgbin=/usr/lib/postgresql/15/bin
dir=/tmp/wcs-failover-$$
pg1=$dir/pg1
pg2=$dir/pg2
rm -rf "$dir"
mkdir -p "$dir"
log() { printf '%s failover: %s\n' "$(date -u +%H:%M:%S.%N | cut -c1-12)" "$*" >&2; }
die() { log "$*"; exit 2; }
now_ms() { date +%s%3N; }
as_pg() { if [ "$(id -un)" = postgres ]; then "$@"; else runuser -u postgres -- "$@"; fi; }
cleanup() {
    kill_all
    "$top/scripts/pg-test.sh" stop "$pg1" || true
    "$top/scripts/pg-test.sh" stop "$pg2" || true
}
trap cleanup EXIT

# --- a primary and its synchronous replica ---------------------------------------------

"$top/scripts/pg-test.sh" start "$pg1"
db=wcs_ha
psql "host=$pg1 user=postgres dbname=postgres" -qc "CREATE DATABASE $db" >/dev/null
mkdir -p "$pg2"
chown postgres:postgres "$pg2"
chmod 700 "$pg2"
as_pg "$pgbin/pg_basebackup" -D "$pg2/data" -R -X stream -c fast \
    -d "host=$pg1 port=5432 user=postgres application_name=replica1" >"$dir/basebackup.log" 2>&1 ||
    { cat "$dir/basebackup.log" >&2; die "pg_basebackup failed"; }
"$top/scripts/pg-test.sh" start "$pg2"
psql "host=$pg1 user=postgres dbname=postgres" -qc \
    "ALTER SYSTEM SET synchronous_standby_names = 'replica1'" -c "SELECT pg_reload_conf()" \
    >/dev/null
for _ in $(seq 1 100); do
    state=$(psql "host=$pg1 user=postgres dbname=postgres" -qtAX -c \
        "SELECT sync_state FROM pg_stat_replication WHERE application_name = 'replica1'")
    [ "$state" = sync ] && break
    sleep 0.1
done
[ "$state" = sync ] || die "the replica is not synchronous (sync_state '$state')"
log "primary $pg1, replica $pg2 streaming, synchronous"

# Both hosts; libpq takes the one that accepts writes.
export WCS_DB="host=$pg1,$pg2 port=5432,5432 user=postgres dbname=$db target_session_attrs=read-write connect_timeout=2"
"$bin/wcsctl" migrate >/dev/null
"$bin/wcsctl" sortplan load "$top/data/sortplan-sample.csv" --activate >/dev/null
"$bin/wcsctl" import "$top/data/preadvice-sample.csv" >/dev/null || [ $? = 1 ] || die "import failed"

# --- wcsd and the line ------------------------------------------------------------------

cat >"$dir/wcsd.yaml" <<YAML
node: WCS01
database:
  conninfo: "$WCS_DB"
  connect_wait_s: 60
registry:
  expected_parcels: 10000
  resync_s: 5
events:
  spool_path: $dir/spool
plcs:
  - id: PLC01
    host: 127.0.0.1
    port: 0
    life_interval_ms: 2000
    locations: [SCAN01]
    allow: [127.0.0.1]
YAML
"$bin/wcsd" -n --config "$dir/wcsd.yaml" >/dev/null
start wcsd "$bin/wcsd" --config "$dir/wcsd.yaml"
wait_line wcsd 0 "ready:" || { tail -5 "$dir/wcsd.log" >&2; die "wcsd did not start"; }
# wcsd picked a free port for the PLC link (a fixed one may be some client's
# ephemeral port): its log says which.
plc_port=$(sed -n 's/.*PLC01: listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$dir/wcsd.log" | head -1)
[ -n "$plc_port" ] || die "wcsd did not log its PLC port"
speed=10
count=$((36000 * seconds * speed / 3600))
log "line: $count parcels at 36,000/h x$speed (about $seconds s)"
start linesim "$bin/wcs-linesim" --connect "127.0.0.1:$plc_port" \
    --preadvice "$top/data/preadvice-sample.csv" --count "$count" --rate 36000 \
    --speed "$speed" --seed 3 --plc-timeout-ms 1500 --capacity 60 --empty-ms 30000 \
    --drain-timeout 120 --journal "$dir/journal.jsonl" --report "$dir/linesim-report.json"

# --- the primary dies, the replica is promoted ------------------------------------------

sleep $((seconds / 3))
stored_before=$(psql "host=$pg1 user=postgres dbname=$db" -qtAX -c "SELECT count(*) FROM events")
t_kill=$(now_ms)
as_pg "$pgbin/pg_ctl" -D "$pg1/data" -m immediate -w stop >/dev/null
log "primary stopped (-m immediate) with $stored_before events stored"
sleep 1
as_pg "$pgbin/pg_ctl" -D "$pg2/data" -w promote >/dev/null
t_promoted=$(now_ms)
log "replica promoted in $((t_promoted - t_kill)) ms"
t_back=-1
for _ in $(seq 1 600); do
    n=$(psql "host=$pg2 user=postgres dbname=$db" -qtAX -c \
        "SELECT count(*) FROM events WHERE at > to_timestamp($t_kill / 1000.0)" 2>/dev/null || echo 0)
    if [ "${n:-0}" -gt 0 ]; then
        t_back=$(now_ms)
        break
    fi
    sleep 0.05
done
[ "$t_back" -gt 0 ] || die "no event reached the new primary"
log "events stored on the new primary $((t_back - t_kill)) ms after the primary died"

line_rc=0
wait "$(pid_of linesim)" || line_rc=$?
kill -TERM "$(pid_of wcsd)"
for _ in $(seq 1 300); do alive wcsd || break; sleep 0.1; done
alive wcsd && die "wcsd did not stop"

# --- the check, on the new primary ------------------------------------------------------

new="host=$pg2 user=postgres dbname=$db"
psql "$new" -qc "CREATE TABLE soak_journal (line jsonb)" >/dev/null
psql "$new" -qc "\\copy soak_journal FROM '$dir/journal.jsonl' WITH (FORMAT csv, DELIMITER E'\\x02', QUOTE E'\\x01')" >/dev/null
check=$(psql "$new" -qtAX -v ON_ERROR_STOP=1 -f "$top/tests/soak/check-upd.sql")
rc=0
[ "$line_rc" = 0 ] || { log "the line emulator exited $line_rc"; rc=1; }
case $check in
"check ok: every acknowledged UPD_ stored exactly once: "*) ;;
*) rc=1 ;;
esac
acked=$(sed -n 's/.*exactly once: \([0-9]*\) UPD_.*/\1/p' <<<"$check")
[ "${acked:-0}" -gt 0 ] || { log "no UPD_ acknowledged"; rc=1; }
echo "failover: $count parcels; primary killed after $stored_before events;" \
    "replica promoted in $((t_promoted - t_kill)) ms;" \
    "RTO $((t_back - t_kill)) ms (primary gone -> events stored on the new primary);" \
    "RPO: $check;" \
    "line exit $line_rc"
run_end failover $rc
