#!/usr/bin/env bash
# Measures GET /candles and GET /analytics/stats over a large trade history (issue 29: with
# 10 million trades, one day of 1 m candles and stats over any 30-day range under 10 ms p99
# at 200 requests/s, while the order load of the performance scenario runs).
#
#   load-test/analytics-bench.sh
#
# Starts a project-local PostgreSQL (scripts/dev-postgres.sh, a free loopback port), creates a
# fresh database, lets `matchd migrate` create the schema, seeds TRADES trades of BTC-USD
# spread evenly over the DAYS days before now, and builds their candles the way a database
# that held trades before sql/012 gets them (that migration applied again). Then starts matchd
# on it and runs load-test/analytics_reads.py twice, RATE reads a second for DURATION
# seconds, alternating one UTC day of 1 m candles (1,440) and a random 30-day range's stats:
#   1. alone;
#   2. while matchd-load sends the scenario's REST order flow (ORDER_RATE/s, open loop,
#      1,024 connections, fixtures/gen_orders.py --seed 43 --market-ratio 0.05).
# Prints p50/p90/p99/max per route and phase. Everything it starts is stopped on exit, by pid.
#
# Environment:
#   TRADES=10000000  DAYS=40  RATE=200  DURATION=30  ORDER_RATE=25000
#   MATCHD_BUILD_DIR  build directory with src/app/matchd and load-test/matchd-load (default
#                     build), relative to the repository or absolute
#   KEEP_LOGS_DIR     where logs and JSON results go (default var/analytics-bench)
#   READS=positions   GET /positions of random clients of the flow instead (issue 30: under
#                     2 ms p99 under the order load); TRADES and DAYS can then be small
#   READS=pnl         GET /positions/{client}/pnl of the seeded history's clients instead
#                     (one hour of 1 m buckets, two days of 1 h ones): the history's
#                     positions are folded at matchd's start, as for an upgraded database
#   READS=floor       GET /healthz, which the I/O thread answers alone: the floor under any
#                     read's latency at that load on that machine
set -euo pipefail

repo_root=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo_root"

