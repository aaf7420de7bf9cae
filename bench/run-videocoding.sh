#!/usr/bin/env bash
# Video coding of no-reads (issue 14): how many no-read parcels an operator
# keying codes in from the console gets to their route, and how fast.
# A private PostgreSQL 15, the sample plan and pre-advice, one wcsd, and the
# line emulator (wcs-linesim, real time) sending parcels of which a share
# have labels nothing can read (--unreadable); every parcel answered
# NOREAD__ goes round the loop once (--noread-recirc) before it would go to
# the no-read chute. Two runs on the same parcels (same seed):
#   baseline: nobody keys: what a line without video coding does;
#   keyed:    an operator stand-in keys each no-read in: it reads the code
#             a label says from the emulator's --noread-log (in the hub a
#             person reads it off the images), waits --think-ms like a
#             person typing, and keys it with `wcsctl noread key`.
# Printed per run: no-reads recorded, keyed, resolved (came round and went
# to their route), their share, the time from the no-read to the keyed code
# and to the routed decision (p50 / p95 / max), the emulator's count of
# parcels routed on a keyed code and of parcels left for hand sorting.
#
#   bench/run-videocoding.sh [BUILD_DIR] [--parcels N] [--rate PER_HOUR]
#                            [--unreadable R] [--think-ms MS] [--loop-mm MM] [--smoke]
# Defaults: 600 parcels at 36,000/h (a minute), 3% unreadable, 800 ms a
# key, a 60 m loop at 2 m/s (a 30 s round). --smoke: 80 parcels, 10%,
# 100 ms, the belt at 6 m/s (a 10 s round). Environment: WCS_BENCH_DIR (default /tmp/wcs-bench-videocoding).
# Exit 0 when the checks hold (every recorded no-read of the keyed run keyed,
# the emulator's resolved count equals the database's, no resolved parcel in
# the baseline), 1 when one fails, 2 when it could not run. Timing is a
# figure, never a check.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/bench/lib-wcsd.sh"
if bench_build "${1:-}"; then shift; fi
bench_need run-videocoding bin/wcsd bin/wcsctl bin/wcs-linesim

usage() {
    echo "usage: run-videocoding.sh [BUILD_DIR] [--parcels N] [--rate PER_HOUR]" \
        "[--unreadable R] [--think-ms MS] [--loop-mm MM] [--smoke]" >&2
    exit 2
}
parcels=600
rate=36000
unreadable=0.03
think_ms=800
loop_mm=60000
belt=2000
while [ $# -gt 0 ]; do
    case $1 in
    --parcels) parcels=${2:?}; shift 2 ;;
    --rate) rate=${2:?}; shift 2 ;;
    --unreadable) unreadable=${2:?}; shift 2 ;;
    --think-ms) think_ms=${2:?}; shift 2 ;;
    --loop-mm) loop_mm=${2:?}; shift 2 ;;
    --smoke) parcels=80; unreadable=0.1; think_ms=100; belt=6000; shift ;;
    *) usage ;;
    esac
done
for v in "$parcels" "$rate" "$think_ms" "$loop_mm"; do [[ $v =~ ^[0-9]+$ ]] || usage; done
[[ $unreadable =~ ^0(\.[0-9]+)?$ ]] || usage

dir=${WCS_BENCH_DIR:-/tmp/wcs-bench-videocoding}
db=wcs_bench_videocoding
py=/usr/bin/python3
keyer_pid=
linesim_pid=
vc_cleanup() {
    local p
    for p in "$keyer_pid" "$linesim_pid"; do
        [ -n "$p" ] && kill -TERM "$p" 2>/dev/null && wait "$p" 2>/dev/null || true
    done
    bench_stop_all
}
bench_cluster "$dir" "$db"
trap vc_cleanup EXIT
run=$dir/run
rm -rf "$run"
mkdir -p "$run"
echo "== schema, sort plan, pre-advice"
bench_preadvice "$run" 0

cat >"$run/wcsd.yaml" <<YAML
# written by bench/run-videocoding.sh
node: WCS01
log_level: info
database:
  conninfo: "$WCS_DB"
http:
  listen: ""
events:
  spool_path: $run/spool
plcs:
  - id: PLC01
    host: 127.0.0.1
    port: 0
    locations: [SCAN01]
    allow: [127.0.0.1]
YAML

# The operator stand-in: each line of the emulator's no-read log, once its
# no-read is recorded, keyed after think_ms.
cat >"$run/keyer.py" <<'PY'
import subprocess, sys, time
log, wcsctl, think_ms, out, db = (sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4],
                                  sys.argv[5])
done, pos = set(), 0
with open(out, "w") as res:
    while True:
        try:
            lines = open(log).read().splitlines()
        except OSError:
            lines = []
        for line in lines[pos:]:
            tracking, code = line.split()
            time.sleep(think_ms / 1000.0)
            for _ in range(200):  # its row is written by wcsd's video coding thread
                q = subprocess.run(
                    ["psql", db, "-AtqX", "-c",
                     "SELECT id FROM noreads WHERE tracking = '%s' AND state = 'pending'"
                     % tracking], capture_output=True, text=True)
                ids = q.stdout.split()
                if ids:
                    break
                time.sleep(0.05)
            if not ids:
                print("keyer: no pending no-read for %s" % tracking, file=sys.stderr)
                continue
            k = subprocess.run([wcsctl, "noread", "key", ids[0], code],
                               capture_output=True, text=True)
            res.write("%s %s %d\n" % (tracking, code, k.returncode))
            res.flush()
        pos = len(lines)
        time.sleep(0.05)
