#!/usr/bin/env bash
# End-to-end: matchd behind Debian's nginx on loopback, with the compose nginx config
# (deploy/nginx/matchd.conf and its location blocks deploy/nginx/matchd-locations.conf,
# rendered for loopback by deploy/nginx/render-loopback.sh). REST, WebSocket and SSE go
# through nginx (nginx_e2e_client.py). matchd runs in memory on a free port.
#
#   tests/deploy/nginx_e2e_test.sh [path/to/matchd]   (default $MATCHD_BINARY, build/src/app/matchd)
#   ctest --test-dir build -R nginx_e2e_test --output-on-failure
#
# Exit 77 (CTest: skipped) when nginx or python3 is not installed: apt-get install -y nginx.
# Everything it starts it stops by pid; MATCHD_E2E_KEEP=1 keeps the scratch directory.
set -euo pipefail

repo=$(cd "$(dirname "$0")/../.." && pwd)
matchd=${1:-${MATCHD_BINARY:-$repo/build/src/app/matchd}}

nginx_bin=$(PATH=$PATH:/usr/sbin:/sbin command -v nginx || true)
if [ -z "$nginx_bin" ]; then
  echo "SKIP: nginx is not installed (apt-get install -y nginx)"
  exit 77
fi
if ! command -v python3 >/dev/null 2>&1; then
  echo "SKIP: python3 is not installed"
  exit 77
fi
if [ ! -x "$matchd" ]; then
  echo "FAIL: no matchd binary at $matchd" >&2
  exit 1
fi

work=$(mktemp -d /tmp/matchd-nginx-e2e.XXXXXX)
matchd_pid=''
nginx_pid=''
client_pid=''
watchdog_pid=''

stop_pid() {  # stop_pid PID: SIGTERM, up to 3 s, then SIGKILL
  local pid=$1 _
  [ -n "$pid" ] || return 0
  kill -TERM "$pid" 2>/dev/null || return 0
  for _ in $(seq 30); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}
cleanup() {
  local rc=$?
  if [ -n "$watchdog_pid" ]; then kill "$watchdog_pid" 2>/dev/null || true; fi
  stop_pid "$client_pid"
  stop_pid "$nginx_pid"
  stop_pid "$matchd_pid"
  if [ "$rc" -ne 0 ]; then
    echo "--- nginx error.log (tail)"; tail -n 30 "$work/error.log" 2>/dev/null || true
    echo "--- nginx access.log (tail)"; tail -n 30 "$work/access.log" 2>/dev/null || true
    echo "--- matchd log (tail)"; tail -n 30 "$work/matchd.log" 2>/dev/null || true
  fi
  if [ "${MATCHD_E2E_KEEP:-0}" = 1 ]; then echo "kept $work"; else rm -rf "$work"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
# The whole test stays under 20 s: past 18 s the watchdog ends it (and cleanup runs).
trap 'echo "FAIL: nginx_e2e_test took longer than 18 s" >&2; exit 1' USR1
(
  exec >/dev/null 2>&1
  sleep 18 &
  sleep_pid=$!
  trap 'kill "$sleep_pid"; exit 0' TERM
  wait "$sleep_pid" && kill -USR1 $$
) &
watchdog_pid=$!

# wait_for TENTHS CMD...: retries CMD every 0.1 s.
wait_for() {
  local n=$1 _
  shift
  for _ in $(seq "$n"); do
    if "$@"; then return 0; fi
    sleep 0.1
  done
  return 1
}
free_port() { "$repo/scripts/free-port.sh"; }
port_open() {
  python3 -c 'import socket, sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 0.5).close()' "$1" \
    2>/dev/null
}
alive() { kill -0 "$1" 2>/dev/null; }

# matchd in memory, whatever the caller's environment says.
env -u MATCHD_DB -u MATCHD_LISTEN -u MATCHD_INSTRUMENTS \
  "$matchd" --listen 127.0.0.1:0 --ready-file "$work/matchd.addr" --log-level warn \
  >"$work/matchd.log" 2>&1 &
matchd_pid=$!
if ! wait_for 50 test -s "$work/matchd.addr"; then
  echo "FAIL: matchd did not start within 5 s" >&2
  exit 1
fi
matchd_addr=$(cat "$work/matchd.addr")

# nginx on a free loopback port; Grafana's upstream is a free port the client serves a stand-in
# on later. A port taken between the probe and nginx's bind is retried.
started=0
for _ in 1 2 3; do
  nginx_port=$(free_port)
  dead_port=$(free_port)
  run_cmd=$(bash "$repo/deploy/nginx/render-loopback.sh" "$work" "127.0.0.1:$nginx_port" \
    "$matchd_addr" "127.0.0.1:$dead_port")
  nginx_args=(-p "$work/" -c "$work/nginx.conf" -e "$work/error.log"
              -g "daemon off; pid $work/nginx.pid;")
  "$nginx_bin" -t -q "${nginx_args[@]}"
  "$nginx_bin" "${nginx_args[@]}" &
  nginx_pid=$!
  if wait_for 20 port_open "$nginx_port" && alive "$nginx_pid"; then
    started=1
    break
  fi
  stop_pid "$nginx_pid"
  nginx_pid=''
done
if [ "$started" != 1 ]; then
  echo "FAIL: nginx did not start ($run_cmd)" >&2
  exit 1
fi
echo "matchd on $matchd_addr, nginx on 127.0.0.1:$nginx_port"

# In the background so that the watchdog's signal is handled at once.
timeout 10 python3 "$repo/tests/deploy/nginx_e2e_client.py" "127.0.0.1:$nginx_port" "$dead_port" &
client_pid=$!
wait "$client_pid"
client_pid=''
alive "$matchd_pid" || { echo "FAIL: matchd exited during the test" >&2; exit 1; }

# What `docker stop` does: SIGTERM, and matchd must exit 0 on its own.
stop_pid "$nginx_pid"
nginx_pid=''
kill -TERM "$matchd_pid"
matchd_gone() { ! alive "$matchd_pid"; }
if ! wait_for 30 matchd_gone; then
  echo "FAIL: matchd did not exit within 3 s of SIGTERM" >&2
  exit 1
fi
matchd_rc=0
wait "$matchd_pid" || matchd_rc=$?
matchd_pid=''
if [ "$matchd_rc" -ne 0 ]; then
  echo "FAIL: matchd exited with status $matchd_rc after SIGTERM" >&2
  exit 1
fi
echo "ok: matchd exits 0 on SIGTERM"
echo "PASS: nginx_e2e_test"
