#!/usr/bin/env bash
# `make bench-reporting`: reporting at national scale on this machine.
#
# 1. Bulk-loads BENCH_PETITIONS (default 10,000,000) petitions' facts into a
#    fresh database (synthetic: provinces weighted by population, the
#    catalogue's categories and their organisations, two years of submissions,
#    realistic shares of open, breached, merged, rated and desk cases), then
#    recomputes the rollups from them (`pasokh-reporting rollups-from-facts`).
# 2. Serves reporting (release build) over it and measures every dashboard
#    query's p50/p99 over HTTP, one request at a time, with an HQ token.
# 3. Separately, measures sustained ingestion from Kafka: BENCH_INGEST_PETITIONS
#    petitions' lifecycle events (5 % published twice) are put on a fresh topic
#    first, then a fresh reporting folds them; events/s from the first to the
#    last, and the totals are checked (exactly-once effects).
# Writes bench/results/reporting.json; see docs/benchmarks.md.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
STATE="${PASOKH_STATE_DIR:-$ROOT/.local}"
BIN="${CARGO_TARGET_DIR:-$ROOT/target}/release"
PG_PORT="${PASOKH_PG_PORT:-55432}"
KAFKA_PORT="${PASOKH_KAFKA_PORT:-19092}"
KEYCLOAK_PORT="${PASOKH_KEYCLOAK_PORT:-18180}"
PETITIONS="${BENCH_PETITIONS:-10000000}"
INGEST_PETITIONS="${BENCH_INGEST_PETITIONS:-100000}"
SAMPLES="${BENCH_SAMPLES:-200}"
HTTP_PORT="${BENCH_REPORTING_PORT:-24185}"
GRPC_PORT=$((HTTP_PORT + 1))
OUT="${BENCH_OUT:-$ROOT/bench/results/reporting.json}"
RUN_ID="$(date +%s)"
DB="pasokh_bench_reporting_$RUN_ID"
INGEST_DB="pasokh_bench_ingest_$RUN_ID"
TOPIC="bench.$RUN_ID.lifecycle"
WORK="$STATE/bench-reporting-$RUN_ID"
LOCK="$STATE/bench.lock"
mkdir -p "$WORK" "$(dirname "$OUT")"

say() { printf '[bench-reporting] %s\n' "$*" >&2; }

exec 9>"$LOCK"
flock -n 9 || { say "another benchmark is running (lock $LOCK)"; exit 1; }

PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT

say "building reporting and the lifecycle generator in release mode"
scripts/build-deps.sh
cargo build --release -p pasokh-reporting -p pasokh-loadgen
scripts/stack.sh up >/dev/null

psql_admin() { psql -h 127.0.0.1 -p "$PG_PORT" -U postgres -v ON_ERROR_STOP=1 -qAt "$@"; }
psql_bench() { psql -h 127.0.0.1 -p "$PG_PORT" -U pasokh -d "$1" -v ON_ERROR_STOP=1 -qAt "${@:2}"; }
FSYNC="$(psql_admin -d postgres -c 'SHOW fsync')"

export PASOKH__ENVIRONMENT=development
export PASOKH__KAFKA__BOOTSTRAP_SERVERS="127.0.0.1:$KAFKA_PORT"
export PASOKH__AUTH__ISSUER="http://127.0.0.1:$KEYCLOAK_PORT/realms/pasokh"
export PASOKH__LISTEN__HTTP_PORT="$HTTP_PORT" PASOKH__LISTEN__GRPC_PORT="$GRPC_PORT"
export PASOKH__TELEMETRY__LOG_FORMAT=json
export PASOKH__TELEMETRY__LOG_FILTER=warn,pasokh_reporting=info,pasokh_events=info

# ---------------------------------------------------------------- 1. bulk load
# BENCH_FACTS_DB names a database an earlier run loaded (kept with BENCH_KEEP_DB=1): the load is skipped
if [ -n "${BENCH_FACTS_DB:-}" ]; then
  DB="$BENCH_FACTS_DB"
  PETITIONS="$(psql_bench "$DB" -c 'SELECT count(*) FROM case_facts')"
  say "reusing $DB with $PETITIONS petitions' facts"
  PASOKH__DATABASE__URL="postgres://pasokh:pasokh@127.0.0.1:$PG_PORT/$DB" "$BIN/pasokh-reporting" migrate
  load_seconds="${BENCH_LOAD_SECONDS:-null}"