PY

# One run: $1 = baseline|keyed, $2 its first tracking number (a wcsd
# remembers the last hour's telegrams: each run has parcels of its own).
one_run() {
    local name=$1 rd=$run/$1 rc=0
    mkdir -p "$rd"
    cp "$run/wcsd.yaml" "$rd/wcsd.yaml"
    psql "$WCS_DB" -qc "TRUNCATE noreads" >/dev/null
    bench_wcsd_start "$rd" >/dev/null
    plc_port=$(sed -n 's/.*PLC01: listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$rd/wcsd.log" | head -1)
    [ -n "$plc_port" ] || { echo "run-videocoding: wcsd did not log its PLC port" >&2; exit 2; }
    : >"$rd/noreads.log"
    if [ "$name" = keyed ]; then
        "$py" "$run/keyer.py" "$rd/noreads.log" "$build/bin/wcsctl" "$think_ms" \
            "$rd/keyed.txt" "$WCS_DB" 2>"$rd/keyer.err" &
        keyer_pid=$!
    fi
    timeout -k 5 $((parcels * 3600 / rate * 3 + 120)) "$build/bin/wcs-linesim" \
        --connect "127.0.0.1:$plc_port" --preadvice "$codes" --count "$parcels" \
        --rate "$rate" --speed 1 --seed 11 --unreadable "$unreadable" --noread 0 \
        --tracking-base "$2" \
        --noread-recirc --loop-mm "$loop_mm" --belt-mm-s "$belt" --capacity 1000000 \
        --drain-timeout 60 \
        --noread-log "$rd/noreads.log" --log-level warn \
        --report "$rd/linesim.json" >"$rd/linesim.log" 2>&1 &
    linesim_pid=$!
    wait "$linesim_pid" || rc=$?
    linesim_pid=
    [ "$rc" = 0 ] || { echo "run-videocoding: the emulator failed ($rc)" >&2; tail "$rd/linesim.log" >&2; exit 2; }
    if [ -n "$keyer_pid" ]; then
        kill -TERM "$keyer_pid" 2>/dev/null || true
        wait "$keyer_pid" 2>/dev/null || true
        keyer_pid=
    fi
    # The resolutions are written by wcsd's thread: wait until they stand still.
    sleep 1
    bench_wcsd_stop "$rd" || failed=1
    psql "$WCS_DB" -AtqX -F ' ' -c "SELECT count(*), count(*) FILTER (WHERE state = 'keyed'),
        count(resolved_at),
        coalesce(percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM keyed_at - at)), 0),
        coalesce(percentile_cont(0.95) WITHIN GROUP (ORDER BY extract(epoch FROM keyed_at - at)), 0),
        coalesce(max(extract(epoch FROM keyed_at - at)), 0),
        coalesce(percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM resolved_at - at)), 0),
        coalesce(percentile_cont(0.95) WITHIN GROUP (ORDER BY extract(epoch FROM resolved_at - at)), 0),
        coalesce(max(extract(epoch FROM resolved_at - at)), 0) FROM noreads" >"$rd/db.txt"
}

failed=0
echo "== $parcels parcels at $rate/h, $unreadable unreadable, a ${loop_mm} mm loop at $belt mm/s," \
    "${think_ms} ms a key"
one_run baseline 1000000000
one_run keyed 2000000000
"$py" - "$run" <<'PY' || failed=1
import json, sys
run = sys.argv[1]
bad = []
print("%-9s %8s %6s %9s %7s %22s %22s %9s %8s" % ("run", "no-reads", "keyed", "resolved", "share",
      "no-read->key p50/p95/max s", "no-read->route p50/p95/max s", "em.keyed", "to hand"))
for name in ("baseline", "keyed"):
    d = open("%s/%s/db.txt" % (run, name)).read().split()
    n, k, r = int(d[0]), int(d[1]), int(d[2])
    f = [float(x) for x in d[3:]]
    ln = json.load(open("%s/%s/linesim.json" % (run, name)))["line"]
    rounds, resolved = ln["noread_rounds"], ln["noread_resolved"]
    print("%-9s %8d %6d %9d %6.1f%% %22s %22s %9d %8d" % (
        name, n, k, r, 100.0 * r / n if n else 0.0,
        "%.1f / %.1f / %.1f" % tuple(f[0:3]) if k else "-",
        "%.1f / %.1f / %.1f" % tuple(f[3:6]) if r else "-", resolved, rounds - resolved))
    if n == 0:
        bad.append("%s: no no-read recorded" % name)
    if rounds != n:
        bad.append("%s: the emulator sent %d no-reads round, %d recorded" % (name, rounds, n))
    if resolved != r:
        bad.append("%s: the emulator routed %d on a keyed code, the database resolved %d"
                   % (name, resolved, r))
    if name == "baseline" and r:
        bad.append("baseline: %d resolved without keying" % r)
    if name == "keyed" and k != n:
        bad.append("keyed: %d of %d no-reads keyed" % (k, n))
for b in bad:
    print("check failed: " + b)
sys.exit(1 if bad else 0)
PY
exit "$failed"
