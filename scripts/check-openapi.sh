#!/usr/bin/env bash
# Validates docs/openapi.yaml (or the file given) against the OpenAPI 3.1 schema with
# @seriousme/openapi-schema-validator, pinned in tools/openapi/package-lock.json and installed
# there by `npm ci`. Also fails on a $ref that does not resolve. Prints one line, PASS or
# FAIL, and exits non-zero on an invalid document.
#
#   scripts/check-openapi.sh [path/to/openapi.yaml]
#
# Needs node and npm (Debian 12: apt-get install -y nodejs npm).
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
file=${1:-$repo/docs/openapi.yaml}
file=$(realpath "$file")
tools=$repo/tools/openapi

for tool in node npm; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "FAIL $file: $tool not found (apt-get install -y nodejs npm)"
    exit 1
  fi
done

# npm ci installs exactly the lock file's tree; skip it when that lock is already installed.
stamp=$tools/node_modules/.installed-lock.json
if ! cmp -s "$tools/package-lock.json" "$stamp" 2>/dev/null; then
  if ! log=$(cd "$tools" && npm ci --no-audit --no-fund --loglevel=error 2>&1); then
    echo "FAIL $file: npm ci in tools/openapi failed: $(echo "$log" | tail -n 1)"
    exit 1
  fi
  cp "$tools/package-lock.json" "$stamp"
fi

exec node "$tools/check.mjs" "$file"