else
say "fresh database $DB; loading $PETITIONS petitions' facts"
psql_admin -d postgres -c "CREATE DATABASE $DB OWNER pasokh"
PASOKH__DATABASE__URL="postgres://pasokh:pasokh@127.0.0.1:$PG_PORT/$DB" "$BIN/pasokh-reporting" migrate

# the catalogue's categories (each with its organisation) and the provinces, weighted
python3 - "$WORK/arrays.sql" <<'PY'
import csv, sys
cats = list(csv.DictReader(open("libs/domain/data/categories.csv")))
provinces = [r["iso_code"] for r in csv.DictReader(open("libs/domain/data/provinces.csv"))]
# rough shares of population: Tehran, Khorasan Razavi, Isfahan, Fars, Khuzestan, East Azerbaijan lead
big = {"IR-23": 16, "IR-30": 8, "IR-04": 6, "IR-14": 6, "IR-10": 6, "IR-03": 5}
weights = [big.get(p, 2) for p in provinces]
pool = [p for p, w in zip(provinces, weights) for _ in range(w)]
cat_pool = [c for i, c in enumerate(cats) for _ in range(4 if i < 4 else 2)]
with open(sys.argv[1], "w") as out:
    out.write("CREATE TEMP TABLE bench_arrays AS SELECT\n")
    out.write("  ARRAY[%s]::text[] AS provinces,\n" % ",".join("'%s'" % p for p in pool))
    out.write("  ARRAY[%s]::text[] AS categories,\n" % ",".join("'%s'" % c["code"] for c in cat_pool))
    out.write("  ARRAY[%s]::text[] AS organisations;\n" % ",".join("'%s'" % c["organisation"] for c in cat_pool))
PY

CHUNK=1000000
loaded=0
started=$(date +%s)
while [ "$loaded" -lt "$PETITIONS" ]; do
  n=$(( PETITIONS - loaded < CHUNK ? PETITIONS - loaded : CHUNK ))
  psql_bench "$DB" <<SQL
SET synchronous_commit = off;
\i $WORK/arrays.sql
INSERT INTO case_facts (petition_id, tracking_code, province, county, organisation, unit, category, kind, channel,
    desk_event_id, rule, priority, status, status_sequence, placement_sequence, rating_sequence, submitted_at,
    routed_at, first_response_at, resolved_at, responded_at, closed_at, first_response_due, resolution_due,
    first_response_breached, resolution_breached, breaches, escalations, escalation_level, referrals, info_requests,
    responses, reopened, appeals, rating, rating_has_comment, merged_into, resolved_on_spot, closed_reason,
    rejected_reason)
SELECT gen_random_uuid(), lpad((($loaded + g) % 1000000000000)::text, 12, '0'), province, '', organisation,
    organisation || '/' || province, category, 'request', channel,
    -- a desk event per province and week (its Friday prayer), as the programme runs them
    CASE WHEN channel = 'desk' THEN md5(province || to_char(submitted_at, 'IYYY-IW'))::uuid::text ELSE '' END,
    'bench/x', 'normal', status, 3, 1, CASE WHEN rating IS NULL THEN 0 ELSE 2 END, submitted_at,
    CASE WHEN status = 'merged' THEN NULL ELSE submitted_at + interval '1 minute' END,
    CASE WHEN status IN ('submitted', 'routed', 'merged') THEN NULL ELSE submitted_at + first_days * interval '1 day' END,
    CASE WHEN status IN ('responded', 'closed', 'rejected') THEN resolved_at END,
    CASE WHEN status IN ('responded', 'closed') AND NOT on_spot THEN resolved_at END,
    CASE WHEN status = 'closed' THEN resolved_at END,
    submitted_at + interval '3 days', submitted_at + interval '15 days',
    first_breached, resolution_breached, first_breached::int + resolution_breached::int,
    escalated::int, escalated::int, (random() < 0.06)::int, (random() < 0.08)::int,
    CASE WHEN status IN ('responded', 'closed') AND NOT on_spot THEN 1 ELSE 0 END,
    reopened::int, reopened::int, rating, rating IS NOT NULL AND random() < 0.3,
    CASE WHEN status = 'merged' THEN gen_random_uuid() END, on_spot,
    CASE WHEN status = 'closed' THEN (CASE WHEN on_spot THEN 'resolved_on_spot' ELSE 'accepted' END) ELSE '' END,
    CASE WHEN status = 'rejected' THEN 'out_of_scope' ELSE '' END
