#!/usr/bin/env bash
# Several sorting lines on one PostgreSQL (issue 13): a private PostgreSQL 15
# cluster, a fresh database (schema, sample sort plan activated, the sample
# pre-advice plus 100,000 generated parcels), then
#   phase A: one wcsd (node WCS01, events.node_id 1) alone, driven by one line
#            emulator (wcs-linesim, a virtual sorter PLC on its own TCP link);
#   phase B: N wcsd at once (WCS01..WCS0N, events.node_id 1..N, each its own
#            config, spool and PLC port), each driven by its own emulator;
# each phase first at line rate (36,000 parcels/h, time compressed by
# --speed, 100 parcels/s a line at the default x10) for --seconds, then at
# the maximum rate: the highest rate a line that every line of the phase
# sustains with every event durable (a search, below). Printed per node and
# in total: decisions/s, durable parcels/s, REQ_ -> RES_ p50/p99/p99.9/max;
# then phase B's figures against phase A's (the node alone, same run) as
# ratios. wcsd (SIGTERM) and the cluster are stopped afterwards.
#
#   bench/run-lines.sh [BUILD_DIR] [--seconds S] [--nodes N] [--speed X]
#                      [--probe-seconds P] [--max-probes K] [--smoke]
# --seconds: each line-rate run (20); --nodes: phase B (4); --speed: line-rate
# time compression (10); --probe-seconds: each run of the max-rate search
# (4); --max-probes: runs of that search per phase (7); --smoke: 2 nodes,
# 3 s at line rate, 1 s probes, 3 of them, only the sample pre-advice.
# Environment: WCS_BENCH_DIR (state, default /tmp/wcs-bench-lines),
# WCS_BENCH_PARCELS (generated pre-advice, default 100000; 0 = the sample).
# Exit 0 when every check holds (the checks are about correctness, never
# about timing: a line that did not keep up is a figure, printed as "NOT
# met"), 1 when one fails, 2 when it could not run.
#
# What the figures are (docs/benchmarks.md "Several lines on one database"):
# - decisions/s: RES_ the emulator received (its report's latency_us.count)
#   per second of its run (run.real_s: its connection to its last ACK_). An
#   open-loop emulator offers a fixed rate, so this is the offered rate
#   whenever wcsd keeps up; the max-rate search is what finds the ceiling.
# - durable parcels/s: confirm events with reason SORTED__ of that node
#   (events ids carry the node in their low 8 bits: (id & 255) = node_id)
#   stored in the database within the run's id range, divided by the same
#   run.real_s. wcsd ACK_s an UPD_ only once its records are durable, and
#   the run ends at the emulator's last ACK_, so every counted confirmation
#   was durable within that wall time; the count is taken from the database,
#   not from the emulator's ACK_s, and compared with them (the check below).
#   An UPD_ that was ACKed from the local spool while PostgreSQL lagged
#   would not be counted: "durable" here means "in PostgreSQL".
# - REQ_ -> RES_: the emulator's own timing, real time (latency_us).
# - Maximum rate: the emulator has no closed-loop mode and wcsd does not
#   push back on the PLC (an event writer whose queue is full drops log
#   records, "event log overloaded", and never ACKs those UPD_s), so "as
#   fast as it goes" would measure losses, not a rate. The search runs short
#   probes (--probe-seconds) at one rate a line for every line of the phase:
#   doubling from a start rate while a probe passes, then halving the
#   interval until it is within a quarter. A probe passes when every line
#   finished in time (wall <= 1.1 x induction + 0.2 s: persistence kept up),
#   every parcel sorted and every UPD_ ACKed, no PLC timeout (RES_ within
#   150 ms real), and the database holds exactly what each line made: a
#   decision per REQ_, its SORTED__ confirmations and its REQ_/RES_/UPD_/ACK_
#   telegrams (a record the writer dropped is missing there; wcsd's own
#   "overloaded" warning comes at most once per 10 s, so it is not used).
#   The highest passing probe's figures are the max-rate figures. The same
#   rules decide whether the line-rate runs kept up (the "goal" line).
# - Checks (cheap, for cross-talk), in every run, passing or not: no node
#   has more records in the database than its own line made (decision
#   events <= its REQ_s, SORTED__ <= its UPD_s, telegrams <= its telegrams:
#   each decision counted once, by its own node), its telegrams are its own
#   PLC's, no record carries the number of a node that was not running, no
#   emulator crashed or hung; no error line in any wcsd log; no wcsd exited
#   with an error on SIGTERM. A wcsd still running 30 s after SIGTERM is
#   killed and reported on the "stop:" line, with the database's busy
#   sessions printed (seen: its refresher inside SELECT tracking_publish(),
#   numbering a max-rate search's pending tracking events in one statement;
#   docs/benchmarks.md).
# The belt runs at 60 m/s (virtual) and chutes never fill, so a run ends
# at the last ACK_ rather than seconds of belt later, and every parcel is
# one REQ_ and one UPD_ SORTED__ (no recirculation): the load per parcel
# is the same in every run.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/bench/lib-wcsd.sh"
if bench_build "${1:-}"; then shift; fi
bench_need run-lines bin/wcsd bin/wcsctl bin/wcs-gen-preadvice bin/wcs-linesim

