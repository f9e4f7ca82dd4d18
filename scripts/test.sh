#!/usr/bin/env bash
# The test command: installs dependencies, builds, runs every CTest test (unit, PostgreSQL
# and end-to-end), then a short smoke run of the engine benchmark (no thresholds).
# Exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh
bash scripts/build.sh
build_dir=${MATCHD_BUILD_DIR:-build}

ctest --test-dir "$build_dir" --output-on-failure --timeout 600 -j "$(nproc)"

echo "== deployment checks (compose, promtool, dashboard metrics) =="
bash scripts/check-deploy.sh "$build_dir/src/app/matchd"

echo "== engine benchmark smoke run =="
"$build_dir/bench/engine_benchmark" --benchmark_filter='^engine_mix/'
