#!/usr/bin/env bash
# `make bench-web`: the web service's pages under load, against the whole system
# (release build) started by `scripts/run.sh --then` on ports, databases and topics
# of its own: walk-ins registered by 50 desk sessions (closed loop), citizens
# tracking petitions at 200/s (open loop), and the bytes one load of the walk-in
# page costs a desk, first and repeat visit (Chromium, CDP). Writes
# bench/results/web.json; see docs/benchmarks.md.
#
#   BENCH_WEB_SESSIONS=50          concurrent desk sessions (all operator-tehran)
#   BENCH_WEB_WALK_IN_SECONDS=20   measured closed-loop time (after BENCH_WEB_WARMUP_SECONDS=3)
#   BENCH_WEB_TRACK_PETITIONS=50   petitions filed through the site, then tracked
#   BENCH_WEB_TRACK_RATE=200       tracking requests per second (open loop)
#   BENCH_WEB_TRACK_SECONDS=15     open-loop time
#   BENCH_WEB_ONLY=walk_in,track,bytes   a subset of the measurements
#   BENCH_WEB_PORT_BASE=24080      first port of the services (see scripts/run.sh)
#   BENCH_WEB_OUT=bench/results/web.json
#   BENCH_WEB_SKIP_BUILD=1         the release binaries are there already
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
say() { printf '[bench-web] %s\n' "$*" >&2; }

if [ "${BENCH_WEB_SKIP_BUILD:-0}" = 1 ]; then
  say "not building (BENCH_WEB_SKIP_BUILD=1)"
else
  say "building every binary in release mode"
  scripts/build-deps.sh
  cargo build --release --workspace --bins
fi
scripts/browser-deps.sh

export PASOKH_PROFILE=release
export PASOKH_RUN_SKIP_BUILD=1
export PASOKH_RUN_PORT_BASE="${BENCH_WEB_PORT_BASE:-24080}"
export PASOKH_RUN_DB_PREFIX=pasokh_bench_web_
PASOKH_RUN_TOPIC_PREFIX="bench-web-$(date +%s)"
export PASOKH_RUN_TOPIC_PREFIX
export PASOKH_RUN_DIR="$ROOT/.local/bench-web"
export BENCH_WEB_OUT="${BENCH_WEB_OUT:-$ROOT/bench/results/web.json}"
# Intake's public limits, raised for this run only: all the load comes from one
# address (the web service's), a few mobiles and 50 tracking codes, so the
# production limits (120 requests/min per address, 30 look-ups/h per tracking
# code, 500 requests/s per province…) would answer 429 within a second and the
# benchmark would measure refusals. The defaults in services/intake stay as they are.
export PASOKH_RUN_INTAKE_TOML='
[limits]
per_ip_per_minute = 100000000
petitions_per_mobile_per_hour = 1000000
lookups_per_mobile_per_hour = 100000000
lookups_per_tracking_code_per_hour = 100000000
province_per_second = 1000000
max_in_flight = 100000'
mkdir -p "$(dirname "$BENCH_WEB_OUT")" "$PASOKH_RUN_DIR"

# One run at a time: run.sh drops and recreates the pasokh_bench_web_* databases,
# which would pull them from under a run already going.
exec 9>"$PASOKH_RUN_DIR/lock"
flock -n 9 || { say "another bench-web run holds $PASOKH_RUN_DIR/lock; wait for it to finish"; exit 1; }
for port in $((PASOKH_RUN_PORT_BASE + 1)) $((PASOKH_RUN_PORT_BASE + 6)) $((PASOKH_RUN_PORT_BASE + 7)) $((PASOKH_RUN_PORT_BASE + 9)); do
  if (: <"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    say "port $port is in use already; stop what listens there or set BENCH_WEB_PORT_BASE"
    exit 1
  fi
done

say "services from port $PASOKH_RUN_PORT_BASE (logs in $PASOKH_RUN_DIR/logs); results to ${BENCH_WEB_OUT#"$ROOT"/}"
# The load generator gets a session of its own, hence its own scheduling group: with
# autogroup (Linux's default for desktops and this VM) every process of one session shares
# one group's CPU share, so inside run.sh's session Node would queue behind the services it
# measures and report their latency plus its own waiting (0.6 s at the median, 50 desks).
status=0
scripts/run.sh --then setsid --wait node bench/web/bench.mjs || status=$?
if [ "$status" != 0 ]; then
  say "failed (status $status); the services' last warnings:"
  for log in "$PASOKH_RUN_DIR"/logs/*.log; do
    [ -f "$log" ] || continue
    printf '\n== %s\n' "$log" >&2
    grep -E '"level":"(WARN|ERROR)"|WARN|ERROR' "$log" | tail -n 8 >&2 || true
  done
fi
exit "$status"
