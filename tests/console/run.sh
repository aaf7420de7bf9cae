#!/usr/bin/env bash
# Browser tests of the operator console against a real wcsd:
#   tests/console/run.sh BUILD_DIR
# Starts a private PostgreSQL (scripts/pg-test.sh), migrates, loads and
# activates the sample sort plan, imports the sample pre-advice, adds an
# operator, a viewer, a supervisor and an admin, starts wcsd on free ports and wcs-linesim as its
# sorter PLC (small chutes that turn FULL, some no-reads), then runs the
# node:test specs in headless Chromium. Screenshots and logs go to
# BUILD_DIR/console-artifacts/. Everything it started is stopped on exit,
# each with a bounded wait. Needs tests/console/install.sh first (root).
set -euo pipefail
build=$(cd "${1:?usage: run.sh BUILD_DIR}" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
bin="$build/bin"
artifacts="$build/console-artifacts"
chromium=${CHROMIUM:-/usr/bin/chromium}
# Exit 77 (ctest: skipped) without the browser or its driver: the test
# command installs both (tests/console/install.sh), a developer may not have.
[ -x "$chromium" ] || { echo "console tests: $chromium missing (tests/console/install.sh)" >&2; exit 77; }
[ -d "$here/node_modules/playwright-core" ] ||
    { echo "console tests: playwright-core missing (tests/console/install.sh)" >&2; exit 77; }
rm -rf "$artifacts"
mkdir -p "$artifacts"

# The postgres user must reach the cluster's directory: not under /tmp's
# private or a home directory, so /var/tmp, and the parent open to traverse.
state=$(mktemp -d /var/tmp/wcs-console.XXXXXX)
chmod 711 "$state"
wcsd_pid=
sim_pid=
tests_pid=

# Stops pid $1 with SIGTERM, then SIGKILL after $2 tenths of a second;
# returns its exit status (0 when it was gone already).
stop_pid() {
    local p=$1 i rc=0
    [ -n "$p" ] || return 0
    kill -TERM "$p" 2>/dev/null || return 0
    for i in $(seq 1 "$2"); do
        kill -0 "$p" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || rc=$?
    return $rc
}
finish() {
    local rc=$?
    stop_pid "$tests_pid" 50 || true
    stop_pid "$sim_pid" 50 || true
    # wcsd must stop cleanly: under ASan+UBSan a report makes its status non-zero.
    if ! stop_pid "$wcsd_pid" 150; then
        echo "console tests: wcsd did not exit cleanly (its log: $artifacts/wcsd.log)" >&2
        tail -20 "$state/wcsd.log" >&2 || true
        [ "$rc" = 0 ] && rc=1
    fi
    cp "$state"/*.log "$artifacts/" 2>/dev/null || true
    "$top/scripts/pg-test.sh" stop "$state/pg" || true
    rm -rf "$state"
    exit $rc
}
trap finish EXIT
trap 'exit 130' INT TERM

started=$(date +%s)
echo "== console tests: PostgreSQL in $state/pg"
"$top/scripts/pg-test.sh" start "$state/pg"
base=$("$top/scripts/pg-test.sh" conninfo "$state/pg")
psql "$base dbname=postgres" -qc "CREATE DATABASE wcs"
export WCS_DB="$base dbname=wcs"

echo "== schema, sort plan, pre-advice, users"
"$bin/wcsctl" migrate >"$state/setup.log"
"$bin/wcsctl" sortplan load "$top/data/sortplan-sample.csv" --activate >>"$state/setup.log"
# Exit 1 = some rows have problems (the sample has a few on purpose).
"$bin/wcsctl" import "$top/data/preadvice-sample.csv" >>"$state/setup.log" 2>&1 || [ $? = 1 ]
secret() { head -c 18 /dev/urandom | base64 | tr -d '/+='; }
operator=op1 viewer=view1 supervisor=sup1 admin=adm1
operator_password=$(secret) viewer_password=$(secret) supervisor_password=$(secret) admin_password=$(secret)
(
    umask 077
    printf '%s\n' "$operator_password" >"$state/operator.password"
    printf '%s\n' "$viewer_password" >"$state/viewer.password"
    printf '%s\n' "$supervisor_password" >"$state/supervisor.password"
    printf '%s\n' "$admin_password" >"$state/admin.password"
    printf 'linesim scanner %s\n' "$(secret)" >"$state/tokens"
    awk '{print $3}' "$state/tokens" >"$state/linesim.token"
)
"$bin/wcsctl" user add "$operator" --role operator --password-file "$state/operator.password" >>"$state/setup.log"
"$bin/wcsctl" user add "$viewer" --role viewer --password-file "$state/viewer.password" >>"$state/setup.log"
"$bin/wcsctl" user add "$supervisor" --role supervisor --password-file "$state/supervisor.password" >>"$state/setup.log"
"$bin/wcsctl" user add "$admin" --role admin --password-file "$state/admin.password" >>"$state/setup.log"

# A free TCP port on the loopback (the kernel's pick; wcsd binds it a moment
# later, so a start that loses the race is tried again with new ports).
free_port() {
    node -e 'const s = require("net").createServer().listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); });'
}
write_config() {
    cat >"$state/wcsd.yaml" <<YAML
# written by tests/console/run.sh
node: WCS01
log_level: info
database:
  conninfo: "$WCS_DB"
  connect_wait_s: 10
http:
  listen: 127.0.0.1
  port: $http_port
  tokens_file: $state/tokens
  # Up to four browsers at once on one address (operator, viewer,
  # supervisor, admin): each opens up to 6 connections plus its stream.
  connections_per_client: 32
events:
  spool_path: $state/spool
$alarms_section
plcs:
  - id: PLC01
    mode: server
    host: 127.0.0.1
    port: $plc_port
    locations: [SCAN01]
YAML
}

echo "== wcsd"
# A chute is alarmed after 1 s full, and its fill bar is of the emulator's
# 8 parcels.
alarms_section=$'console:\n  chute_capacity: 8\nalarms:\n  chute_full_s: 1'
ready=0
for attempt in 1 2 3; do
    http_port=$(free_port)
    plc_port=$(free_port)
    write_config
    "$bin/wcsd" --config "$state/wcsd.yaml" >"$state/wcsd.log" 2>&1 &
    wcsd_pid=$!
    for _ in $(seq 1 300); do
        grep -q "ready:" "$state/wcsd.log" && { ready=1; break; }
        kill -0 "$wcsd_pid" 2>/dev/null || break
        sleep 0.1
    done
    [ $ready = 1 ] && break
    stop_pid "$wcsd_pid" 50 || true
    wcsd_pid=
    echo "wcsd did not start (attempt $attempt):" >&2
    tail -20 "$state/wcsd.log" >&2
done
[ $ready = 1 ] || exit 1
grep "ready:" "$state/wcsd.log"
url="http://127.0.0.1:$http_port"

echo "== wcs-linesim: the sorter PLC (chutes of 8 parcels that stay FULL, 5% no-reads)"
"$bin/wcs-linesim" --connect "127.0.0.1:$plc_port" --preadvice "$top/data/preadvice-sample.csv" \
    --duration 170 --rate 18000 --seed 7 --capacity 8 --empty-ms 600000 --noread 0.05 --unreadable 0.03 \
    --scan-url "$url/v1/scans" --token-file "$state/linesim.token" --drain-timeout 5 \
    --report "$state/linesim-report.json" >"$state/linesim.log" 2>&1 &
sim_pid=$!

echo "== browser tests (headless Chromium)"
cd "$here"
WCS_CONSOLE_URL="$url" CHROMIUM="$chromium" WCS_CONSOLE_ARTIFACTS="$artifacts" \
    WCS_CONSOLE_OPERATOR="$operator" WCS_CONSOLE_OPERATOR_PASSWORD="$operator_password" \
    WCS_CONSOLE_VIEWER="$viewer" WCS_CONSOLE_VIEWER_PASSWORD="$viewer_password" \
    WCS_CONSOLE_SUPERVISOR="$supervisor" WCS_CONSOLE_SUPERVISOR_PASSWORD="$supervisor_password" \
    WCS_CONSOLE_ADMIN="$admin" WCS_CONSOLE_ADMIN_PASSWORD="$admin_password" \
    timeout 300 node --test i18n.test.mjs console.test.mjs &
# In the background and waited for, so a signal stops everything at once.
tests_pid=$!
wait $tests_pid
tests_pid=
echo "== console tests passed in $(($(date +%s) - started)) s; screenshots in $artifacts"
# WCS_CONSOLE_HOLD_S=N keeps wcsd and the emulator running N more seconds, to look around.
if [ "${WCS_CONSOLE_HOLD_S:-0}" -gt 0 ]; then
    echo "holding $url for ${WCS_CONSOLE_HOLD_S} s (users in $state/*.password)"
    sleep "$WCS_CONSOLE_HOLD_S" &
    wait $!
fi
