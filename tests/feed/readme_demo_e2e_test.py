#!/usr/bin/env python3
"""Runs the README's feed demo as written (the commands between the feed-demo markers),
with the build directory and the two ports substituted, and checks that the looping replay
keeps feeding orders the daemon accepts: after more than two passes over the recording the
orders keep coming, none is refused as a duplicate id, an order with a trade id of the
third pass exists, and feed_lag_seconds is small (trades are re-timed to now).

  readme_demo_e2e_test.py --readme README.md --source-dir . --build-dir build
Both processes are stopped by pid (SIGTERM, then SIGKILL), whatever happens."""

import argparse
import json
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

BEGIN = "<!-- feed-demo:begin -->"
END = "<!-- feed-demo:end -->"
README_BUILD_DIR = "build-run/"


def demo_commands(readme_text):
    """The shell commands of the demo block: (argv, in_background) in order."""
    start = readme_text.index(BEGIN) + len(BEGIN)
    block = readme_text[start:readme_text.index(END, start)]
    lines = [l for l in block.strip().splitlines() if not l.startswith("```")]
    text = "\n".join(lines).replace("\\\n", " ")
    commands = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        background = line.endswith("&")
        commands.append((shlex.split(line.rstrip("&")), background))
    return commands


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def substituted(argv, build_dir, ports):
    """The README's build-run/ prefix becomes build_dir; every port the commands name
    (--port N, HOST:N) becomes its own free port, the same one wherever it appears."""
    out = []
    for i, arg in enumerate(argv):
        if arg.startswith(README_BUILD_DIR):
            arg = os.path.join(build_dir, arg[len(README_BUILD_DIR):])
        if i > 0 and argv[i - 1] == "--port" and arg.isdigit():
            arg = str(ports.setdefault(arg, free_port()))
        arg = re.sub(r"(127\.0\.0\.1|localhost|\]):(\d+)",
                     lambda m: m.group(1) + ":" + str(ports.setdefault(m.group(2), free_port())),
                     arg)
        out.append(arg)
    return out


def metrics(port):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
        text = r.read().decode()
    values = {}
    for line in text.splitlines():
        if line.startswith("#") or not line.strip():
            continue
        name, _, value = line.rpartition(" ")
        values[name] = float(value)
    return values


def order_status(port, order_id):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/orders/{order_id}", timeout=5) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


def fixture_trade_ids(path):
    ids = []
    with open(path) as f:
        for line in f:
            if line.strip():
                ids.append(json.loads(line)["t"])
    return ids


def wait_for(what, predicate, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if predicate():
                return
        except (OSError, urllib.error.URLError):
            pass  # not listening yet
        time.sleep(0.2)  # polling a process we only see over HTTP
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--readme", required=True)
    parser.add_argument("--source-dir", required=True)
    parser.add_argument("--build-dir", required=True)
    args = parser.parse_args()

    with open(args.readme) as f:
        commands = demo_commands(f.read())
    assert len(commands) == 2, f"expected the replay and the daemon, got {commands}"
    ports = {}
    runs = [(substituted(argv, os.path.abspath(args.build_dir), ports), bg) for argv, bg in commands]
    replay_argv, daemon_argv = runs[0][0], runs[1][0]
    assert runs[0][1] and not runs[1][1], "the replay runs in the background, the daemon not"
    daemon_port = int(re.search(r":(\d+)$", daemon_argv[daemon_argv.index("--listen") + 1]).group(1))
    fixture = os.path.join(args.source_dir, replay_argv[replay_argv.index("--file") + 1])
    ids = fixture_trade_ids(fixture)
    span = max(ids) - min(ids) + 1

    logs = tempfile.mkdtemp(prefix="matchd-readme-demo-")
    procs = []
    try:
        for argv, name in ((replay_argv, "replay"), (daemon_argv, "matchd")):
            print("running:", shlex.join(argv), flush=True)
            log = open(os.path.join(logs, name + ".log"), "w")
            procs.append((name, subprocess.Popen(argv, cwd=args.source_dir, stdout=log,
                                                 stderr=subprocess.STDOUT,
                                                 stdin=subprocess.DEVNULL)))

        # More than two passes over the recording (each ~len(ids) feed orders).
        wait_for("2.5 passes of feed orders",
                 lambda: metrics(daemon_port).get("feed_orders_submitted_total", 0) > 2.5 * len(ids),
                 60)
        third_pass_id = f"feed-BTCUSDT-{ids[0] + 2 * span}"
        wait_for(f"order {third_pass_id} (a trade id of the third pass)",
                 lambda: order_status(daemon_port, third_pass_id) == 200, 10)
        before = metrics(daemon_port)
        time.sleep(2)  # a window to see the orders keep coming
        after = metrics(daemon_port)

        failures = []
        if after["feed_orders_submitted_total"] <= before["feed_orders_submitted_total"]:
            failures.append("feed_orders_submitted_total stopped rising")
        duplicates = after.get('orders_rejected_total{reason="duplicate_order_id"}', 0)
        if duplicates != 0:
            failures.append(f"{duplicates:.0f} feed orders refused as duplicate_order_id")
        lag = after.get("feed_lag_seconds")
        if lag is None or not -1 <= lag < 5:
            failures.append(f"feed_lag_seconds is {lag}, expected under 5 s")
        for name, p in procs:
            if p.poll() is not None:
                failures.append(f"{name} exited early with {p.returncode}")
        print(f"feed_orders_submitted_total={after['feed_orders_submitted_total']:.0f} "
              f"duplicates={duplicates:.0f} feed_lag_seconds={lag}", flush=True)
        if failures:
            raise AssertionError("; ".join(failures))
    except BaseException:
        for name in ("replay", "matchd"):
            path = os.path.join(logs, name + ".log")
            if os.path.exists(path):
                print(f"--- {name} output", file=sys.stderr)
                with open(path) as f:
                    sys.stderr.write(f.read()[-4000:])
        raise
    finally:
        for _, p in reversed(procs):
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for _, p in reversed(procs):
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        subprocess.run(["rm", "-rf", logs], check=False)
    print("README feed demo: OK")


if __name__ == "__main__":
    main()
