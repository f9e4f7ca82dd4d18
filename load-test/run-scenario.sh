#!/usr/bin/env bash
# The measured performance scenario of docs/performance.md, end to end and reproducible:
#
#   1. build matchd, matchd-load and noop-server (Release, ./build-load or --build-dir)
#   2. start a throwaway PostgreSQL (scripts/dev-postgres.sh on a free port, temp data dir)
#   3. generate the fixtures (fixtures/gen_orders.py)
#   4. start matchd --db ... (durable acknowledgements) with a ready file, preload 100,000
#      resting limit orders (closed loop), fire a market-order burst that sweeps the book
#   5. sustain --rest-rate orders/s over REST for --duration s (open loop, latency from the
#      intended send time), then REST at full speed (closed loop: matchd's REST ceiling),
#      then --ws-rate orders/s over WebSocket; these replay a "flow" fixture of limit orders
#      around the touch with 5% market orders, its order_ids tagged per phase. The REST
#      ceiling and the WebSocket phase each start from step 4 again, on an emptied database
#      (the flow only adds to the book), once the journal applier has caught up
#   6. stop matchd and PostgreSQL, start noop-server and drive it with the same generator,
#      connections and threads at full speed (closed loop): the HTTP stack's ceiling; then
#      at --rest-rate (open loop): the latency floor of this machine's HTTP path at that rate
#   7. print a report (throughput, errors, latency percentiles per phase, REST/no-op ratio,
#      per-thread CPU, batch sizes and commit times, the disk's flush times beside the load
#      (load-test/disk_probe.py, from step 2 on), a perf profile of the machine) and
#      check the targets; results in
#      var/perf/<timestamp>/ (summary.json, report.txt, one matchd-load JSON per phase)
#
# Usage: load-test/run-scenario.sh [--quick] [--duration S] [--warmup S] [--rest-rate R]
#          [--ws-rate R] [--connections C] [--ws-connections C] [--ws-inflight K] [--ws-tick-us U]
#          [--rest-tick-us U]
#          [--threads T] [--io-threads N] [--orders N] [--burst M] [--no-build]
#          [--build-dir DIR]
#          [--no-rest-max] [--no-perf] [--keep] [--wait-idle S] [--dirty-background-bytes N]
#          [--presize] [--auth keys|none] [--nats]
#        load-test/run-scenario.sh --report-only var/perf/<timestamp>
#
# --auth keys: matchd runs with --auth keys and a random MATCHD_ADMIN_KEY; after each start
# the script creates one trader key per generator thread (--threads), each bound to every
# client_id of the fixtures and without a rate limit, through POST /admin/keys, and passes
# them to matchd-load (--keys: connection i sends key i mod n as Authorization: Bearer).
# Default none, as before: the two compare back to back.
#
# --nats: matchd also exports every committed event to JetStream (--nats-url), to a
# nats-server the script starts (Debian's nats-server, a fresh store per matchd start, on
# loopback). Each timed phase then reports the export's delay (export_delay_seconds over the
# measured window: from an event's time to JetStream's acknowledgement, the oldest event of
# each round) in <phase>.export.txt. Without it: the same run with no export, the baseline
# to compare it with. NATS_NICE=N runs nats-server at that niceness: on a machine whose cores
# the scenario already fills, the broker then stands in for one on its own machine, taking
# only what the order path leaves.
#
# matchd runs with its default sizing, as a deployment that sets no flags does: the id
# index, the book's nodes and the order view grow while measured (incrementally, so without
# a pause). --presize passes --expected-orders for every order the largest phase can place
# instead, so that nothing grows; the gap between the two runs is what growth costs.
#
# --wait-idle S: before measuring, wait up to S seconds for the machine to be idle (under
# 25% CPU busy over 5 s), since other work on the 2 cores skews every figure.
#
# --dirty-background-bytes N (default 4 MiB; 0 leaves the machine alone): run as root, the
# script sets vm.dirty_background_bytes for the run and restores the old setting on exit.
# PostgreSQL grows its tables by writing zero pages through the page cache; with the
# kernel's default (writeback from 10% of RAM, or after 30 s) some 300 MB piled up and were
# flushed at once 30 s into each phase, the WAL's fdatasync queued behind them, and every
# acknowledgement stopped for half a second. Those stalls alone made a phase's p99. 16 MiB
# ended those; 4 MiB also ends the 25-100 ms commits (2-10 per 20 s phase at 16 MiB, none at
# 4 MiB in the same test): a WAL flush waits for the writeback already sent to the disk.
#
# MATCHD_WAL_WARMUP_SEGMENTS (default 256, 0 = none): WAL segments of 16 MB created and
# recycled before measuring, as a server that has run a while has them. Each segment a new
# cluster creates mid-phase holds every commit for 30-48 ms.
#
# MATCHD_EXTRA_ARGS: more matchd flags, word-split, after the script's own (so they win),
# e.g. MATCHD_EXTRA_ARGS="--queue-capacity 16384", for an A/B of a setting.
#
# Everything runs on this machine and talks over 127.0.0.1 only. Every process the script
# starts is stopped on exit (by pid, or pg_ctl for PostgreSQL), also on Ctrl-C or failure.
# Exit status: 0 when every phase ran (targets met or not: see the report), 1 on failure.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
build_dir=$repo/build-load

duration=60
warmup=5
rest_rate=25000
ws_rate=50000
connections=64
ws_connections=16
ws_inflight=256
# The WebSocket client's pacer wakes every millisecond and sends what is due on each
# connection as one write (about three orders at 50,000/s over 16 connections), as a
# pipelining client would; latency still counts from each order's intended send time, so
# the wait for the tick is in every figure. At 100 us nearly every order is a write of its
# own, and the generator spent more CPU than the gateway it loads.
ws_tick_us=1000
# The REST pacer's tick, for the open-loop REST phase and the no-op server's: every
# millisecond each generator thread sends what is due (about 12 requests at 25,000/s, one
# per connection as before). Latency still counts from each request's intended send time,
# so the wait for the tick is in every figure: the median rose by 0.6 to 1.0 ms, matchd's
# and the no-op server's alike. At 100 us the pacer woke ten times as often and the machine
# was 17 points busier at the same rate (an A/B run of this scenario).
rest_tick_us=1000
threads=2
# matchd's network threads (and the no-op server's, so the ceilings compare). Two on two
# cores: when the scheduler leaves one waiting behind the other busy threads, the other
# still reads and answers. 20 s WebSocket runs at 4 MiB writeback, one against two: p99 31
# -> 17 ms, at the same CPU per request.
io_threads=2
orders=100000
burst=1000
flow_market_ratio=0.05
do_build=1
rest_max=1
do_perf=1
keep=0
wait_idle=0
report_only=""
# The kernel starts writing dirty pages back once this many bytes are dirty (set for the run
# when root, restored on exit; 0 = leave the machine's setting). See "the kernel's writeback".
dirty_background_bytes=4194304

