#!/usr/bin/env bash
# A project-local PostgreSQL for running matchd by hand (README quick start).
#
#   scripts/dev-postgres.sh          start it (idempotent) and print the connection string
#   scripts/dev-postgres.sh stop     stop it
#   scripts/dev-postgres.sh status   say whether it runs
#   scripts/dev-postgres.sh data-dir print the data directory it uses (see below)
#
#   export MATCHD_DB="$(scripts/dev-postgres.sh)"   # only the conninfo goes to stdout
#
# Data directory ./var/<name> (initdb on first run; <name> is $MATCHD_PG_NAME, default pg),
# listening on 127.0.0.1 only, port $MATCHD_PG_PORT (default 55432), unix socket and log
# inside the data directory, database `matchd` created if missing. As root the cluster
# belongs to the `postgres` user (the server refuses to run as root); if that user cannot
# reach ./var/<name> (a parent directory is not traversable, e.g. /root), the data directory
# falls back to /var/tmp/matchd-<name>-<port>. $MATCHD_PG_DIR overrides the data directory,
# $MATCHD_PG_BINDIR the PostgreSQL binaries; $MATCHD_PG_OPTIONS adds server options at start,
# e.g. "-c shared_buffers=256MB". `stop` returns once the postmaster process has ended.
set -euo pipefail

repo_root=$(cd "$(dirname "$0")/.." && pwd)
port=${MATCHD_PG_PORT:-55432}
action=${1:-start}

say() { echo "dev-postgres: $*" >&2; }
die() { say "$*"; exit 1; }

case "$port" in
  '' | *[!0-9]*) die "MATCHD_PG_PORT must be a port number, got '$port'" ;;
esac
name=${MATCHD_PG_NAME:-pg}
case "$name" in
  '' | *[!A-Za-z0-9._-]*) die "MATCHD_PG_NAME must be a plain directory name, got '$name'" ;;
esac

find_bin_dir() {
  if [ -n "${MATCHD_PG_BINDIR:-}" ]; then echo "$MATCHD_PG_BINDIR"; return; fi
  local dir
  dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
  if [ -n "$dir" ] && [ -x "$dir/initdb" ]; then echo "$dir"; return; fi
  if command -v pg_config >/dev/null 2>&1; then
    dir=$(pg_config --bindir)
    if [ -x "$dir/initdb" ]; then echo "$dir"; return; fi
  fi
  if command -v initdb >/dev/null 2>&1; then dirname "$(command -v initdb)"; return; fi
  die "PostgreSQL server binaries (initdb, pg_ctl) not found; install them (scripts/install-deps.sh) or set MATCHD_PG_BINDIR"
}
bin=$(find_bin_dir)

# as_owner CMD...: runs a PostgreSQL tool as the cluster's owner.
if [ "$(id -u)" -eq 0 ]; then
  id postgres >/dev/null 2>&1 || die "running as root, but there is no 'postgres' user to own the cluster"
  as_owner() { runuser -u postgres -- "$@"; }
else
  as_owner() { "$@"; }
fi

# The data directory: ./var/<name> unless the owner cannot reach it.
data_dir=${MATCHD_PG_DIR:-$repo_root/var/$name}
if [ "$(id -u)" -eq 0 ] && [ -z "${MATCHD_PG_DIR:-}" ]; then
  # Every existing ancestor must be traversable by postgres.
  probe=$(dirname "$data_dir")
  while [ ! -d "$probe" ]; do probe=$(dirname "$probe"); done
  if ! runuser -u postgres -- test -x "$probe" 2>/dev/null; then
    fallback=/var/tmp/matchd-$name-$port
    if [ "$action" = start ]; then
      say "user postgres cannot reach $probe, so the cluster cannot live in $data_dir;"
      say "using $fallback instead (set MATCHD_PG_DIR to choose another place)"
    fi
    data_dir=$fallback
  fi
fi

conninfo="host=127.0.0.1 port=$port user=postgres dbname=matchd"

is_running() {
  [ -f "$data_dir/PG_VERSION" ] && as_owner "$bin/pg_ctl" -D "$data_dir" status >/dev/null 2>&1
}

start() {
  if [ ! -f "$data_dir/PG_VERSION" ]; then
    say "initializing a new cluster in $data_dir"
    mkdir -p "$data_dir"
    chmod 0700 "$data_dir"
    if [ "$(id -u)" -eq 0 ]; then chown postgres: "$data_dir"; fi
    as_owner "$bin/initdb" -D "$data_dir" -U postgres -A trust --locale=C --encoding=UTF8 \
      --no-instructions >"$data_dir.initdb.log" 2>&1 ||
      { cat "$data_dir.initdb.log" >&2; die "initdb failed"; }
    rm -f "$data_dir.initdb.log"
  fi

  if is_running; then
    say "already running ($data_dir)"
  else
    say "starting PostgreSQL on 127.0.0.1:$port ($data_dir, log $data_dir/postgres.log)"
    as_owner "$bin/pg_ctl" -D "$data_dir" -l "$data_dir/postgres.log" -w -t 60 \
      -o "-p $port -k $data_dir -c listen_addresses=127.0.0.1 ${MATCHD_PG_OPTIONS:-}" start >/dev/null ||
      { tail -n 20 "$data_dir/postgres.log" >&2 || true; die "pg_ctl start failed"; }
  fi

  local psql=("$bin/psql" -X -q -h 127.0.0.1 -p "$port" -U postgres -d postgres -v ON_ERROR_STOP=1)
  if [ -z "$("${psql[@]}" -tAc "SELECT 1 FROM pg_database WHERE datname = 'matchd'")" ]; then
    say "creating database matchd"
    "${psql[@]}" -c "CREATE DATABASE matchd" >/dev/null
  fi
  echo "$conninfo"
}

# True while `pid` is a live (not zombie) postmaster of our data directory, so a reused pid
# is never mistaken for it.
is_our_postmaster() {
  local state
  state=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
  [ -n "$state" ] && [ "$state" != Z ] && tr '\0' ' ' <"/proc/$1/cmdline" | grep -qF -- "$data_dir"
}

stop() {
  if is_running; then
    say "stopping PostgreSQL ($data_dir)"
    local pid
    pid=$(head -n 1 "$data_dir/postmaster.pid" 2>/dev/null || true)
    as_owner "$bin/pg_ctl" -D "$data_dir" -m fast -w -t 60 stop >/dev/null
    # pg_ctl returns when the pid file is gone, a moment before the process ends; callers
    # that start another cluster on the same port right after need it gone.
    if [ -n "$pid" ]; then
      for _ in $(seq 100); do is_our_postmaster "$pid" || return 0; sleep 0.05; done
      die "the postmaster $pid of $data_dir is still running 5 s after pg_ctl stop"
    fi
  else
    say "not running ($data_dir)"
  fi
}

case "$action" in
  start) start ;;
  stop) stop ;;
  status)
    if is_running; then say "running on 127.0.0.1:$port ($data_dir)"; echo "$conninfo"
    else say "not running ($data_dir)"; exit 3; fi ;;
  data-dir) echo "$data_dir" ;;
  *) die "usage: $0 [start|stop|status|data-dir]" ;;
esac