FROM (
  SELECT g, province, category, organisation, channel, submitted_at, first_days, resolved_at, on_spot,
    CASE WHEN open_roll THEN (ARRAY['submitted','routed','acknowledged','in_progress','info_requested','reopened'])[1 + (g % 6)]
         WHEN r_status < 0.04 THEN 'merged' WHEN r_status < 0.07 THEN 'rejected'
         WHEN on_spot OR r_status < 0.55 THEN 'closed' ELSE 'responded' END AS status,
    (random() < 0.10) AS first_breached, (resolved_at - submitted_at > interval '15 days' OR random() < 0.05) AS resolution_breached,
    (random() < 0.05) AS escalated, (NOT open_roll AND random() < 0.04) AS reopened,
    CASE WHEN NOT open_roll AND r_status >= 0.07 AND random() < 0.55
         THEN (ARRAY[1,2,3,3,4,4,4,5,5,5])[1 + floor(random() * 10)::int] END AS rating
  FROM (
    -- every random() here is per row: nothing below is an uncorrelated subquery PostgreSQL could run once
    SELECT g, province, a.categories[ci] AS category, a.organisations[ci] AS organisation, channel, submitted_at,
      first_days, submitted_at + resolution_days * interval '1 day' AS resolved_at, r_status,
      (random() < CASE WHEN submitted_at > now() - interval '10 days' THEN 0.45 ELSE 0.02 END) AS open_roll
    FROM (
      SELECT g, a.provinces[1 + floor(random() * array_length(a.provinces, 1))::int] AS province,
        1 + floor(random() * array_length(a.categories, 1))::int AS ci,
        (ARRAY['web','web','web','web','web','desk','desk','phone','phone','letter','open311'])[1 + floor(random() * 11)::int] AS channel,
        now() - random() * interval '730 days' AS submitted_at,
        floor(-ln(1 - random()) * 1.5) AS first_days,
        -ln(1 - random()) * 6 AS resolution_days,
        random() AS r_status
      FROM generate_series(1, $n) AS g CROSS JOIN bench_arrays a
    ) drawn CROSS JOIN bench_arrays a
  ) base
  CROSS JOIN LATERAL (SELECT base.channel = 'desk' AND random() < 0.3 AS on_spot) spot
) facts;
SQL
  loaded=$((loaded + n))
  say "  $loaded / $PETITIONS facts ($(( $(date +%s) - started )) s)"
done
load_seconds=$(( $(date +%s) - started ))
fi
psql_bench "$DB" -c "ANALYZE case_facts"
say "recomputing the rollups from the facts"
rollup_started=$(date +%s)
PASOKH__DATABASE__URL="postgres://pasokh:pasokh@127.0.0.1:$PG_PORT/$DB" "$BIN/pasokh-reporting" rollups-from-facts >&2
rollup_seconds=$(( $(date +%s) - rollup_started ))
psql_bench "$DB" -c "ANALYZE"
ROLLUP_ROWS="$(psql_bench "$DB" -c 'SELECT count(*) FROM rollup_by_period')"
COUNTED="$(psql_bench "$DB" -c "SELECT sum(submitted) FROM rollup_by_period WHERE grain = 'month'")"
[ "$COUNTED" = "$PETITIONS" ] || { say "the rollups count $COUNTED petitions, not $PETITIONS"; exit 1; }
say "  $ROLLUP_ROWS rollup rows by period"
DESK_EVENT="$(psql_bench "$DB" -c "SELECT desk_event_id FROM rollup_by_desk_event WHERE province = 'IR-23' GROUP BY 1 ORDER BY sum(submitted) DESC LIMIT 1")"

# ---------------------------------------------------------------- 2. queries
say "serving reporting over $DB on :$HTTP_PORT"
PASOKH__DATABASE__URL="postgres://pasokh:pasokh@127.0.0.1:$PG_PORT/$DB" PASOKH__KAFKA__LIFECYCLE_TOPIC="$TOPIC.idle" \
  PASOKH__KAFKA__CONSUMER_GROUP="bench-idle-$RUN_ID" \
  "$BIN/pasokh-reporting" serve >"$WORK/serve.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 1 60); do curl -fsS "http://127.0.0.1:$HTTP_PORT/healthz" >/dev/null 2>&1 && break; sleep 1; done