presize=0
auth=none
nats=0
command_line="$*"
usage() { sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'; }
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) duration=10; warmup=2 ;;
    --duration) duration=$2; shift ;;
    --warmup) warmup=$2; shift ;;
    --rest-rate) rest_rate=$2; shift ;;
    --ws-rate) ws_rate=$2; shift ;;
    --connections) connections=$2; shift ;;
    --ws-connections) ws_connections=$2; shift ;;
    --ws-inflight) ws_inflight=$2; shift ;;
    --ws-tick-us) ws_tick_us=$2; shift ;;
    --rest-tick-us) rest_tick_us=$2; shift ;;
    --threads) threads=$2; shift ;;
    --io-threads) io_threads=$2; shift ;;
    --orders) orders=$2; shift ;;
    --burst) burst=$2; shift ;;
    --no-build) do_build=0 ;;
    --build-dir) build_dir=$(cd "$2" && pwd); shift ;;
    --no-rest-max) rest_max=0 ;;
    --presize) presize=1 ;;
    --auth) auth=$2; shift ;;
    --no-perf) do_perf=0 ;;
    --keep) keep=1 ;;
    --wait-idle) wait_idle=$2; shift ;;
    --dirty-background-bytes) dirty_background_bytes=$2; shift ;;
    --report-only) report_only=$(cd "$2" && pwd); shift ;;
    --nats) nats=1 ;;
    -h | --help) usage; exit 0 ;;
    *) echo "run-scenario: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done

say() { echo "== $*" >&2; }
die() { echo "run-scenario: $*" >&2; exit 1; }
case "$auth" in keys | none) ;; *) die "--auth wants keys or none, got '$auth'" ;; esac

