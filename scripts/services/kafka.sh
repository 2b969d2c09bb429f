#!/usr/bin/env bash
# A real single-node Kafka broker (KRaft, combined broker+controller) for the services tier and local runs.
#   scripts/services/kafka.sh start|stop|status|restart|install
# Jars come from Maven Central (scripts/services/kafka/pom.xml) and are cached in $VOCHUB_CACHE (default
# ~/.cache/vochub) between runs; the broker's data and log live in $VOCHUB_SERVICES_DIR/kafka (default
# <repo>/.vochub-services/kafka) and are removed by `stop`. Every verb is idempotent.
# Environment: KAFKA_PORT (9092), KAFKA_CONTROLLER_PORT (9093), KAFKA_HEAP (512m), KAFKA_START_TIMEOUT (120 s).
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
KAFKA_VERSION=4.3.1
CACHE="${VOCHUB_CACHE:-$HOME/.cache/vochub}/kafka-$KAFKA_VERSION"
LIBS="$CACHE/libs"
RUN="${VOCHUB_SERVICES_DIR:-$ROOT/.vochub-services}/kafka"
PORT="${KAFKA_PORT:-9092}"
CPORT="${KAFKA_CONTROLLER_PORT:-9093}"
HEAP="${KAFKA_HEAP:-512m}"
TIMEOUT="${KAFKA_START_TIMEOUT:-120}"
PIDFILE="$RUN/kafka.pid"
LOG="$RUN/server.log"

say() { echo "[kafka] $*" >&2; }

install_jars() {
  if [ -f "$LIBS/.complete" ]; then return 0; fi
  say "下载 Kafka $KAFKA_VERSION 的 jar 包 / fetching Kafka $KAFKA_VERSION jars from Maven Central into $LIBS"
  mkdir -p "$LIBS"
  mvn -q -B -f "$ROOT/scripts/services/kafka/pom.xml" dependency:copy-dependencies \
    -DoutputDirectory="$LIBS" -DincludeScope=runtime >&2
  touch "$LIBS/.complete"
}

running_pid() {
  [ -f "$PIDFILE" ] || return 1
  local pid
  pid="$(cat "$PIDFILE")"
  # The pid file could outlive the process (machine reboot); check it is still our broker.
  if kill -0 "$pid" 2>/dev/null && tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | grep -q 'kafka.Kafka'; then
    echo "$pid"
    return 0
  fi
  return 1
}

java_cmd() {
  # log4j2 configuration: broker log to a file, WARN for the chatty parts.
  java -Xms128m -Xmx"$HEAP" -XX:+UseG1GC -Djava.awt.headless=true \
    -Dlog4j2.configurationFile="$RUN/log4j2.properties" \
    -cp "$LIBS/*" "$@"
}

write_config() {
  mkdir -p "$RUN/data"
  cat > "$RUN/server.properties" <<EOF
process.roles=broker,controller
node.id=1
controller.quorum.bootstrap.servers=127.0.0.1:$CPORT
listeners=PLAINTEXT://127.0.0.1:$PORT,CONTROLLER://127.0.0.1:$CPORT
advertised.listeners=PLAINTEXT://127.0.0.1:$PORT,CONTROLLER://127.0.0.1:$CPORT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
log.dirs=$RUN/data
num.partitions=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=10
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=false
log.retention.hours=24
log.segment.bytes=67108864
EOF
  cat > "$RUN/log4j2.properties" <<EOF
status = warn
appender.file.type = File
appender.file.name = FILE
appender.file.fileName = $LOG
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.file.ref = FILE
logger.kafka.name = kafka
logger.kafka.level = INFO
logger.apache.name = org.apache.kafka
logger.apache.level = WARN
logger.state.name = state.change.logger
logger.state.level = WARN
EOF
}

start() {
  if pid="$(running_pid)"; then
    say "已在运行 / already running (pid $pid) on 127.0.0.1:$PORT"
    return 0
  fi
  install_jars
  local begin=$SECONDS
  rm -rf "$RUN"
  write_config
  local id
  id="$(java_cmd kafka.tools.StorageTool random-uuid 2>>"$RUN/format.log" | tail -1)"
  java_cmd kafka.tools.StorageTool format --standalone -t "$id" -c "$RUN/server.properties" >>"$RUN/format.log" 2>&1
  launch
  say "已启动 / started on 127.0.0.1:$PORT in $((SECONDS - begin)) s (pid $(cat "$PIDFILE"))"
}

# Runs the broker on the existing data dir (start formats a fresh one; restart keeps the data).
launch() {
  : > "$LOG"
  nohup java -Xms128m -Xmx"$HEAP" -XX:+UseG1GC -Djava.awt.headless=true \
    -Dlog4j2.configurationFile="$RUN/log4j2.properties" \
    -cp "$LIBS/*" kafka.Kafka "$RUN/server.properties" >"$RUN/stdout.log" 2>&1 < /dev/null &
  echo $! > "$PIDFILE"
  local deadline=$((SECONDS + TIMEOUT))
  until grep -q 'Kafka Server started' "$LOG" 2>/dev/null; do
    if ! kill -0 "$(cat "$PIDFILE")" 2>/dev/null; then
      say "启动失败 / broker exited during start; last lines:"
      tail -n 30 "$LOG" "$RUN/stdout.log" >&2 || true
      exit 1
    fi
    if [ "$SECONDS" -ge "$deadline" ]; then
      say "启动超时 / not ready after ${TIMEOUT}s"
      tail -n 30 "$LOG" >&2 || true
      exit 1
    fi
    sleep 0.2
  done
}

stop_process() {
  local pid
  if pid="$(running_pid)"; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$PIDFILE"
}

case "${1:-}" in
  install) install_jars ;;
  start) start ;;
  stop)
    stop_process
    rm -rf "$RUN"
    say "已停止并删除数据 / stopped, data removed"
    ;;
  # Broker restart keeping its data (the fault tests): a clean stop, then the same node starts again.
  restart)
    if ! running_pid >/dev/null; then say "未运行 / not running"; exit 1; fi
    stop_process
    launch
    say "已重启 / restarted (pid $(cat "$PIDFILE"))"
    ;;
  status)
    if pid="$(running_pid)"; then echo "running pid=$pid bootstrap=127.0.0.1:$PORT"; else echo "stopped"; exit 3; fi
    ;;
  *)
    echo "usage: $0 start|stop|status|restart|install" >&2
    exit 2
    ;;
esac
