#!/usr/bin/env bash
# Deployment checks for CI: the files under deploy/, docker-compose.yml and what they assume
# about a running matchd.
#
#   scripts/check-deploy.sh [path/to/matchd]    (default $MATCHD_BINARY, else build/src/app/matchd)
#
#  1. docker-compose.yml: `docker-compose config -q` (with the example .env), and every file it
#     bind-mounts from the repo exists.
#  2. Prometheus: `promtool check config deploy/prometheus/prometheus.yml` (and its rule files).
#  3. Grafana: every dashboard JSON parses; the provisioning YAML parses (if PyYAML is there).
#  4. nginx: `nginx -t` on deploy/nginx rendered for loopback (deploy/nginx/render-loopback.sh).
#  5. Metrics: matchd runs in memory and, against a throwaway PostgreSQL (scripts/dev-postgres.sh
#     on a free port, data in a temporary directory), in durable mode; a few orders go in, /metrics
#     is scraped. Every metric name used by the dashboards and the alert rules must be exported
#     (store_* by the durable run, which alone has them; everything else by the in-memory run),
#     and `promtool check metrics` must accept both scrapes.
#
# Needs curl, python3, PostgreSQL's server binaries, and the Debian packages
#   apt-get install -y --no-install-recommends docker-compose prometheus nginx
# (docker-compose only validates files here: no Docker engine is used). A missing tool fails
# its check with that command; only a tool apt cannot install here is skipped with a warning.
# Exits non-zero if any check failed. Starts nothing it does not stop (by pid).
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
matchd=${1:-${MATCHD_BINARY:-$repo/build/src/app/matchd}}
export PATH="$PATH:/usr/sbin:/sbin"

results=()
failed=0
pass() { results+=("PASS  $1"); echo "check-deploy: PASS $1"; }
fail() { results+=("FAIL  $1"); failed=1; echo "check-deploy: FAIL $1" >&2; }
skip() { results+=("SKIP  $1"); echo "check-deploy: WARNING: skipped $1" >&2; }

# have_tool CMD PACKAGE CHECK: 0 if CMD exists; otherwise fails CHECK with the apt command, or
# skips it with a warning when apt has no candidate for PACKAGE.
have_tool() {
  local cmd=$1 pkg=$2 what=$3
  if command -v "$cmd" >/dev/null 2>&1; then return 0; fi
  if apt-cache policy "$pkg" 2>/dev/null | grep -q 'Candidate: [^(]'; then
    fail "$what: $cmd not installed; install it with: apt-get install -y --no-install-recommends $pkg"
  else
    skip "$what: $cmd not installed and apt has no package $pkg here"
  fi
  return 1
}

