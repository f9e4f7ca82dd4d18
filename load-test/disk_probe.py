#!/usr/bin/env python3
"""Times the disk the way a commit uses it, beside the load.

Every --period-ms it writes 8 KiB into a preallocated file in --dir and fdatasyncs it, as
PostgreSQL flushes its WAL at a COMMIT, and appends "<boot time s> <latency ms>" to --out
(the boot-time clock is /proc/uptime's, the one run-scenario.sh's CPU snapshots carry, so
the report can cut the log at each phase's measured window). Stops on SIGTERM or after
--duration seconds and removes its file.

A commit that took 200 ms while this probe's own flush also took 200 ms was held up by
the disk (or the host beneath it), not by matchd or PostgreSQL's CPU.
"""

import argparse
import os
import signal
import time

BLOCK = 8192
FILE_BYTES = 4 << 20


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dir", required=True, help="a directory on the disk to time")
    ap.add_argument("--out", required=True, help="where to append one line per flush")
    ap.add_argument("--period-ms", type=float, default=20.0)
    ap.add_argument("--duration", type=float, default=0.0, help="seconds; 0 = until SIGTERM")
    args = ap.parse_args()

    stopping = False

    def stop(*_):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)

    path = os.path.join(args.dir, f".disk-probe-{os.getpid()}")
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        # Allocated and flushed up front, like a recycled WAL segment: the timed flushes
        # then carry data only, no file-size or block-allocation metadata.
        os.posix_fallocate(fd, 0, FILE_BYTES)
        os.fsync(fd)
        block = b"\xa5" * BLOCK
        period = args.period_ms / 1000.0
        started = time.monotonic()
        offset = 0
        with open(args.out, "a", buffering=1) as out:
            while not stopping and (args.duration <= 0 or time.monotonic() - started < args.duration):
                begun = time.monotonic()
                os.pwrite(fd, block, offset)
                os.fdatasync(fd)
                took = time.monotonic() - begun
                out.write(f"{time.clock_gettime(time.CLOCK_BOOTTIME):.3f} {1000 * took:.3f}\n")
                offset = (offset + BLOCK) % FILE_BYTES
                time.sleep(max(0.0, period - (time.monotonic() - begun)))
    finally:
        os.close(fd)
        os.unlink(path)


if __name__ == "__main__":
    main()
