#!/usr/bin/env bash
# `make run`: the whole of Pasokh on this machine. Brings the stack up
# (installing PostgreSQL, Kafka and Keycloak when missing), migrates, starts
# the four services (intake twice: Tehran and Qom) and an SMS-gateway sink,
# prints where everything is and how each demo member of staff signs in, and
# stops what it started on Ctrl-C.
#
# The services run with `environment = "development"` and only the development
# credentials a local demo needs (the Open311 partner `dev`, the public
# citizen_ref key) turned on, explicitly, in .local/run/*.toml; every staff and
# service token comes from the local Keycloak realm.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
STATE="${PASOKH_STATE_DIR:-$ROOT/.local}"
LOGS="$STATE/logs"
CONFIG="$STATE/run"
BIN="${CARGO_TARGET_DIR:-$ROOT/target}/${PASOKH_PROFILE:-debug}"
PG_PORT="${PASOKH_PG_PORT:-55432}"
KAFKA_PORT="${PASOKH_KAFKA_PORT:-19092}"
KEYCLOAK_PORT="${PASOKH_KEYCLOAK_PORT:-18180}"
ISSUER="http://127.0.0.1:$KEYCLOAK_PORT/realms/pasokh"
DEMO_PASSWORD=pasokh-demo
mkdir -p "$LOGS" "$CONFIG"

say() { printf '[run] %s\n' "$*" >&2; }

stack_was_up=0
stack_status=$(scripts/stack.sh status)
if grep -q '^postgres  up' <<<"$stack_status" && grep -q '^kafka     up' <<<"$stack_status" \
  && grep -q '^keycloak  up' <<<"$stack_status"; then
  stack_was_up=1
fi
scripts/stack.sh up

say "building the services"
if [ "${PASOKH_PROFILE:-debug}" = release ]; then cargo build --release --workspace --bins; else cargo build --workspace --bins; fi

db_url() { echo "postgres://pasokh:pasokh@127.0.0.1:$PG_PORT/$1"; }
export PASOKH__KAFKA__BOOTSTRAP_SERVERS="127.0.0.1:$KAFKA_PORT"
export PASOKH__TELEMETRY__LOG_FORMAT="${PASOKH__TELEMETRY__LOG_FORMAT:-json}"

# Settings of the local demo, one file per service. `auth` names the local realm
# and the service's own client there (its secret is valid only in that realm).
auth_table() {
  printf '[auth]\nissuer = "%s"\n[auth.client]\nid = "pasokh-%s"\nsecret = "dev-secret-pasokh-%s"\n' "$ISSUER" "$1" "$1"
}
cat >"$CONFIG/intake.toml" <<EOF
environment = "development"
# the public development citizen_ref key and Open311 partner (api_key dev-open311-key): local only
dev_citizen_ref_key = true
routing_grpc_url = "http://127.0.0.1:9183"
[open311]
allow_dev_key = true
[partners]
clients = ["partner-call-centre"]
$(auth_table intake)
EOF
cat >"$CONFIG/routing.toml" <<EOF
environment = "development"
intake_grpc_url = "http://127.0.0.1:9181"
$(auth_table routing)
EOF
cat >"$CONFIG/notification.toml" <<EOF
environment = "development"
intake_grpc_url = "http://127.0.0.1:9181"
routing_grpc_url = "http://127.0.0.1:9183"
[sms]
gateway_url = "http://127.0.0.1:8089/send"
$(auth_table notification)
EOF
: >"$CONFIG/reporting.toml"

for service in intake routing notification reporting; do
  say "migrating $service"
  PASOKH__DATABASE__URL="$(db_url "pasokh_$service")" "$BIN/pasokh-$service" migrate --config "$CONFIG/$service.toml" \
    >>"$LOGS/$service-migrate.log" 2>&1 || { tail -n 20 "$LOGS/$service-migrate.log" >&2; exit 1; }
done

PIDS=()
start() {
  local name=$1; shift
  say "starting $name (log: $LOGS/$name.log)"
  "$@" >"$LOGS/$name.log" 2>&1 &
  PIDS+=($!)
}

stop_all() {
  trap - INT TERM EXIT
  say "stopping services"
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  if [ "$stack_was_up" = 0 ]; then scripts/stack.sh down; else say "the stack was already up before; leaving it running"; fi
}
trap 'stop_all; exit 130' INT TERM
trap stop_all EXIT

start sms-sink python3 scripts/sms_sink.py --port 8089 --log "$LOGS/sms.jsonl"
start routing env PASOKH__DATABASE__URL="$(db_url pasokh_routing)" "$BIN/pasokh-routing" serve --config "$CONFIG/routing.toml"
start notification env PASOKH__DATABASE__URL="$(db_url pasokh_notification)" \
  "$BIN/pasokh-notification" serve --config "$CONFIG/notification.toml"
start reporting env PASOKH__DATABASE__URL="$(db_url pasokh_reporting)" "$BIN/pasokh-reporting" serve --config "$CONFIG/reporting.toml"
start intake-IR-23 env PASOKH__DATABASE__URL="$(db_url pasokh_intake)" PASOKH__PROVINCE=IR-23 \
  PASOKH__LISTEN__HTTP_PORT=8081 PASOKH__LISTEN__GRPC_PORT=9081 PASOKH__LISTEN__INTERNAL_GRPC_PORT=9181 \
  "$BIN/pasokh-intake" serve --config "$CONFIG/intake.toml"
