#!/usr/bin/env bash
# Property-based API test: schemathesis (from PyPI, installed into .local/venv
# when missing) generates requests from intake's /openapi.json and checks every
# response: no 5xx, status codes, content types, headers and bodies as documented.
# Runs against the real intake binary, PostgreSQL and Kafka of the local stack.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
STATE="${PASOKH_STATE_DIR:-$ROOT/.local}"
BIN="${CARGO_TARGET_DIR:-$ROOT/target}/debug"
PG_PORT="${PASOKH_PG_PORT:-55432}"
KAFKA_PORT="${PASOKH_KAFKA_PORT:-19092}"
ISSUER="http://127.0.0.1:${PASOKH_KEYCLOAK_PORT:-18180}/realms/pasokh"
VENV="$STATE/venv"
SCHEMATHESIS_VERSION=4.32.5
say() { printf '[api-fuzz] %s\n' "$*" >&2; }
# shellcheck source=scripts/venv.sh
source "$ROOT/scripts/venv.sh"

if ! "$VENV/bin/schemathesis" --version 2>/dev/null | grep -q "$SCHEMATHESIS_VERSION"; then
  say "installing schemathesis $SCHEMATHESIS_VERSION into $VENV"
  project_venv "$VENV"
  "$VENV/bin/pip" install -q "schemathesis==$SCHEMATHESIS_VERSION"
fi

DB="pasokh_test_fuzz_$(date +%s)"
psql -h 127.0.0.1 -p "$PG_PORT" -U postgres -qAt -c "CREATE DATABASE $DB OWNER pasokh" postgres
export PASOKH__DATABASE__URL="postgres://pasokh:pasokh@127.0.0.1:$PG_PORT/$DB"
export PASOKH__KAFKA__BOOTSTRAP_SERVERS="127.0.0.1:$KAFKA_PORT"
export PASOKH__TELEMETRY__LOG_FILTER=warn
export PASOKH__CITIZEN_REF_KEY="fuzz-$(date +%s%N)" PASOKH__AUTH__ISSUER="$ISSUER"
# the fuzzer sends thousands of requests from one address: limits would answer most of them with 429
export PASOKH__LIMITS__PER_IP_PER_MINUTE=100000000 PASOKH__LIMITS__PROVINCE_PER_SECOND=1000000
export PASOKH__LIMITS__PETITIONS_PER_MOBILE_PER_HOUR=100000000 PASOKH__LIMITS__LOOKUPS_PER_MOBILE_PER_HOUR=100000000 \
  PASOKH__LIMITS__LOOKUPS_PER_TRACKING_CODE_PER_HOUR=100000000
PORT=$((20000 + RANDOM % 10000))
"$BIN/pasokh-intake" migrate >/dev/null 2>&1
PASOKH__LISTEN__HTTP_PORT=$PORT PASOKH__LISTEN__GRPC_PORT=$((PORT + 1)) PASOKH__LISTEN__INTERNAL_GRPC_PORT=$((PORT + 2)) \
  "$BIN/pasokh-intake" serve >"$STATE/api-fuzz-intake.log" 2>&1 &
INTAKE=$!
trap 'kill $INTAKE 2>/dev/null || true' EXIT
for _ in $(seq 1 60); do curl -fsS "http://127.0.0.1:$PORT/readyz" >/dev/null 2>&1 && break; sleep 0.5; done

# a real token of the local realm's Tehran supervisor, so the desk endpoints are fuzzed past authentication
TOKEN=$(PASOKH_PASSWORD=pasokh-demo "$BIN/pasokhctl" login --issuer "$ISSUER" --user supervisor-tehran)
say "fuzzing http://127.0.0.1:$PORT/openapi.json"
"$VENV/bin/schemathesis" run "http://127.0.0.1:$PORT/openapi.json" -H "Authorization: Bearer $TOKEN" \
  --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,response_headers_conformance \
  -n "${API_FUZZ_EXAMPLES:-40}" --generation-deterministic --no-color
say "no server errors and no schema violations"
