#!/usr/bin/env bash
# Quick start: installs dependencies, builds matchd (no tests, no benchmarks) into its own
# directory build-run/, starts a project-local PostgreSQL (./var/pg, loopback only; created
# on first run) and runs matchd against it in the foreground.
# Extra arguments go to matchd, e.g. scripts/run.sh --listen 127.0.0.1:9090
#
#   MATCHD_RUN_BUILD_DIR  build directory (default build-run). scripts/test.sh builds into
#                         build/ with the tests on: the two never share a CMake cache, so
#                         they work in either order, any number of times.
#   MATCHD_CMAKE_ARGS     extra CMake configure arguments, split on spaces,
#                         e.g. -DCMAKE_CXX_COMPILER_LAUNCHER=ccache
set -euo pipefail
cd "$(dirname "$0")/.."

build_dir=${MATCHD_RUN_BUILD_DIR:-build-run}
read -r -a cmake_args <<<"${MATCHD_CMAKE_ARGS:-}"

bash scripts/install-deps.sh
MATCHD_BUILD_DIR=$build_dir bash scripts/build.sh \
  -DMATCHD_BUILD_TESTS=OFF -DMATCHD_BUILD_BENCH=OFF "${cmake_args[@]}"
db=$(bash scripts/dev-postgres.sh)
echo "run: PostgreSQL at: $db (stop it with scripts/dev-postgres.sh stop)"
exec "$build_dir/src/app/matchd" --db "$db" "$@"
