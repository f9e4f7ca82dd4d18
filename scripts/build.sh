#!/usr/bin/env bash
# Configures and builds matchd into build/ (RelWithDebInfo, warnings as errors).
# Extra arguments go to the CMake configure step, e.g. -DMATCHD_SANITIZE=ON.
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${MATCHD_BUILD_DIR:-build}
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMATCHD_WERROR=ON "$@"
cmake --build "$build_dir" -j "$(nproc)"
