# procs.sh - sourced by the test scripts that run the system's programs as
# background processes (tests/soak/soak.sh, tests/ha/failover.sh): each
# NAME logs to $dir/NAME.log (appending across restarts), its pid in
# $dir/NAME.pid. Expects $dir (by the time a function is called).

# The arguments of a test script NAME: [BUILD_DIR] [--seconds S] [--keep];
# sets build (default $top/build), seconds (default DEFAULT_S) and keep.
run_args() {
    local name=$1
    seconds=$2
    shift 2
    build=$top/build
    keep=0
    if [ $# -gt 0 ] && [ "${1#--}" = "$1" ]; then
        build=$(cd "$1" && pwd)
        shift
    fi
    while [ $# -gt 0 ]; do
        case $1 in
        --seconds) seconds=$2; shift 2 ;;
        --keep) keep=1; shift ;;
        *) echo "usage: $name.sh [BUILD_DIR] [--seconds S] [--keep]" >&2; exit 2 ;;
        esac
    done
}

# Starts NAME (a program and its arguments) in the background.
start() {
    local name=$1
    shift
    "$@" >>"$dir/$name.log" 2>&1 &
    echo $! >"$dir/$name.pid"
    # Killed on purpose: no job notice for it (the line emulator is waited for).
    [ "$name" = linesim ] || disown $!
}
pid_of() { cat "$dir/$1.pid"; }
alive() { kill -0 "$(pid_of "$1")" 2>/dev/null; }

# Waits (bounded) until NAME's log has a line matching RE that was not there
# before (lines counted at call time: $2), or the process NAME dies.
wait_line() {
    local name=$1 from=$2 re=$3 i
    for i in $(seq 1 1200); do
        tail -n +"$((from + 1))" "$dir/$name.log" | grep -q -- "$re" && return 0
        alive "$name" || return 1
        sleep 0.1
    done
    return 1
}
lines() { if [ -f "$dir/$1.log" ]; then wc -l <"$dir/$1.log"; else echo 0; fi; }

# Kills (SIGKILL) every process started here that still runs.
kill_all() {
    local p
    for p in "$dir"/*.pid; do
        [ -f "$p" ] && kill -KILL "$(cat "$p")" 2>/dev/null || true
    done
}

# Ends test script NAME with status RC: "NAME: ok" (and, unless --keep,
# everything stopped and $dir removed) or "NAME: FAILED" with $dir kept.
# Expects the script's cleanup function.
run_end() {
    local name=$1 rc=$2
    if [ "$rc" = 0 ]; then
        echo "$name: ok"
        if [ "$keep" = 0 ]; then
            cleanup
            trap - EXIT
            rm -rf "$dir"
        fi
    else
        echo "$name: FAILED (state kept in $dir)"
    fi
    exit "$rc"
}