token() {
  curl -fsS "http://127.0.0.1:$KEYCLOAK_PORT/realms/pasokh/protocol/openid-connect/token" \
    -d grant_type=password -d client_id=pasokhctl -d username="$1" -d password=pasokh-demo -d scope=openid |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])'
}
HQ_TOKEN="$(token inspector-hq)"
DIRECTOR_TOKEN="$(token supervisor-tehran)"

python3 - "$HTTP_PORT" "$HQ_TOKEN" "$DIRECTOR_TOKEN" "$SAMPLES" "$DESK_EVENT" >"$WORK/queries.json" <<'PY'
import http.client, json, sys, time
port, hq, director, samples, desk = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]
queries = [
    ("indicators_month_national", "/v1/indicators?period=month", hq),
    ("indicators_year_national", "/v1/indicators?period=year", hq),
    ("indicators_fajr_national", "/v1/indicators?period=fajr&date=1404/11/15", hq),
    ("indicators_custom_95_days_national", "/v1/indicators?period=custom&from=1404/06/17&to=1404/09/20", hq),
    ("indicators_month_tehran_director", "/v1/indicators?period=month", director),
    ("ranking_provinces_year", "/v1/ranking?of=province&period=year", hq),
    ("ranking_organisations_quarter", "/v1/ranking?of=organisation&period=quarter", hq),
    ("trend_year_by_month", "/v1/trend?period=year&bucket=month", hq),
    ("trend_month_by_day", "/v1/trend?period=month&bucket=day", hq),
    ("trend_quarter_by_week_tehran", "/v1/trend?period=quarter&bucket=week", director),
    ("backlog_national", "/v1/backlog", hq),
    ("backlog_tehran", "/v1/backlog", director),
    ("desk_event_report", "/v1/desk-events/%s/report" % desk, hq),
    ("desk_events_fajr", "/v1/desk-events?period=fajr&date=1404/11/15", hq),
    ("summary_national", "/v1/summary", hq),
]
conn = http.client.HTTPConnection("127.0.0.1", int(port), timeout=30)
def get(path, token):
    conn.request("GET", path, headers={"Authorization": "Bearer " + token})
    response = conn.getresponse()
    body = response.read()
    if response.status != 200:
        raise SystemExit("%s answered %s: %s" % (path, response.status, body[:300]))
    return body
results = {}
for name, path, token in queries:
    for _ in range(5):
        get(path, token)  # warm the connection and the caches
    times = []
    for _ in range(samples):
        t = time.perf_counter()
        get(path, token)
        times.append((time.perf_counter() - t) * 1000)
    times.sort()
    pick = lambda q: times[min(len(times) - 1, int(q * len(times)))]
    results[name] = {"path": path, "p50_ms": round(pick(0.5), 2), "p99_ms": round(pick(0.99), 2), "samples": samples}
    print("[bench-reporting]   %-36s p50 %7.2f ms  p99 %7.2f ms" % (name, pick(0.5), pick(0.99)), file=sys.stderr)
print(json.dumps(results))
PY
kill "${PIDS[@]}" 2>/dev/null || true
wait 2>/dev/null || true
PIDS=()

# ---------------------------------------------------------------- 3. ingestion
say "ingestion: $INGEST_PETITIONS petitions' events onto $TOPIC (12 partitions)"
java -cp "$STATE/kafka-libs/*" org.apache.kafka.tools.TopicCommand --bootstrap-server "127.0.0.1:$KAFKA_PORT" \
  --create --topic "$TOPIC" --partitions 12 --replication-factor 1 >/dev/null 2>&1
"$BIN/pasokh-lifecycle-gen" --brokers "127.0.0.1:$KAFKA_PORT" --topic "$TOPIC" --petitions "$INGEST_PETITIONS" \
  --duplicates-percent 5 >"$WORK/generated.json"
DISTINCT="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["distinct_events"])' "$WORK/generated.json")"
RATED="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["rated"])' "$WORK/generated.json")"
psql_admin -d postgres -c "CREATE DATABASE $INGEST_DB OWNER pasokh"
export PASOKH__DATABASE__URL="postgres://pasokh:pasokh@127.0.0.1:$PG_PORT/$INGEST_DB"
"$BIN/pasokh-reporting" migrate
say "folding $DISTINCT distinct events (published $(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["events"])' "$WORK/generated.json"))"
PASOKH__KAFKA__LIFECYCLE_TOPIC="$TOPIC" PASOKH__KAFKA__CONSUMER_GROUP="bench-ingest-$RUN_ID" \
  "$BIN/pasokh-reporting" serve >"$WORK/ingest.log" 2>&1 &
