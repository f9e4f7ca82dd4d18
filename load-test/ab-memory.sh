#!/usr/bin/env bash
# A/B of two matchd binaries in memory mode (no PostgreSQL): the gateway, engine and publish
# stages alone, which is where a change to them shows without the database's noise.
#
# Usage: load-test/ab-memory.sh [--rounds N] [--mode http|ws] [--duration S] BINARY_A BINARY_B
#
# Each round starts A, then B, fresh, on 127.0.0.1, and drives each with matchd-load at full
# speed (closed loop) over the flow fixture (REST: 256 connections; ws: 8 connections x 64 in
# flight, one generator thread). Per run it prints the answered orders/s, p50, and matchd's
# CPU time (all threads, from /proc) per answered order; then the medians per binary. The
# machine is shared and noisy: alternating A and B in the same minutes is what makes their
# ratio meaningful, not the absolute figures. Every process it starts is stopped by pid.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
rounds=4
mode=http
duration=6
while [ $# -gt 2 ]; do
  case "$1" in
    --rounds) rounds=$2; shift 2 ;;
    --mode) mode=$2; shift 2 ;;
    --duration) duration=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
[ $# -eq 2 ] || { sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'; exit 2; }
binaries=("$1" "$2")
load=${MATCHD_LOAD:-$repo/build-load/load-test/matchd-load}
[ -x "$load" ] || { echo "$load is missing: build matchd-load (load-test/run-scenario.sh builds it)" >&2; exit 1; }

work=$(mktemp -d)
daemon=""
cleanup() {
  if [ -n "$daemon" ]; then kill "$daemon" 2>/dev/null || true; wait "$daemon" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
python3 "$repo/fixtures/gen_orders.py" --count 200000 --seed 43 --market-ratio 0.05 \
  --out "$work/flow.ndjson" >/dev/null

if [ "$mode" = ws ]; then load_args=(--mode ws -c 8 --max-inflight 64); else load_args=(-c 256); fi
ticks=$(getconf CLK_TCK)
for round in $(seq "$rounds"); do
  for i in 0 1; do
    "${binaries[$i]}" --listen 127.0.0.1:0 --ready-file "$work/ready" >"$work/matchd.log" 2>&1 &
    daemon=$!
    for _ in $(seq 200); do grep -qE ':[0-9]+$' "$work/ready" 2>/dev/null && break; sleep 0.05; done
    port=$(grep -oE '[0-9]+$' "$work/ready") || { cat "$work/matchd.log" >&2; exit 1; }
    "$load" --target-port "$port" --fixture "$work/flow.ndjson" --closed-loop "${load_args[@]}" \
      -d "$duration" --threads 1 --json "$work/run.json" >/dev/null
    cpu_ticks=$(awk '{print $14 + $15}' "/proc/$daemon/stat")
    kill "$daemon"; wait "$daemon" 2>/dev/null || true; daemon=""
    rm -f "$work/ready"
    python3 - "$work/run.json" "$cpu_ticks" "$ticks" "$i" "$round" >>"$work/results" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
answered = r["counts"]["answered"]
cpu_s = int(sys.argv[2]) / int(sys.argv[3])
print(sys.argv[4], sys.argv[5], r["throughput"], r["latency_ms"]["p50"], cpu_s * 1e6 / answered)
PY
    tail -1 "$work/results" | awk -v n="${binaries[$i]}" \
      '{printf "round %s %-28s %9.0f orders/s  p50 %6.2f ms  %5.1f us CPU per order\n", $2, n, $3, $4, $5}'
  done
done
python3 - "$work/results" "${binaries[@]}" <<'PY'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1])]
for i, name in enumerate(sys.argv[2:]):
    mine = [r for r in rows if r[0] == str(i)]
    tput = statistics.median(float(r[2]) for r in mine)
    cpu = statistics.median(float(r[4]) for r in mine)
    print(f"median {name:28s} {tput:9.0f} orders/s  {cpu:5.1f} us CPU per order")
PY