usage() {
    echo "usage: run-lines.sh [BUILD_DIR] [--seconds S] [--nodes N] [--speed X]" \
        "[--probe-seconds P] [--max-probes K] [--smoke]" >&2
    exit 2
}
seconds=20
nodes=4
speed=10
probe_s=4
max_probes=7
nparcels=${WCS_BENCH_PARCELS:-100000}
while [ $# -gt 0 ]; do
    case $1 in
    --seconds) seconds=${2:?}; shift 2 ;;
    --nodes) nodes=${2:?}; shift 2 ;;
    --speed) speed=${2:?}; shift 2 ;;
    --probe-seconds) probe_s=${2:?}; shift 2 ;;
    --max-probes) max_probes=${2:?}; shift 2 ;;
    --smoke) seconds=3; nodes=2; probe_s=1; max_probes=3; nparcels=0; shift ;;
    *) usage ;;
    esac
done
for v in "$seconds" "$nodes" "$speed" "$probe_s" "$max_probes" "$nparcels"; do
    [[ $v =~ ^[0-9]+$ ]] || usage
done
[ "$nodes" -ge 1 ] && [ "$nodes" -le 16 ] || { echo "run-lines: --nodes 1..16" >&2; exit 2; }
[ "$seconds" -ge 1 ] && [ "$probe_s" -ge 1 ] && [ "$speed" -ge 1 ] && [ "$max_probes" -ge 1 ] ||
    usage

dir=${WCS_BENCH_DIR:-/tmp/wcs-bench-lines}
db=wcs_bench_lines
py=/usr/bin/python3
[ -x "$py" ] || { echo "run-lines: $py missing" >&2; exit 2; }

# --- processes: every one started here is stopped on exit ------------------
wcsd_pids=()    # index = node number (phase B), 1 in phase A
linesim_pids=()
failed=0
# PID: SIGTERM, then SIGKILL after 30 s (on exit: an interrupted run).
stop_pid() {
    local pid=$1 _
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}
lines_cleanup() {
    local p
    for p in "${linesim_pids[@]}"; do
        if [ -n "$p" ] && kill -0 "$p" 2>/dev/null; then stop_pid "$p"; fi
    done
    for p in "${wcsd_pids[@]}"; do [ -z "$p" ] || kill -TERM "$p" 2>/dev/null || true; done
    for p in "${wcsd_pids[@]}"; do
        if [ -n "$p" ] && kill -0 "$p" 2>/dev/null; then stop_pid "$p"; fi
    done
    bench_stop_all
}

