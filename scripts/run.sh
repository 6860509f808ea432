#!/usr/bin/env bash
# `make run`: the whole of Pasokh on this machine. Brings the stack up
# (installing PostgreSQL, Kafka and Keycloak when missing), migrates, starts
# the services (intake twice: Tehran and Qom; routing, notification, reporting,
# and web: the citizen site and the desk console) and an SMS-gateway sink,
# prints where everything is and how each demo member of staff signs in, and
# stops what it started on Ctrl-C.
#
#   scripts/run.sh                      what `make run` does
#   scripts/run.sh --then CMD [ARGS…]   for automated tests: once everything is ready and the demo desk
#                                       event exists, runs CMD (no banner), then stops the services and
#                                       exits with CMD's status. The stack is left running.
# CMD gets PASOKH_WEB_PUBLIC_URL, PASOKH_WEB_STAFF_URL, PASOKH_INTAKE_URL_IR23,
# PASOKH_INTAKE_URL_IR25, PASOKH_ROUTING_URL, PASOKH_SMS_URL (the sink's base
# URL), PASOKH_DESK_EVENT, PASOKH_ISSUER, PASOKH_PG_URL_INTAKE, PASOKH_REPORTING_URL,
# PASOKH_BIN_DIR (the binaries), PASOKH_KAFKA_BROKERS and PASOKH_LIFECYCLE_TOPIC.
#
# Optional settings (the defaults are what `make run` uses):
#   PASOKH_RUN_PORT_BASE=8080     HTTP ports are base+n: intake IR-23 +1, IR-25 +2, routing +3,
#                                 notification +4, reporting +5, web +6 (public) and +7 (staff),
#                                 SMS sink +9; gRPC ports base+1000+n, internal gRPC base+1100+n
#   PASOKH_RUN_DB_PREFIX=pasokh_  the databases are <prefix>intake, <prefix>routing, …; with any
#                                 other prefix they are dropped and created empty first
#   PASOKH_RUN_TOPIC_PREFIX=      when set, the services use topics of their own, pasokh.<prefix>.…
#                                 (created here, deleted on exit), and consumer groups
#                                 pasokh-<prefix>-<service>
#   PASOKH_RUN_SKIP_BUILD=1       no cargo build: the binaries are there already
#   PASOKH_RUN_INTAKE_TOML (TOML appended to intake's settings, e.g. the benchmark's limits),
#   PASOKH_STATE_DIR (the stack's state), PASOKH_RUN_DIR (logs and settings; default PASOKH_STATE_DIR), PASOKH_PROFILE, CARGO_TARGET_DIR, and the stack's
#   PASOKH_PG_PORT, PASOKH_KAFKA_PORT, PASOKH_KEYCLOAK_PORT
#
# The services run with `environment = "development"` and only the development
# credentials a local demo needs (the Open311 partner `dev`, the public
# citizen_ref key) turned on, explicitly, in .local/run/*.toml; every staff and
# service token comes from the local Keycloak realm.
set -euo pipefail

