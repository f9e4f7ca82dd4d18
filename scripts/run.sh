#!/usr/bin/env bash
# Quick start: installs dependencies, builds, starts a project-local PostgreSQL (./var/pg,
# loopback only; created on first run) and runs matchd against it in the foreground.
# Extra arguments go to matchd, e.g. scripts/run.sh --listen 127.0.0.1:9090
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh
bash scripts/build.sh -DMATCHD_BUILD_TESTS=OFF -DMATCHD_BUILD_BENCH=OFF
db=$(bash scripts/dev-postgres.sh)
echo "run: PostgreSQL at: $db (stop it with scripts/dev-postgres.sh stop)"
exec "${MATCHD_BUILD_DIR:-build}/src/app/matchd" --db "$db" "$@"