bench_cluster "$dir" "$db"
trap lines_cleanup EXIT
rm -rf "$dir/run"
mkdir -p "$dir/run"
run=$dir/run
: >"$run/results.tsv"
: >"$run/crosstalk.txt"

echo "== schema, sort plan, pre-advice"
bench_preadvice "$run" "$nparcels"
npre=$(($(wc -l <"$top/data/preadvice-sample.csv") - 1 + nparcels))
echo "$npre parcels pre-advised"

# --- the report reader (Python 3 from the Debian dependencies) --------------
cat >"$run/lines.py" <<'PY'
"""collect: one run's reports and database counts -> rows of results.tsv and
pass/fail; summary: the tables and ratios."""
import json, sys

COLS = ("run phase kind nodes node rate count rc res p50 p99 p999 max real sorted acked "
        "unacked unfinished timeouts late dup tg db_dec db_sorted db_tg").split()
LOGGED = ("REQ_", "RES_", "UPD_", "ACK_")


def collect(args):
    """Prints pass or "fail: why" (the probe's verdict); appends cross-talk
    findings (a node's records counted twice or by another node) to xfile."""
    (runno, phase, kind, nodes, rate, count, secs, rdir, dbfile, rcfile, out, xfile) = args
    nodes, rate, count, secs = int(nodes), float(rate), int(count), float(secs)
    db, plcs = {}, {}
    with open(dbfile) as f:
        for line in f:
            if line.strip():
                n, dec, srt, tgs, plc = (line.rstrip("\n").split("\t") + [""] * 5)[:5]
                db[int(n)] = (int(dec), int(srt), int(tgs))
                plcs[int(n)] = set(x for x in plc.split(",") if x)
    rcs = open(rcfile).read().split()
    why, cross = [], []
    stray = sorted(n for n in db if n < 1 or n > nodes)
    if stray:
        cross.append("records of node number(s) %s, not running" % stray)
    rows = []
    for i in range(1, nodes + 1):
        node, plc = "WCS%02d" % i, "PLC%02d" % i
        try:
            r = json.load(open("%s/linesim-%s.json" % (rdir, node)))
        except (OSError, ValueError):
            why.append("%s: no emulator report" % node)
            continue
        lat, tg, ln = r["latency_us"], r["telegrams"], r["line"]
        tx, rx = tg["sent_by_type"], tg["received_by_type"]
        d = db.get(i, (0, 0, 0))
        row = dict(run=runno, phase=phase, kind=kind, nodes=nodes, node=node, rate=rate,
                   count=count, rc=rcs[i - 1], res=lat["count"], p50=lat["p50"], p99=lat["p99"],
                   p999=lat["p999"], max=lat["max"], real=r["run"]["real_s"],
                   sorted=r["final"]["SORTED"], acked=r["acks"]["ok"],
                   unacked=tg["unacked"], unfinished=r["unfinished"],
                   timeouts=ln["plc_timeouts"], late=ln["late_answers"],
                   dup=r["acks"]["duplicate"],
                   tg=sum(tx.get(t, 0) + rx.get(t, 0) for t in LOGGED),
                   db_dec=d[0], db_sorted=d[1], db_tg=d[2])
        rows.append(row)
        # Cross-talk: more records under this node than its own line made,
        # or telegrams of another PLC under its number.
        if row["db_dec"] > tx.get("REQ_", 0) or row["db_sorted"] > tx.get("UPD_", 0) \
                or row["db_tg"] > row["tg"]:
            cross.append("%s: database %d decisions, %d sorted, %d telegrams; its line sent "
                         "%d REQ_, %d UPD_, logged %d" % (node, row["db_dec"], row["db_sorted"],
                                                          row["db_tg"], tx.get("REQ_", 0),
                                                          tx.get("UPD_", 0), row["tg"]))
        if plcs.get(i, set()) - {plc}:
            cross.append("%s: telegrams of %s" % (node, sorted(plcs[i] - {plc})))
        if row["rc"] not in ("0", "2"):
            cross.append("%s: emulator exit %s" % (node, row["rc"]))
        # The probe's verdict: the line kept up, everything durable.
        if row["rc"] != "0":
            why.append("%s: emulator exit %s" % (node, row["rc"]))
        if row["unfinished"] or row["unacked"]:
            why.append("%s: %d parcels unfinished, %d telegrams not ACKed" %
                       (node, row["unfinished"], row["unacked"]))
        if row["sorted"] != count:
            why.append("%s: %d of %d sorted" % (node, row["sorted"], count))
        if row["timeouts"] or row["late"]:
            why.append("%s: %d PLC timeouts, %d late answers" % (node, row["timeouts"], row["late"]))
        if row["dup"]:
            why.append("%s: %d DUPLIC__" % (node, row["dup"]))
        if row["real"] > secs * 1.1 + 0.2:
            why.append("%s: %.2f s for %.2f s of parcels (persistence fell behind)" %
                       (node, row["real"], secs))
        if row["db_dec"] != tx.get("REQ_", 0) or row["db_sorted"] != row["sorted"] \
                or row["db_tg"] != row["tg"]:
            why.append("%s: records not logged: database %d decisions, %d sorted, %d telegrams; "
                       "line %d REQ_, %d sorted, %d telegrams" %
                       (node, row["db_dec"], row["db_sorted"], row["db_tg"], tx.get("REQ_", 0),
                        row["sorted"], row["tg"]))
    ok = not why and not cross and len(rows) == nodes
    verdict = "pass" if ok else "fail: " + "; ".join((cross + why)[:4]) + \
        (" ..." if len(cross + why) > 4 else "")
    with open(out, "a") as f:
        for row in rows:
            row["ok"], row["why"] = int(ok), verdict
            f.write("\t".join(str(row[c]) for c in COLS + ["ok", "why"]) + "\n")
    if cross:
        with open(xfile, "a") as f:
            f.write("run %s (phase %s, %s): %s\n" % (runno, phase, kind, "; ".join(cross)))
    print(verdict)


