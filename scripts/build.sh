#!/usr/bin/env bash
# Configures and builds matchd into build/ (RelWithDebInfo, warnings as errors).
# Extra arguments go to the CMake configure step, e.g. -DMATCHD_SANITIZE=ON.
# MATCHD_BUILD_DIR names another build directory; CXX chooses the C++ compiler (the project
# has no C code, CC is not used). A directory is tied to its compiler: switching CXX on it
# makes CMake start it afresh, so give each compiler its own:
#   CC=clang-16 CXX=clang++-16 MATCHD_BUILD_DIR=build-clang scripts/build.sh
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${MATCHD_BUILD_DIR:-build}
compiler_args=()
if [ -n "${CXX:-}" ]; then compiler_args+=("-DCMAKE_CXX_COMPILER=$CXX"); fi
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMATCHD_WERROR=ON \
  "${compiler_args[@]}" "$@"
cmake --build "$build_dir" -j "$(nproc)"
