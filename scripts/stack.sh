#!/usr/bin/env bash
# The local stack: a project-owned PostgreSQL cluster, a single-node Apache
# Kafka broker (KRaft) and a Keycloak (the OpenID Connect provider, realm
# `pasokh` imported from stack/keycloak/pasokh-realm.json), installed from
# Debian / Maven Central when missing.
#
#   scripts/stack.sh up       install what is missing, start all three, create databases and topics
#   scripts/stack.sh down     stop all three (state stays under .local/)
#   scripts/stack.sh status   say what runs where
#   scripts/stack.sh reset    down, then delete all local state
#   scripts/stack.sh kafka-up|kafka-down|keycloak-up|keycloak-down   one piece only
#   scripts/stack.sh pg-restart             restart PostgreSQL (fast shutdown: open connections break)
#   scripts/stack.sh pg-pause SECONDS       freeze PostgreSQL (SIGSTOP to the server and every backend), then thaw it
#   scripts/stack.sh topics PREFIX          create a private copy of the topics, pasokh.PREFIX.… (one test run's)
#   scripts/stack.sh delete-topics PREFIX   delete those again
#
# Idempotent: `up` on a running stack only checks it. Ports come from the
# environment (PASOKH_PG_PORT, PASOKH_KAFKA_PORT, PASOKH_KEYCLOAK_PORT) so two
# checkouts can coexist.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STATE="${PASOKH_STATE_DIR:-$ROOT/.local}"
PG_PORT="${PASOKH_PG_PORT:-55432}"
KAFKA_PORT="${PASOKH_KAFKA_PORT:-19092}"
KAFKA_CONTROLLER_PORT="${PASOKH_KAFKA_CONTROLLER_PORT:-19093}"
# Keycloak's HTTP port; its management port (health, metrics) is the next one
KEYCLOAK_PORT="${PASOKH_KEYCLOAK_PORT:-18180}"
KEYCLOAK_MANAGEMENT_PORT=$((KEYCLOAK_PORT + 1))
# initdb and the server run as the postgres user when we are root; it must be
# able to reach the cluster's folder. A fresh clone under a private folder
# (mktemp -d is 0700) is not reachable, so the cluster then lives beside
# PostgreSQL's own data, keyed by this checkout's path.
pg_base() {
  if [ -n "${PASOKH_PG_DIR:-}" ]; then echo "$PASOKH_PG_DIR"; return; fi
  local beside
  beside="/var/lib/postgresql/pasokh-$(printf '%s' "$ROOT" | sha1sum | cut -c1-10)"
  # a cluster that exists wins: the choice below depends on whether $STATE
  # existed yet, and a first `up` makes it only after the cluster
  if [ -f "$STATE/pg/data/PG_VERSION" ]; then echo "$STATE/pg"; return; fi
  if [ -f "$beside/data/PG_VERSION" ]; then echo "$beside"; return; fi
  mkdir -p "$STATE"
  if [ "$(id -u)" != 0 ] || runuser -u postgres -- test -x "$STATE" 2>/dev/null || ! id postgres >/dev/null 2>&1; then
    echo "$STATE/pg"
  else
    echo "$beside"
  fi
}
KAFKA_LIBS="$STATE/kafka-libs"
KAFKA_DIR="$STATE/kafka"
KEYCLOAK_VERSION=26.5.6
# the distribution (165 MB) is shared by all checkouts; each checkout unpacks
# its own copy, because Keycloak writes its build and its database into its home
KEYCLOAK_CACHE="${PASOKH_CACHE_DIR:-$HOME/.cache/pasokh}/keycloak"
KEYCLOAK_ZIP="$KEYCLOAK_CACHE/keycloak-quarkus-dist-$KEYCLOAK_VERSION.zip"
KEYCLOAK_DIR="$STATE/keycloak"
KEYCLOAK_HOME="$KEYCLOAK_DIR/keycloak-$KEYCLOAK_VERSION"
KEYCLOAK_REALM_FILE="$ROOT/stack/keycloak/pasokh-realm.json"
KEYCLOAK_URL="http://127.0.0.1:$KEYCLOAK_PORT"
KEYCLOAK_ISSUER="$KEYCLOAK_URL/realms/pasokh"
DATABASES=(pasokh_intake pasokh_routing pasokh_notification pasokh_reporting pasokh_web)
# name:partitions — the lifecycle topic is keyed by petition id, so its
# partition count bounds consumer parallelism; 12 leaves room to scale
TOPICS=(
  "pasokh.petition.lifecycle.v1:12"
  "pasokh.petition.lifecycle.v1.dlq:3"
  "pasokh.notification.delivery.v1:6"
  "pasokh.notification.delivery.v1.dlq:3"
  "pasokh.desk.activity.v1:3"
  "pasokh.desk.activity.v1.dlq:1"
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
    # The write path's settings (docs/operations.md, "PostgreSQL for intake"): with the default 1 GB
    # of WAL a saturated intake forced a checkpoint about once a minute, and the full-page images
    # written after each one were the open loop's worst seconds. Given as options, not in
    # postgresql.conf, so a cluster created before them gets them at its next start.
    local opts="-p $PG_PORT -c max_wal_size=4GB -c wal_compression=lz4"
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

# Every cluster this checkout may have started: where it lives now, and the other place
# `pg_base` can choose (a cluster first made beside /var/lib/postgresql and later under
# .local/, or the other way round, must not be left running).
pg_candidate_dirs() {
  printf '%s\n' "$PG_DATA" "$STATE/pg/data" "/var/lib/postgresql/pasokh-$(printf '%s' "$ROOT" | sha1sum | cut -c1-10)/data" | awk '!seen[$0]++'
}

postgres_down() {
  [ -n "$(pg_bin)" ] || return 0
  local dir
  while read -r dir; do
    if [ -f "$dir/PG_VERSION" ] && as_pg_owner "$(pg_bin)/pg_ctl" -D "$dir" status >/dev/null 2>&1; then
      say "stopping PostgreSQL ($dir)"
      as_pg_owner "$(pg_bin)/pg_ctl" -D "$dir" -m fast -w stop >/dev/null
    fi
  done < <(pg_candidate_dirs)
}

postgres_restart() {
  pg_running || die "PostgreSQL is not running"
  say "restarting PostgreSQL (fast: open connections are cut)"
  # pg_ctl restart keeps the options the server was started with (postmaster.opts)
  as_pg_owner "$(pg_bin)/pg_ctl" -D "$PG_DATA" -m fast -w -t 60 restart -l "$PG_BASE/server.log" >/dev/null \
    || { tail -n 30 "$PG_BASE/server.log" >&2; die "PostgreSQL did not come back"; }
}

# The server and all its backends stop answering, as a VM paused by its host would: connections
# stay open, queries hang, nothing errors until it thaws.
postgres_pause() {
  local seconds="$1" postmaster pids
  pg_running || die "PostgreSQL is not running"
  postmaster=$(head -n 1 "$PG_DATA/postmaster.pid")
  pids="$postmaster $(pgrep -P "$postmaster" | tr '\n' ' ')"
  say "pausing PostgreSQL for ${seconds}s (pids $pids)"
  # shellcheck disable=SC2086
  kill -STOP $pids
  sleep "$seconds"
  # shellcheck disable=SC2086
  kill -CONT $pids
  say "PostgreSQL thawed"
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
  kafka_topics "${TOPICS[@]}"
}

# creates each name:partitions given that does not exist yet
kafka_topics() {
  local existing entry name parts
  existing=$(kafka_java org.apache.kafka.tools.TopicCommand --bootstrap-server "127.0.0.1:$KAFKA_PORT" --list 2>/dev/null)
  for entry in "$@"; do
    name=${entry%%:*}; parts=${entry##*:}
    if ! grep -qxF "$name" <<<"$existing"; then
      kafka_java org.apache.kafka.tools.TopicCommand --bootstrap-server "127.0.0.1:$KAFKA_PORT" \
        --create --if-not-exists --topic "$name" --partitions "$parts" --replication-factor 1 >/dev/null
      say "created topic $name ($parts partitions)"
    fi
  done
}

# The topics of one automated run (scripts/run.sh with PASOKH_RUN_TOPIC_PREFIX):
# TOPICS with PREFIX after `pasokh.`, each with the same partitions. The
# services' dead-letter topic is always `<topic>.dlq`, so the DLQs are these too.
check_topic_prefix() {
  [[ ${1:-} =~ ^[A-Za-z0-9_-]{1,100}$ ]] || die "a topic prefix is 1-100 letters, digits, '-' or '_' (got '${1:-}')"
}
prefixed_topics() {
  local entry
  for entry in "${TOPICS[@]}"; do echo "pasokh.$1.${entry#pasokh.}"; done
}

kafka_delete_topics() {
  local existing entry name
  existing=$(kafka_java org.apache.kafka.tools.TopicCommand --bootstrap-server "127.0.0.1:$KAFKA_PORT" --list 2>/dev/null)
  for entry in "$@"; do
    name=${entry%%:*}
    if grep -qxF "$name" <<<"$existing"; then
      # --topic is a regular expression here: the dots are escaped so it matches this one topic only
      kafka_java org.apache.kafka.tools.TopicCommand --bootstrap-server "127.0.0.1:$KAFKA_PORT" \
        --delete --if-exists --topic "${name//./\\.}" >/dev/null
      say "deleted topic $name"
    fi
  done
}

# topics / delete-topics PREFIX: against this checkout's running broker
run_topics() {
  local action=$1 prefix=${2:-} list
  check_topic_prefix "$prefix"
  kafka_running || die "Kafka is not running on 127.0.0.1:$KAFKA_PORT (scripts/stack.sh up first)"
  mapfile -t list < <(prefixed_topics "$prefix")
  if [ "$action" = create ]; then kafka_topics "${list[@]}"; else kafka_delete_topics "${list[@]}"; fi
}

# SIGTERM, up to a minute to exit, then SIGKILL for it and any child it left (kc.sh's java)
stop_process() {
  local name=$1 pid=$2
  say "stopping $name (pid $pid)"
  kill "$pid"
  for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 1; done
  if kill -0 "$pid" 2>/dev/null; then
    pkill -9 -P "$pid" 2>/dev/null || true
    kill -9 "$pid" 2>/dev/null || true
  fi
}

kafka_down() {
  if kafka_running; then
    stop_process Kafka "$(kafka_pid)"
  fi
  rm -f "$KAFKA_DIR/kafka.pid"
}

keycloak_fetch() {
  [ -f "$KEYCLOAK_ZIP" ] && return
  ensure_java_and_maven
  say "fetching Keycloak $KEYCLOAK_VERSION from Maven Central into $KEYCLOAK_CACHE"
  # into a scratch folder first, so an interrupted copy never passes for the zip
  local tmp="$KEYCLOAK_CACHE/.fetch.$$"
  rm -rf "$tmp"; mkdir -p "$tmp"
  mvn -B -q org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy \
    -Dartifact="org.keycloak:keycloak-quarkus-dist:$KEYCLOAK_VERSION:zip" -DoutputDirectory="$tmp" \
    || { rm -rf "$tmp"; die "maven could not fetch the Keycloak distribution"; }
  mv "$tmp/keycloak-quarkus-dist-$KEYCLOAK_VERSION.zip" "$KEYCLOAK_ZIP"
  rm -rf "$tmp"
}

keycloak_install() {
  local stamp="$KEYCLOAK_HOME/.pasokh-unpacked"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$KEYCLOAK_VERSION" ]; then return; fi
  keycloak_fetch
  say "unpacking Keycloak $KEYCLOAK_VERSION into $KEYCLOAK_HOME"
  # another version's home (and its database) goes: the realm is imported afresh
  rm -rf "$KEYCLOAK_DIR"/keycloak-* "$KEYCLOAK_DIR/.unpack" "$KEYCLOAK_DIR/realm.sha256"
  mkdir -p "$KEYCLOAK_DIR/.unpack"
  unzip -q "$KEYCLOAK_ZIP" -d "$KEYCLOAK_DIR/.unpack" \
    || { rm -rf "$KEYCLOAK_DIR/.unpack"; die "could not unpack $KEYCLOAK_ZIP (delete it to fetch it again)"; }
  mv "$KEYCLOAK_DIR/.unpack/keycloak-$KEYCLOAK_VERSION" "$KEYCLOAK_HOME"
  rmdir "$KEYCLOAK_DIR/.unpack"
  echo "$KEYCLOAK_VERSION" >"$stamp"
}

keycloak_pid() { [ -f "$KEYCLOAK_DIR/keycloak.pid" ] && cat "$KEYCLOAK_DIR/keycloak.pid"; }
# the pid must still be this checkout's Keycloak (kc.sh, or the java it execs), not a reused pid
keycloak_running() {
  local pid; pid=$(keycloak_pid) && [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null \
    && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF "$KEYCLOAK_HOME/bin"
}
keycloak_ready() { curl -fsS -o /dev/null --max-time 5 "$KEYCLOAK_ISSUER/.well-known/openid-configuration" 2>/dev/null; }
port_taken() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
realm_sha() { sha256sum "$KEYCLOAK_REALM_FILE" | cut -d' ' -f1; }

keycloak_wait() {
  local waited=0
  until keycloak_ready; do
    keycloak_running || { tail -n 60 "$KEYCLOAK_DIR/keycloak.log" >&2; die "Keycloak exited during start"; }
    sleep 1; waited=$((waited + 1))
    if [ $waited -ge 180 ]; then
      tail -n 60 "$KEYCLOAK_DIR/keycloak.log" >&2
      die "Keycloak not ready after 180 s (see $KEYCLOAK_DIR/keycloak.log)"
    fi
    [ $((waited % 10)) = 0 ] && say "waiting for Keycloak ($waited s)"
  done
  echo $waited
}

keycloak_up() {
  [ "$KEYCLOAK_MANAGEMENT_PORT" -lt 32768 ] || die "PASOKH_KEYCLOAK_PORT must stay below 32767 (ephemeral ports start at 32768)"
  [ -f "$KEYCLOAK_REALM_FILE" ] || die "missing $KEYCLOAK_REALM_FILE"
  local asked; asked="port $KEYCLOAK_PORT realm $(realm_sha)"
  if keycloak_running; then
    if [ "$(cat "$KEYCLOAK_DIR/started-with" 2>/dev/null)" = "$asked" ]; then
      keycloak_wait >/dev/null
      say "Keycloak already running on $KEYCLOAK_URL"
      return
    fi
    say "Keycloak runs on another port or with an older realm file: restarting it"
    keycloak_down
  fi
  local port
  for port in "$KEYCLOAK_PORT" "$KEYCLOAK_MANAGEMENT_PORT"; do
    port_taken "$port" && die "port $port is taken by another program (another checkout's stack? set PASOKH_KEYCLOAK_PORT)"
  done
  keycloak_install
  ensure_java_and_maven
  # --import-realm skips a realm that exists: a changed realm file needs an empty database
  if [ "$(cat "$KEYCLOAK_DIR/realm.sha256" 2>/dev/null)" != "$(realm_sha)" ] && [ -d "$KEYCLOAK_HOME/data/h2" ]; then
    say "the realm file changed since the last import: wiping Keycloak's database"
    rm -rf "$KEYCLOAK_HOME/data/h2"
  fi
  mkdir -p "$KEYCLOAK_HOME/data/import"
  cp "$KEYCLOAK_REALM_FILE" "$KEYCLOAK_HOME/data/import/pasokh-realm.json"
  say "starting Keycloak on $KEYCLOAK_URL (management on port $KEYCLOAK_MANAGEMENT_PORT)"
  # the admin user (admin/admin, master realm) is only created on the first
  # start; --hostname pins the issuer whether clients call 127.0.0.1 or localhost
  KC_BOOTSTRAP_ADMIN_USERNAME=admin KC_BOOTSTRAP_ADMIN_PASSWORD=admin \
    JAVA_OPTS_KC_HEAP="-Xms256m -Xmx768m" \
    nohup "$KEYCLOAK_HOME/bin/kc.sh" start-dev \
      --http-host=127.0.0.1 --http-port="$KEYCLOAK_PORT" --http-management-port="$KEYCLOAK_MANAGEMENT_PORT" \
      --hostname="$KEYCLOAK_URL" --import-realm \
      >"$KEYCLOAK_DIR/keycloak.log" 2>&1 </dev/null &
  echo $! >"$KEYCLOAK_DIR/keycloak.pid"
  echo "$asked" >"$KEYCLOAK_DIR/started-with"
  local waited; waited=$(keycloak_wait)
  # ready means the import went through (a failed import stops the server)
  realm_sha >"$KEYCLOAK_DIR/realm.sha256"
  say "Keycloak ready after ${waited} s: issuer $KEYCLOAK_ISSUER"
}

keycloak_down() {
  if keycloak_running; then
    # kc.sh passes the signal on to its java process and waits for it
    stop_process Keycloak "$(keycloak_pid)"
  fi
  rm -f "$KEYCLOAK_DIR/keycloak.pid" "$KEYCLOAK_DIR/started-with"
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
  if keycloak_running && keycloak_ready; then
    echo "keycloak  up    $KEYCLOAK_ISSUER (pid $(keycloak_pid))"
  elif keycloak_running; then
    echo "keycloak  starting $KEYCLOAK_ISSUER (pid $(keycloak_pid))"
  else
    echo "keycloak  down"
  fi
}

pg_paths

case "${1:-}" in
  up) postgres_up; kafka_up; keycloak_up; status ;;
  down) keycloak_down; kafka_down; postgres_down ;;
  kafka-up) kafka_up ;;
  kafka-down) kafka_down ;;
  pg-restart) postgres_restart ;;
  pg-pause) [ $# = 2 ] || die "usage: $0 pg-pause SECONDS"; postgres_pause "$2" ;;
  keycloak-up) keycloak_up ;;
  keycloak-down) keycloak_down ;;
  status) status ;;
  drop-test-dbs) drop_test_databases ;;
  topics) [ $# = 2 ] || die "usage: $0 topics PREFIX"; run_topics create "$2" ;;
  delete-topics) [ $# = 2 ] || die "usage: $0 delete-topics PREFIX"; run_topics delete "$2" ;;
  reset) keycloak_down; kafka_down; postgres_down; rm -rf "$PG_BASE" "$KAFKA_DIR" "$KEYCLOAK_DIR"; say "local state removed" ;;
  *) echo "usage: $0 up|down|status|reset|drop-test-dbs|kafka-up|kafka-down|keycloak-up|keycloak-down|pg-restart|pg-pause SECONDS|topics PREFIX|delete-topics PREFIX" >&2; exit 2 ;;
esac