def load(path):
    rows = []
    for line in open(path):
        v = line.rstrip("\n").split("\t")
        if len(v) == len(COLS) + 2:
            rows.append(dict(zip(COLS + ["ok", "why"], v)))
    return rows


def fig(rows):
    out = []
    for r in rows:
        real = float(r["real"])
        out.append(dict(node=r["node"], rate=float(r["rate"]), count=int(r["count"]),
                        dec=int(r["res"]) / real, dur=int(r["db_sorted"]) / real,
                        p50=int(r["p50"]), p99=int(r["p99"]), p999=int(r["p999"]),
                        max=int(r["max"]), real=real))
    if out:
        wall = max(f["real"] for f in out)
        out.append(dict(node="total", rate=sum(f["rate"] for f in out),
                        count=sum(f["count"] for f in out),
                        dec=sum(f["dec"] * f["real"] for f in out) / wall,
                        dur=sum(f["dur"] * f["real"] for f in out) / wall,
                        p50=None, p99=None, p999=max(f["p999"] for f in out),
                        max=max(f["max"] for f in out), real=wall))
    return out


def summary(args):
    path, nodes, cpus = args[0], int(args[1]), args[2]
    rows = load(path)
    # The figures of a phase and kind: its line-rate run, or its highest
    # passing max-rate probe (all rows of a probe share phase, kind, rate).
    runs = {}
    for kind in ("line", "max"):
        for phase in ("A", "B"):
            sel = [r for r in rows if r["phase"] == phase and r["kind"] == kind]
            if kind == "max":
                okr = [float(r["rate"]) for r in sel if r["ok"] == "1"]
                sel = [r for r in sel if r["ok"] == "1" and float(r["rate"]) == max(okr)] if okr else []
            runs[(kind, phase)] = fig(sel)
    print("== the node alone (phase A) and %d nodes at once (B), one PostgreSQL, %s CPUs" %
          (nodes, cpus))
    print("%-5s %-5s %-6s %9s %11s %10s %7s %7s %9s %8s %8s %7s" %
          ("rate", "phase", "node", "offered/s", "decisions/s", "durable/s", "p50 us",
           "p99 us", "p99.9 us", "max us", "parcels", "wall s"))
    for kind in ("line", "max"):
        for phase in ("A", "B"):
            f = runs[(kind, phase)]
            if not f:
                print("%-5s %-5s no passing run" % (kind, phase))
            for x in f:
                print("%-5s %-5s %-6s %9.0f %11.1f %10.1f %7s %7s %9d %8d %8d %7.2f" %
                      (kind, phase, x["node"], x["rate"], x["dec"], x["dur"],
                       "-" if x["p50"] is None else x["p50"], "-" if x["p99"] is None else x["p99"],
                       x["p999"], x["max"], x["count"], x["real"]))
    print("== %d nodes / the node alone, same run" % nodes)
    for kind in ("line", "max"):
        a, b = runs[(kind, "A")], runs[(kind, "B")]
        if not a or not b:
            print("ratio %-4s: no figures (a phase had no passing run)" % kind)
            continue
        one = a[0]

        def q(k):
            return "%.2f" % (x[k] / one[k]) if one[k] else "-"
        for x in b:
            if x["node"] == "total":
                print("ratio %-4s total  decisions/s %s  durable/s %s  worst p99.9 %s" %
                      (kind, q("dec"), q("dur"), q("p999")))
            else:
                print("ratio %-4s %-6s decisions/s %s  durable/s %s  p99.9 %s  p50 %s" %
                      (kind, x["node"], q("dec"), q("dur"), q("p999"), q("p50")))
    print("== max-rate search: every probe (one rate a line for every line of the phase)")
    print("%-5s %-5s %9s %5s %11s %10s %9s  %s" % ("phase", "run", "a line/s", "lines",
                                                 "decisions/s", "durable/s", "p99.9 us", "verdict"))
    probes = {}
    for r in rows:
        if r["kind"] == "max":
            probes.setdefault((r["phase"], int(r["run"])), []).append(r)
    for (phase, run), sel in sorted(probes.items()):
        t = fig(sel)[-1]
        print("%-5s %-5d %9.0f %5d %11.1f %10.1f %9d  %s" %
              (phase, run, float(sel[0]["rate"]), len(sel), t["dec"], t["dur"], t["p999"],
               sel[0]["why"]))