# report DIR: the summary of a results directory (also: run-scenario.sh --report-only DIR).
report() {
  python3 - "$1" <<'EOF'
import json, os, sys
out = sys.argv[1]
settings = json.load(open(os.path.join(out, "settings.json")))
duration, rest_rate, ws_rate = settings["duration"], settings["rest_rate"], settings["ws_rate"]
connections, ws_connections, ws_inflight = settings["connections"], settings["ws_connections"], settings["ws_inflight"]
threads, io_threads = settings["threads"], settings["io_threads"]
def load(name):
    p = os.path.join(out, name + ".json")
    return json.load(open(p)) if os.path.exists(p) else None
phases = {n: load(n) for n in ["preload", "burst", "rest", "rest-max", "ws", "noop", "noop-open"]}
machine = json.load(open(os.path.join(out, "machine.json")))

def cpu(name):
    try:
        a = json.load(open(os.path.join(out, name + ".cpu0.json")))
        b = json.load(open(os.path.join(out, name + ".cpu1.json")))
    except OSError:
        return [], None
    secs = b["uptime"] - a["uptime"]
    if secs <= 0:
        return [], None
    rows, watched = [], 0.0
    for tid, t in b["threads"].items():
        before = a["threads"].get(tid, {"ticks": 0})["ticks"]
        pct = 100.0 * (t["ticks"] - before) / b["ticks_per_s"] / secs
        watched += pct
        if pct >= 1.0:
            rows.append((pct, tid, t["comm"], t["cmd"]))
    busy = 100.0 * (b["machine_busy"] - a["machine_busy"]) / b["ticks_per_s"] / secs
    return sorted(rows, reverse=True)[:12], (busy, watched, b["loadavg"])

import re
ROLES = [  # (role, symbol pattern) to name matchd's threads from their profile
    ("gateway I/O", re.compile(r"lexer|http_session|websocket_session|parse_order_request|beast|order_entry|sax")),
    ("publish", re.compile(r"publish_stage|json_writer|format_decimal|command_response")),
    ("store", re.compile(r"store_stage|pqxx|libpq|PQ")),
    ("engine", re.compile(r"matching_engine|order_book|engine_stage")),
]
def roles(name):
    """tid -> role of matchd's threads, from the perf profile of the phase."""
    weights = {}
    try:
        text = open(os.path.join(out, name + ".perf-threads.txt")).read().splitlines()
    except OSError:
        return {}
    for line in text:
        m = re.match(r"\s*([0-9.]+)%\s+(\d+):matchd\S*\s+\[[.k]\]\s+(.*)", line)
        if not m:
            continue
        pct, tid, sym = float(m.group(1)), m.group(2), m.group(3)
        for role, pattern in ROLES:
            if pattern.search(sym):
                weights.setdefault(tid, {}).setdefault(role, 0.0)
                weights[tid][role] += pct
    return {tid: max(w.items(), key=lambda kv: kv[1])[0] for tid, w in weights.items()}

lines = []
w = lines.append
w(f"matchd performance scenario  {os.path.basename(out)}")
w(f"machine: {machine['cpus']} x {machine['cpu_model']}, {machine['memory_gib']} GiB, kernel {machine['kernel']}, "
  f"load average at start {machine['loadavg_at_start'][0]:.2f}; commit {machine['git_commit']}"
  f"{' (dirty tree)' if machine['git_dirty'] else ''}")
if "matchd_binary" in machine:
    w(f"matchd binary: {machine['matchd_binary']} (sha256 {machine['matchd_sha256']}...)")
w(f"setup: {duration:g} s measured per phase, REST {connections} connections (pacer tick "
  f"{settings.get('rest_tick_us', 100)} us), WS {ws_connections} connections x "
  f"{ws_inflight} in flight (pacer tick {settings.get('ws_tick_us', 100)} us), {threads} generator thread(s), matchd --io-threads {io_threads}"
  f"{' ' + settings['matchd_extra_args'] if settings.get('matchd_extra_args') else ''}")
if os.path.exists(os.path.join(out, "writeback.txt")):
    w("kernel writeback: " + open(os.path.join(out, "writeback.txt")).read().strip())
if os.path.exists(os.path.join(out, "wal-warmup.txt")):
    w("WAL warm-up: " + open(os.path.join(out, "wal-warmup.txt")).read().strip())
w("")
w(f"{'phase':9} {'loop':6} {'offered/s':>9} {'achieved/s':>10} {'errors':>7} {'p50 ms':>8} {'p90 ms':>8} "
  f"{'p99 ms':>8} {'p99.9 ms':>9} {'max ms':>8}")
for name, r in phases.items():
    if not r:
        continue
    l = r["latency_ms"]
    offered = f"{r['offered_rate']:.0f}" if r["offered_rate"] else "max"
    w(f"{name:9} {r['loop']:6} {offered:>9} {r['throughput']:10.0f} {r['counts']['errors']:7d} "
      f"{l['p50']:8.2f} {l['p90']:8.2f} {l['p99']:8.2f} {l['p99_9']:9.2f} {l['max']:8.2f}")
w("")
for name, r in phases.items():
    if r and r["counts"]["errors"]:
        c = r["counts"]
        w(f"errors in {name}: status {c['status']}, transport {c['transport_errors']}, connect "
          f"{c['connect_errors']}, unmatched {c['unmatched']}, unfinished {c['unfinished']}")

rest, rmax, ws, noop = phases["rest"], phases["rest-max"], phases["ws"], phases["noop"]
checks = []
def check(name, ok, detail):
    checks.append({"target": name, "met": bool(ok), "detail": detail})
if rest:
    check("REST >= 25,000 orders/s sustained", rest["ok_throughput"] >= 25000 * 0.99 and rest_rate >= 25000,
          f"{rest['ok_throughput']:.0f}/s of 2xx at an offered {rest_rate:.0f}/s")
    check("REST p50 < 5 ms", rest["latency_ms"]["p50"] < 5, f"p50 {rest['latency_ms']['p50']:.2f} ms")
    check("REST p99 < 25 ms", rest["latency_ms"]["p99"] < 25, f"p99 {rest['latency_ms']['p99']:.2f} ms")
    check("REST zero errors", rest["counts"]["errors"] == 0, f"{rest['counts']['errors']} errors")
if noop and (rest or rmax):
    best = max(x["ok_throughput"] for x in (rest, rmax) if x)
    ratio = best / noop["ok_throughput"] if noop["ok_throughput"] else 0
    check("REST >= 60% of no-op throughput", ratio >= 0.6,
          f"best REST {best:.0f}/s vs no-op {noop['ok_throughput']:.0f}/s = {100 * ratio:.1f}%")
if ws:
    check("WS >= 50,000 orders/s sustained", ws["ok_throughput"] >= 50000 * 0.99 and ws_rate >= 50000,
          f"{ws['ok_throughput']:.0f}/s of 2xx at an offered {ws_rate:.0f}/s")
    check("WS p99 < 25 ms", ws["latency_ms"]["p99"] < 25, f"p99 {ws['latency_ms']['p99']:.2f} ms")
    check("WS zero errors", ws["counts"]["errors"] == 0, f"{ws['counts']['errors']} errors")
for name in ("preload", "burst", "rest-max"):
    if phases.get(name):
        check(f"{name} zero errors", phases[name]["counts"]["errors"] == 0,
              f"{phases[name]['counts']['errors']} errors")
def metrics(name, i):
    vals = {}
    try:
        for line in open(os.path.join(out, f"{name}.metrics{i}.txt")):
            if line.startswith("#") or " " not in line:
                continue
            key, _, value = line.rpartition(" ")
            try:
                vals[key] = float(value)
            except ValueError:
                pass
    except OSError:
        pass
    return vals
warmup = settings["warmup"]
def progress_max_ms(name):  # {t: the slowest answer of second t} from "<name>.progress.log"
    seconds = {}
    try:
        for line in open(os.path.join(out, name + ".progress.log")):
            fields = dict(f.split("=", 1) for f in line.split() if "=" in f)
            try:
                seconds[int(fields["t"].rstrip("s"))] = float(fields["max_ms"])
            except (KeyError, ValueError):
                pass
    except OSError:
        pass
    return seconds
disk_flushes = []  # (boot-time s, ms) from disk_probe.py
try:
    for line in open(os.path.join(out, "disk-probe.log")):
        try:
            at, ms = line.split()
            disk_flushes.append((float(at), float(ms)))
        except ValueError:
            pass  # a line cut short when the probe stopped
except OSError:
    pass
store_lines = []
for name in ("rest", "rest-max", "ws"):
    a, b = metrics(name, 0), metrics(name, 1)
    d = lambda k: b.get(k, 0.0) - a.get(k, 0.0)
    commits = d("store_batch_commands_count")
    if commits <= 0:
        continue
    window = None  # the measured window on the boot clock, from the CPU snapshots
    try:
        c0 = json.load(open(os.path.join(out, name + ".cpu0.json")))
        c1 = json.load(open(os.path.join(out, name + ".cpu1.json")))
        window = (c0["uptime"], c1["uptime"])
    except OSError:
        pass
    per_s = f", {commits / (window[1] - window[0]):.0f} commits/s" if window and window[1] > window[0] else ""
    store_lines.append(f"  {name}: {d('store_batch_commands_sum') / commits:.1f} orders per COMMIT, "
                       f"{1000 * d('store_commit_seconds_sum') / max(1, d('store_commit_seconds_count')):.2f} ms per "
                       f"commit{per_s}; receipt-to-ack {1000 * d('order_latency_seconds_sum') / max(1, d('order_latency_seconds_count')):.2f} ms mean (matchd's own histogram)")
    # The tails by matchd's own clocks: a client-side p99 well above them was made outside
    # receipt-to-ack (the generator, both sockets, the I/O threads' turns on a core).
    over = lambda metric, le: d(f"{metric}_count") - d(f'{metric}_bucket{{le="{le}"}}')
    acks = max(1.0, d("order_latency_seconds_count"))
    store_lines.append(f"    commits over 10 ms: {over('store_commit_seconds', '0.01'):.0f}, over 25 ms: "
                       f"{over('store_commit_seconds', '0.025'):.0f}, over 100 ms: "
                       f"{over('store_commit_seconds', '0.1'):.0f}; acknowledgements over 10 ms: "
                       f"{100 * over('order_latency_seconds', '0.01') / acks:.2f}%, over 25 ms: "
                       f"{100 * over('order_latency_seconds', '0.025') / acks:.2f}%")
    flushes = sorted(ms for at, ms in disk_flushes if window and window[0] <= at <= window[1])
    if flushes:
        q = lambda f: flushes[min(len(flushes) - 1, int(f * len(flushes)))]
        store_lines.append(f"    the disk beside it (disk_probe.py, 8 KiB + fdatasync every 20 ms): {len(flushes)} "
                           f"flushes, p50 {q(0.5):.2f} ms, p99 {q(0.99):.2f} ms, max {flushes[-1]:.1f} ms; "
                           f"over 25 ms: {sum(1 for x in flushes if x > 25)}, over 100 ms: "
                           f"{sum(1 for x in flushes if x > 100)}")
        # The phase's slowest seconds by the generator's clock, each beside the disk's slowest
        # flush in it. The first CPU snapshot was taken as progress line t=warmup appeared, so
        # line t=k covers about (k-1, k] s after window[0] - warmup.
        slowest = sorted(((ms, t) for t, ms in progress_max_ms(name).items()
                          if warmup < t <= warmup + duration), reverse=True)[:3]
        if slowest:
            def disk_max(t):
                start = window[0] - warmup + t - 1
                return max((ms for at, ms in disk_flushes if start <= at < start + 1), default=0.0)
            store_lines.append("    slowest seconds (matchd-load's max_ms; the disk's slowest flush in the same "
                               "second): " + ", ".join(f"t={t} {ms:.0f} ms (disk {disk_max(t):.0f} ms)"
                                                      for ms, t in slowest))
if store_lines:
    w("durable write path over the measured window (from matchd's /metrics):")
    lines.extend(store_lines)
    w("")
w("targets:")
for c in checks:
    w(f"  [{'MET   ' if c['met'] else 'MISSED'}] {c['target']}: {c['detail']}")
if noop:
    for name in ("rest", "rest-max"):
        if phases.get(name):
            w(f"  ratio {name}/no-op: {100 * phases[name]['ok_throughput'] / max(1, noop['ok_throughput']):.1f}%")
floor = phases.get("noop-open")
if floor:
    fl = floor["latency_ms"]
    w(f"  floor: the no-op server, open loop at {floor['offered_rate']:.0f}/s with the same generator and "
      f"connections: {floor['ok_throughput']:.0f}/s, p50 {fl['p50']:.2f} ms, p99 {fl['p99']:.2f} ms. matchd does "
      f"all the no-op server does and more, so its REST phase at that rate is not expected to beat this.")
w("")
w("CPU per thread over the measured window (100% = one core; matchd's thread roles are"
  " guessed from their perf profile, see <phase>.perf-threads.txt):")
for name in ("rest", "rest-max", "ws", "noop", "noop-open"):
    rows, machine_cpu = cpu(name)
    if rows:
        busy, watched, load1 = machine_cpu
        w(f"  {name}: machine busy {busy:.0f}% of {100 * machine['cpus']}%, the processes under test "
          f"{watched:.0f}%, everything else {max(0.0, busy - watched):.0f}% (load average {load1:.2f})")
        named = roles(name)
        for pct, tid, comm, cmd in rows:
            role = f"[{named[tid]}]" if tid in named else ""
            w(f"    {pct:6.1f}%  tid {tid:>7} {comm:12} {role:14} {cmd[:48]}")
summary = {"out": out, "machine": machine, "duration_s": duration, "rest_rate": rest_rate,
           "ws_rate": ws_rate, "phases": {n: {k: r[k] for k in ("loop", "offered_rate", "throughput",
           "ok_throughput", "measured_s", "counts", "latency_ms", "connections", "threads")}
           for n, r in phases.items() if r},
           "targets": checks, "all_met": all(c["met"] for c in checks)}
json.dump(summary, open(os.path.join(out, "summary.json"), "w"), indent=2)
text = "\n".join(lines) + "\n"
open(os.path.join(out, "report.txt"), "w").write(text)
print(text)
print(f"results: {out}")
EOF
}

