#!/usr/bin/env bash
# The PostgreSQL cluster of the durable e2e run (CTest fixture `e2e_pg`, see CMakeLists.txt):
#
#   tests/e2e/e2e-pg.sh start STATE   start a throwaway cluster on a free loopback port and
#                                     write its connection string (no dbname) to STATE
#   tests/e2e/e2e-pg.sh stop STATE    stop it and delete its data directory
#
# Uses scripts/dev-postgres.sh (Debian's PostgreSQL, run as `postgres` when root).
set -euo pipefail

repo=$(cd "$(dirname "$0")/../.." && pwd)
action=${1:?usage: e2e-pg.sh start|stop STATE}
state=${2:?usage: e2e-pg.sh start|stop STATE}

free_port() { "$repo/scripts/free-port.sh"; }

case "$action" in
  start)
    # A cluster still recorded here (a run that ended without its cleanup, or the setup
    # repeated by `ctest --repeat`) is stopped first: overwriting its record would leak it.
    [ -f "$state.cluster" ] && bash "$0" stop "$state"
    # /var/tmp rather than the build tree: root's home is not traversable by `postgres`.
    dir=$(mktemp -d /var/tmp/matchd-e2e-pg.XXXXXX)
    chmod 0755 "$dir"
    port=$(free_port)
    echo "$dir $port" >"$state.cluster"
    MATCHD_PG_DIR=$dir/data MATCHD_PG_PORT=$port "$repo/scripts/dev-postgres.sh" start >/dev/null
    echo "host=127.0.0.1 port=$port user=postgres" >"$state"
    echo "e2e PostgreSQL on 127.0.0.1:$port ($dir)"
    ;;
  stop)
    [ -f "$state.cluster" ] || { echo "no cluster recorded in $state.cluster"; exit 0; }
    read -r dir port <"$state.cluster"
    MATCHD_PG_DIR=$dir/data MATCHD_PG_PORT=$port "$repo/scripts/dev-postgres.sh" stop
    rm -rf "$dir"
    rm -f "$state" "$state.cluster"
    ;;
  *) echo "usage: e2e-pg.sh start|stop STATE" >&2; exit 2 ;;
esac