if __name__ == "__main__":
    {"collect": collect, "summary": summary}[sys.argv[1]](sys.argv[2:])
PY

# --- wcsd nodes -------------------------------------------------------------
node_name() { printf 'WCS%02d' "$1"; }
plc_name() { printf 'PLC%02d' "$1"; }
declare -A plc_port=()

# Starts nodes 1..K of phase PHASE at once, waits (bounded) for each one's
# ready line and reads the PLC port it picked from its log.
start_nodes() {
    local phase=$1 k=$2 i nd ready _
    for i in $(seq 1 "$k"); do
        nd=$run/$phase/$(node_name "$i")
        mkdir -p "$nd"
        cat >"$nd/wcsd.yaml" <<YAML
# written by bench/run-lines.sh
node: $(node_name "$i")
log_level: info
database:
  conninfo: "$WCS_DB"
http:
  listen: ""
registry:
  expected_parcels: $((nparcels + 10000))
events:
  node_id: $i
  spool_path: $nd/spool
plcs:
  - id: $(plc_name "$i")
    host: 127.0.0.1
    port: 0
    locations: [SCAN01]
    allow: [127.0.0.1]
YAML
        "$build/bin/wcsd" --config "$nd/wcsd.yaml" -n >/dev/null
        "$build/bin/wcsd" --config "$nd/wcsd.yaml" >"$nd/wcsd.log" 2>&1 &
        wcsd_pids[i]=$!
    done
    for i in $(seq 1 "$k"); do
        nd=$run/$phase/$(node_name "$i")
        ready=
        for _ in $(seq 1 600); do
            ready=$(grep -m1 "ready:" "$nd/wcsd.log" || true)
            [ -n "$ready" ] && break
            kill -0 "${wcsd_pids[i]}" 2>/dev/null || break
            sleep 0.1
        done
        [ -n "$ready" ] || { tail -20 "$nd/wcsd.log" >&2; echo "run-lines: $(node_name "$i") not ready" >&2; exit 2; }
        plc_port[$i]=$(sed -n "s/.*$(plc_name "$i"): listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p" \
            "$nd/wcsd.log" | head -1)
        [ -n "${plc_port[$i]}" ] || { echo "run-lines: $(node_name "$i") did not log its PLC port" >&2; exit 2; }
        echo "${ready#* info: }"
    done
}