if [ -n "$report_only" ]; then
  report "$report_only"
  exit 0
fi

stamp=$(date -u +%Y%m%dT%H%M%SZ)
out=$repo/var/perf/$stamp
mkdir -p "$out"
python3 - "$out/settings.json" "${MATCHD_EXTRA_ARGS:-}" <<EOF
import json, sys
json.dump({"duration": $duration, "warmup": $warmup, "rest_rate": $rest_rate, "ws_rate": $ws_rate,
           "connections": $connections, "ws_connections": $ws_connections,
           "ws_inflight": $ws_inflight, "ws_tick_us": $ws_tick_us, "rest_tick_us": $rest_tick_us, "threads": $threads, "io_threads": $io_threads,
           "orders": $orders, "burst": $burst, "flow_market_ratio": $flow_market_ratio,
           "matchd_extra_args": sys.argv[2], "auth": "$auth",
           "command": "load-test/run-scenario.sh $command_line"}, open(sys.argv[1], "w"), indent=2)
EOF
work=$(mktemp -d /tmp/matchd-perf.XXXXXX)
chmod 0755 "$work"  # the postgres user must reach the data directory inside

# --- cleanup: every process started here, by pid -----------------------------------------
pids=()        # background processes we started
pg_port=""
pg_started=0
stop_pid() {  # stop_pid PID: SIGTERM, up to 15 s, then SIGKILL
  local pid=$1 i
  kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for i in $(seq 1 150); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    echo "run-scenario: pid $pid ignored SIGTERM; killing it" >&2
    kill -KILL "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || true
}
stop_postgres() {
  if [ "$pg_started" = 1 ]; then
    MATCHD_PG_PORT=$pg_port MATCHD_PG_DIR=$work/pg "$repo/scripts/dev-postgres.sh" stop || true
    pg_started=0
  fi
}
writeback_saved=""  # "BYTES RATIO" of the machine's setting, once changed
restore_writeback() {
  [ -n "$writeback_saved" ] || return 0
  local bytes ratio
  read -r bytes ratio <<<"$writeback_saved"
  # Writing one of the pair zeroes the other, as the kernel documents.
  if [ "$bytes" != 0 ]; then
    echo "$bytes" >/proc/sys/vm/dirty_background_bytes
  else
    echo "$ratio" >/proc/sys/vm/dirty_background_ratio
  fi
  writeback_saved=""
}
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  for pid in "${pids[@]}"; do stop_pid "$pid"; done
  stop_postgres
  restore_writeback || true
  if [ "$keep" = 1 ]; then
    echo "run-scenario: kept $work" >&2
  else
    rm -rf "$work"
  fi
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

forget_pid() {  # forget_pid PID: drop it from the cleanup list
  local kept=() p
  for p in "${pids[@]}"; do [ "$p" = "$1" ] || kept+=("$p"); done
  pids=("${kept[@]}")
}

free_port() { "$repo/scripts/free-port.sh"; }

# wait_ready FILE PID NAME: the HOST:PORT line a server writes once it listens.
wait_ready() {
  local file=$1 pid=$2 name=$3 i
  for i in $(seq 1 600); do
    if [ -s "$file" ] && [ "$(tail -c 1 "$file" | od -An -c | tr -d ' ')" = '\n' ]; then
      sed -n '1s/.*://p' "$file"
      return 0
    fi
    kill -0 "$pid" 2>/dev/null || { tail -n 30 "$work/$name.log" >&2 || true; die "$name exited before it was ready"; }
    sleep 0.1
  done
  die "$name did not become ready within 60 s"
}