usage() { echo "usage: $0 [--then CMD [ARGS...]]" >&2; exit 2; }
THEN=()
if [ $# -gt 0 ]; then
  if [ "$1" != --then ] || [ $# -lt 2 ]; then usage; fi
  shift
  THEN=("$@")
fi
then_mode() { [ ${#THEN[@]} -gt 0 ]; }

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
STATE="${PASOKH_STATE_DIR:-$ROOT/.local}"
# the services' logs and settings; the browser tests keep theirs apart from `make run`'s
RUN_DIR="${PASOKH_RUN_DIR:-$STATE}"
LOGS="$RUN_DIR/logs"
CONFIG="$RUN_DIR/run"
BIN="${CARGO_TARGET_DIR:-$ROOT/target}/${PASOKH_PROFILE:-debug}"
PG_PORT="${PASOKH_PG_PORT:-55432}"
KAFKA_PORT="${PASOKH_KAFKA_PORT:-19092}"
KEYCLOAK_PORT="${PASOKH_KEYCLOAK_PORT:-18180}"
ISSUER="http://127.0.0.1:$KEYCLOAK_PORT/realms/pasokh"
DEMO_PASSWORD=pasokh-demo
PORT_BASE="${PASOKH_RUN_PORT_BASE:-8080}"
DB_PREFIX="${PASOKH_RUN_DB_PREFIX:-pasokh_}"
TOPIC_PREFIX="${PASOKH_RUN_TOPIC_PREFIX:-}"

say() { printf '[run] %s\n' "$*" >&2; }
die() { printf '[run] error: %s\n' "$*" >&2; exit 1; }

if ! [[ $PORT_BASE =~ ^[1-9][0-9]*$ ]] || [ "$PORT_BASE" -lt 1024 ] || [ "$PORT_BASE" -gt 64000 ]; then
  die "PASOKH_RUN_PORT_BASE must be a number from 1024 to 64000 (got '$PORT_BASE')"
fi
# unquoted in SQL, so lower case; at most 63 bytes with the longest name (notification)
[[ $DB_PREFIX =~ ^[a-z_][a-z0-9_]{0,50}$ ]] \
  || die "PASOKH_RUN_DB_PREFIX must be lower-case letters, digits and '_', starting with a letter or '_' (got '$DB_PREFIX')"
[ -z "$TOPIC_PREFIX" ] || [[ $TOPIC_PREFIX =~ ^[A-Za-z0-9_-]{1,100}$ ]] \
  || die "PASOKH_RUN_TOPIC_PREFIX must be letters, digits, '-' and '_' (got '$TOPIC_PREFIX')"

# every port from the base: HTTP base+n, gRPC base+1000+n, internal gRPC base+1100+n
HTTP_INTAKE_IR23=$((PORT_BASE + 1)) GRPC_INTAKE_IR23=$((PORT_BASE + 1001)) INTERNAL_INTAKE_IR23=$((PORT_BASE + 1101))
HTTP_INTAKE_IR25=$((PORT_BASE + 2)) GRPC_INTAKE_IR25=$((PORT_BASE + 1002)) INTERNAL_INTAKE_IR25=$((PORT_BASE + 1102))
HTTP_ROUTING=$((PORT_BASE + 3)) GRPC_ROUTING=$((PORT_BASE + 1003)) INTERNAL_ROUTING=$((PORT_BASE + 1103))
HTTP_NOTIFICATION=$((PORT_BASE + 4)) GRPC_NOTIFICATION=$((PORT_BASE + 1004))
HTTP_REPORTING=$((PORT_BASE + 5)) GRPC_REPORTING=$((PORT_BASE + 1005))
HTTP_WEB_PUBLIC=$((PORT_BASE + 6)) HTTP_WEB_STAFF=$((PORT_BASE + 7))
HTTP_SMS=$((PORT_BASE + 9))
local_url() { echo "http://127.0.0.1:$1"; }
INTAKE_IR23_URL=$(local_url "$HTTP_INTAKE_IR23")
INTAKE_IR25_URL=$(local_url "$HTTP_INTAKE_IR25")
ROUTING_URL=$(local_url "$HTTP_ROUTING")
REPORTING_URL=$(local_url "$HTTP_REPORTING")
WEB_PUBLIC_URL=$(local_url "$HTTP_WEB_PUBLIC")
WEB_STAFF_URL=$(local_url "$HTTP_WEB_STAFF")
SMS_URL=$(local_url "$HTTP_SMS")
SERVICES=(intake routing notification reporting web)

mkdir -p "$LOGS" "$CONFIG"

# What to undo on exit, armed step by step. The stack is only ever stopped
# once the services were started (a failed build or migration leaves it up),
# and never in --then mode: the caller manages the stack.
PIDS=()
declare -A PID_OF=()
THEN_PID=""
DELETE_TOPICS=0
STOP_STACK=0
stack_was_up=0

# TERM, up to 30 s to finish, then KILL: stopping never hangs on a stuck process
# shellcheck disable=SC2317  # (run from the EXIT trap, as is cleanup)
stop_pids() {
  local pid alive
  for pid in "$@"; do kill -TERM "$pid" 2>/dev/null || true; done
  for _ in $(seq 1 60); do
    alive=0
    for pid in "$@"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [ "$alive" = 1 ] || break
    sleep 0.5
  done
  for pid in "$@"; do kill -KILL "$pid" 2>/dev/null || true; done
  for pid in "$@"; do wait "$pid" 2>/dev/null || true; done
}

# shellcheck disable=SC2317
cleanup() {
  local rc=$?
  trap - INT TERM EXIT
  set +e
  if [ -n "$THEN_PID" ]; then say "stopping ${THEN[0]}"; stop_pids "$THEN_PID"; fi
  if [ "$STOP_STACK" = 1 ] || [ ${#PIDS[@]} -gt 0 ]; then say "stopping services"; fi
  [ ${#PIDS[@]} = 0 ] || stop_pids "${PIDS[@]}"
  if [ "$DELETE_TOPICS" = 1 ]; then
    scripts/stack.sh delete-topics "$TOPIC_PREFIX" || say "could not delete the topics pasokh.$TOPIC_PREFIX.*"
  fi
  if [ "$STOP_STACK" = 1 ]; then
    if [ "$stack_was_up" = 0 ]; then scripts/stack.sh down; else say "the stack was already up before; leaving it running"; fi
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

stack_status=$(scripts/stack.sh status)
if grep -q '^postgres  up' <<<"$stack_status" && grep -q '^kafka     up' <<<"$stack_status" \
  && grep -q '^keycloak  up' <<<"$stack_status"; then
  stack_was_up=1
fi
scripts/stack.sh up

if [ "${PASOKH_RUN_SKIP_BUILD:-0}" = 1 ]; then
  say "not building the services (PASOKH_RUN_SKIP_BUILD=1)"
else
  say "building the services"
  scripts/build-deps.sh
  if [ "${PASOKH_PROFILE:-debug}" = release ]; then cargo build --release --workspace --bins; else cargo build --workspace --bins; fi
fi
for bin in "${SERVICES[@]/#/pasokh-}" pasokhctl; do
  [ -x "$BIN/$bin" ] || die "$BIN/$bin is missing (build the workspace first)"
done

db_url() { echo "postgres://pasokh:pasokh@127.0.0.1:$PG_PORT/$DB_PREFIX$1"; }
export PASOKH__TELEMETRY__LOG_FORMAT="${PASOKH__TELEMETRY__LOG_FORMAT:-json}"

# a run of its own (tests): empty databases every time
if [ "$DB_PREFIX" != pasokh_ ]; then
  for service in "${SERVICES[@]}"; do
    psql -h 127.0.0.1 -p "$PG_PORT" -U postgres -v ON_ERROR_STOP=1 -qAt -d postgres \
      -c "SET client_min_messages = warning" \
      -c "DROP DATABASE IF EXISTS $DB_PREFIX$service WITH (FORCE)" \
      -c "CREATE DATABASE $DB_PREFIX$service OWNER pasokh"
  done
  say "created empty databases $DB_PREFIX{$(IFS=,; echo "${SERVICES[*]}")}"
fi

# Kafka settings of one service, as env(1) arguments in KAFKA_ENV: the broker
# and, in a run of its own, its own topics and consumer group. (Not for web,
# which has no Kafka settings and refuses unknown ones.)
if [ -n "$TOPIC_PREFIX" ]; then
  LIFECYCLE_TOPIC="pasokh.$TOPIC_PREFIX.petition.lifecycle.v1"
  DELIVERY_TOPIC="pasokh.$TOPIC_PREFIX.notification.delivery.v1"
  DESK_TOPIC="pasokh.$TOPIC_PREFIX.desk.activity.v1"
  DELETE_TOPICS=1
  # with their `.dlq` companions, which is where the services dead-letter
  scripts/stack.sh topics "$TOPIC_PREFIX"
fi
KAFKA_ENV=()
kafka_env() {
  KAFKA_ENV=(PASOKH__KAFKA__BOOTSTRAP_SERVERS="127.0.0.1:$KAFKA_PORT")
  if [ -n "$TOPIC_PREFIX" ]; then
    KAFKA_ENV+=(PASOKH__KAFKA__LIFECYCLE_TOPIC="$LIFECYCLE_TOPIC" PASOKH__KAFKA__DELIVERY_TOPIC="$DELIVERY_TOPIC"
      PASOKH__KAFKA__DESK_TOPIC="$DESK_TOPIC"
      PASOKH__KAFKA__CONSUMER_GROUP="pasokh-$TOPIC_PREFIX-$1")
  fi
}

# Settings of the local demo, one file per service. `auth` names the local realm
# and the service's own client there (its secret is valid only in that realm).
auth_table() {
  printf '[auth]\nissuer = "%s"\n[auth.client]\nid = "pasokh-%s"\nsecret = "dev-secret-pasokh-%s"\n' "$ISSUER" "$1" "$1"
}
# (intake's ports are set per province when it starts)
cat >"$CONFIG/intake.toml" <<EOF
environment = "development"
# the public development citizen_ref key and Open311 partner (api_key dev-open311-key): local only
dev_citizen_ref_key = true
routing_grpc_url = "http://127.0.0.1:$INTERNAL_ROUTING"
[open311]
allow_dev_key = true
[partners]
clients = ["partner-call-centre"]
$(auth_table intake)
${PASOKH_RUN_INTAKE_TOML:-}
EOF
cat >"$CONFIG/routing.toml" <<EOF
environment = "development"
intake_grpc_url = "http://127.0.0.1:$INTERNAL_INTAKE_IR23"
[listen]
http_port = $HTTP_ROUTING
grpc_port = $GRPC_ROUTING
grpc_reflection = true
internal_grpc_port = $INTERNAL_ROUTING
$(auth_table routing)
EOF
cat >"$CONFIG/notification.toml" <<EOF
environment = "development"
intake_grpc_url = "http://127.0.0.1:$INTERNAL_INTAKE_IR23"
routing_grpc_url = "http://127.0.0.1:$INTERNAL_ROUTING"
[listen]
http_port = $HTTP_NOTIFICATION
grpc_port = $GRPC_NOTIFICATION
grpc_reflection = true
[sms]
gateway_url = "$SMS_URL/send"
$(auth_table notification)
EOF
cat >"$CONFIG/reporting.toml" <<EOF
environment = "development"
[listen]
http_port = $HTTP_REPORTING
grpc_port = $GRPC_REPORTING
grpc_reflection = true
$(auth_table reporting)
EOF
cat >"$CONFIG/web.toml" <<EOF
environment = "development"
notification_url = "$(local_url "$HTTP_NOTIFICATION")"
routing_url = "$(local_url "$GRPC_ROUTING")"
reporting_url = "$REPORTING_URL"
[listen]
public_port = $HTTP_WEB_PUBLIC
staff_port = $HTTP_WEB_STAFF
[intake]
urls = { "IR-23" = "$INTAKE_IR23_URL", "IR-25" = "$INTAKE_IR25_URL" }
[oidc]
issuer = "$ISSUER"
client_id = "pasokh-web"
client_secret = "dev-secret-pasokh-web"
staff_base_url = "$WEB_STAFF_URL"
EOF

for service in "${SERVICES[@]}"; do
  say "migrating $service"
  KAFKA_ENV=()
  [ "$service" = web ] || kafka_env "$service"
  env "${KAFKA_ENV[@]}" PASOKH__DATABASE__URL="$(db_url "$service")" "$BIN/pasokh-$service" migrate --config "$CONFIG/$service.toml" \
    >>"$LOGS/$service-migrate.log" 2>&1 || { tail -n 20 "$LOGS/$service-migrate.log" >&2; exit 1; }
done

start() {
  local name=$1; shift
  say "starting $name (log: $LOGS/$name.log)"
  "$@" >"$LOGS/$name.log" 2>&1 &
  PIDS+=("$!")
  PID_OF[$name]=$!
}

if ! then_mode; then STOP_STACK=1; fi

start sms-sink "$BIN/pasokh-sms-sink" --port "$HTTP_SMS" --log "$LOGS/sms.jsonl"
kafka_env routing
start routing env "${KAFKA_ENV[@]}" PASOKH__DATABASE__URL="$(db_url routing)" "$BIN/pasokh-routing" serve --config "$CONFIG/routing.toml"
kafka_env notification
start notification env "${KAFKA_ENV[@]}" PASOKH__DATABASE__URL="$(db_url notification)" \
  "$BIN/pasokh-notification" serve --config "$CONFIG/notification.toml"
kafka_env reporting
start reporting env "${KAFKA_ENV[@]}" PASOKH__DATABASE__URL="$(db_url reporting)" \
  "$BIN/pasokh-reporting" serve --config "$CONFIG/reporting.toml"
kafka_env intake
start intake-IR-23 env "${KAFKA_ENV[@]}" PASOKH__DATABASE__URL="$(db_url intake)" PASOKH__PROVINCE=IR-23 \
  PASOKH__LISTEN__HTTP_PORT="$HTTP_INTAKE_IR23" PASOKH__LISTEN__GRPC_PORT="$GRPC_INTAKE_IR23" \
  PASOKH__LISTEN__INTERNAL_GRPC_PORT="$INTERNAL_INTAKE_IR23" PASOKH__LISTEN__GRPC_REFLECTION=true \
  "$BIN/pasokh-intake" serve --config "$CONFIG/intake.toml"
start intake-IR-25 env "${KAFKA_ENV[@]}" PASOKH__DATABASE__URL="$(db_url intake)" PASOKH__PROVINCE=IR-25 \
  PASOKH__LISTEN__HTTP_PORT="$HTTP_INTAKE_IR25" PASOKH__LISTEN__GRPC_PORT="$GRPC_INTAKE_IR25" \
  PASOKH__LISTEN__INTERNAL_GRPC_PORT="$INTERNAL_INTAKE_IR25" PASOKH__LISTEN__GRPC_REFLECTION=true \
  "$BIN/pasokh-intake" serve --config "$CONFIG/intake.toml"
start web env PASOKH__DATABASE__URL="$(db_url web)" "$BIN/pasokh-web" serve --config "$CONFIG/web.toml"

# up to 30 s per endpoint; a process that has exited fails at once
wait_ready() {
  local name=$1 url=$2 pid=${PID_OF[$1]}
  for _ in $(seq 1 60); do
    curl -fsS "$url" >/dev/null 2>&1 && return 0
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.5
  done
  curl -fsS "$url" >/dev/null 2>&1 && return 0
  say "$name ($url) is not ready; see $LOGS"
  if then_mode; then
    say "the last 40 lines of $LOGS/$name.log:"
    tail -n 40 "$LOGS/$name.log" >&2
  fi
  exit 1
}
wait_ready sms-sink "$SMS_URL/healthz"
wait_ready intake-IR-23 "$INTAKE_IR23_URL/readyz"
wait_ready intake-IR-25 "$INTAKE_IR25_URL/readyz"
wait_ready routing "$ROUTING_URL/readyz"
wait_ready notification "$(local_url "$HTTP_NOTIFICATION")/readyz"
wait_ready reporting "$REPORTING_URL/readyz"
wait_ready web "$WEB_PUBLIC_URL/readyz"
wait_ready web "$WEB_STAFF_URL/readyz"

# demo data: a service-desk event in Tehran, open now (the Friday-prayer desk)
SUPERVISOR_TOKEN=$(PASOKH_PASSWORD=$DEMO_PASSWORD "$BIN/pasokhctl" login --issuer "$ISSUER" --user supervisor-tehran)
DESK_EVENT=$(curl -fsS -H "authorization: Bearer $SUPERVISOR_TOKEN" "$INTAKE_IR23_URL/v1/desk-events" \
  | python3 -c 'import json,sys; e=[x for x in json.load(sys.stdin)["events"] if "نماز جمعه" in x["title"]]; print(e[0]["id"] if e else "")')
if [ -z "$DESK_EVENT" ]; then
  DESK_EVENT=$(curl -fsS -X POST "$INTAKE_IR23_URL/v1/desk-events" -H "authorization: Bearer $SUPERVISOR_TOKEN" \
    -H 'content-type: application/json' \
    -d "{\"title\":\"میز خدمت نماز جمعه تهران\",\"venue\":\"مصلای امام خمینی (ره)\",\"starts_at\":\"$(date -u -d '-1 hour' +%FT%TZ)\",\"ends_at\":\"$(date -u -d '+8 hours' +%FT%TZ)\",\"organisations\":[\"sso\",\"cspf\",\"refah-bank\",\"labour-inspection\",\"welfare\"]}" \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
  say "created the demo desk event $DESK_EVENT"
fi
[ -n "$DESK_EVENT" ] || die "no demo desk event"

name_of() {
  local name
  for name in "${!PID_OF[@]}"; do [ "${PID_OF[$name]}" != "$1" ] || { echo "$name"; return; }; done
  echo "a service"
}

if then_mode; then
  export PASOKH_WEB_PUBLIC_URL="$WEB_PUBLIC_URL" PASOKH_WEB_STAFF_URL="$WEB_STAFF_URL"
  export PASOKH_INTAKE_URL_IR23="$INTAKE_IR23_URL" PASOKH_INTAKE_URL_IR25="$INTAKE_IR25_URL"
  export PASOKH_ROUTING_URL="$ROUTING_URL" PASOKH_SMS_URL="$SMS_URL" PASOKH_DESK_EVENT="$DESK_EVENT"
  export PASOKH_REPORTING_URL="$REPORTING_URL" PASOKH_BIN_DIR="$BIN"
  export PASOKH_KAFKA_BROKERS="127.0.0.1:$KAFKA_PORT" PASOKH_LIFECYCLE_TOPIC="${LIFECYCLE_TOPIC:-pasokh.petition.lifecycle.v1}"
  PASOKH_PG_URL_INTAKE=$(db_url intake)
  export PASOKH_ISSUER="$ISSUER" PASOKH_PG_URL_INTAKE
  say "everything is ready; running: ${THEN[*]}"
  # in the background, so a service that dies is noticed (and a signal to this
  # script is handled) while CMD runs; its stdin stays this script's
  "${THEN[@]}" <&0 &
  THEN_PID=$!
  finished="" status=0
  wait -n -p finished "$THEN_PID" "${PIDS[@]}" || status=$?
  if [ "$finished" = "$THEN_PID" ]; then
    THEN_PID=""
    say "${THEN[0]} exited with status $status"
    exit "$status"
  fi
  name=$(name_of "$finished")
  say "$name exited (status $status) while ${THEN[0]} was running; stopping ${THEN[0]} and the rest"
  [ ! -f "$LOGS/$name.log" ] || tail -n 40 "$LOGS/$name.log" >&2
  exit 1
fi

cat <<BANNER

  Pasokh is running.

    citizen site            $WEB_PUBLIC_URL/
    desk console            $WEB_STAFF_URL/desk
                            sign in as operator-tehran / $DEMO_PASSWORD, then pick the Friday-prayer desk

    intake  Tehran (IR-23)  $INTAKE_IR23_URL   gRPC 127.0.0.1:$GRPC_INTAKE_IR23   internal gRPC 127.0.0.1:$INTERNAL_INTAKE_IR23
    intake  Qom    (IR-25)  $INTAKE_IR25_URL   gRPC 127.0.0.1:$GRPC_INTAKE_IR25   internal gRPC 127.0.0.1:$INTERNAL_INTAKE_IR25
    routing                 $ROUTING_URL   gRPC 127.0.0.1:$GRPC_ROUTING   internal gRPC 127.0.0.1:$INTERNAL_ROUTING
    notification            $(local_url "$HTTP_NOTIFICATION")
    reporting               $REPORTING_URL   gRPC 127.0.0.1:$GRPC_REPORTING
      indicators (token)    $REPORTING_URL/v1/indicators?period=day   (docs/indicators.md)
    web (citizen, desk)     $WEB_PUBLIC_URL   $WEB_STAFF_URL
    SMS gateway sink        $SMS_URL/messages
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
    manager-sso           the Social Security Organization's manager at HQ (reads its reports nationally)
  Sign in for a token:  PASOKH_PASSWORD=$DEMO_PASSWORD $BIN/pasokhctl login --issuer $ISSUER --user officer-sso-tehran
  (or --device to confirm a code in the browser instead)

  File a petition in Tehran:

    curl -s -X POST $INTAKE_IR23_URL/v1/petitions -H 'content-type: application/json' \\
      -d '{"national_id":"0499370899","mobile":"09121234567","category":"pension-payment","kind":"complaint","channel":"web","text":"مستمری این ماه من واریز نشده است"}'

  Then: curl -s $SMS_URL/messages   and, as HQ inspection,
    TOKEN=\$(PASOKH_PASSWORD=$DEMO_PASSWORD $BIN/pasokhctl login --issuer $ISSUER --user inspector-hq)
    curl -s -H "Authorization: Bearer \$TOKEN" '$REPORTING_URL/v1/indicators?period=day' 

  At the Tehran Friday-prayer desk (event $DESK_EVENT), as an operator, resolved on the spot:

    TOKEN=\$(PASOKH_PASSWORD=$DEMO_PASSWORD $BIN/pasokhctl login --issuer $ISSUER --user operator-tehran)
    curl -s -X POST $INTAKE_IR23_URL/v1/desk-events/$DESK_EVENT/petitions -H "authorization: Bearer \$TOKEN" \\
      -H 'content-type: application/json' -d '{"national_id":"0084575948","mobile":"09351234567","category":"civil-pension","text":"حکم بازنشستگی من صادر نشده","resolved_on_spot":{"answer":"حکم همان‌جا صادر شد"}}'

  An officer's queue over gRPC (grpcurl, with reflection):

    TOKEN=\$(PASOKH_PASSWORD=$DEMO_PASSWORD $BIN/pasokhctl login --issuer $ISSUER --user officer-sso-tehran)
    grpcurl -plaintext -H "authorization: Bearer \$TOKEN" 127.0.0.1:$GRPC_ROUTING pasokh.routing.v1.CaseService/ListQueue

  Ctrl-C stops everything this command started.
BANNER

wait -n "${PIDS[@]}" || true
say "a service exited unexpectedly; stopping the rest (see $LOGS)"
exit 1
