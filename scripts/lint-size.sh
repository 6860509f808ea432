#!/usr/bin/env bash
# `make lint`: no source file grows past 400 lines (its tests not counted) unless its module
# comment says why, in a line starting "Long by choice:". A file that long usually holds more
# than one concern, and the next reader should not have to find that out.
set -euo pipefail
cd "$(dirname "$0")/.."
limit=400
status=0
while IFS= read -r file; do
  lines=$(awk '/^#\[cfg\(test\)\]/ { exit } { n++ } END { print n + 0 }' "$file")
  if [ "$lines" -gt "$limit" ] && ! awk '!/^\/\/!/ { exit } /Long by choice:/ { found = 1 } END { exit !found }' "$file"; then
    echo "[lint-size] $file: $lines lines before its tests; split it by concern, or say at its top why not (\"//! Long by choice: …\")" >&2
    status=1
  fi
done < <(git ls-files --cached --others --exclude-standard '*.rs' | grep -v '/tests/')
exit $status
