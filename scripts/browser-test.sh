#!/usr/bin/env bash
# The browser scenarios of `make test`: Debian's chromium, driven by
# playwright-core, against the whole system started by `scripts/run.sh --then`
# on its own ports, databases and topics (so it never meets `make run`'s data).
# Screenshots of every page go to .local/screenshots.
#
#   PASOKH_BROWSER_PORT_BASE  first port of the services (default 26080; CI 28080); every
#                             port stays below 32768, under Linux's ephemeral range, so an
#                             outgoing connection can never hold one of them first
#   PASOKH_BROWSER_TESTS      test files to run (default every tests/browser/*.test.mjs)
#   PASOKH_BROWSER_GREP       only the scenarios whose name matches this pattern
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
say() { printf '[browser-test] %s\n' "$*" >&2; }

scripts/browser-deps.sh
export PASOKH_RUN_PORT_BASE="${PASOKH_BROWSER_PORT_BASE:-26080}"
export PASOKH_RUN_DB_PREFIX=pasokh_browser_
export PASOKH_RUN_TOPIC_PREFIX="browser-$(date +%s)"
export PASOKH_RUN_DIR="$ROOT/.local/browser"
export PASOKH_RUN_SKIP_BUILD=1
export PASOKH_SCREENSHOT_DIR="$ROOT/.local/screenshots"
mkdir -p "$PASOKH_SCREENSHOT_DIR"
read -r -a tests <<<"${PASOKH_BROWSER_TESTS:-$(echo tests/browser/*.test.mjs)}"
say "running ${tests[*]} against services from port $PASOKH_RUN_PORT_BASE (logs in $PASOKH_RUN_DIR/logs)"
filter=()
[ -z "${PASOKH_BROWSER_GREP:-}" ] || filter=(--test-name-pattern "$PASOKH_BROWSER_GREP")
status=0
scripts/run.sh --then node --test --test-concurrency=1 --test-reporter=spec "${filter[@]}" "${tests[@]}" || status=$?
if [ "$status" != 0 ]; then
  say "failed; the services' last log lines:"
  for log in "$PASOKH_RUN_DIR"/logs/*.log; do
    [ -f "$log" ] || continue
    printf '\n== %s\n' "$log" >&2
    grep -E '"level":"(WARN|ERROR)"|WARN|ERROR' "$log" | tail -n 8 >&2 || true
  done
fi
say "screenshots in $PASOKH_SCREENSHOT_DIR"
exit "$status"