# Per-thread CPU: snapshot the ticks of a process tree, diff two snapshots.
cpu_snapshot() {  # cpu_snapshot FILE PID...
  local file=$1; shift
  python3 - "$file" "$@" <<'EOF'
import json, os, sys
out, roots = sys.argv[1], {int(p) for p in sys.argv[2:]}
procs = {}
for d in os.listdir("/proc"):
    if d.isdigit():
        try:
            with open(f"/proc/{d}/stat") as f:
                s = f.read()
            procs[int(d)] = int(s[s.rindex(")") + 2:].split()[1])  # ppid
        except OSError:
            pass
tree, grew = set(roots), True
while grew:
    grew = False
    for pid, ppid in procs.items():
        if ppid in tree and pid not in tree:
            tree.add(pid); grew = True
snap = {"ticks_per_s": os.sysconf("SC_CLK_TCK"), "threads": {}}
with open("/proc/uptime") as f:
    snap["uptime"] = float(f.read().split()[0])
with open("/proc/stat") as f:
    cpu = [int(x) for x in f.readline().split()[1:]]
snap["machine_busy"] = sum(cpu[:8]) - cpu[3] - cpu[4]  # all but idle and iowait
snap["loadavg"] = os.getloadavg()[0]
for pid in sorted(tree):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            cmd = f.read().replace(b"\0", b" ").decode(errors="replace").strip()[:60]
        for tid in sorted(os.listdir(f"/proc/{pid}/task"), key=int):
            with open(f"/proc/{pid}/task/{tid}/stat") as f:
                s = f.read()
            comm = s[s.index("(") + 1:s.rindex(")")]
            fields = s[s.rindex(")") + 2:].split()
            snap["threads"][tid] = {"pid": pid, "comm": comm, "cmd": cmd,
                                    "ticks": int(fields[11]) + int(fields[12])}
    except OSError:
        pass
with open(out, "w") as f:
    json.dump(snap, f)
EOF
}

# wait_progress FILE PID N: until the load generator has printed N progress lines (N s of
# load) or has exited.
wait_progress() {
  local file=$1 pid=$2 n=$3
  while kill -0 "$pid" 2>/dev/null; do
    [ "$(grep -c ' t=' "$file" 2>/dev/null || true)" -ge "$n" ] && return 0
    sleep 0.2
  done
}

# wait_applied: until the journal applier has written the tables up to the journal
# (store_journal_lag below 1,000), at most 600 s. Each timed phase starts from there, so
# no phase pays for the table writes of the one before it.
wait_applied() {
  [ -n "${metrics_port:-}" ] || return 0
  local started=$SECONDS lag=""
  while [ $((SECONDS - started)) -lt 600 ]; do
    lag=$(curl -s "http://127.0.0.1:$metrics_port/metrics" |
          awk '$1 == "store_journal_lag" { printf "%d", $2 }')
    if [ -n "$lag" ] && [ "$lag" -lt 1000 ]; then
      say "journal applied (lag $lag) after $((SECONDS - started)) s"
      return 0
    fi
    sleep 1
  done
  say "journal still $lag sequence numbers ahead of the tables after 600 s; measuring anyway"
}

# phase NAME ARGS...: one matchd-load run into $out/NAME.json, with CPU samples of the
# processes under test and matchd's /metrics taken over its measured window, and a
# system-wide perf profile of part of it.
phase() {
  local name=$1; shift
  [ "${phase_timed:-1}" = 1 ] && wait_applied
  say "phase $name: matchd-load $*"
  "$build_dir/load-test/matchd-load" --label "$name" --json "$out/$name.json" --progress "$@" \
    >"$out/$name.txt" 2>"$out/$name.progress.log" &
  local load_pid=$!
  pids+=("$load_pid")
  local watched=("$load_pid" "${watch_pids[@]}")
  if [ "${phase_timed:-1}" = 1 ]; then
    # matchd-load prints one progress line per second from its start time t0, so the
    # measured window is lines warmup+1 .. warmup+duration.
    wait_progress "$out/$name.progress.log" "$load_pid" "$warmup"
    cpu_snapshot "$out/$name.cpu0.json" "${watched[@]}"
    [ -n "${metrics_port:-}" ] && curl -s "http://127.0.0.1:$metrics_port/metrics" >"$out/$name.metrics0.txt"
    local perf_pid=""
    if [ "$do_perf" = 1 ] && command -v perf >/dev/null; then
      # The whole machine for a while: matchd, PostgreSQL, the generator and intruders.
      local perf_s
      perf_s=$(python3 -c "print(int(min(10, max(1, $duration / 2))))")
      perf record -F 499 -a -o "$work/$name.perf.data" -- sleep "$perf_s" \
        >/dev/null 2>"$work/$name.perf.log" &
      perf_pid=$!
      pids+=("$perf_pid")
    fi
    # Two lines before the end: a closed-loop generator exits as its last second ends, and
    # a snapshot taken after that missed its threads (the CPU table is per measured second).
    wait_progress "$out/$name.progress.log" "$load_pid" \
      "$(python3 -c "print(int($warmup + max(1, $duration - 2)))")"
    cpu_snapshot "$out/$name.cpu1.json" "${watched[@]}"
    [ -n "${metrics_port:-}" ] && curl -s "http://127.0.0.1:$metrics_port/metrics" >"$out/$name.metrics1.txt"
    if [ -n "$perf_pid" ]; then
      wait "$perf_pid" || true
      forget_pid "$perf_pid"
    fi
  fi
  local rc=0
  wait "$load_pid" || rc=$?
  forget_pid "$load_pid"
  cat "$out/$name.txt" >&2
  [ "$rc" = 0 ] || die "matchd-load failed in phase $name (exit $rc); see $out/$name.progress.log"
  if [ -f "$work/$name.perf.data" ]; then
    local pr=(perf report -i "$work/$name.perf.data" --stdio --no-children)
    # perf's "pid" key is per thread (tid:comm).
    { "${pr[@]}" --sort pid 2>/dev/null | grep -v '^#' | grep -v '^$' | head -n 25
      echo
      "${pr[@]}" --sort pid,sym 2>/dev/null | grep -v '^#' | grep -v '^$' | head -n 120
    } | cut -c1-200 >"$out/$name.perf-threads.txt" || true
    { "${pr[@]}" --sort comm,dso 2>/dev/null | grep -v '^#' | grep -v '^$' | head -n 25
      echo
      "${pr[@]}" --sort comm,dso,sym 2>/dev/null | grep -v '^#' | grep -v '^$' | head -n 80
    } | cut -c1-200 >"$out/$name.perf-symbols.txt" || true
    "${pr[@]}" --comms postgres --sort sym 2>/dev/null | grep -v '^#' | grep -v '^$' |
      head -n 40 | cut -c1-160 >"$out/$name.perf-postgres.txt" || true
  fi
}


