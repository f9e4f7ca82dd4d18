#!/usr/bin/env bash
# Installs every build and test dependency of matchd from Debian 12's packages.
# Idempotent: apt-get skips what is already installed. Used by README, .ci/run and the Dockerfile.
set -euo pipefail

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
  clang-format                      # scripts/check-format.sh (Debian 12's is version 14)
  nginx prometheus docker-compose   # deployment checks: nginx e2e, promtool, compose config
)

if [ "${1:-}" = "--runtime-only" ]; then
  packages=(ca-certificates libboost-program-options1.81.0 libfmt9 libpq5 libpqxx-6.4
            libprometheus-cpp-core1.0 libspdlog1.10 libssl3)
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
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