# Stops nodes 1..K (SIGTERM, bounded); each must exit 0.
# Stops nodes 1..K: SIGTERM to all, one shared bound of 30 s, then SIGKILL
# (counted in $slow_stops, with the database's busy sessions printed after
# 10 s to tell what a stop waits for); each must exit 0.
slow_stops=()
stop_nodes() {
    local phase=$1 k=$2 i t alive rc killed=0
    for i in $(seq 1 "$k"); do kill -TERM "${wcsd_pids[i]}" 2>/dev/null || true; done
    for t in $(seq 1 300); do
        alive=0
        for i in $(seq 1 "$k"); do kill -0 "${wcsd_pids[i]}" 2>/dev/null && alive=1; done
        [ "$alive" = 1 ] || break
        if [ "$t" = 100 ]; then
            echo "run-lines: phase $phase: a wcsd still stopping after 10 s; busy database sessions:"
            psql "$WCS_DB" -X -c "SELECT pid, state, wait_event_type, wait_event,
                date_trunc('second', now() - query_start) AS for, left(query, 100) AS query
                FROM pg_stat_activity WHERE datname = current_database()
                AND state <> 'idle' AND pid <> pg_backend_pid()" || true
        fi
        sleep 0.1
    done
    for i in $(seq 1 "$k"); do
        if kill -0 "${wcsd_pids[i]}" 2>/dev/null; then
            kill -KILL "${wcsd_pids[i]}" 2>/dev/null || true
            wait "${wcsd_pids[i]}" 2>/dev/null || true
            slow_stops+=("$(node_name "$i") ($phase)")
            killed=$((killed + 1))
            echo "run-lines: $(node_name "$i") (phase $phase) not stopped 30 s after SIGTERM: killed"
        else
            rc=0
            wait "${wcsd_pids[i]}" 2>/dev/null || rc=$?
            if [ "$rc" != 0 ]; then
                echo "run-lines: $(node_name "$i") (phase $phase) exited $rc" >&2
                tail -10 "$run/$phase/$(node_name "$i")/wcsd.log" >&2
                failed=1
            fi
        fi
        wcsd_pids[i]=
    done
    # A killed wcsd's backends run on until their statement ends (minutes for
    # a big tracking_publish(), holding its lock): no client of this private
    # database is left now, so whatever still runs is theirs, and would load
    # the next phase.
    if [ "$killed" != 0 ]; then
        psql "$WCS_DB" -qtAX -c "SELECT 'terminated ' || count(pg_terminate_backend(pid)) ||
            ' backend(s) of killed wcsd' FROM pg_stat_activity WHERE datname = current_database()
            AND backend_type = 'client backend' AND pid <> pg_backend_pid()" || true
    fi
}