# --- 1. build ------------------------------------------------------------------------------
if [ "$do_build" = 1 ]; then
  say "building (Release) in $build_dir"
  # MATCHD_WERROR=OFF: at -O3 g++ 12 raises false -Wrestrict warnings inside libstdc++'s
  # std::string in src/store (the project's default RelWithDebInfo build is clean).
  cmake -S "$repo" -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release -DMATCHD_WERROR=OFF \
    -DMATCHD_BUILD_BENCH=OFF >"$out/build.log" 2>&1 ||
    { tail -n 40 "$out/build.log" >&2; die "cmake configure failed"; }
  cmake --build "$build_dir" -j 2 --target matchd matchd-load noop-server >>"$out/build.log" 2>&1 ||
    { tail -n 40 "$out/build.log" >&2; die "build failed"; }
fi
for b in src/app/matchd load-test/matchd-load load-test/noop-server; do
  [ -x "$build_dir/$b" ] || die "$build_dir/$b is missing (build it, or drop --no-build)"
done

# Machine and conditions, recorded with the results.
python3 - "$out/machine.json" "$repo" "$build_dir/src/app/matchd" <<'EOF'
import hashlib, json, os, platform, subprocess, sys
def run(*cmd):
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=10).stdout.strip()
    except Exception:
        return ""
cpu = ""
with open("/proc/cpuinfo") as f:
    for line in f:
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip(); break
mem_kb = 0
with open("/proc/meminfo") as f:
    for line in f:
        if line.startswith("MemTotal"):
            mem_kb = int(line.split()[1])
repo = sys.argv[2]
info = {
    "cpus": os.cpu_count(), "cpu_model": cpu, "memory_gib": round(mem_kb / 2**20, 1),
    "kernel": platform.release(), "loadavg_at_start": os.getloadavg(),
    "git_commit": run("git", "-C", repo, "rev-parse", "--short", "HEAD"),
    "git_dirty": bool(run("git", "-C", repo, "status", "--porcelain", "--untracked-files=no")),
    "compiler": run("c++", "--version").splitlines()[0] if run("c++", "--version") else "",
    # The binary measured, which --build-dir may have taken from another commit.
    "matchd_binary": sys.argv[3],
    "matchd_sha256": hashlib.sha256(open(sys.argv[3], "rb").read()).hexdigest()[:12],
}
json.dump(info, open(sys.argv[1], "w"), indent=2)
EOF
# machine_busy_pct SECONDS: CPU busy (all but idle and iowait) over that many seconds, in %
# of the whole machine.
machine_busy_pct() {
  python3 - "$1" <<'EOF'
import sys, time
def sample():
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    return sum(v[:8]), v[3] + v[4]
t0, i0 = sample(); time.sleep(float(sys.argv[1])); t1, i1 = sample()
print(int(100 * (1 - (i1 - i0) / max(1, t1 - t0))))
EOF
}
if [ "$wait_idle" != 0 ]; then
  deadline=$(( $(date +%s) + wait_idle ))
  while :; do
    busy=$(machine_busy_pct 5)
    [ "$busy" -lt 25 ] && break
    if [ "$(date +%s)" -ge "$deadline" ]; then
      say "WARNING: the machine is still ${busy}% busy after ${wait_idle} s; measuring anyway"
      break
    fi
    say "machine ${busy}% busy with other work; waiting for it to calm down"
  done
fi
load1=$(cut -d' ' -f1 /proc/loadavg)
if python3 -c "import sys; sys.exit(0 if $load1 > 1.0 else 1)"; then
  say "WARNING: load average is $load1 before the run: other work shares the 2 cores, figures will be low"
fi

# --- the kernel's writeback (see --dirty-background-bytes) ------------------------------------
writeback="machine default ($(cat /proc/sys/vm/dirty_background_bytes 2>/dev/null || echo '?') bytes / $(cat /proc/sys/vm/dirty_background_ratio 2>/dev/null || echo '?')%)"
if [ "$dirty_background_bytes" != 0 ]; then
  if [ -w /proc/sys/vm/dirty_background_bytes ]; then
    writeback_saved="$(cat /proc/sys/vm/dirty_background_bytes) $(cat /proc/sys/vm/dirty_background_ratio)"
    echo "$dirty_background_bytes" >/proc/sys/vm/dirty_background_bytes
    writeback="vm.dirty_background_bytes=$dirty_background_bytes for the run"
  else
    say "WARNING: cannot set vm.dirty_background_bytes (not root): expect half-second stalls 30 s into each phase"
  fi
fi
echo "$writeback" >"$out/writeback.txt"

# --- 2. PostgreSQL ---------------------------------------------------------------------------
pg_port=$(free_port)
say "starting PostgreSQL on 127.0.0.1:$pg_port ($work/pg)"
pg_started=1
# A write-heavy tuning for this 24 GiB machine, not the packaged defaults (128 MB of shared
# buffers, a checkpoint every 1 GB of WAL): the tables outgrow 256 MB of buffers within the
# REST phase, and with max_wal_size=2GB a checkpoint started inside it, whose full-page
# writes cut the acknowledgement rate by a fifth for the rest of the phase. fsync and
# synchronous_commit stay on: acknowledgements are durable. MATCHD_PG_OPTIONS overrides it.
# min_wal_size=4GB keeps that much WAL as recycled segments after each checkpoint (see the
# WAL warm-up below).
pg_options=${MATCHD_PG_OPTIONS-"-c shared_buffers=2GB -c wal_buffers=64MB -c max_wal_size=16GB -c min_wal_size=4GB -c checkpoint_timeout=30min"}
# Checkpoints and autovacuum runs go to the server log (copied into the results), so stalls
# in a phase's progress can be matched with them.
pg_options="$pg_options -c log_checkpoints=on -c log_autovacuum_min_duration=0"
conninfo=$(MATCHD_PG_OPTIONS=$pg_options MATCHD_PG_PORT=$pg_port MATCHD_PG_DIR=$work/pg \
  "$repo/scripts/dev-postgres.sh" start)
pg_pid=$(head -n 1 "$work/pg/postmaster.pid")
pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
"$pg_bin/psql" -X -q -h 127.0.0.1 -p "$pg_port" -U postgres -d matchd -tA -F '=' -c \
  "SELECT name, setting FROM pg_settings WHERE name IN ('server_version','fsync','synchronous_commit','shared_buffers','wal_buffers','wal_level','max_wal_size','min_wal_size','checkpoint_timeout') ORDER BY name" \
  >"$out/postgres-settings.txt"

