# bench/lib-wcsd.sh - sourced by the bench/run-*.sh scripts that need a
# private PostgreSQL and a wcsd on it. Expects $top (the checkout).
#   bench_build [ARG]        sets $build: ARG when it is not an option (status
#                            0: the caller shifts it), else . when it holds
#                            bin/wcsd, else build/ in the checkout (status 1)
#   bench_need NAME PROG...  exits 2 when a program (bin/wcsd...) is not built
#   bench_cluster DIR DB     starts the cluster in DIR (stopped on exit with
#                            wcsd), creates database DB afresh, exports WCS_DB
#   bench_token DIR ROLE     DIR/tokens with one token of ROLE named bench,
#                            and its secret alone in DIR/bench.token (0600)
#   bench_wcsd_start DIR     starts wcsd on DIR/wcsd.yaml (checked first),
#                            log in DIR/wcsd.log; sets wcsd_pid, http_port
#   bench_wcsd_stop DIR      SIGTERM; fails (1) unless wcsd exits cleanly
#   bench_preadvice DIR N    schema, the sample plan active, the sample
#                            pre-advice and N generated parcels imported (their
#                            file DIR/preadvice-gen.csv); sets codes (the file
#                            whose codes the bench sends)

bench_build() {
    if [ -n "${1:-}" ] && [ "${1#--}" = "$1" ]; then
        build=$(cd "$1" && pwd)
        return 0
    fi
    if [ -x bin/wcsd ]; then build=$(pwd); else build=$top/build; fi
    return 1
}

bench_need() {
    local name=$1 p
    shift
    for p in "$@"; do
        [ -x "$build/$p" ] || { echo "$name: $build/$p missing (build it first)" >&2; exit 2; }
    done
}

wcsd_pid=
bench_dir=
bench_stop_all() {
    if [ -n "$wcsd_pid" ] && kill -0 "$wcsd_pid" 2>/dev/null; then
        kill -TERM "$wcsd_pid"
        wait "$wcsd_pid" || true
    fi
    [ -n "$bench_dir" ] && "$top/scripts/pg-test.sh" stop "$bench_dir"
}

bench_cluster() {
    local base
    bench_dir=$1
    "$top/scripts/pg-test.sh" start "$1"
    trap bench_stop_all EXIT
    base=$("$top/scripts/pg-test.sh" conninfo "$1")
    psql "$base dbname=postgres" -qc "DROP DATABASE IF EXISTS $2" >/dev/null
    psql "$base dbname=postgres" -qc "CREATE DATABASE $2" >/dev/null
    export WCS_DB="$base dbname=$2"
}

bench_token() {
    local secret
    secret=$(head -c 24 /dev/urandom | base64)
    (
        umask 077
        printf 'bench %s %s\n' "$2" "$secret" >"$1/tokens"
        printf '%s\n' "$secret" >"$1/bench.token"
    )
}

bench_wcsd_start() {
    local ready= _
    "$build/bin/wcsd" --config "$1/wcsd.yaml" -n
    "$build/bin/wcsd" --config "$1/wcsd.yaml" >"$1/wcsd.log" 2>&1 &
    wcsd_pid=$!
    for _ in $(seq 1 600); do
        ready=$(grep -m1 "ready:" "$1/wcsd.log" || true)
        [ -n "$ready" ] && break
        kill -0 "$wcsd_pid" 2>/dev/null || { cat "$1/wcsd.log" >&2; exit 1; }
        sleep 0.1
    done
    [ -n "$ready" ] || { echo "wcsd not ready" >&2; cat "$1/wcsd.log" >&2; exit 1; }
    echo "$ready"
    http_port=$(sed -n 's/.*http 127\.0\.0\.1:\([0-9]*\).*/\1/p' <<<"$ready")
}

bench_wcsd_stop() {
    local rc=0
    if grep -E " (warn|error):" "$1/wcsd.log" | head -5 | grep -q .; then
        echo "== wcsd warnings (first 5 of $(grep -cE ' (warn|error):' "$1/wcsd.log"))"
        grep -E " (warn|error):" "$1/wcsd.log" | head -5
    fi
    # wcsd must stop cleanly (under ASan+UBSan a report makes it exit non-zero).
    kill -TERM "$wcsd_pid"
    wait "$wcsd_pid" || rc=$?
    wcsd_pid=
    if [ "$rc" != 0 ]; then
        echo "wcsd exited with status $rc" >&2
        tail -20 "$1/wcsd.log" >&2
        return 1
    fi
}

# wcsctl import exits 1 when it reported refused rows or blocked
# declarations (the sample has six deliberately invalid declarations) and 2
# on a real failure (I/O, database): only that stops the run.
bench_import() {
    local rc=0
    "$build/bin/wcsctl" import "$1" >/dev/null 2>"$2/import.err" || rc=$?
    if [ "$rc" -gt 1 ]; then
        cat "$2/import.err" >&2
        echo "bench: wcsctl import $1 failed (exit $rc)" >&2
        exit 2
    fi
}

bench_preadvice() {
    local dir=$1 n=$2
    "$build/bin/wcsctl" migrate >/dev/null
    "$build/bin/wcsctl" sortplan load "$top/data/sortplan-sample.csv" --activate >/dev/null
    bench_import "$top/data/preadvice-sample.csv" "$dir"
    codes=$top/data/preadvice-sample.csv
    if [ "$n" -gt 0 ]; then
        codes=$dir/preadvice-gen.csv
        "$build/bin/wcs-gen-preadvice" --count "$n" --seed 7 --out "$codes"
        bench_import "$codes" "$dir"
    fi
}
