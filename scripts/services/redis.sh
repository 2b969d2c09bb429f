#!/usr/bin/env bash
# The machine's Redis for the services tier: checks it answers, starts it with the documented command
# when it does not (loopback only, nothing kept on disk).
#   scripts/services/redis.sh up | status | flush-prefix <prefix>
# Environment: REDIS_HOST (127.0.0.1), REDIS_PORT (6379), REDIS_START_TIMEOUT (30 s).
set -euo pipefail

HOST="${REDIS_HOST:-127.0.0.1}"
PORT="${REDIS_PORT:-6379}"
TIMEOUT="${REDIS_START_TIMEOUT:-30}"

say() { echo "[redis] $*" >&2; }
answers() { [ "$(redis-cli -h "$HOST" -p "$PORT" ping 2>/dev/null)" = "PONG" ]; }

up() {
  if answers; then return 0; fi
  say "Redis 未运行，正在启动 / not running: starting redis-server on $HOST:$PORT"
  mkdir -p /var/lib/redis /var/log/redis 2>/dev/null || true
  redis-server --daemonize yes --bind "$HOST" --port "$PORT" --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log >&2
  local waited=0
  until answers; do
    sleep 1
    waited=$((waited + 1))
    if [ "$waited" -ge "$TIMEOUT" ]; then say "等待超时 / timed out after ${TIMEOUT}s"; exit 1; fi
  done
}

case "${1:-}" in
  up) up ;;
  status) if answers; then echo "up"; else echo "down"; exit 1; fi ;;
  flush-prefix)
    # Tests use their own key prefix; this removes only those keys (never FLUSHALL a shared Redis).
    prefix="${2:?key prefix}"
    redis-cli -h "$HOST" -p "$PORT" --scan --pattern "${prefix}*" | xargs -r -n 500 redis-cli -h "$HOST" -p "$PORT" del >/dev/null
    ;;
  *) echo "usage: $0 up|status|flush-prefix <prefix>" >&2; exit 2 ;;
esac
