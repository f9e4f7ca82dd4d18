#!/usr/bin/env bash
# Installs every build and test dependency of matchd from Debian 12's packages, and the
# browser tests' driver from npm (tools/browser, pinned by its lock file).
# Idempotent: apt-get skips what is already installed. Used by README, .ci/run and the Dockerfile.
#   MATCHD_SKIP_BROWSER=1   leaves out chromium and the driver (an image that only builds)
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)

packages=(
  build-essential cmake ninja-build pkg-config git ca-certificates curl python3
  libboost1.81-dev libboost-program-options1.81-dev
  libpqxx-dev libpq-dev
  nlohmann-json3-dev
  prometheus-cpp-dev
  libspdlog-dev libfmt-dev
  libssl-dev
  libgtest-dev libgmock-dev
  libbenchmark-dev
  postgresql postgresql-client
  libnats-dev nats-server           # the event export (cnats) and its tests' JetStream
  clang-format                      # scripts/check-format.sh (Debian 12's is version 14)
  nginx prometheus docker-compose   # deployment checks: nginx e2e, promtool, compose config
)
with_browser=
if [ "${1:-}" != "--runtime-only" ] && [ -z "${MATCHD_SKIP_BROWSER:-}" ]; then
  with_browser=1
  packages+=(chromium)               # the web client's tests (tests/web), headless
fi

if [ "${1:-}" = "--runtime-only" ]; then
  packages=(ca-certificates libboost-program-options1.81.0 libfmt9 libpq5 libpqxx-6.4
            libprometheus-cpp-core1.0 libspdlog1.10 libssl3 libnats3.4)
fi

sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then sudo_cmd=(sudo); fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

# scripts/check-openapi.sh runs a validator from npm. A Node.js that is already installed
# (Debian's or another vendor's package, which carries its own npm) is kept; Debian's
# nodejs and npm packages are added only where there is none, since they conflict with
# other vendors' nodejs.
if [ "${1:-}" != "--runtime-only" ] && ! { command -v node && command -v npm; } >/dev/null 2>&1; then
  missing+=(nodejs npm)
fi

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages already installed"
else
  echo "install-deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  "${sudo_cmd[@]}" apt-get update -qq
  "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# The browser driver: exactly the lock file's tree, skipped when that lock is installed.
if [ -n "$with_browser" ]; then
  tools=$repo/tools/browser
  stamp=$tools/node_modules/.installed-lock.json
  if ! cmp -s "$tools/package-lock.json" "$stamp" 2>/dev/null; then
    echo "install-deps: npm ci in tools/browser"
    (cd "$tools" && npm ci --no-audit --no-fund --loglevel=error)
    cp "$tools/package-lock.json" "$stamp"
  fi
fi