# WAL warm-up: a server that has run a while writes its WAL into segment files recycled by
# its checkpoints. A new cluster has none, and every 16 MB of WAL it creates one: 16 MB of
# zeros and an fsync, 30-48 ms during which the WAL write lock is held and no commit
# completes (seen with perf trace every 2-3 s of a phase once the recycled segments ran
# out). So the scenario creates them before measuring, by switching segments, and a
# checkpoint turns them into recycled ones (up to min_wal_size). No table data is written.
wal_warmup_segments=${MATCHD_WAL_WARMUP_SEGMENTS:-256}
if [ "$wal_warmup_segments" -gt 0 ]; then
  say "WAL warm-up: creating $wal_warmup_segments segments"
  warmup_started=$SECONDS
  "$pg_bin/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$pg_port" -U postgres -d matchd \
    -c "DO \$\$ BEGIN FOR i IN 1..$wal_warmup_segments LOOP PERFORM pg_logical_emit_message(false, 'matchd-wal-warmup', ''); PERFORM pg_switch_wal(); END LOOP; END \$\$" \
    -c "CHECKPOINT" >/dev/null
  echo "$wal_warmup_segments segments of 16 MB created and recycled before measuring ($((SECONDS - warmup_started)) s)" >"$out/wal-warmup.txt"
else
  echo "none (MATCHD_WAL_WARMUP_SEGMENTS=0)" >"$out/wal-warmup.txt"
fi

# The disk beside the load: a flush of 8 KiB every 20 ms on the filesystem that holds the
# WAL, timed, so a slow COMMIT in a phase can be told from a slow disk (load-test/disk_probe.py).
python3 "$repo/load-test/disk_probe.py" --dir "$work" --out "$out/disk-probe.log" &
disk_probe_pid=$!
pids+=("$disk_probe_pid")

# --- 3. fixtures -------------------------------------------------------------------------------
say "generating fixtures ($orders limit orders, $burst market orders, flow mix)"
python3 "$repo/fixtures/gen_orders.py" --count "$orders" --seed 42 --market-burst "$burst" \
  --out "$work/limits.ndjson" --market-out "$work/burst.ndjson"
python3 "$repo/fixtures/gen_orders.py" --count 200000 --seed 43 --market-ratio "$flow_market_ratio" \
  --out "$work/flow.ndjson"
cat >"$out/fixtures.txt" <<EOF
fixtures/gen_orders.py --count $orders --seed 42 --market-burst $burst --out limits.ndjson --market-out burst.ndjson
fixtures/gen_orders.py --count 200000 --seed 43 --market-ratio $flow_market_ratio --out flow.ndjson
EOF

# --- 4. matchd on a fresh database, preloaded, swept by the burst -----------------------------
# Every timed phase starts from this same book. The flow is 95% resting limit orders, so a
# book carried from phase to phase grew by some 40,000 orders a second and reached the
# engine's cap of 5,000,000 open orders per book (book_full, answered 503) inside the
# WebSocket phase. With --presize, preallocated for the largest phase (the REST ceiling
# guessed at 40,000/s); by default matchd's own sizing, grown as the orders come.
sizing_args=()
sizing_note="default sizing"
if [ "$presize" = 1 ]; then
  expected_orders=$(python3 -c "print(int($orders + $burst + max($rest_rate, $ws_rate, 40000) * ($warmup + $duration + 5)))")
  sizing_args=(--expected-orders "$expected_orders")
  sizing_note="--expected-orders $expected_orders"
fi
# Every connection of the generator comes from 127.0.0.1: lift the per-address limit, when
# the binary has one (an A/B may run an older build through --build-dir).
per_address_args=()
if "$build_dir/src/app/matchd" --help 2>&1 | grep -q -- '--max-connections-per-address'; then
  per_address_args=(--max-connections-per-address 10000)
fi
# --auth keys: matchd's bootstrap admin key, and the keys matchd-load sends.
auth_args=()
key_args=()
if [ "$auth" = keys ]; then
  MATCHD_ADMIN_KEY=$(python3 -c 'import secrets; print(secrets.token_hex(32))')
  export MATCHD_ADMIN_KEY
  auth_args=(--auth keys)
  key_args=(--keys "$work/keys.txt")
fi
# One trader key per generator thread, bound to every client_id of the fixtures, no rate
# limit; created after each start (a fresh database has none). Never printed.
create_load_keys() {
  python3 - "$matchd_port" "$threads" "$work/keys.txt" "$work/limits.ndjson" \
    "$work/burst.ndjson" "$work/flow.ndjson" <<'EOF' || die "cannot create the load's API keys"
import json, os, sys, urllib.request
port, count, out, fixtures = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4:]
clients = set()
for path in fixtures:
    with open(path) as f:
        for line in f:
            if line.strip():
                clients.add(json.loads(line)["client_id"])
secrets = []
for i in range(count):
    body = json.dumps({"role": "trader", "client_ids": sorted(clients),
                       "label": f"load group {i}", "rate_limit": 0}).encode()
    req = urllib.request.Request(f"http://127.0.0.1:{port}/admin/keys", data=body, method="POST",
                                 headers={"Content-Type": "application/json",
                                          "Authorization": "Bearer " + os.environ["MATCHD_ADMIN_KEY"]})
    with urllib.request.urlopen(req, timeout=30) as r:
        secrets.append(json.load(r)["secret"])
with open(out, "w") as f:
    f.write("\n".join(secrets) + "\n")