PIDS+=($!)
ingest_started=$(python3 -c 'import time; print(time.time())')
first_seen=""
while :; do
  done_events="$(psql_bench "$INGEST_DB" -c 'SELECT count(*) FROM processed_events' 2>/dev/null || echo 0)"
  if [ -z "$first_seen" ] && [ "$done_events" -gt 0 ]; then
    first_seen=$(python3 -c 'import time; print(time.time())')
  fi
  [ "$done_events" -ge "$DISTINCT" ] && break
  now=$(python3 -c 'import time; print(time.time())')
  if python3 -c "import sys; sys.exit(0 if $now - $ingest_started > 900 else 1)"; then
    say "ingestion did not finish in 15 minutes ($done_events of $DISTINCT)"; exit 1
  fi
  sleep 0.2
done
ingest_finished=$(python3 -c 'import time; print(time.time())')
kill "${PIDS[@]}" 2>/dev/null || true
wait 2>/dev/null || true
PIDS=()
SUBMITTED="$(psql_bench "$INGEST_DB" -c "SELECT sum(submitted) FROM rollup_by_period WHERE grain = 'day'")"
RATED_COUNTED="$(psql_bench "$INGEST_DB" -c "SELECT sum(rated) FROM rollup_by_period WHERE grain = 'day'")"
RESPONDED="$(psql_bench "$INGEST_DB" -c "SELECT sum(responded) FROM rollup_by_period WHERE grain = 'day'")"
[ "$SUBMITTED" = "$INGEST_PETITIONS" ] || { say "exactly-once check failed: $SUBMITTED submitted, expected $INGEST_PETITIONS"; exit 1; }
[ "$RATED_COUNTED" = "$RATED" ] || { say "exactly-once check failed: $RATED_COUNTED rated, expected $RATED"; exit 1; }
[ "$RESPONDED" = "$INGEST_PETITIONS" ] || { say "exactly-once check failed: $RESPONDED responded"; exit 1; }

python3 - "$OUT" "$WORK/queries.json" "$WORK/generated.json" <<PY
import json, os, platform, subprocess, sys
out, queries, generated = sys.argv[1], json.load(open(sys.argv[2])), json.load(open(sys.argv[3]))
seconds = $ingest_finished - ${first_seen:-$ingest_started}
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), platform.processor())
result = {
    "petitions": $PETITIONS,
    "query_p99_ms_max": max(q["p99_ms"] for q in queries.values()),
    "query_p99_target_ms": 200,
    "queries": queries,
    "ingest_events_per_s": round($DISTINCT / seconds),
    "ingest_target_events_per_s": 5000,
    "ingest": {"petitions": $INGEST_PETITIONS, "distinct_events": $DISTINCT, "published_events": generated["events"],
               "seconds": round(seconds, 2), "exactly_once_checked": {"submitted": $SUBMITTED, "rated": $RATED_COUNTED, "responded": $RESPONDED}},
    "load": {"facts_seconds": $load_seconds, "rollups_from_facts_seconds": $rollup_seconds, "rollup_by_period_rows": $ROLLUP_ROWS},
    "machine": {"cpus": os.cpu_count(), "cpu": cpu, "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
                "postgres_fsync": "$FSYNC"},
    "settings": {"samples_per_query": $SAMPLES, "batch_max_records": 1000, "batch_max_wait_ms": 50, "partitions": 12,
                 "duplicates_percent": 5, "build": "release"},
    "measured_at": subprocess.run(["date", "-u", "+%Y-%m-%dT%H:%M:%SZ"], capture_output=True, text=True).stdout.strip(),
}
json.dump(result, open(out, "w"), indent=2, ensure_ascii=False)
open(out, "a").write("\n")
print(json.dumps({k: result[k] for k in ("petitions", "query_p99_ms_max", "ingest_events_per_s")}))
PY
say "written $OUT"
psql_admin -d postgres -c "DROP DATABASE $INGEST_DB" || true
[ -n "${BENCH_KEEP_DB:-}" ] || psql_admin -d postgres -c "DROP DATABASE $DB" || true