# --- one run: K emulators at once, RATE parcels/s a line for SECS s ---------
runno=0
# W0 W1: per node number (id & 255) of the records with ids in [W0, W1):
# decision events, SORTED__ confirmations, REQ_/RES_/UPD_/ACK_ telegrams, and
# the PLCs of its telegrams.
db_counts() {
    psql "$WCS_DB" -qtAX -F $'\t' -c "
        WITH e AS (SELECT (id & 255)::int AS n,
                          count(*) FILTER (WHERE kind = 'decision') AS dec,
                          count(*) FILTER (WHERE kind = 'confirm' AND reason = 'SORTED__') AS srt
                   FROM events WHERE id >= $1 AND id < $2 GROUP BY 1),
             t AS (SELECT (id & 255)::int AS n,
                          count(*) FILTER (WHERE type IN ('REQ_', 'RES_', 'UPD_', 'ACK_')) AS tg,
                          string_agg(DISTINCT plc, ',') AS plcs
                   FROM telegrams WHERE id >= $1 AND id < $2 GROUP BY 1)
        SELECT coalesce(e.n, t.n), coalesce(dec, 0), coalesce(srt, 0), coalesce(tg, 0),
               coalesce(plcs, '')
        FROM e FULL JOIN t ON e.n = t.n ORDER BY 1"
}

# run_lines PHASE KIND K RATE SECS: $verdict is pass or "fail: why". Not in
# a subshell: the emulators' pids must be the trap's, and runno counts on.
run_lines() {
    local phase=$1 kind=$2 k=$3 rate=$4 secs=$5 i rd count sp w0 w1 prev cur _ rcs=()
    runno=$((runno + 1))
    rd=$run/$phase/$runno-$kind-$rate
    mkdir -p "$rd"
    count=$((rate * secs))
    # --rate 36000 is 10 parcels/s of virtual time; --speed makes it RATE
    # real. The PLC's timeout is virtual too: 150 ms real at any speed.
    sp=$(awk -v r="$rate" 'BEGIN { printf "%.3f", r / 10 }')
    w0=$(($(date +%s%3N) << 20))
    for i in $(seq 1 "$k"); do
        timeout -k 5 $((secs * 3 + 60)) "$build/bin/wcs-linesim" \
            --connect "127.0.0.1:${plc_port[$i]}" --preadvice "$codes" --count "$count" \
            --rate 36000 --speed "$sp" --plc-timeout-ms "$(awk -v s="$sp" 'BEGIN { printf "%d", 150 * s }')" \
            --belt-mm-s 60000 --capacity 1000000 --seed $((runno * 16 + i)) \
            --tracking-base $((1000000000 + (runno * 16 + i) * 2000000)) --drain-timeout 2 \
            --local-id "$(plc_name "$i")" --peer-id "$(node_name "$i")" --log-level warn \
            --report "$rd/linesim-$(node_name "$i").json" >"$rd/linesim-$(node_name "$i").log" 2>&1 &
        linesim_pids[i]=$!
    done
    for i in $(seq 1 "$k"); do
        rcs[i]=0
        wait "${linesim_pids[i]}" || rcs[i]=$?
        linesim_pids[i]=
    done
    # Every record of a passing run was durable at its last ACK_; after a
    # failing probe wcsd may still be writing its queue: wait (bounded)
    # until the counts stand still.
    prev=
    for _ in $(seq 1 100); do
        w1=$((($(date +%s%3N) + 1) << 20))
        cur=$(db_counts "$w0" "$w1")
        [ -n "$prev" ] && [ "$cur" = "$prev" ] && break
        prev=$cur
        sleep 0.3
    done
    printf '%s\n' "$cur" >"$rd/db.tsv"
    echo "${rcs[*]}" >"$rd/rc.txt"
    verdict=$("$py" "$run/lines.py" collect "$runno" "$phase" "$kind" "$k" "$rate" "$count" "$secs" "$rd" \
        "$rd/db.tsv" "$rd/rc.txt" "$run/results.tsv" "$run/crosstalk.txt")
}

