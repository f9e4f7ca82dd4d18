# Shared by the benches that run matchd on a throwaway PostgreSQL (analytics-bench.sh,
# web-page-bench.sh). Source it from the repository's root, after defining die(). It stops,
# on exit, only what the bench started: the pids in `pids`, and its PostgreSQL.
#
#   bench_postgres NAME DB [PREFIX...]  a project-local PostgreSQL (scripts/dev-postgres.sh,
#                                       var/NAME, a free loopback port) with a fresh database
#                                       DB, started under PREFIX (e.g. taskset -c 0); sets
#                                       pg_port, pg_dir and conninfo
#   psql_on DB ARGS...                  psql on it, stopping at the first error
#   bench_wait_ready PORT LOG           until matchd on PORT answers /readyz 200 (60 s)

pids=()
pg_started=
pg_port=
pg_dir=

bench_cleanup() {
  for pid in "${pids[@]+"${pids[@]}"}"; do
    if kill -0 "$pid" 2>/dev/null; then
      kill -TERM "$pid" 2>/dev/null || true
      for _ in $(seq 200); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
      kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
  done
  if [ -n "$pg_started" ]; then
    MATCHD_PG_DIR=$pg_dir MATCHD_PG_PORT=$pg_port scripts/dev-postgres.sh stop || true
  fi
}
trap bench_cleanup EXIT
trap 'exit 130' INT TERM

psql_on() {
  local db=$1
  shift
  PGOPTIONS='-c client_min_messages=warning' psql -X -q -h 127.0.0.1 -p "$pg_port" -U postgres \
    -d "$db" -v ON_ERROR_STOP=1 "$@"
}

bench_postgres() {
  local name=$1 db=$2
  shift 2
  pg_port=$(scripts/free-port.sh)
  pg_dir=$(MATCHD_PG_NAME=$name MATCHD_PG_PORT=$pg_port scripts/dev-postgres.sh data-dir)
  conninfo="host=127.0.0.1 port=$pg_port user=postgres dbname=$db"
  if MATCHD_PG_DIR=$pg_dir MATCHD_PG_PORT=$pg_port scripts/dev-postgres.sh status >/dev/null 2>&1; then
    die "a PostgreSQL already runs in $pg_dir; stop it first"
  fi
  pg_started=1
  MATCHD_PG_DIR=$pg_dir MATCHD_PG_PORT=$pg_port "$@" scripts/dev-postgres.sh start >/dev/null
  psql_on postgres -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db"
}

bench_wait_ready() {
  local port=$1 log=$2
  for _ in $(seq 600); do
    [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "http://127.0.0.1:$port/readyz" || true)" = 200 ] && return 0
    sleep 0.1
  done
  die "matchd did not become ready (log $log)"
}
