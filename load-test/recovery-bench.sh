#!/usr/bin/env bash
# Measures how long matchd takes to recover a large book from PostgreSQL (issue 4: 1,000,000
# open orders in under 10 s).
#
#   load-test/recovery-bench.sh
#
# Starts a project-local PostgreSQL (scripts/dev-postgres.sh, data in var/recovery-pg, a free
# loopback port), creates a fresh database, lets `matchd migrate` create the schema, seeds it
# with SQL, then starts matchd on it RUNS times. Each run reports:
#   - ready:   wall time from exec to the first 200 from GET /readyz (polled every 20 ms)
#   - daemon:  the seconds= of matchd's own "recovered ..." log line: the rebuild after the
#              migrations (database read, books, read views, invariant check)
#   - peak RSS (VmHWM) at the moment it turned ready
# and prints the median of each. Everything it starts is stopped on exit, by pid.
#
# Environment:
#   ORDERS=1000000       resting orders (both sides of BTC-USD, never crossed)
#   FINISHED=100000      finished orders (filled, cancelled, market), interleaved in time
#   LEVELS=5000          resting prices lie within LEVELS ticks of the touch on each side,
#                        densest at the touch
#   RUNS=3               daemon starts to measure
#   MATCHD_BUILD_DIR     build directory holding src/app/matchd, relative to the repository
#                        or absolute (default build)
#   MATCHD_PG_PORT       PostgreSQL port (default: a free one)
#   MATCHD_PG_DIR        cluster data directory (default var/recovery-pg, or where
#                        scripts/dev-postgres.sh falls back to when user postgres cannot
#                        reach it)
#   MATCHD_ARGS          extra matchd arguments, e.g. "--expected-orders 1100000"
#   KEEP_LOGS_DIR        where the daemon logs go (default var/recovery-bench)
set -euo pipefail

repo_root=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo_root"

