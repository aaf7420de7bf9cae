#!/usr/bin/env bash
# Runs one benchmark in its smoke mode for the test command
# (tests/bench/CMakeLists.txt): the same program or bench/run-*.sh script as
# a full run, through the same code path, with tiny counts so it takes
# seconds; then checks that it exited 0 and printed its figures and its goal
# lines (met or not: timings are never asserted here, figures come from full
# runs, docs/benchmarks.md).
#   smoke.sh NAME      NAME: decide, events, import, roundtrip, camera, customs,
#                      tracking, parcel-show, lines
# Environment (set by ctest): WCS_SOURCE_DIR, WCS_BINARY_DIR, WCS_SMOKE_DIR
# (this run's state, removed when it passes), WCS_TEST_PG (the "pg"
# fixture's cluster, for events and import). The scripts' own clusters and
# wcsd's PLC port (picked by wcsd) are private to the run, so two build
# trees or parallel tests never collide.
set -euo pipefail
src=${WCS_SOURCE_DIR:?}
build=${WCS_BINARY_DIR:?}
dir=${WCS_SMOKE_DIR:?}
name=${1:?usage: smoke.sh NAME}

# A run killed by its timeout may have left a cluster running in here.
for d in "$dir"/*/; do
    if [ -f "$d/data/PG_VERSION" ]; then
        "$src/scripts/pg-test.sh" stop "${d%/}"
    fi
done
rm -rf "$dir"
mkdir -p "$dir"

# A fresh database in the fixture's cluster; prints its conninfo.
fresh_db() {
    psql "$WCS_TEST_PG dbname=postgres" -q -c "DROP DATABASE IF EXISTS $1" \
        -c "CREATE DATABASE $1" >/dev/null
    echo "$WCS_TEST_PG dbname=$1"
}

# cmd: what runs; expect: extended regexes, each must match a line of its output.
case $name in
decide)
    cmd=("$build/bench/bench-decide" "$src/data/sortplan-sample.csv" 20000 20000)
    expect=('^per second \(loop wall\) +[0-9]+ +[0-9]+ +[0-9.]+$'
        '^p99\.9 latency, ns +[0-9]+ +[0-9]+ +[0-9.]+$'
        '^registry bytes per parcel +[0-9.]+$'
        '^goals: p99\.9 < 10000 ns: (met|MISSED); < 300 bytes per parcel: (met|MISSED)$')
    ;;
events)
    cmd=("$build/bench/bench-events" "$(fresh_db wcs_smoke_events)" 5000)
    expect=('^raw COPY +[0-9]+ events/s'
        '^staged COPY +[0-9]+ events/s .* ratio staged/raw [0-9.]+$'
        '^writer +[0-9]+ events/s .* ratio writer/raw [0-9.]+'
        '^raw, no tracking trigger +[0-9]+ events/s .* ratio raw/bare [0-9.]+$'
        '^push latency +p50=[0-9]+ ns p99=[0-9]+ ns'
        '^goal: writer at least 0\.5 of raw COPY: (met|NOT met) \([0-9.]+\)$')
    ;;
import)
    cmd=("$build/bench/bench-import" "$(fresh_db wcs_smoke_import)" 2000)
    expect=('^raw +2000 rows +[0-9.]+ s +[0-9]+ rows/s$'
        '^new +2000 rows .* rows/s +[0-9.]+ x raw$'
        '^again +2000 rows .* rows/s +[0-9.]+ x raw$'
        '^goal: import \(new and again\) at least 0\.4 of raw COPY: (met|NOT met) ')
    ;;
roundtrip)
    # Only the sample pre-advice; wcsd picks its PLC port.
    export WCS_BENCH_DIR=$dir/rt WCS_BENCH_PLC_PORT=0 WCS_BENCH_PARCELS=0
    cmd=("$src/bench/run-roundtrip.sh" "$build" --seconds 2 --max-seconds 1 --window 8
        --consoles 4)
    expect=('^  REQ_ -> RES_ +[0-9]+ +[0-9]+ +[0-9]+ +[0-9]+ +[0-9]+$'
        '^  echo 160 B +[0-9]+ +[0-9]+ '
        '^  UPD_ -> ACK_ \(durable\) +[0-9]+ +[0-9]+ '
        '^  COPY\+COMMIT, 1 row +20 +[0-9]+ '
        '^  ratio ACK_/COPY\+COMMIT +[0-9.]+ '
        '^ at 10 parcels/s with 4 live consoles attached \([1-9][0-9]* events, '
        '^  with/without consoles +[0-9.]+ '
        '^  durable \(until the last ACK_\) +[0-9]+ parcels/s'
        '^  p99\.9 REQ_ -> RES_ under 2000 us at 10/s: (met|NOT met) '
        '^  at least 2000 parcels/s with every event persisted: (met|NOT met) \([0-9]+ parcels/s, all events written'
        '^  durable ACK_ within 2x of a single-row COPY\+COMMIT: (met|NOT met) \(p50 ')
    ;;
camera)
    # One frame per class (11 frames); zxing's public blackbox photos, two
    # per set, when they can be fetched (the npm registry; cached outside the
    # repository): without them the benchmark says "blackbox: skipped: ...",
    # which is not a failure.
    "$src/bench/gen-labels.sh" "$dir/labels" 1 1
    bb=${WCS_BLACKBOX_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/wcs/blackbox}
    if ! "$src/bench/fetch-blackbox.sh" "$bb"; then
        echo "smoke camera: blackbox set not fetched: the benchmark skips it"
        bb=$dir/no-blackbox
    fi
    cmd=("$build/bench/bench-camera" --blackbox "$bb" --blackbox-max 2 "$dir/labels")
    expect=('^\| clean +\| +1 \| +[0-9.]+% \|'
        '^\| all +\| +11 \| +[0-9.]+% \| [0-9]+ \| +[0-9.]+ \| +[0-9.]+ \|'
        '^goal: rot20_65 at least 95% read within 100 ms: (met|NOT met) \('
        '^goal: noise at least 95% read within 100 ms: (met|NOT met) \('
        '^goal: lowcontrast at least 95% read within 100 ms: (met|NOT met) \('
        '^goal: clean frames at least 30 frames/s on one core: (met|NOT met) \([0-9]+ frames/s'
        '^goal: no wrong code from the pipeline: (met|NOT met)$'
        '^goal: nothing lost against zbarimg: (met|NOT met)$'
        '^(\| all +\| +[0-9]+ \| +[0-9]+ +[0-9.]+% \||blackbox: skipped: )'
        '^(goal: blackbox: no wrong parcel code from the pipeline: (met|NOT met)|blackbox: skipped: )')
    ;;
parcel-show)
    cmd=("$build/bench/bench-parcel-show" "$(fresh_db wcs_smoke_show_big)"
        "$(fresh_db wcs_smoke_show_small)" 30000 3 100)
    expect=('^small +300 events  parcel show p50 [0-9.]+ ms'
        '^big +30000 events  parcel show p50 [0-9.]+ ms'
        '^ratio big/small p50: [0-9.]+ '
        '^goal: parcel show as fast on the big log \(p50 within 2x\): (met|NOT met)$')
    ;;
tracking)
    export WCS_BENCH_DIR=$dir/tracking
    cmd=("$src/bench/run-tracking.sh" "$build" --events 4000 --written 1000)
    expect=('^publish +[0-9]+ events/s'
        '^raw SELECT +[0-9]+ events/s'
        '^feed over HTTP +[0-9]+ events/s .* ratio feed/raw [0-9.]+$'
        '^while written +1000 events written \(1000 tracking events\), 1000 seen after N, 0 out of order'
        '^goal: every event once, in cursor order: met$')
    ;;
lines)
    # 2 nodes, 3 s at line rate, three 1 s probes of the max-rate search,
    # only the sample pre-advice; wcsd picks its PLC ports. A probe or line
    # that did not keep up on a loaded machine is a figure, not a failure.
    export WCS_BENCH_DIR=$dir/lines
    cmd=("$src/bench/run-lines.sh" "$build" --smoke)
    expect=('^line +A +WCS01 +100 +[0-9.]+ +[0-9.]+ +[0-9]+ +[0-9]+ +[0-9]+ +[0-9]+ +300 +[0-9.]+$'
        '^line +B +WCS02 +100 +[0-9.]+ +[0-9.]+ +[0-9]+ +[0-9]+ +[0-9]+ +[0-9]+ +300 +[0-9.]+$'
        '^line +B +total +200 +[0-9.]+ +[0-9.]+ +- +- +[0-9]+ +[0-9]+ +600 +[0-9.]+$'
        '^max +A +(WCS01 +[0-9]+ +[0-9.]+ +[0-9.]+ |no passing run$)'
        '^max +B +(total +[0-9]+ +[0-9.]+ +[0-9.]+ |no passing run$)'
        '^ratio line WCS02 +decisions/s [0-9.]+ +durable/s [0-9.]+ +p99\.9 [0-9.]+ +p50 [0-9.]+$'
        '^ratio line total +decisions/s [0-9.]+ +durable/s [0-9.]+ +worst p99\.9 [0-9.]+$'
        '^ratio max +(total +decisions/s [0-9.]+ +durable/s [0-9.]+ |: no figures)'
        '^A +[0-9]+ +[0-9]+ +1 +[0-9.]+ +[0-9.]+ +[0-9]+  (pass|fail: )'
        '^B +[0-9]+ +[0-9]+ +2 +[0-9.]+ +[0-9.]+ +[0-9]+  (pass|fail: )'
        '^goal: every line at line rate kept up, alone and 2 at once: (met|NOT met)$'
        '^stop: every wcsd stopped within 30 s of SIGTERM: (met|NOT met)'
        '^checks: ok ')
    ;;
tunnel)
    # One frame per class (11 frames): the plain loop, 1 and 2 workers, the
    # overload run; whether a goal is met on a loaded machine is a figure.
    "$src/bench/gen-labels.sh" "$dir/labels" 1 1
    cmd=("$build/bench/bench-tunnel" "$dir/labels")
    expect=('^plain loop +[0-9.]+ frames/s$'
        '^tunnel 1 worker +[0-9.]+ frames/s  ratio [0-9.]+  dropped 0 '
        '^tunnel 2 workers +[0-9.]+ frames/s  ratio [0-9.]+  dropped 0 '
        '^overload 1 worker, queue 4: decoded [0-9]+, dropped [0-9]+ of [0-9]+, loop late max'
        '^goal: tunnel with 1 worker at least 0\.9 of the plain loop: (met|NOT met)$'
        '^goal: 2 workers at least 1\.5x of 1 worker \(2 cores\): (met|NOT met)$'
        '^goal: overload: frames dropped and counted, every frame accounted for: (met|NOT met)$')
    ;;
videocoding)
    # 80 parcels, 10% unreadable, a 10 s loop: the baseline and the keyed
    # run; the checks (every no-read keyed, the emulator and the database
    # agree) are the script's.
    export WCS_BENCH_DIR=$dir/videocoding
    cmd=("$src/bench/run-videocoding.sh" "$build" --smoke)
    expect=('^baseline +[0-9]+ +0 +0 +0\.0% '
        '^keyed +[0-9]+ +[0-9]+ +[0-9]+ +[0-9.]+% +[0-9.]+ / [0-9.]+ / [0-9.]+ ')
    ;;
customs)
    export WCS_BENCH_DIR=$dir/customs
    cmd=("$src/bench/run-customs.sh" "$build" --count 1000 --batch 100)
    expect=('^enqueue: +1000 in [0-9.]+ s'
        '^baseline: 1000 accepted in [0-9.]+ s'
        '^worker: +1000 accepted in [0-9.]+ s'
        '^ratio worker/baseline: [0-9.]+$'
        '^goal: worker at least as fast as the plain loop: (met|NOT met)$'
        '^checks: ok$')
    ;;
*)
    echo "smoke: unknown benchmark $name" >&2
    exit 2
    ;;
esac

log=$dir/output.log
echo "smoke: ${cmd[*]}"
rc=0
"${cmd[@]}" >"$log" 2>&1 || rc=$?
cat "$log"
missing=0
for re in "${expect[@]}"; do
    if ! grep -Eq -- "$re" "$log"; then
        echo "smoke $name: no line matching: $re" >&2
        missing=$((missing + 1))
    fi
done
if [ "$rc" != 0 ] || [ "$missing" != 0 ]; then
    echo "smoke $name: FAILED (exit status $rc, $missing expected line(s) missing; output kept in $log)" >&2
    exit 1
fi
rm -rf "$dir"
echo "smoke $name: ok"
