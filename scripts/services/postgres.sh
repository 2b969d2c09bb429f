#!/usr/bin/env bash
# The machine's PostgreSQL for the services tier: checks it answers (starts the cluster with the
# documented command when it does not), then creates or drops a uniquely named test database.
#   scripts/services/postgres.sh up                 wait until the server answers (start it if down)
#   scripts/services/postgres.sh create [name]      up + CREATE DATABASE; prints the database URL on stdout
#   scripts/services/postgres.sh drop <name>        DROP DATABASE IF EXISTS (WITH FORCE)
#   scripts/services/postgres.sh status
# Environment: PGHOST (127.0.0.1), PGPORT (5432), PGUSER (postgres), PG_START_TIMEOUT (60 s).
# Trust auth on loopback (this machine and CI): no password is involved.
set -euo pipefail

HOST="${PGHOST:-127.0.0.1}"
PORT="${PGPORT:-5432}"
USER_="${PGUSER:-postgres}"
TIMEOUT="${PG_START_TIMEOUT:-60}"

say() { echo "[postgres] $*" >&2; }
q() { psql -h "$HOST" -p "$PORT" -U "$USER_" -d postgres -v ON_ERROR_STOP=1 -qAtX -c "$1"; }
answers() { pg_isready -h "$HOST" -p "$PORT" -q 2>/dev/null; }

up() {
  if answers; then return 0; fi
  if command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
    local version
    version="$(ls /etc/postgresql | sort -V | tail -n 1)"
    say "PostgreSQL 未运行，正在启动 / not running: starting cluster $version main"
    pg_ctlcluster --skip-systemctl-redirect "$version" main start >&2 || true
  else
    say "PostgreSQL 未运行且无法启动 / not running and no pg_ctlcluster to start it"
    exit 1
  fi
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
  create)
    up
    name="${2:-vochub_test_$(date +%s)_$$_$RANDOM}"
    [[ "$name" =~ ^[a-z_][a-z0-9_]{0,62}$ ]] || { say "无效的数据库名 / invalid database name: $name"; exit 2; }
    q "CREATE DATABASE \"$name\"" >/dev/null
    echo "postgres://$USER_@$HOST:$PORT/$name"
    ;;
  drop)
    name="${2:?database name}"
    [[ "$name" =~ ^[a-z_][a-z0-9_]{0,62}$ ]] || { say "无效的数据库名 / invalid database name: $name"; exit 2; }
    q "DROP DATABASE IF EXISTS \"$name\" WITH (FORCE)" >/dev/null
    ;;
  *) echo "usage: $0 up|status|create [name]|drop <name>" >&2; exit 2 ;;
esac
