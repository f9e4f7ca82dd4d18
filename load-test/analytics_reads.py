#!/usr/bin/env python3
"""Open-loop reads of matchd's analytics routes, for load-test/analytics-bench.sh.

    load-test/analytics_reads.py --port 8080 --rate 200 --duration 30 \
        --first-ms 1790000000000 --last-ms 1793456000000 --json out.json

Sends --rate requests a second for --duration seconds, alternating two reads:
  - GET /candles?interval=1m over one whole UTC day (1,440 candles) picked at random;
  - GET /analytics/stats over a random 30-day range with millisecond edges (so every level
    of the range's cover is read: days, hours, minutes, seconds and edge trades).
With --reads positions, GET /positions of a random client-NNNN of fixtures/gen_orders.py's
flow (--clients of them) instead. With --reads pnl, GET /positions/client-N/pnl of a random
client-0 to client-999 of analytics-bench.sh's seeded history, alternating the last 60
minutes (interval=1m&limit=60) and the last 48 hours (interval=1h&limit=48). With --reads
floor, GET /healthz: answered by the I/O thread alone, it is the floor under any read's
latency on the machine at that moment.
Each request is due at t0 + i / rate (open loop): its latency runs from that instant to the
last byte of its answer, so a request that waits for a free connection counts the wait
(no coordinated omission). --connections keep-alive HTTP/1.1 connections to 127.0.0.1 carry
them, one request at a time each. Prints p50/p90/p99/max per route and the status counts,
and writes them as JSON with --json.
"""
import argparse
import asyncio
import json
import random
import time

DAY_MS = 86_400_000


class Connection:
    def __init__(self, port):
        self.port = port
        self.reader = None
        self.writer = None

    async def get(self, path):
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        self.writer.write(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
        await self.writer.drain()
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ")[1])
        length = 0
        close = False
        for line in lines[1:]:
            name, _, value = line.partition(":")
            if name.lower() == "content-length":
                length = int(value.strip())
            elif name.lower() == "connection" and value.strip().lower() == "close":
                close = True
        body = await self.reader.readexactly(length)
        if close:
            self.writer.close()
            self.writer = None
        return status, body


def percentile(sorted_values, p):
    if not sorted_values:
        return float("nan")
    k = min(len(sorted_values) - 1, max(0, int(round(p / 100 * len(sorted_values) + 0.5)) - 1))
    return sorted_values[k]


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--rate", type=float, default=200)
    ap.add_argument("--duration", type=float, default=30)
    ap.add_argument("--connections", type=int, default=16)
    ap.add_argument("--first-ms", type=int, required=True, help="first trade's time")
    ap.add_argument("--last-ms", type=int, required=True, help="last trade's time")
    ap.add_argument("--instrument", default="BTC-USD")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--json")
    ap.add_argument("--reads", choices=["history", "positions", "pnl", "floor"], default="history")
    ap.add_argument("--clients", type=int, default=2000)
    args = ap.parse_args()

    rng = random.Random(args.seed)
    first_day = args.first_ms // DAY_MS * DAY_MS
    days = max(1, (args.last_ms - first_day) // DAY_MS)
    span_30d = 30 * DAY_MS

    def request(i):
        if args.reads == "positions":
            return "positions", f"/positions?client_id=client-{rng.randrange(1, args.clients + 1):04d}"
        if args.reads == "floor":
            return "floor", "/healthz"
        if args.reads == "pnl":
            window = "interval=1m&limit=60" if i % 2 == 0 else "interval=1h&limit=48"
            return "pnl", f"/positions/client-{rng.randrange(1000)}/pnl?{window}"
        if i % 2 == 0:
            day = first_day + rng.randrange(days) * DAY_MS
            return "candles", (f"/candles?instrument={args.instrument}&interval=1m"
                               f"&start_time={day}&end_time={day + DAY_MS}&limit=1500")
        latest = max(args.first_ms, args.last_ms - span_30d)
        start = rng.randrange(args.first_ms, latest + 1)
        return "stats", (f"/analytics/stats?instrument={args.instrument}"
                         f"&start_time={start}&end_time={start + span_30d}")

    free = asyncio.Queue()
    for _ in range(args.connections):
        free.put_nowait(Connection(args.port))
    latencies = ({"candles": [], "stats": []} if args.reads == "history"
                 else {args.reads: []})
    statuses = {}
    total = int(args.rate * args.duration)
    t0 = time.monotonic() + 0.2

    async def one(i):
        route, path = request(i)
        due = t0 + i / args.rate
        await asyncio.sleep(max(0.0, due - time.monotonic()))
        conn = await free.get()
        try:
            status, _ = await conn.get(path)
        except (OSError, asyncio.IncompleteReadError) as e:
            status = f"error {type(e).__name__}"
            conn = Connection(args.port)
        finally:
            free.put_nowait(conn)
        statuses[str(status)] = statuses.get(str(status), 0) + 1
        if status == 200:
            latencies[route].append((time.monotonic() - due) * 1000)

    await asyncio.gather(*(one(i) for i in range(total)))
    result = {"rate": args.rate, "duration_s": args.duration, "statuses": statuses, "routes": {}}
    for route, values in latencies.items():
        values.sort()
        result["routes"][route] = {
            "n": len(values),
            "p50_ms": percentile(values, 50),
            "p90_ms": percentile(values, 90),
            "p99_ms": percentile(values, 99),
            "max_ms": values[-1] if values else float("nan"),
        }
        r = result["routes"][route]
        print(f"{route:8s} n={r['n']:6d}  p50 {r['p50_ms']:7.2f} ms  p90 {r['p90_ms']:7.2f} ms  "
              f"p99 {r['p99_ms']:7.2f} ms  max {r['max_ms']:7.2f} ms")
    print("statuses", statuses)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=1)


if __name__ == "__main__":
    asyncio.run(main())
