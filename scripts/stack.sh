#!/usr/bin/env bash
# The local stack: a project-owned PostgreSQL cluster and a single-node Apache
# Kafka broker (KRaft), installed from Debian / Maven Central when missing.
#
#   scripts/stack.sh up       install what is missing, start both, create databases and topics
#   scripts/stack.sh down     stop both (state stays under .local/)
#   scripts/stack.sh status   say what runs where
#   scripts/stack.sh reset    down, then delete all local state
#
# Idempotent: `up` on a running stack only checks it. Ports come from the
# environment (PASOKH_PG_PORT, PASOKH_KAFKA_PORT) so two checkouts can coexist.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STATE="${PASOKH_STATE_DIR:-$ROOT/.local}"
PG_PORT="${PASOKH_PG_PORT:-55432}"
KAFKA_PORT="${PASOKH_KAFKA_PORT:-19092}"
KAFKA_CONTROLLER_PORT="${PASOKH_KAFKA_CONTROLLER_PORT:-19093}"
# initdb and the server run as the postgres user when we are root; it must be
# able to reach the cluster's folder. A fresh clone under a private folder
# (mktemp -d is 0700) is not reachable, so the cluster then lives beside
# PostgreSQL's own data, keyed by this checkout's path.
pg_base() {
  if [ -n "${PASOKH_PG_DIR:-}" ]; then echo "$PASOKH_PG_DIR"; return; fi
  if [ "$(id -u)" != 0 ] || runuser -u postgres -- test -x "$STATE" 2>/dev/null || ! id postgres >/dev/null 2>&1; then
    echo "$STATE/pg"
  else
    echo "/var/lib/postgresql/pasokh-$(printf '%s' "$ROOT" | sha1sum | cut -c1-10)"
  fi
}
KAFKA_LIBS="$STATE/kafka-libs"
KAFKA_DIR="$STATE/kafka"
DATABASES=(pasokh_intake pasokh_routing pasokh_notification pasokh_reporting)
# name:partitions — the lifecycle topic is keyed by petition id, so its
# partition count bounds consumer parallelism; 12 leaves room to scale
TOPICS=(
  "pasokh.petition.lifecycle.v1:12"
  "pasokh.petition.lifecycle.v1.dlq:3"
  "pasokh.notification.delivery.v1:6"
  "pasokh.notification.delivery.v1.dlq:3"
)

say() { printf '[stack] %s\n' "$*" >&2; }
die() { printf '[stack] error: %s\n' "$*" >&2; exit 1; }

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else die "need root to run: $*"; fi
}