start intake-IR-25 env PASOKH__DATABASE__URL="$(db_url pasokh_intake)" PASOKH__PROVINCE=IR-25 \
  PASOKH__LISTEN__HTTP_PORT=8082 PASOKH__LISTEN__GRPC_PORT=9082 PASOKH__LISTEN__INTERNAL_GRPC_PORT=9182 \
  "$BIN/pasokh-intake" serve --config "$CONFIG/intake.toml"

for port in 8081 8082 8083 8084 8085; do
  for _ in $(seq 1 60); do
    curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break
    sleep 0.5
  done
  curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 || { say "service on :$port is not ready; see $LOGS"; exit 1; }
done

# demo data: a service-desk event in Tehran, open now (the Friday-prayer desk)
SUPERVISOR_TOKEN=$(PASOKH_PASSWORD=$DEMO_PASSWORD "$BIN/pasokhctl" login --issuer "$ISSUER" --user supervisor-tehran)
DESK_EVENT=$(curl -fsS -H "authorization: Bearer $SUPERVISOR_TOKEN" http://127.0.0.1:8081/v1/desk-events \
  | python3 -c 'import json,sys; e=[x for x in json.load(sys.stdin)["events"] if "نماز جمعه" in x["title"]]; print(e[0]["id"] if e else "")')
if [ -z "$DESK_EVENT" ]; then
  DESK_EVENT=$(curl -fsS -X POST http://127.0.0.1:8081/v1/desk-events -H "authorization: Bearer $SUPERVISOR_TOKEN" \
    -H 'content-type: application/json' \
    -d "{\"title\":\"میز خدمت نماز جمعه تهران\",\"venue\":\"مصلای امام خمینی (ره)\",\"starts_at\":\"$(date -u -d '-1 hour' +%FT%TZ)\",\"ends_at\":\"$(date -u -d '+8 hours' +%FT%TZ)\",\"organisations\":[\"sso\",\"cspf\",\"refah-bank\",\"labour-inspection\",\"welfare\"]}" \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
  say "created the demo desk event $DESK_EVENT"
fi

cat <<BANNER

  Pasokh is running.
    intake  Tehran (IR-23)  http://127.0.0.1:8081   gRPC 127.0.0.1:9081   internal gRPC 127.0.0.1:9181
    intake  Qom    (IR-25)  http://127.0.0.1:8082   gRPC 127.0.0.1:9082   internal gRPC 127.0.0.1:9182
    routing                 http://127.0.0.1:8083   gRPC 127.0.0.1:9083   internal gRPC 127.0.0.1:9183
    notification            http://127.0.0.1:8084
    reporting               http://127.0.0.1:8085   gRPC 127.0.0.1:9085
      summary               http://127.0.0.1:8085/v1/summary
      dashboard (fa)        http://127.0.0.1:8085/dashboard
    SMS gateway sink        http://127.0.0.1:8089/messages
    identity provider       $ISSUER   (admin console http://127.0.0.1:$KEYCLOAK_PORT/admin, admin/admin)
    PostgreSQL 127.0.0.1:$PG_PORT   Kafka 127.0.0.1:$KAFKA_PORT   logs $LOGS   settings $CONFIG

  Demo staff of the local realm (password for all: $DEMO_PASSWORD; valid only in this local Keycloak):
    operator-tehran       desk operator, Tehran (IR-23)
    supervisor-tehran     service-desk supervisor, Tehran (IR-23)
    officer-sso-tehran    case officer of the Social Security Organization, Tehran
    officer-welfare-tehran case officer of the Welfare Organization, Tehran
    officer-sso-qom       case officer of the Social Security Organization, Qom (IR-25)
    operator-qom          desk operator, Qom
    director-qom          provincial director, Qom
    inspector-hq          HQ inspection (reads every case)
    inspector-hq-action   HQ inspection with the hq-action permission (may also act)
  Sign in for a token:  PASOKH_PASSWORD=$DEMO_PASSWORD $BIN/pasokhctl login --issuer $ISSUER --user officer-sso-tehran
  (or --device to confirm a code in the browser instead)

  File a petition in Tehran:

    curl -s -X POST http://127.0.0.1:8081/v1/petitions -H 'content-type: application/json' \\
      -d '{"national_id":"0499370899","mobile":"09121234567","category":"pension-payment","kind":"complaint","channel":"web","text":"مستمری این ماه من واریز نشده است"}'

  Then: curl -s http://127.0.0.1:8085/v1/summary   and   curl -s http://127.0.0.1:8089/messages

  At the Tehran Friday-prayer desk (event $DESK_EVENT), as an operator, resolved on the spot:

    TOKEN=\$(PASOKH_PASSWORD=$DEMO_PASSWORD $BIN/pasokhctl login --issuer $ISSUER --user operator-tehran)
    curl -s -X POST http://127.0.0.1:8081/v1/desk-events/$DESK_EVENT/petitions -H "authorization: Bearer \$TOKEN" \\
      -H 'content-type: application/json' -d '{"national_id":"0084575948","mobile":"09351234567","category":"civil-pension","text":"حکم بازنشستگی من صادر نشده","resolved_on_spot":{"answer":"حکم همان‌جا صادر شد"}}'

  An officer's queue over gRPC (grpcurl, with reflection):

    TOKEN=\$(PASOKH_PASSWORD=$DEMO_PASSWORD $BIN/pasokhctl login --issuer $ISSUER --user officer-sso-tehran)
    grpcurl -plaintext -H "authorization: Bearer \$TOKEN" 127.0.0.1:9083 pasokh.routing.v1.CaseService/ListQueue

  Ctrl-C stops everything this command started.
BANNER

wait -n "${PIDS[@]}" || true
say "a service exited unexpectedly; stopping the rest (see $LOGS)"
exit 1
