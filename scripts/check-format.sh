#!/usr/bin/env bash
# Checks that every tracked C++ source and header is formatted as the repository's
# .clang-format says, with Debian 12's clang-format (version 14; another version formats
# differently, so it is refused). Changes nothing.
#
#   scripts/check-format.sh           one line: PASS, or FAIL with the files to reformat
#   CLANG_FORMAT=/path/to/clang-format scripts/check-format.sh
#
# To fix what it reports: clang-format -i <the files it names>.
# Exit status: 0 when every file is formatted, 1 when some are not, 2 when it cannot check.
set -euo pipefail
cd "$(dirname "$0")/.."

clang_format=${CLANG_FORMAT:-clang-format}
required_major=14

if ! command -v "$clang_format" >/dev/null 2>&1; then
  echo "check-format: FAIL: $clang_format not found (scripts/install-deps.sh installs it)"
  exit 2
fi
version=$("$clang_format" --version)
major=$(sed -n 's/.*clang-format version \([0-9]*\)\..*/\1/p' <<<"$version")
if [ "$major" != "$required_major" ]; then
  echo "check-format: FAIL: need clang-format $required_major (Debian 12's), found: $version"
  exit 2
fi

mapfile -d '' files < <(git ls-files -z -- '*.cpp' '*.h' '*.hpp' '*.cc')
if [ ${#files[@]} -eq 0 ]; then
  echo "check-format: FAIL: no C++ files found (not a git checkout?)"
  exit 2
fi

# One run over every file: --dry-run -Werror reports each file it would change as
# "<file>:<line>:<col>: error: code should be clang-formatted [-Wclang-format-violations]".
status=0
report=$("$clang_format" --style=file --dry-run -Werror --ferror-limit=1 "${files[@]}" 2>&1) ||
  status=$?
mapfile -t unformatted < <(sed -n 's/^\(.*\):[0-9]*:[0-9]*: error: code should be clang-formatted.*/\1/p' \
                             <<<"$report" | sort -u)
if [ "$status" -ne 0 ] && [ ${#unformatted[@]} -eq 0 ]; then
  echo "check-format: FAIL: $clang_format failed: $(head -n 1 <<<"$report")"
  exit 2
fi

if [ ${#unformatted[@]} -eq 0 ]; then
  echo "check-format: PASS: all ${#files[@]} files formatted"
  exit 0
fi
echo "check-format: FAIL: ${#unformatted[@]} of ${#files[@]} files need formatting: ${unformatted[*]}"
exit 1
