#!/usr/bin/env bash
# The test command: installs dependencies, builds everything (tests and benchmarks) into
# build/, then runs each step below: every CTest test (unit, PostgreSQL, end-to-end), the
# deployment checks, a short smoke run of the engine benchmark (no thresholds), the
# formatting check and the OpenAPI document's validation. A failing step does not stop the
# next one. Ends with one line, `N passed, M failed`, counting each CTest test and each other
# step (a CTest test that did not run, e.g. because its fixture failed, counts as failed),
# and exits non-zero if anything failed.
#
#   MATCHD_BUILD_DIR   build directory (default build; scripts/run.sh uses build-run)
#   MATCHD_CMAKE_ARGS  extra CMake configure arguments, split on spaces,
#                      e.g. -DCMAKE_CXX_COMPILER_LAUNCHER=ccache
#   MATCHD_CTEST_ARGS  extra ctest arguments, split on spaces, e.g. "-R feed -L unit"
set -uo pipefail
cd "$(dirname "$0")/.."

build_dir=${MATCHD_BUILD_DIR:-build}
read -r -a cmake_args <<<"${MATCHD_CMAKE_ARGS:-}"
read -r -a ctest_args <<<"${MATCHD_CTEST_ARGS:-}"
passed=0
failed=0
failed_names=()

summary() {
  if [ "${#failed_names[@]}" -gt 0 ]; then
    printf '== failed: %s\n' "${failed_names[@]}"
  fi
  echo "$passed passed, $failed failed"
  [ "$failed" -eq 0 ]
  exit
}

# step NAME COMMAND...: runs one check, counts it as one passed or failed.
step() {
  local name=$1
  shift
  echo "== $name =="
  if "$@"; then
    passed=$((passed + 1))
  else
    echo "== $name: FAILED (exit $?)"
    failed=$((failed + 1))
    failed_names+=("$name")
  fi
}

# Every CTest test counts on its own, read from ctest's JUnit report.
run_ctest() {
  local report=$build_dir/ctest-junit.xml
  rm -f "$report"
  echo "== ctest =="
  ctest --test-dir "$build_dir" --no-tests=error --output-on-failure --timeout 600 \
    -j "$(nproc)" --output-junit "$PWD/$report" "${ctest_args[@]}"
  local status=$?
  local counts
  counts=$(python3 - "$report" <<'PY' 2>/dev/null
import sys, xml.etree.ElementTree as ET
ok = bad = 0
for case in ET.parse(sys.argv[1]).getroot().iter("testcase"):
    status = case.get("status", "")
    if status == "disabled":
        continue
    if status == "run" and case.find("failure") is None and case.find("skipped") is None:
        ok += 1
    else:
        bad += 1
print(ok, bad)
PY
  ) || counts=""
  local ok=0 bad=0
  if [ -n "$counts" ]; then read -r ok bad <<<"$counts"; fi
  # ctest failed without a failing test to show for it (no tests, a report it could not
  # write, a crash): that is one failure of its own.
  if [ "$status" -ne 0 ] && [ "$bad" -eq 0 ]; then
    bad=1
    failed_names+=("ctest (exit $status)")
  elif [ "$bad" -gt 0 ]; then
    failed_names+=("$bad CTest tests")
  fi
  passed=$((passed + ok))
  failed=$((failed + bad))
}

step "install dependencies" bash scripts/install-deps.sh
# Tests and benchmarks explicitly on: a cache configured without them can never drop them.
step "build" env MATCHD_BUILD_DIR="$build_dir" bash scripts/build.sh \
  -DMATCHD_BUILD_TESTS=ON -DMATCHD_BUILD_BENCH=ON "${cmake_args[@]}"
if [ "$failed" -gt 0 ]; then summary; fi

# The checks, in order; add one with one line.
run_ctest
step "deployment checks (compose, promtool, dashboard metrics)" \
  bash scripts/check-deploy.sh "$build_dir/src/app/matchd"
step "engine benchmark smoke run" \
  "$build_dir/bench/engine_benchmark" --benchmark_filter='^engine_mix/'
step "formatting (clang-format)" bash scripts/check-format.sh
step "OpenAPI document" bash scripts/check-openapi.sh

summary
