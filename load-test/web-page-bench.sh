#!/usr/bin/env bash
# The web client under sustained load (issue 31): the page open in headless chromium while
# ORDER_RATE orders a second arrive for DURATION seconds, measured by the browser's own
# performance APIs (load-test/web_page_load.mjs): long tasks, the live heap after GC every
# second, the DOM's size, the stream messages it took.
#
#   load-test/web-page-bench.sh
#
# Starts a project-local PostgreSQL (scripts/dev-postgres.sh, a free loopback port) and matchd
# on it (--auth none), opens the page, waits until it is live, then runs matchd-load (open
# loop, 64 connections, fixtures/gen_orders.py --seed 44 --market-ratio 0.05: a flow that
# trades). Prints the page's figures and the flow's. Everything it starts is stopped on exit,
# by pid.
#
# Environment:
#   ORDER_RATE=5000  DURATION=60
#   SEED_TRADE=0      no trade before the page opens (by default one, so the chart has a candle)
#   TRACE=1           also trace the renderer for 20 s (each task's CPU time beside its wall
#                     time); slows the page, so its other figures are then not the page's;
#                     TRACE_FROM=S starts the trace S seconds into the measurement (default 10);
#                     the raw trace is kept as trace.json (Perfetto or chrome://tracing read it)
#   SEPARATE_CORES=1  the venue (PostgreSQL, matchd, the load generator) on CPU 0 and the
#                     browser on CPU 1 (taskset), as when the page runs on the trader's own
#                     machine; without it everything shares every core
#   MATCHD_BUILD_DIR  build directory with src/app/matchd and load-test/matchd-load (default
#                     build), relative to the repository or absolute
#   KEEP_LOGS_DIR     where logs and JSON results go (default var/web-page-bench)
# Needs chromium and tools/browser's modules (scripts/install-deps.sh).
set -euo pipefail

repo_root=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo_root"

order_rate=${ORDER_RATE:-5000}
duration=${DURATION:-60}
build_dir=${MATCHD_BUILD_DIR:-build}
case "$build_dir" in /*) ;; *) build_dir=$repo_root/$build_dir ;; esac
logs_dir=${KEEP_LOGS_DIR:-$repo_root/var/web-page-bench}
db_name=matchd_web_bench

say() { echo "web-page-bench: $*" >&2; }
die() { say "$*"; exit 1; }

for n in "$order_rate" "$duration"; do
  case "$n" in '' | *[!0-9]* | 0) die "ORDER_RATE and DURATION must be positive integers" ;; esac
done
[ -x "$build_dir/src/app/matchd" ] || die "$build_dir/src/app/matchd not found; build it first"
[ -x "$build_dir/load-test/matchd-load" ] || die "$build_dir/load-test/matchd-load not found"
[ -d tools/browser/node_modules/playwright-core ] ||
  die "tools/browser/node_modules is missing: scripts/install-deps.sh installs it"

venue=()
browser=()
if [ -n "${SEPARATE_CORES:-}" ]; then
  [ "$(nproc)" -ge 2 ] || die "SEPARATE_CORES needs two CPUs"
  venue=(taskset -c 0)
  browser=(taskset -c 1)
fi

# shellcheck source=load-test/bench-lib.sh
. load-test/bench-lib.sh

mkdir -p "$logs_dir"
bench_postgres web-bench-pg "$db_name" "${venue[@]}"

port=$(scripts/free-port.sh)
"${venue[@]}" "$build_dir/src/app/matchd" --db "$conninfo" --listen "127.0.0.1:$port" --rate-limit 0 \
  --auth none >"$logs_dir/matchd.log" 2>&1 &
pids+=($!)
bench_wait_ready "$port" "$logs_dir/matchd.log"
# A venue a trader opens has a history: one trade before the page loads, so that the chart's
# first drawing (on this machine a task of a few hundred ms, once: the canvas's first frame sets
# up the renderer's GPU channel, and the library's code is compiled) is part of loading the
# page, as it is for anyone opening it on a running venue. SEED_TRADE=0 leaves the venue empty.
if [ "${SEED_TRADE:-1}" != 0 ]; then
  for side in sell buy; do
    curl -sf -X POST "http://127.0.0.1:$port/orders" -H 'Content-Type: application/json' \
      -d '{"client_id":"web-bench-seed-'"$side"'","instrument":"BTC-USD","side":"'"$side"'",
           "type":"limit","price":"70000.00","quantity":"0.00100000","time_in_force":"gtc"}' \
      >/dev/null || die "the seed trade's $side order failed"
  done
fi
python3 fixtures/gen_orders.py --count $((order_rate * (duration + 10))) --seed 44 \
  --market-ratio 0.05 --out "$logs_dir/flow.ndjson" >/dev/null

# The page first, measured from before the flow starts until after it ends.
"${browser[@]}" node load-test/web_page_load.mjs --url "http://127.0.0.1:$port/" --seconds $((duration + 15)) \
  --json "$logs_dir/page.json" ${TRACE:+--trace --trace-from "${TRACE_FROM:-10}" --trace-out "$logs_dir/trace.json"} >"$logs_dir/page.txt" 2>&1 &
page_pid=$!
pids+=("$page_pid")
sleep 8
"${venue[@]}" "$build_dir/load-test/matchd-load" --target-port "$port" --fixture "$logs_dir/flow.ndjson" \
  --id-tag web --rate "$order_rate" --warmup 0 --duration "$duration" --connections 64 \
  --threads 1 --label orders --json "$logs_dir/orders.json" >"$logs_dir/orders.txt" 2>&1 ||
  die "matchd-load failed (log $logs_dir/orders.txt)"
wait "$page_pid" || { cat "$logs_dir/page.txt" >&2; die "the page measurement failed"; }
echo "== the page ($((duration + 15)) s, the flow in the middle $duration s of it)"
cat "$logs_dir/page.txt"
echo "== the server: subscribers closed as too slow: $(grep -c 'subscriber too slow' "$logs_dir/matchd.log" || true)"
echo "== the flow"
grep -E "throughput|errors|latency" "$logs_dir/orders.txt" | sed 's/^/  /'
echo "machine: $(nproc) CPUs, load average $(cut -d ' ' -f 1-3 /proc/loadavg); matchd $build_dir${SEPARATE_CORES:+; venue on CPU 0, browser on CPU 1}"
