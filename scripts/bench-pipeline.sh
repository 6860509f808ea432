#!/usr/bin/env bash
# `make bench-pipeline`: the whole pipeline on this machine (release build, every service,
# PostgreSQL and Kafka with durability on, the SMS sink stamping arrivals), started by
# `scripts/run.sh --then` on ports, databases and topics of its own. In one run: intake's
# saturated rate, the pipeline's sustained rate to the citizen's "routed" SMS (and reporting's
# count), submit → first SMS and submit → routed SMS p50/p99 at fixed rates, and the
# services' memory through a soak. Writes bench/results/pipeline.json; see docs/benchmarks.md.
#
#   BENCH_PIPELINE_CONCURRENCY=64         clients of the saturation phase
#   BENCH_PIPELINE_SATURATION_SECONDS=10
#   BENCH_PIPELINE_RATES=100,500,1000     fixed rates (petitions/s), BENCH_PIPELINE_RATE_SECONDS=20 each
#   BENCH_PIPELINE_SOAK_SECONDS=600       the memory soak at BENCH_PIPELINE_SOAK_RATE=500/s (0 skips it)
#   BENCH_PIPELINE_PORT_BASE=25080        first port of the services (see scripts/run.sh)
#   BENCH_PIPELINE_OUT=bench/results/pipeline.json
#   BENCH_PIPELINE_SKIP_BUILD=1           the release binaries are there already
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
say() { printf '[bench-pipeline] %s\n' "$*" >&2; }

if [ "${BENCH_PIPELINE_SKIP_BUILD:-0}" = 1 ]; then
  say "not building (BENCH_PIPELINE_SKIP_BUILD=1)"
else
  say "building every binary in release mode"
  scripts/build-deps.sh
  cargo build --release --workspace --bins
fi
scripts/stack.sh up >/dev/null
PG_PORT="${PASOKH_PG_PORT:-55432}"
psql_admin() { psql -h 127.0.0.1 -p "$PG_PORT" -U postgres -v ON_ERROR_STOP=1 -qAt "$@"; }
[ "$(psql_admin -d postgres -c 'SHOW fsync')" = on ] || { say "fsync is off: restart the stack without PASOKH_PG_FAST"; exit 1; }

export PASOKH_PROFILE=release
export PASOKH_RUN_SKIP_BUILD=1
export PASOKH_RUN_PORT_BASE="${BENCH_PIPELINE_PORT_BASE:-25080}"
export PASOKH_RUN_DB_PREFIX=pasokh_bench_pipeline_
PASOKH_RUN_TOPIC_PREFIX="bench-pipeline-$(date +%s)"
export PASOKH_RUN_TOPIC_PREFIX
export PASOKH_RUN_DIR="$ROOT/.local/bench-pipeline"
OUT="${BENCH_PIPELINE_OUT:-$ROOT/bench/results/pipeline.json}"
# Intake's public limits, raised for this run only: all the load comes from one address,
# at up to thousands of petitions a second. The defaults in services/intake stay as they are.
export PASOKH_RUN_INTAKE_TOML='
[limits]
per_ip_per_minute = 100000000
petitions_per_mobile_per_hour = 1000000
province_per_second = 1000000
max_in_flight = 100000'
mkdir -p "$(dirname "$OUT")" "$PASOKH_RUN_DIR"
exec 9>"$PASOKH_RUN_DIR/lock"
flock -n 9 || { say "another bench-pipeline run holds $PASOKH_RUN_DIR/lock; wait for it to finish"; exit 1; }

# the sink reloads its log at start (so keys survive its restarts): a run starts with an empty one
rm -f "$PASOKH_RUN_DIR/logs/sms.jsonl"
RAW="$PASOKH_RUN_DIR/raw.json"
export BENCH_ARGS="--concurrency ${BENCH_PIPELINE_CONCURRENCY:-64} --saturation-seconds ${BENCH_PIPELINE_SATURATION_SECONDS:-10}
  --rates ${BENCH_PIPELINE_RATES:-100,500,1000} --rate-seconds ${BENCH_PIPELINE_RATE_SECONDS:-20}
  --soak-seconds ${BENCH_PIPELINE_SOAK_SECONDS:-600} --soak-rate ${BENCH_PIPELINE_SOAK_RATE:-500} --run-dir $PASOKH_RUN_DIR"
export RAW BIN_DIR="${CARGO_TARGET_DIR:-$ROOT/target}/release" PG_PORT
# what runs once the system is up: the load generator in a session of its own (its own CPU
# share, not queued behind the services it measures), then reporting's count of what it saw
run_bench() {
  # shellcheck disable=SC2086
  setsid --wait "$BIN_DIR/pasokh-pipeline-bench" --intake "$PASOKH_INTAKE_URL_IR23" --sms "$PASOKH_SMS_URL" $BENCH_ARGS >"$RAW"
  local expected reported
  expected=$(python3 -c "import json; print(json.load(open('$RAW'))['accepted_total'])")
  for _ in $(seq 1 120); do
    reported=$(psql -h 127.0.0.1 -p "$PG_PORT" -U pasokh -qAt -d pasokh_bench_pipeline_reporting \
      -c "SELECT count(*) FROM case_facts")
    [ "$reported" -ge "$expected" ] && break
    sleep 1
  done
  echo "$reported" >"$RAW.reporting"
}
export -f run_bench
status=0
scripts/run.sh --then bash -c run_bench || status=$?
if [ "$status" != 0 ]; then
  say "failed (status $status); the services' last warnings:"
  for log in "$PASOKH_RUN_DIR"/logs/*.log; do
    [ -f "$log" ] || continue
    printf '\n== %s\n' "$log" >&2
    grep -E '"level":"(WARN|ERROR)"|WARN|ERROR' "$log" | tail -n 8 >&2 || true
  done
  exit "$status"
fi

python3 - "$RAW" "$OUT" <<'PY'
import json, os, platform, subprocess, sys
raw, out = sys.argv[1], sys.argv[2]
result = json.load(open(raw))
result["reporting_rows"] = int(open(raw + ".reporting").read().strip() or 0)
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "")
mem = next((int(l.split()[1]) for l in open("/proc/meminfo") if l.startswith("MemTotal")), 0)
result["machine"] = {"cpus": os.cpu_count(), "cpu_model": cpu, "memory_gib": round(mem / 1048576, 1),
                     "kernel": platform.release()}
result["settings"] = {
    "services": "release build, one of each (intake IR-23 and IR-25, routing, notification, reporting, web) on this machine",
    "durability": "PostgreSQL fsync and synchronous_commit on; Kafka acks=all, idempotent producers",
    "sms_gateway": "tools/sms-sink (local, honours Idempotency-Key)",
    "args": " ".join(os.environ.get("BENCH_ARGS", "").split()),
}
targets = {
    "pipeline_at_least_25_percent_of_intake": result["ratio_to_intake"] >= 0.25,
    "routed_sms_p99_under_1000_ms_at_500": (result.get("routed_sms_p99_ms_at_500") or 1e9) < 1000,
}
result["targets_met"] = targets
json.dump(result, open(out, "w"), indent=2, ensure_ascii=False)
open(out, "a").write("\n")
print(json.dumps({k: result[k] for k in ("intake_per_s", "pipeline_per_s", "ratio_to_intake",
                  "routed_sms_p99_ms_at_500", "first_sms_p99_ms_at_500", "reporting_rows", "targets_met")}, indent=2))
PY
say "results in ${OUT#"$ROOT"/}"