apt_install() {
  say "installing from Debian: $*"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

pg_bin() {
  local dir
  dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
  [ -n "$dir" ] && [ -x "$dir/initdb" ] && echo "$dir"
}

# initdb refuses to run as root: the cluster belongs to the postgres user then
as_pg_owner() {
  # from /, so the postgres user is never left in a folder it may not enter
  if [ "$(id -u)" = 0 ]; then (cd / && runuser -u postgres -- "$@"); else "$@"; fi
}

ensure_postgres_installed() {
  if [ -z "$(pg_bin)" ]; then apt_install postgresql postgresql-contrib; fi
  [ -n "$(pg_bin)" ] || die "postgresql is not installed and could not be installed"
  # pgbench and psql come with the server packages; the clients must be on PATH
  command -v psql >/dev/null || apt_install postgresql-client
}

PG_BASE=""
pg_paths() { PG_BASE=$(pg_base); PG_DATA="$PG_BASE/data"; PG_RUN="$PG_BASE/run"; }

pg_running() { [ -n "$(pg_bin)" ] && [ -f "$PG_DATA/PG_VERSION" ] && as_pg_owner "$(pg_bin)/pg_ctl" -D "$PG_DATA" status >/dev/null 2>&1; }

psql_admin() { psql -h 127.0.0.1 -p "$PG_PORT" -U postgres -v ON_ERROR_STOP=1 -qAt "$@"; }

postgres_up() {
  ensure_postgres_installed
  local bin; bin=$(pg_bin)
  pg_paths
  mkdir -p "$PG_BASE"
  if [ ! -f "$PG_DATA/PG_VERSION" ]; then
    say "creating PostgreSQL cluster in $PG_DATA"
    mkdir -p "$PG_DATA" "$PG_RUN"
    [ "$(id -u)" = 0 ] && chown -R postgres:postgres "$PG_BASE"
    as_pg_owner "$bin/initdb" -D "$PG_DATA" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
    cat >>"$PG_DATA/postgresql.conf" <<EOF
# pasokh local stack
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$PG_RUN'
max_connections = 300
shared_buffers = 256MB
wal_level = logical
log_min_duration_statement = 1000
EOF
  fi
  mkdir -p "$PG_RUN"; [ "$(id -u)" = 0 ] && chown postgres:postgres "$PG_RUN"
  if pg_running; then
    say "PostgreSQL already running on 127.0.0.1:$PG_PORT"
  else
    say "starting PostgreSQL on 127.0.0.1:$PG_PORT"
    # fsync stays on: the benchmark measures durable commits. Tests may turn it off via PASOKH_PG_FAST=1.
    local opts="-p $PG_PORT"
    [ "${PASOKH_PG_FAST:-0}" = 1 ] && opts="$opts -c fsync=off -c synchronous_commit=off"
    as_pg_owner "$bin/pg_ctl" -D "$PG_DATA" -l "$PG_BASE/server.log" -o "$opts" -w -t 60 start >/dev/null \
      || { tail -n 30 "$PG_BASE/server.log" >&2; die "PostgreSQL did not start"; }
  fi
  psql_admin -d postgres -c "DO \$\$ BEGIN
      IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'pasokh') THEN
        CREATE ROLE pasokh LOGIN CREATEDB PASSWORD 'pasokh';
      END IF; END \$\$;"
  local db
  for db in "${DATABASES[@]}"; do
    if [ -z "$(psql_admin -d postgres -c "SELECT 1 FROM pg_database WHERE datname = '$db'")" ]; then
      psql_admin -d postgres -c "CREATE DATABASE $db OWNER pasokh" && say "created database $db"
    fi
  done
}

postgres_down() {
  if pg_running; then
    say "stopping PostgreSQL"
    as_pg_owner "$(pg_bin)/pg_ctl" -D "$PG_DATA" -m fast -w stop >/dev/null
  fi
}

ensure_java_and_maven() {
  command -v java >/dev/null || apt_install openjdk-17-jre-headless
  command -v mvn >/dev/null || apt_install maven
}

kafka_fetch() {
  local stamp="$KAFKA_LIBS/.pom.sha256" want
  want=$(sha256sum "$ROOT/stack/kafka/pom.xml" | cut -d' ' -f1)
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then return; fi
  ensure_java_and_maven
  say "fetching Apache Kafka jars from Maven Central into $KAFKA_LIBS"
  rm -rf "$KAFKA_LIBS"; mkdir -p "$KAFKA_LIBS"
  (cd "$ROOT/stack/kafka" && mvn -B -q \
    org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy-dependencies \
    -DincludeScope=runtime -DoutputDirectory="$KAFKA_LIBS") || die "maven could not fetch the Kafka jars"
  echo "$want" >"$stamp"
}