trades=${TRADES:-10000000}
days=${DAYS:-40}
rate=${RATE:-200}
duration=${DURATION:-30}
order_rate=${ORDER_RATE:-25000}
build_dir=${MATCHD_BUILD_DIR:-build}
case "$build_dir" in /*) ;; *) build_dir=$repo_root/$build_dir ;; esac
logs_dir=${KEEP_LOGS_DIR:-$repo_root/var/analytics-bench}
db_name=matchd_analytics_bench

say() { echo "analytics-bench: $*" >&2; }
die() { say "$*"; exit 1; }

for n in "$trades" "$days" "$rate" "$duration" "$order_rate"; do
  case "$n" in '' | *[!0-9]* | 0) die "TRADES, DAYS, RATE, DURATION and ORDER_RATE must be positive integers" ;; esac
done
[ -x "$build_dir/src/app/matchd" ] || die "$build_dir/src/app/matchd not found; build it first"
[ -x "$build_dir/load-test/matchd-load" ] || die "$build_dir/load-test/matchd-load not found"

# shellcheck source=load-test/bench-lib.sh
. load-test/bench-lib.sh
seconds_since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN {printf "%.1f", b - a}'; }

mkdir -p "$logs_dir"
bench_postgres analytics-pg "$db_name"
"$build_dir/src/app/matchd" migrate --db "$conninfo" >"$logs_dir/migrate.log" 2>&1 ||
  { cat "$logs_dir/migrate.log" >&2; die "matchd migrate failed"; }

# --- the history: TRADES trades over DAYS days, ending now -----------------------------------
# Prices wander within +-100.00 of 70,000.00, sizes 0.001 to 0.1 BTC, 1,000 clients; trade g
# is at start + (g - 1) * step, so times follow trade ids.
now_us=$(($(date +%s) * 1000000))
span_us=$((days * 86400 * 1000000))
start_us=$((now_us - span_us))
step_us=$((span_us / trades))
started=$EPOCHREALTIME
psql_on "$db_name" <<SQL
BEGIN;
INSERT INTO trades (trade_id, instrument, price_ticks, quantity_lots, aggressor_side,
                    buy_order_id, sell_order_id, buy_client_id, sell_client_id,
                    executed_at_us, sequence)
SELECT g, 'BTC-USD', 7000000 + h % 20001 - 10000, 100000 + (h / 20001) % 9900001,
       CASE WHEN h % 2 = 0 THEN 'buy' ELSE 'sell' END, 'b-' || g, 's-' || g,
       'client-' || h % 1000, 'client-' || (h / 1000) % 1000,
       $start_us + (g - 1) * $step_us, g * 4
FROM generate_series(1::bigint, $trades::bigint) AS g,
     LATERAL (SELECT abs(hashint8(g)::bigint) AS h) x;
UPDATE engine_progress SET last_sequence = $trades * 4 + 4, last_trade_id = $trades WHERE id = 1;
-- The candles and the time index are made again by sql/012, as for an upgraded database.
DROP TABLE candles;
DROP INDEX trades_instrument_time;
DELETE FROM schema_migrations WHERE version = 12;
COMMIT;
SQL
if [ "${READS:-history}" = pnl ]; then
  # Their positions and history, folded by matchd at its start (store::complete_positions).
  psql_on "$db_name" -c "UPDATE positions_progress SET complete = false"
fi
say "seeded $trades trades in $(seconds_since "$started") s"
started=$EPOCHREALTIME
"$build_dir/src/app/matchd" migrate --db "$conninfo" >>"$logs_dir/migrate.log" 2>&1 ||
  { cat "$logs_dir/migrate.log" >&2; die "matchd migrate (sql/012 again) failed"; }
psql_on "$db_name" -c "VACUUM ANALYZE trades" -c "VACUUM ANALYZE candles" -c "CHECKPOINT"
say "candles built by sql/012 in $(seconds_since "$started") s:" \
  "$(psql_on "$db_name" -tA -c "SELECT count(*) || ' rows' FROM candles")"

# --- matchd, the fixture, the two phases -------------------------------------------------------
port=$(scripts/free-port.sh)
"$build_dir/src/app/matchd" --db "$conninfo" --listen "127.0.0.1:$port" --rate-limit 0 \
  >"$logs_dir/matchd.log" 2>&1 &
pids+=($!)
bench_wait_ready "$port" "$logs_dir/matchd.log"
python3 fixtures/gen_orders.py --count 200000 --seed 43 --market-ratio 0.05 \
  --out "$logs_dir/flow.ndjson" >/dev/null

# One phase of reads, and matchd's own view of them: analytics_read_seconds (from when the
# reader was asked to the body written, without the network and the client) over the phase.
reads() {
  curl -s "http://127.0.0.1:$port/metrics" >"$logs_dir/$1.metrics0.txt"
  python3 load-test/analytics_reads.py --port "$port" --rate "$rate" --duration "$duration" \
    --first-ms $((start_us / 1000)) --last-ms $((now_us / 1000)) --json "$logs_dir/$1.json" \
    --reads "${READS:-history}"
  curl -s "http://127.0.0.1:$port/metrics" >"$logs_dir/$1.metrics1.txt"
  python3 - "$logs_dir/$1.metrics0.txt" "$logs_dir/$1.metrics1.txt" <<'PY'
import re, sys
def read(path):
    values = {}
    for line in open(path):
        m = re.match(r'analytics_read_seconds_(bucket|sum|count)\{(.*)\} (\S+)$', line)
        if m:
            values[(m.group(1), m.group(2))] = float(m.group(3))
    return values
a, b = read(sys.argv[1]), read(sys.argv[2])
for route in ("candles", "stats", "positions", "pnl"):
    label = f'route="{route}"'
    n = b.get(("count", label), 0) - a.get(("count", label), 0)
    s = b.get(("sum", label), 0) - a.get(("sum", label), 0)
    buckets = sorted((float(re.search(r'le="([^"]+)"', k[1]).group(1)), b[k] - a.get(k, 0))
                     for k in b if k[0] == "bucket" and label in k[1])
    def bound(q):
        return next((le for le, c in buckets if c >= q * n), float("inf"))
    if n:
        print(f"  in matchd {route:8s} mean {s / n * 1000:6.2f} ms, p50 <= {bound(0.5) * 1000:g} ms,"
              f" p99 <= {bound(0.99) * 1000:g} ms (histogram buckets)")
PY
}
echo "== reads alone ($rate/s for $duration s)"
reads alone
echo "== reads while $order_rate orders/s arrive"
"$build_dir/load-test/matchd-load" --target-port "$port" --fixture "$logs_dir/flow.ndjson" \
  --id-tag ab --rate "$order_rate" --warmup 5 --duration $((duration + 5)) --connections 1024 \
  --threads 2 --tick-us 1000 --label orders --json "$logs_dir/orders.json" \
  >"$logs_dir/orders.txt" 2>&1 &
load_pid=$!
pids+=("$load_pid")
sleep 5
reads with-orders
wait "$load_pid" || die "matchd-load failed (log $logs_dir/orders.txt)"
grep -E "throughput|errors|latency" "$logs_dir/orders.txt" | sed 's/^/  orders: /'
echo "machine: $(nproc) CPUs, load average $(cut -d ' ' -f 1-3 /proc/loadavg); $trades trades over $days days; matchd $build_dir"