print(f"{count} trader keys for {len(clients)} client_ids", file=sys.stderr)
EOF
}
nats_pid=""
nats_args=()
fresh_nats() {  # a nats-server with JetStream and an empty store, for the next matchd
  [ "$nats" = 1 ] || return 0
  if [ -n "$nats_pid" ]; then
    stop_pid "$nats_pid"
    forget_pid "$nats_pid"
  fi
  rm -rf "$work/nats-store"
  local port
  port=$(free_port)
  nice -n "${NATS_NICE:-0}" nats-server --jetstream --store_dir "$work/nats-store" --addr 127.0.0.1 --port "$port" \
    >>"$work/nats.log" 2>&1 &
  nats_pid=$!
  pids+=("$nats_pid")
  local i
  for i in $(seq 1 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
    kill -0 "$nats_pid" 2>/dev/null || die "nats-server exited at start; see $work/nats.log"
    sleep 0.1
  done
  nats_args=(--nats-url "nats://127.0.0.1:$port")
  say "nats-server pid $nats_pid on 127.0.0.1:$port (JetStream)"
}
# export_figures PHASE: the export's delay over the phase's measured window, from the
# export_delay_seconds buckets of its two metric snapshots.
export_figures() {
  [ "$nats" = 1 ] || return 0
  python3 - "$out/$1.metrics0.txt" "$out/$1.metrics1.txt" "$out/$1.export.txt" <<'EOF'
import re, sys
def buckets(path):
    out = {}
    for line in open(path):
        m = re.match(r'export_delay_seconds_bucket\{le="([^"]+)"\} (\S+)', line)
        if m:
            out[float("inf") if m.group(1) == "+Inf" else float(m.group(1))] = float(m.group(2))
    return out
a, b = buckets(sys.argv[1]), buckets(sys.argv[2])
delta = sorted((le, b[le] - a.get(le, 0.0)) for le in b)
total = delta[-1][1] if delta else 0
def q(p):
    for le, c in delta:
        if total and c >= p * total:
            return le
    return float("nan")
text = (f"export delay over the window: rounds {int(total)}, p50 <= {q(0.5)} s, "
        f"p99 <= {q(0.99)} s, max <= {q(1.0)} s\n")
open(sys.argv[3], "w").write(text)
sys.stderr.write(text)
EOF
}
matchd_pid=""
fresh_matchd() {  # fresh_matchd SUFFIX: "" for the first start, "-<phase>" later
  local suffix=$1
  if [ -n "$matchd_pid" ]; then
    say "stopping matchd; a fresh database for the next phase"
    stop_pid "$matchd_pid"
    forget_pid "$matchd_pid"
    cat "$work/matchd.log" >>"$work/matchd-all.log"
    "$pg_bin/psql" -X -q -h 127.0.0.1 -p "$pg_port" -U postgres -d postgres \
      -c "DROP DATABASE matchd" -c "CREATE DATABASE matchd" >/dev/null
  fi
  fresh_nats
  say "starting matchd (durable, --auth $auth, --io-threads $io_threads, $sizing_note${MATCHD_EXTRA_ARGS:+, $MATCHD_EXTRA_ARGS}${nats_args[1]:+, --nats-url ${nats_args[1]}})"
  rm -f "$work/matchd.ready"
  "$build_dir/src/app/matchd" --db "$conninfo" --listen 127.0.0.1:0 --ready-file "$work/matchd.ready" \
    ${auth_args[@]+"${auth_args[@]}"} \
    --rate-limit 0 --io-threads "$io_threads" ${sizing_args[@]+"${sizing_args[@]}"} --log-level warn \
    ${per_address_args[@]+"${per_address_args[@]}"} ${nats_args[@]+"${nats_args[@]}"} \
    ${MATCHD_EXTRA_ARGS:-} >"$work/matchd.log" 2>&1 &
  matchd_pid=$!
  pids+=("$matchd_pid")
  matchd_port=$(wait_ready "$work/matchd.ready" "$matchd_pid" matchd)
  say "matchd pid $matchd_pid on 127.0.0.1:$matchd_port"
  if [ "$auth" = keys ]; then create_load_keys; fi
  watch_pids=("$matchd_pid" "$pg_pid")
  # The broker's CPU is the export's too: in the per-thread table with the processes under test.
  if [ -n "$nats_pid" ]; then watch_pids+=("$nats_pid"); fi
  metrics_port=$matchd_port
  phase_timed=0
  phase "preload$suffix" --target-port "$matchd_port" ${key_args[@]+"${key_args[@]}"} --fixture "$work/limits.ndjson" --closed-loop \
    --requests "$orders" --connections "$connections" --threads "$threads"
  phase "burst$suffix" --target-port "$matchd_port" ${key_args[@]+"${key_args[@]}"} --fixture "$work/burst.ndjson" --closed-loop \
    --requests "$burst" --connections "$connections" --threads "$threads"
  phase_timed=1
}

fresh_matchd ""
curl -s "http://127.0.0.1:$matchd_port/orderbook?instrument=BTC-USD&levels=5" >"$out/book-after-burst.json" || true

# --- 5. sustained REST, REST ceiling, sustained WebSocket ---------------------------------------
phase rest --target-port "$matchd_port" ${key_args[@]+"${key_args[@]}"} --fixture "$work/flow.ndjson" --id-tag rest \
  --rate "$rest_rate" --warmup "$warmup" --duration "$duration" \
  --connections "$connections" --threads "$threads" --tick-us "$rest_tick_us"
export_figures rest
if [ "$rest_max" = 1 ]; then
  fresh_matchd -rest-max
  phase rest-max --target-port "$matchd_port" ${key_args[@]+"${key_args[@]}"} --fixture "$work/flow.ndjson" --id-tag rmax \
    --closed-loop --warmup "$warmup" --duration "$duration" \
    --connections "$connections" --threads "$threads"
  export_figures rest-max
fi
fresh_matchd -ws
phase ws --target-port "$matchd_port" ${key_args[@]+"${key_args[@]}"} --fixture "$work/flow.ndjson" --id-tag ws --mode ws \
  --rate "$ws_rate" --warmup "$warmup" --duration "$duration" \
  --connections "$ws_connections" --max-inflight "$ws_inflight" --threads "$threads" \
  --tick-us "$ws_tick_us"
export_figures ws
curl -s "http://127.0.0.1:$matchd_port/metrics" >"$out/matchd-metrics.txt" || true

# --- 6. the no-op ceiling, on a machine without matchd and PostgreSQL ---------------------------
say "stopping matchd and PostgreSQL"
stop_pid "$matchd_pid"
forget_pid "$matchd_pid"
cat "$work/matchd.log" >>"$work/matchd-all.log"
cp "$work/matchd-all.log" "$out/matchd.log"
cp "$work/pg/postgres.log" "$out/postgres.log" 2>/dev/null || true
stop_postgres
if [ -n "$nats_pid" ]; then
  cp "$work/nats.log" "$out/nats.log" 2>/dev/null || true
  stop_pid "$nats_pid"
  forget_pid "$nats_pid"
fi
say "starting noop-server (--threads $io_threads)"
"$build_dir/load-test/noop-server" --listen 127.0.0.1:0 --threads "$io_threads" \
  --ready-file "$work/noop.ready" >"$work/noop.log" 2>&1 &
noop_pid=$!
pids+=("$noop_pid")
noop_port=$(wait_ready "$work/noop.ready" "$noop_pid" noop)
watch_pids=("$noop_pid")
metrics_port=""
# With --auth keys the generator sends the keys to the no-op server too: the baseline then
# carries the same request bytes, so the ratio counts only matchd's own cost of a key.
phase noop --target-port "$noop_port" ${key_args[@]+"${key_args[@]}"} --fixture "$work/flow.ndjson" --closed-loop \
  --warmup "$warmup" --duration "$duration" --connections "$connections" --threads "$threads"
phase noop-open --target-port "$noop_port" ${key_args[@]+"${key_args[@]}"} --fixture "$work/flow.ndjson" --rate "$rest_rate" \
  --warmup "$warmup" --duration "$duration" --connections "$connections" --threads "$threads" \
  --tick-us "$rest_tick_us"
stop_pid "$noop_pid"
forget_pid "$noop_pid"
stop_pid "$disk_probe_pid"
forget_pid "$disk_probe_pid"

# --- 7. report -------------------------------------------------------------------------------------
report "$out"