orders=${ORDERS:-1000000}
finished=${FINISHED:-100000}
levels=${LEVELS:-5000}
runs=${RUNS:-3}
build_dir=${MATCHD_BUILD_DIR:-build}
case "$build_dir" in
  /*) matchd_bin=$build_dir/src/app/matchd ;;
  *) matchd_bin=$repo_root/$build_dir/src/app/matchd ;;
esac
logs_dir=${KEEP_LOGS_DIR:-$repo_root/var/recovery-bench}
db_name=matchd_recovery_bench
read -r -a extra_args <<<"${MATCHD_ARGS:-}"

say() { echo "recovery-bench: $*" >&2; }
die() { say "$*"; exit 1; }

for n in "$orders" "$finished" "$levels" "$runs"; do
  case "$n" in '' | *[!0-9]*) die "ORDERS, FINISHED, LEVELS and RUNS must be numbers" ;; esac
done
[ "$orders" -gt 0 ] && [ "$levels" -gt 0 ] && [ "$runs" -gt 0 ] ||
  die "ORDERS, LEVELS and RUNS must be positive"
[ -x "$matchd_bin" ] || die "$matchd_bin not found; build it: MATCHD_BUILD_DIR=$build_dir scripts/build.sh"
command -v curl >/dev/null || die "curl is required"
command -v psql >/dev/null || die "psql is required"

# --- ports ------------------------------------------------------------------------------

pg_port=${MATCHD_PG_PORT:-$("$repo_root/scripts/free-port.sh")}
pg_dir=${MATCHD_PG_DIR:-$(MATCHD_PG_NAME=recovery-pg MATCHD_PG_PORT=$pg_port scripts/dev-postgres.sh data-dir)}

# --- cleanup: only what this script started, by pid --------------------------------------

daemon_pid=
pg_started=

stop_daemon() {
  [ -n "$daemon_pid" ] || return 0
  if kill -0 "$daemon_pid" 2>/dev/null; then
    kill -TERM "$daemon_pid" 2>/dev/null || true
    for _ in $(seq 200); do kill -0 "$daemon_pid" 2>/dev/null || break; sleep 0.05; done
    if kill -0 "$daemon_pid" 2>/dev/null; then
      say "matchd $daemon_pid ignored SIGTERM for 10 s; killing it"
      kill -KILL "$daemon_pid" 2>/dev/null || true
    fi
  fi
  wait "$daemon_pid" 2>/dev/null || true
  daemon_pid=
}

stop_postgres() {
  [ -n "$pg_started" ] || return 0
  MATCHD_PG_DIR=$pg_dir MATCHD_PG_PORT=$pg_port scripts/dev-postgres.sh stop || true
  pg_started=
}

cleanup() {
  stop_daemon
  stop_postgres
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- PostgreSQL and the seeded database ---------------------------------------------------

start_postgres() {
  if MATCHD_PG_DIR=$pg_dir MATCHD_PG_PORT=$pg_port scripts/dev-postgres.sh status >/dev/null 2>&1; then
    die "a PostgreSQL already runs in $pg_dir (port unknown to this run); stop it first:" \
      "MATCHD_PG_DIR=$pg_dir MATCHD_PG_PORT=<its port> scripts/dev-postgres.sh stop"
  fi
  pg_started=1
  MATCHD_PG_DIR=$pg_dir MATCHD_PG_PORT=$pg_port scripts/dev-postgres.sh start >/dev/null
  say "PostgreSQL pid $(head -n 1 "$pg_dir/postmaster.pid") on 127.0.0.1:$pg_port ($pg_dir)"
}

psql_on() {
  local db=$1
  shift
  PGOPTIONS='-c client_min_messages=warning' psql -X -q -h 127.0.0.1 -p "$pg_port" -U postgres -d "$db" -v ON_ERROR_STOP=1 "$@"
}

create_fresh_database() {
  psql_on postgres -c "DROP DATABASE IF EXISTS $db_name" -c "CREATE DATABASE $db_name"
}

# Only the orders and engine_progress tables are touched, with explicit column lists, so
# later migrations that add tables do not break the seed.
#
# Row g (1..ORDERS+FINISHED) is one order in arrival order. FINISHED of them, spread evenly,
# are finished; the rest rest on the book. The shape is what the engine itself would have
# written:
#   - ids are version-4 UUIDs (what matchd assigns when the client gives none), from md5(g);
#   - created_sequence = 8g: increasing, with room for each command's events; sequence is
#     created_sequence for an untouched order and a later event of the same gap once filled;
#   - bids at or below 69,999.99 and asks at or above 70,000.01 (ticks of 0.01), so the book
#     is never crossed; the level offset is squared so the book is densest at the touch;
#   - quantities of 0.001 to 1.001 BTC in lots of 1e-8; one resting order in five is
#     partially filled by a third; notional is price x filled (0 when nothing filled).
seed_orders() {
  psql_on "$db_name" <<SQL
\set orders $orders
\set finished $finished
\set levels $levels
BEGIN;
INSERT INTO orders (order_id, client_id, instrument, side, type, time_in_force, status,
                    price_ticks, quantity_lots, filled_lots, notional, created_at_us,
                    updated_at_us, created_sequence, sequence)
SELECT order_id, client_id, 'BTC-USD', side, type, tif, status, price, quantity, filled,
       (CASE WHEN type = 'market' THEN 7000000 ELSE price END)::numeric * filled,
       1763000000000000 + g * 1000,
       1763000000000000 + g * 1000 + CASE WHEN filled > 0 OR finished THEN 500 ELSE 0 END,
       g * 8,
       g * 8 + CASE WHEN filled > 0 OR finished THEN 4 ELSE 0 END
FROM (
  SELECT g, finished, order_id, client_id, side, kind,
         CASE WHEN kind = 'market' THEN 'market' ELSE 'limit' END AS type,
         CASE WHEN kind = 'market' THEN 'ioc' ELSE 'gtc' END AS tif,
         CASE kind WHEN 'open' THEN 'open' WHEN 'partial' THEN 'partially_filled'
                   WHEN 'cancelled' THEN 'cancelled' ELSE 'filled' END AS status,
         CASE WHEN kind = 'market' THEN 0
              WHEN side = 'buy' THEN 6999999 - offset_ticks
              ELSE 7000001 + offset_ticks END AS price,
         quantity,
         CASE kind WHEN 'open' THEN 0 WHEN 'cancelled' THEN 0 WHEN 'partial' THEN quantity / 3
                   ELSE quantity END AS filled
  FROM (
    SELECT g, finished, h,
           substr(m, 1, 8) || '-' || substr(m, 9, 4) || '-4' || substr(m, 14, 3) || '-8' ||
             substr(m, 18, 3) || '-' || substr(m, 21, 12) AS order_id,
           'bench-client-' || (h % 1000) AS client_id,
           CASE WHEN g % 2 = 0 THEN 'buy' ELSE 'sell' END AS side,
           ((h % :levels) * (h % :levels)) / :levels AS offset_ticks,
           100000 + (h / 7) % 100000000 AS quantity,
           CASE WHEN NOT finished THEN (CASE WHEN h % 5 = 0 THEN 'partial' ELSE 'open' END)
                WHEN g % 3 = 0 THEN 'filled'
                WHEN g % 3 = 1 THEN 'cancelled'
                ELSE 'market' END AS kind
    FROM (
      SELECT g,
             -- exactly :finished of the rows, evenly spread in arrival order
             (g * :finished) / (:orders + :finished) >
               ((g - 1) * :finished) / (:orders + :finished) AS finished,
             m,
             -- 32 pseudo-random bits for price, size and status
             ('x' || substr(m, 25, 8))::bit(32)::bigint AS h
      FROM generate_series(1::bigint, (:orders + :finished)::bigint) AS g,
           LATERAL md5('recovery-bench-' || g) AS m
    ) numbered
  ) shaped
) rows;
UPDATE engine_progress
   SET last_sequence = (:orders + :finished) * 8 + 8,
       last_trade_id = :orders + :finished
 WHERE id = 1;
COMMIT;
VACUUM (FREEZE, ANALYZE) orders;
CHECKPOINT;
SQL
}

# Fails when the seed is not what the daemon needs; the daemon would refuse it anyway, but
# this says why.
check_seed() {
  local summary
  summary=$(psql_on "$db_name" -tA -F ' ' -c "
    SELECT count(*) FILTER (WHERE status IN ('open', 'partially_filled')),
           count(*) FILTER (WHERE status NOT IN ('open', 'partially_filled')),
           coalesce(max(price_ticks) FILTER (WHERE side = 'buy' AND status IN ('open', 'partially_filled')), 0) <
             coalesce(min(price_ticks) FILTER (WHERE side = 'sell' AND status IN ('open', 'partially_filled')), 1),
           count(DISTINCT price_ticks) FILTER (WHERE status IN ('open', 'partially_filled')),
           max(sequence) <= (SELECT last_sequence FROM engine_progress)
    FROM orders")
  read -r resting done uncrossed level_count seq_ok <<<"$summary"
  say "seeded resting=$resting finished=$done levels=$level_count uncrossed=$uncrossed sequence_ok=$seq_ok"
  [ "$resting" -eq "$orders" ] && [ "$done" -eq "$finished" ] && [ "$uncrossed" = t ] &&
    [ "$seq_ok" = t ] || die "the seeded database is not what was asked for"
}

# --- one measured start -------------------------------------------------------------------

# Sets run_ready_s, run_daemon_s, run_rss_kb.
measure_start() {
  local run=$1 log=$logs_dir/run-$1.log port started now code
  port=$("$repo_root/scripts/free-port.sh")
  started=$EPOCHREALTIME
  "$matchd_bin" --db "host=127.0.0.1 port=$pg_port user=postgres dbname=$db_name" \
    --listen "127.0.0.1:$port" "${extra_args[@]}" >"$log" 2>&1 &
  daemon_pid=$!
  while :; do
    if ! kill -0 "$daemon_pid" 2>/dev/null; then
      tail -n 20 "$log" >&2
      die "run $run: matchd exited before it was ready (log $log)"
    fi
    code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "http://127.0.0.1:$port/readyz" || true)
    if [ "$code" = 200 ]; then now=$EPOCHREALTIME; break; fi
    sleep 0.02
  done
  run_rss_kb=$(awk '/^VmHWM:/ {print $2}' "/proc/$daemon_pid/status")
  run_ready_s=$(awk -v a="$started" -v b="$now" 'BEGIN {printf "%.3f", b - a}')
  stop_daemon
  run_daemon_s=$(grep -o 'recovered .* seconds=[0-9.]*' "$log" | sed 's/.* seconds=//' | tail -n 1)
  [ -n "$run_daemon_s" ] || die "run $run: no 'recovered ... seconds=' line in $log"
  recovered_line=$(grep -o 'recovered .*' "$log" | tail -n 1)
}

median() { sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }

# --- main ---------------------------------------------------------------------------------

mkdir -p "$logs_dir"
start_postgres
create_fresh_database
"$matchd_bin" migrate --db "host=127.0.0.1 port=$pg_port user=postgres dbname=$db_name" \
  >"$logs_dir/migrate.log" 2>&1 || { cat "$logs_dir/migrate.log" >&2; die "matchd migrate failed"; }
seed_started=$EPOCHREALTIME
seed_orders
say "seeded in $(awk -v a="$seed_started" -v b="$EPOCHREALTIME" 'BEGIN {printf "%.1f", b - a}') s"
check_seed

ready_all=()
daemon_all=()
rss_all=()
for run in $(seq "$runs"); do
  load_before=$(cut -d ' ' -f 1-3 /proc/loadavg)
  measure_start "$run"
  ready_all+=("$run_ready_s")
  daemon_all+=("$run_daemon_s")
  rss_all+=("$run_rss_kb")
  printf 'run %d: ready %ss, daemon seconds=%s, peak RSS %d MiB, load before %s\n' \
    "$run" "$run_ready_s" "$run_daemon_s" $((run_rss_kb / 1024)) "$load_before"
  echo "  $recovered_line"
done

echo "machine: $(nproc) CPUs, $(grep -m 1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')," \
  "load average $(cut -d ' ' -f 1-3 /proc/loadavg)"
echo "seed: $orders resting orders on $levels levels per side of BTC-USD, $finished finished;" \
  "matchd $build_dir ${MATCHD_ARGS:-}"
echo "median of $runs: ready $(printf '%s\n' "${ready_all[@]}" | median)s," \
  "daemon seconds=$(printf '%s\n' "${daemon_all[@]}" | median)," \
  "peak RSS $(($(printf '%s\n' "${rss_all[@]}" | median | cut -d. -f1) / 1024)) MiB"
