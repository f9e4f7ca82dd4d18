#!/usr/bin/env bash
# How long a restart takes when the tables trail the journal by a long backlog (a crash at
# the end of a burst), and how long the journal applier then needs to catch up behind the
# serving daemon.
#
#   load-test/backlog-restart.sh [--rate R] [--duration S] [--build-dir DIR]
#
# Starts a throwaway PostgreSQL (run-scenario.sh's tuning, on a free loopback port) and
# matchd, preloads run-scenario's 100,000 resting orders, sends R orders/s (default 50,000)
# of its flow fixture over WebSocket for S seconds (default 40), reads store_journal_lag,
# kills matchd with SIGKILL, starts it again on the same database and prints:
#   lag         sequence numbers (and journal rows) the tables trailed the journal by at the
#               kill
#   ready       seconds from the restart's exec to the first 200 from GET /readyz
#   recovered   matchd's own "recovered ..." line: journal_rows and journal_orders laid over
#               the tables, and its rebuild seconds
#   caught_up   seconds from ready until the journal is empty (the applier, behind a daemon
#               that is already serving)
# Needs the Release build of run-scenario.sh (DIR/src/app/matchd, DIR/load-test/matchd-load;
# default ./build-load). Everything it starts is stopped on exit, by pid.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
build_dir=$repo/build-load
rate=50000
duration=40
while [ $# -gt 0 ]; do
  case "$1" in
    --rate) rate=$2; shift ;;
    --duration) duration=$2; shift ;;
    --build-dir) build_dir=$(cd "$2" && pwd); shift ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "backlog-restart: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
for b in src/app/matchd load-test/matchd-load; do
  [ -x "$build_dir/$b" ] || { echo "backlog-restart: $build_dir/$b is missing" >&2; exit 1; }
done

work=$(mktemp -d /tmp/matchd-backlog.XXXXXX)
chmod 0755 "$work"
pg_port=$("$repo/scripts/free-port.sh")
matchd_pid=""
cleanup() {
  local rc=$?
  if [ -n "$matchd_pid" ] && kill -0 "$matchd_pid" 2>/dev/null; then
    kill -TERM "$matchd_pid" 2>/dev/null || true
    wait "$matchd_pid" 2>/dev/null || true
  fi
  MATCHD_PG_PORT=$pg_port MATCHD_PG_DIR=$work/pg "$repo/scripts/dev-postgres.sh" stop \
    >/dev/null 2>&1 || true
  rm -rf "$work"
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

say() { echo "== $*" >&2; }

conninfo=$(MATCHD_PG_OPTIONS="-c shared_buffers=2GB -c wal_buffers=64MB -c max_wal_size=16GB -c checkpoint_timeout=30min" \
  MATCHD_PG_PORT=$pg_port MATCHD_PG_DIR=$work/pg "$repo/scripts/dev-postgres.sh" start)
expected=$((100000 + rate * (duration + 5)))

start_matchd() {  # start_matchd LOG: starts matchd, sets matchd_pid and port
  rm -f "$work/matchd.ready"
  started_ns=$(date +%s%N)
  "$build_dir/src/app/matchd" --db "$conninfo" --listen 127.0.0.1:0 \
    --ready-file "$work/matchd.ready" --rate-limit 0 --expected-orders "$expected" \
    --log-level info >"$1" 2>&1 &
  matchd_pid=$!
  local i
  for i in $(seq 1 600); do
    [ -s "$work/matchd.ready" ] && break
    kill -0 "$matchd_pid" 2>/dev/null || { tail -n 20 "$1" >&2; exit 1; }
    sleep 0.05
  done
  port=$(sed -n '1s/.*://p' "$work/matchd.ready")
}
wait_ready() {  # until GET /readyz answers 200; prints the seconds since start_matchd
  local i
  for i in $(seq 1 30000); do
    if [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/readyz")" = 200 ]; then
      python3 -c "print(f'{($(date +%s%N) - $started_ns) / 1e9:.2f}')"
      return 0
    fi
    sleep 0.02
  done
  echo "backlog-restart: matchd not ready after 600 s" >&2
  exit 1
}
lag() {
  curl -s "http://127.0.0.1:$port/metrics" | awk '$1 == "store_journal_lag" { printf "%d", $2 }'
}
pg_bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
journal_rows() {  # what the applier has not applied yet: it deletes the rows it applies
  "$pg_bin/psql" -X -q -tA "$conninfo" -c "SELECT count(*) FROM journal"
}

start_matchd "$work/matchd-1.log"
wait_ready >/dev/null
say "matchd on 127.0.0.1:$port; generating fixtures"
python3 "$repo/fixtures/gen_orders.py" --count 100000 --seed 42 --out "$work/limits.ndjson"
python3 "$repo/fixtures/gen_orders.py" --count 200000 --seed 43 --market-ratio 0.05 \
  --out "$work/flow.ndjson"
"$build_dir/load-test/matchd-load" --target-port "$port" --fixture "$work/limits.ndjson" \
  --closed-loop --requests 100000 --connections 256 --threads 2 >"$work/preload.txt"
say "WebSocket at $rate orders/s for $duration s"
"$build_dir/load-test/matchd-load" --target-port "$port" --fixture "$work/flow.ndjson" \
  --id-tag burst --mode ws --rate "$rate" --warmup 0 --duration "$duration" \
  --connections 16 --max-inflight 256 --threads 2 --tick-us 1000 >"$work/burst.txt"
grep -E 'throughput|errors' "$work/burst.txt" >&2
kill_lag=$(lag)
kill -KILL "$matchd_pid"
kill_rows=$(journal_rows)
wait "$matchd_pid" 2>/dev/null || true
say "killed matchd with the tables $kill_lag sequence numbers ($kill_rows journal rows) behind; restarting"

start_matchd "$work/matchd-2.log"
ready=$(wait_ready)
ready_ns=$(date +%s%N)
recovered=$(grep -o 'recovered resting_orders=.*' "$work/matchd-2.log" | head -n 1)
while [ "$(journal_rows)" != 0 ]; do sleep 0.2; done
caught_up=$(python3 -c "print(f'{($(date +%s%N) - $ready_ns) / 1e9:.1f}')")
echo "lag $kill_lag sequence numbers, $kill_rows journal rows"
echo "ready ${ready} s"
echo "recovered $recovered"
echo "caught_up ${caught_up} s"