kafka_pid() { [ -f "$KAFKA_DIR/kafka.pid" ] && cat "$KAFKA_DIR/kafka.pid"; }
kafka_running() { local pid; pid=$(kafka_pid) && [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; }
kafka_java() { java -cp "$KAFKA_LIBS/*" "$@"; }

kafka_configure() {
  mkdir -p "$KAFKA_DIR/data"
  cat >"$KAFKA_DIR/server.properties" <<EOF
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$KAFKA_CONTROLLER_PORT
listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT
controller.listener.names=CONTROLLER
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
log.dirs=$KAFKA_DIR/data
num.partitions=6
auto.create.topics.enable=false
offsets.topic.replication.factor=1
offsets.topic.num.partitions=6
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
default.replication.factor=1
min.insync.replicas=1
group.initial.rebalance.delay.ms=0
log.retention.hours=168
EOF
  cat >"$KAFKA_DIR/log4j2.properties" <<EOF
status = warn
appender.file.type = File
appender.file.name = file
appender.file.fileName = $KAFKA_DIR/server.log
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = info
rootLogger.appenderRef.file.ref = file
logger.kafka.name = kafka
logger.kafka.level = info
logger.apache.name = org.apache.kafka
logger.apache.level = warn
EOF
}

kafka_up() {
  kafka_fetch
  ensure_java_and_maven
  if kafka_running; then
    say "Kafka already running on 127.0.0.1:$KAFKA_PORT"
  else
    kafka_configure
    if [ ! -f "$KAFKA_DIR/data/meta.properties" ]; then
      say "formatting Kafka storage"
      local id; id=$(kafka_java kafka.tools.StorageTool random-uuid | tail -n 1)
      kafka_java kafka.tools.StorageTool format -t "$id" -c "$KAFKA_DIR/server.properties" --ignore-formatted >/dev/null
    fi
    say "starting Kafka on 127.0.0.1:$KAFKA_PORT"
    : >"$KAFKA_DIR/server.log"
    nohup java -Xms256m -Xmx512m -XX:+UseG1GC \
      -Dlog4j2.configurationFile="$KAFKA_DIR/log4j2.properties" \
      -cp "$KAFKA_LIBS/*" kafka.Kafka "$KAFKA_DIR/server.properties" \
      >"$KAFKA_DIR/stdout.log" 2>&1 &
    echo $! >"$KAFKA_DIR/kafka.pid"
    local waited=0
    until grep -q "Kafka Server started" "$KAFKA_DIR/server.log" 2>/dev/null; do
      kafka_running || { tail -n 40 "$KAFKA_DIR/stdout.log" "$KAFKA_DIR/server.log" >&2; die "Kafka exited during start"; }
      sleep 1; waited=$((waited + 1))
      [ $waited -lt 120 ] || die "Kafka not ready after 120 s (see $KAFKA_DIR/server.log)"
      [ $((waited % 10)) = 0 ] && say "waiting for Kafka ($waited s)"
    done
    say "Kafka ready after ${waited} s"
  fi
  kafka_topics
}

kafka_topics() {
  local existing entry name parts
  existing=$(kafka_java org.apache.kafka.tools.TopicCommand --bootstrap-server "127.0.0.1:$KAFKA_PORT" --list 2>/dev/null)
  for entry in "${TOPICS[@]}"; do
    name=${entry%%:*}; parts=${entry##*:}
    if ! grep -qx "$name" <<<"$existing"; then
      kafka_java org.apache.kafka.tools.TopicCommand --bootstrap-server "127.0.0.1:$KAFKA_PORT" \
        --create --if-not-exists --topic "$name" --partitions "$parts" --replication-factor 1 >/dev/null
      say "created topic $name ($parts partitions)"
    fi
  done
}

kafka_down() {
  if kafka_running; then
    local pid; pid=$(kafka_pid)
    say "stopping Kafka (pid $pid)"
    kill "$pid"
    for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 1; done
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid"
  fi
  rm -f "$KAFKA_DIR/kafka.pid"
}

# Tests create one database per test (pasokh_test_*); clear them before a run.
drop_test_databases() {
  pg_running || return 0
  local db count=0
  for db in $(psql_admin -d postgres -c "SELECT datname FROM pg_database WHERE datname LIKE 'pasokh\_test\_%'"); do
    psql_admin -d postgres -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" && count=$((count + 1))
  done
  [ "$count" = 0 ] || say "dropped $count test databases"
}

status() {
  if pg_running; then echo "postgres  up    127.0.0.1:$PG_PORT  (data $PG_DATA)"; else echo "postgres  down"; fi
  if kafka_running; then echo "kafka     up    127.0.0.1:$KAFKA_PORT (pid $(kafka_pid))"; else echo "kafka     down"; fi
}

pg_paths

case "${1:-}" in
  up) postgres_up; kafka_up; status ;;
  down) kafka_down; postgres_down ;;
  kafka-up) kafka_up ;;
  kafka-down) kafka_down ;;
  status) status ;;
  drop-test-dbs) drop_test_databases ;;
  reset) kafka_down; postgres_down; rm -rf "$PG_BASE" "$KAFKA_DIR"; say "local state removed" ;;
  *) echo "usage: $0 up|down|status|reset|drop-test-dbs|kafka-up|kafka-down" >&2; exit 2 ;;
esac
