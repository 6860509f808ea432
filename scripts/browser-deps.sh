#!/usr/bin/env bash
# What the browser tests (tests/browser) need from the system: Debian's
# chromium (driven through playwright-core, which downloads no browser of its
# own here), Node.js with npm, and the locked node modules. Installed when
# missing; a no-op otherwise.
#   - chromium from Debian, unless PASOKH_CHROMIUM names another executable
#   - nodejs and npm from Debian when there is no `node`
#   - `npm ci` in tests/browser when node_modules is missing or older than
#     package-lock.json
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DIR="$ROOT/tests/browser"
CHROMIUM="${PASOKH_CHROMIUM:-/usr/bin/chromium}"
NODE_MAJOR_MIN=20   # playwright-core 1.65 needs Node >= 20
say() { printf '[browser-deps] %s\n' "$*" >&2; }

missing=()
[ -x "$CHROMIUM" ] || missing+=(chromium)
if ! command -v node >/dev/null; then missing+=(nodejs npm)
elif ! command -v npm >/dev/null; then missing+=(npm); fi

if [ ${#missing[@]} -gt 0 ]; then
  say "installing ${missing[*]} from Debian"
  if [ "$(id -u)" = 0 ]; then SUDO=(); else SUDO=(sudo); fi
  "${SUDO[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  [ -x "$CHROMIUM" ] || { say "chromium is installed but $CHROMIUM is not executable; set PASOKH_CHROMIUM"; exit 1; }
fi

node_version="$(node -p process.versions.node)"
if [ "${node_version%%.*}" -lt "$NODE_MAJOR_MIN" ]; then
  say "Node.js $node_version is too old: playwright-core needs Node >= $NODE_MAJOR_MIN"
  say "(Debian 12's nodejs is 18; install a newer nodejs package, e.g. from Debian 13 or NodeSource)"
  exit 1
fi

if [ ! -d "$DIR/node_modules" ] || [ "$DIR/package-lock.json" -nt "$DIR/node_modules" ]; then
  say "npm ci in tests/browser"
  (cd "$DIR" && npm ci --no-audit --no-fund --loglevel=error) >&2
  touch "$DIR/node_modules"   # npm ci may leave an older mtime; mark as up to date
fi