# max_search PHASE K START: the probes; leaves the best passing rate in $best.
max_search() {
    local phase=$1 k=$2 r=$3 lo=0 hi=0 p
    for p in $(seq 1 "$max_probes"); do
        run_lines "$phase" max "$k" "$r" "$probe_s"
        printf '  phase %s probe %d: %d parcels/s a line x %d: %s\n' "$phase" "$p" "$r" "$k" "$verdict"
        if [ "$verdict" = pass ]; then
            lo=$r
            if [ "$hi" = 0 ]; then r=$((r * 2)); else r=$(((lo + hi) / 2)); fi
        else
            hi=$r
            if [ "$lo" = 0 ]; then r=$((r / 2)); else r=$(((lo + hi) / 2)); fi
        fi
        [ "$r" -ge 10 ] && [ "$r" -le 100000 ] || break
        if [ "$lo" -gt 0 ] && [ "$hi" -gt 0 ] && [ $((hi - lo)) -le $((lo / 4)) ]; then break; fi
    done
    best=$lo
}

line_rate=$((10 * speed))
echo "== phase A: $(node_name 1) alone"
start_nodes A 1
line_ok=1
run_lines A line 1 "$line_rate" "$seconds"
echo "  line rate, $line_rate parcels/s: $verdict"
[ "$verdict" = pass ] || line_ok=0
if [ "$nparcels" -gt 0 ]; then start=4000; else start=200; fi
best=0
max_search A 1 "$start"
best_a=$best
stop_nodes A 1

echo "== phase B: $nodes nodes at once"
start_nodes B "$nodes"
run_lines B line "$nodes" "$line_rate" "$seconds"
echo "  line rate, $line_rate parcels/s a line: $verdict"
[ "$verdict" = pass ] || line_ok=0
# The search starts at the node alone's rate shared by the lines (one
# machine, one database), and doubles from there while probes pass.
start=$((best_a / nodes))
[ "$start" -ge 10 ] || start=10
max_search B "$nodes" "$start"
stop_nodes B "$nodes"

"$py" "$run/lines.py" summary "$run/results.tsv" "$nodes" "$(nproc)"

# --- checks --------------------------------------------------------------------
why=()
errs=$(cat "$run"/*/WCS*/wcsd.log | grep -c " error:" || true)
[ "$errs" = 0 ] || {
    why+=("$errs error line(s) in wcsd logs")
    grep -h " error:" "$run"/*/WCS*/wcsd.log | head -5
}
warns=$(cat "$run"/*/WCS*/wcsd.log | grep " warn:" | grep -vc "overloaded" || true)
if [ "$warns" != 0 ]; then
    echo "== wcsd warnings besides overloads (first 5 of $warns)"
    cat "$run"/*/WCS*/wcsd.log | grep " warn:" | grep -v "overloaded" | head -5
fi
# Cross-talk: the collect step compared, in every run, the database with
# the emulators (crosstalk.txt).
if [ -s "$run/crosstalk.txt" ]; then
    why+=("cross-talk or a stuck emulator: $(wc -l <"$run/crosstalk.txt") run(s)")
    head -5 "$run/crosstalk.txt"
fi
[ "$failed" = 0 ] || why+=("a wcsd exited with an error")
if [ "$line_ok" = 1 ]; then met=met; else met="NOT met"; fi
echo "goal: every line at line rate kept up, alone and $nodes at once: $met"
if [ ${#slow_stops[@]} = 0 ]; then
    echo "stop: every wcsd stopped within 30 s of SIGTERM: met"
else
    echo "stop: every wcsd stopped within 30 s of SIGTERM: NOT met (killed: ${slow_stops[*]})"
fi
if [ ${#why[@]} = 0 ]; then
    echo "checks: ok (no error in any wcsd log; in every run each node's decisions, sorts and" \
        "telegrams in the database were its own line's, none counted twice; no wcsd exited with an error)"
    exit 0
fi
echo "checks: FAILED: $(IFS=';'; echo "${why[*]}")"
exit 1