work=$(mktemp -d /tmp/matchd-check-deploy.XXXXXX)
chmod 0755 "$work"  # the PostgreSQL cluster below belongs to user postgres when run as root
pids=()
pg_port=''
# shellcheck disable=SC2317  # called by the EXIT trap
cleanup() {
  local rc=$? pid _
  for pid in "${pids[@]}"; do
    kill -TERM "$pid" 2>/dev/null || continue
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  if [ -n "$pg_port" ]; then
    MATCHD_PG_PORT=$pg_port MATCHD_PG_DIR=$work/pg bash "$repo/scripts/dev-postgres.sh" stop \
      >/dev/null 2>&1 || true
  fi
  rm -rf "$work"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# --- 1. docker-compose.yml ---------------------------------------------------------------
compose=()
if command -v docker-compose >/dev/null 2>&1; then
  compose=(docker-compose)
elif docker compose version >/dev/null 2>&1; then
  compose=(docker compose)
fi
if [ ${#compose[@]} -gt 0 ] || have_tool docker-compose docker-compose "docker-compose config"; then
  if "${compose[@]}" -f docker-compose.yml config -q; then
    pass "docker-compose config ($("${compose[@]}" version --short 2>/dev/null || echo '?'))"
    missing_mounts=$("${compose[@]}" -f docker-compose.yml config |
      sed -n "s|^ *- \($repo/[^:]*\):.*|\1|p" | while read -r path; do
        [ -e "$path" ] || echo "$path"
      done)
    if [ -z "$missing_mounts" ]; then
      pass "docker-compose bind mounts exist"
    else
      fail "docker-compose bind-mounts missing files: $missing_mounts"
    fi
  else
    fail "docker-compose config"
  fi
fi

# --- 2. Prometheus -----------------------------------------------------------------------
if have_tool promtool prometheus "promtool check config"; then
  if promtool check config deploy/prometheus/prometheus.yml; then
    pass "promtool check config deploy/prometheus/prometheus.yml"
  else
    fail "promtool check config deploy/prometheus/prometheus.yml"
  fi
fi

# --- 3. Grafana --------------------------------------------------------------------------
dashboards=(deploy/grafana/dashboards/*.json)
json_ok=1
for d in "${dashboards[@]}"; do
  python3 -m json.tool "$d" >/dev/null || { fail "dashboard JSON parses: $d"; json_ok=0; }
done
[ "$json_ok" = 1 ] && pass "dashboard JSON parses (${dashboards[*]})"
if python3 -c 'import yaml' 2>/dev/null; then
  if python3 - deploy/grafana/provisioning/*/*.yml <<'EOF'; then
import sys, yaml
for path in sys.argv[1:]:
    doc = yaml.safe_load(open(path))
    assert isinstance(doc, dict) and doc.get("apiVersion") == 1, f"{path}: no apiVersion: 1"
EOF
    pass "Grafana provisioning YAML parses"
  else
    fail "Grafana provisioning YAML parses"
  fi
else
  skip "Grafana provisioning YAML (python3-yaml not installed)"
fi

# --- 4. nginx ----------------------------------------------------------------------------
if have_tool nginx nginx "nginx -t"; then
  if bash deploy/nginx/render-loopback.sh "$work/nginx" 127.0.0.1:18080 127.0.0.1:8080 \
       >/dev/null &&
     nginx -t -q -p "$work/nginx/" -c "$work/nginx/nginx.conf" -e "$work/nginx/error.log" \
       -g "daemon off; pid $work/nginx/nginx.pid;"; then
    pass "nginx -t on deploy/nginx (rendered for loopback)"
  else
    fail "nginx -t on deploy/nginx (rendered for loopback)"
  fi
fi

# --- 5. Metrics against a running matchd -------------------------------------------------
# start_matchd NAME [ARGS...]: runs matchd on a free loopback port; sets addr.
start_matchd() {
  local name=$1 _
  shift
  env -u MATCHD_DB -u MATCHD_LISTEN -u MATCHD_INSTRUMENTS "$matchd" --listen 127.0.0.1:0 \
    --ready-file "$work/$name.addr" --log-level warn "$@" >"$work/$name.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 150); do
    [ -s "$work/$name.addr" ] && break
    kill -0 "${pids[-1]}" 2>/dev/null || break
    sleep 0.1
  done
  if [ ! -s "$work/$name.addr" ]; then
    echo "--- $name matchd log:" >&2
    tail -n 20 "$work/$name.log" >&2
    return 1
  fi
  addr=$(cat "$work/$name.addr")
}
# traffic_and_scrape NAME: a resting order, a crossing one, a rejected one; then /metrics.
traffic_and_scrape() {
  local name=$1 body
  for body in \
    '{"client_id":"check-a","instrument":"BTC-USD","side":"buy","type":"limit","price":"100.00","quantity":"1"}' \
    '{"client_id":"check-b","instrument":"BTC-USD","side":"sell","type":"limit","price":"100.00","quantity":"0.25"}' \
    '{"client_id":"check-b","instrument":"BTC-USD","side":"sell","type":"limit","price":"100.001","quantity":"1"}'; do
    curl -sS -o /dev/null --max-time 10 -X POST -H 'Content-Type: application/json' \
      --data "$body" "http://$addr/orders"
  done
  curl -sS --fail --max-time 10 "http://$addr/metrics" >"$work/$name.prom"
}
free_port() { "$repo/scripts/free-port.sh"; }

metrics_ok=1
if [ ! -x "$matchd" ]; then
  fail "metrics: no matchd binary at $matchd (build it, or pass its path)"
  metrics_ok=0
elif start_matchd memory && traffic_and_scrape memory; then
  pass "in-memory matchd scraped ($(grep -vc '^#' "$work/memory.prom") samples)"
else
  fail "in-memory matchd: start, orders and scrape"
  metrics_ok=0
fi

durable_ok=0
if [ "$metrics_ok" = 1 ]; then
  pg_port=$(free_port)
  if db=$(MATCHD_PG_PORT=$pg_port MATCHD_PG_DIR=$work/pg bash scripts/dev-postgres.sh 2>"$work/pg.log"); then
    if start_matchd durable --db "$db" && traffic_and_scrape durable; then
      pass "durable matchd (temporary PostgreSQL on 127.0.0.1:$pg_port) scraped"
      durable_ok=1
    else
      fail "durable matchd: start, orders and scrape"
    fi
  else
    cat "$work/pg.log" >&2
    fail "temporary PostgreSQL for the durable run (scripts/dev-postgres.sh; PostgreSQL server packages: apt-get install -y postgresql)"
  fi
fi

if [ "$metrics_ok" = 1 ] && have_tool promtool prometheus "promtool check metrics"; then
  for name in memory durable; do
    [ -f "$work/$name.prom" ] || continue
    if out=$(promtool check metrics <"$work/$name.prom" 2>&1) && [ -z "$out" ]; then
      pass "promtool check metrics ($name run)"
    else
      fail "promtool check metrics ($name run): $out"
    fi
  done
fi

if [ "$metrics_ok" = 1 ]; then
  durable_file=$work/durable.prom
  [ "$durable_ok" = 1 ] || durable_file=''
  if python3 - "$work/memory.prom" "$durable_file" "${dashboards[@]}" deploy/prometheus/alerts.yml <<'EOF'; then
import json, re, sys

memory_file, durable_file, sources = sys.argv[1], sys.argv[2], sys.argv[3:]

def exported(path):
    names = set()
    for line in open(path):
        if line.strip() and not line.startswith("#"):
            names.add(re.match(r"[A-Za-z_:][A-Za-z0-9_:]*", line).group(0))
    return names

KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and", "or",
            "unless", "offset", "inf", "nan"}
SYNTHETIC = {"up", "scrape_duration_seconds", "scrape_samples_scraped"}  # made by Prometheus

def metric_names(expr):
    e = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)   # string literals
    e = re.sub(r"\{[^}]*\}", "", e)                # label matchers
    e = re.sub(r"\[[^\]]*\]", "", e)               # range and subquery selectors
    e = re.sub(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", e)
    names = set()
    for m in re.finditer(r"(?<![\w.$])[A-Za-z_:][A-Za-z0-9_:]*", e):
        rest = e[m.end():].lstrip()
        if m.group(0) in KEYWORDS or rest.startswith("("):
            continue  # a keyword or a function
        names.add(m.group(0))
    return names

def expressions(path):
    """(where, PromQL) pairs: dashboard targets and variable queries, or alert rule exprs."""
    if path.endswith(".json"):
        out = []
        def walk(node, where):
            if isinstance(node, dict):
                title = node.get("title", where)
                if isinstance(node.get("expr"), str):
                    out.append((f"panel '{title}'", node["expr"]))
                for key, value in node.items():
                    walk(value, title)
            elif isinstance(node, list):
                for item in node:
                    walk(item, where)
        dash = json.load(open(path))
        walk(dash.get("panels", []), "")
        for var in dash.get("templating", {}).get("list", []):
            q = var.get("query")
            q = q.get("query", "") if isinstance(q, dict) else (q or "")
            m = re.match(r"\s*label_values\(\s*([^,]+),", q)
            if m:
                out.append((f"variable '{var.get('name')}'", m.group(1)))
        return out
    out = []
    for number, line in enumerate(open(path), 1):
        m = re.match(r"\s*expr:\s*(.+?)\s*$", line)
        if m:
            out.append((f"line {number}", m.group(1).strip("'\"")))
    return out

memory = exported(memory_file)
durable = exported(durable_file) if durable_file else None
problems, used, durable_only = [], set(), set()
for path in sources:
    for where, expr in expressions(path):
        for name in sorted(metric_names(expr)):
            used.add(name)
            if name in SYNTHETIC:
                continue
            if name.startswith("store_"):
                durable_only.add(name)
                if durable is None:
                    problems.append(f"{path} {where}: {name} not checked (no durable run)")
                elif name not in durable:
                    problems.append(f"{path} {where}: {name} is not exported by matchd in durable mode")
            elif name not in memory:
                problems.append(f"{path} {where}: {name} is not exported by matchd")
base = lambda n: re.sub(r"_(bucket|sum|count)$", "", n)
unused = sorted({base(n) for n in (memory | (durable or set()))} - {base(n) for n in used})
print(f"check-deploy: {len(used)} metric names referenced ({len(durable_only)} durable-only store_*)")
if unused:
    print("check-deploy: note: exported but on no dashboard or alert: " + ", ".join(unused))
for p in problems:
    print("check-deploy: " + p, file=sys.stderr)
sys.exit(1 if problems else 0)
EOF
    pass "every metric in the dashboards and alert rules is exported by matchd"
  else
    fail "metric names in the dashboards and alert rules (see above)"
  fi
fi

echo
echo "check-deploy summary:"
printf '  %s\n' "${results[@]}"
exit "$failed"
