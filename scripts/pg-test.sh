#!/usr/bin/env bash
# Starts or stops a private PostgreSQL 15 cluster for tests and the demo.
#   pg-test.sh start DIR   initdb (first time) and start; socket in DIR, no TCP
#   pg-test.sh stop DIR    fast shutdown
#   pg-test.sh conninfo DIR
# Runs the server as the Debian "postgres" user (initdb refuses root); DIR is
# created and handed to that user. Idempotent: start on a running cluster is a no-op.
set -euo pipefail
cmd=${1:?usage: pg-test.sh start|stop|conninfo DIR}
dir=${2:?usage: pg-test.sh start|stop|conninfo DIR}
bin=/usr/lib/postgresql/15/bin
as_pg() { if [ "$(id -un)" = postgres ]; then "$@"; else runuser -u postgres -- "$@"; fi; }

case "$cmd" in
start)
    mkdir -p "$dir"
    chown postgres:postgres "$dir"
    chmod 700 "$dir"
    if [ ! -f "$dir/data/PG_VERSION" ]; then
        as_pg "$bin/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 ||
            { cat "$dir/initdb.log" >&2; exit 1; }
    fi
    if as_pg "$bin/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
        exit 0
    fi
    as_pg "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
        -o "-c listen_addresses='' -c unix_socket_directories='$dir' -c port=5432 -c max_connections=200 -c fsync=on" \
        start >/dev/null || { cat "$dir/server.log" >&2; exit 1; }
    ;;
stop)
    if [ -f "$dir/data/PG_VERSION" ]; then
        as_pg "$bin/pg_ctl" -D "$dir/data" -m fast -w -t 60 stop >/dev/null 2>&1 || true
    fi
    ;;
conninfo)
    echo "host=$dir port=5432 user=postgres"
    ;;
*)
    echo "pg-test.sh: unknown command $cmd" >&2
    exit 2
    ;;
esac
