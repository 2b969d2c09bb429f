#!/usr/bin/env bash
# Smoke test of the README promise: `npm start` on a fresh data folder serves /readyz and imports the
# demo group. Uses a temporary data folder and port so it never touches ./var.
set -euo pipefail
cd "$(dirname "$0")/.."
data=$(mktemp -d)
# A free port unless one is given: another hub on the machine must not fail the smoke test.
port=${SMOKE_PORT:-$(node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})")}
log="$data/start.log"
VOCHUB_DATA="$data" PORT="$port" npm start >"$log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true; wait $pid 2>/dev/null || true; rm -rf "$data"' EXIT
ready=""
for _ in $(seq 1 120); do
  if curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1; then ready=yes; break; fi
  if ! kill -0 $pid 2>/dev/null; then break; fi
  sleep 0.5
done
if [ -z "$ready" ]; then echo "hub did not become ready"; cat "$log"; exit 1; fi
echo "ready: http://127.0.0.1:$port/readyz"
for _ in $(seq 1 240); do
  if grep -q '导入完成 / imports finished' "$log"; then break; fi
  if ! kill -0 $pid 2>/dev/null; then echo "hub exited"; cat "$log"; exit 1; fi
  sleep 0.5
done
grep -q '导入完成 / imports finished' "$log" || { echo "imports did not finish"; cat "$log"; exit 1; }
grep -E '^(导入|  API|  文档)' "$log" || true
VOCHUB_DATA="$data" node bin/vochub.mjs stats --json > "$data/stats.json"
node -e '
const s = require(process.argv[1]);
const total = s.members.reduce((n, m) => n + Object.values(m.records).reduce((a, b) => a + b, 0), 0);
if (s.members.length !== 4 || total === 0) { console.error("unexpected stats", JSON.stringify(s)); process.exit(1); }
for (const m of s.members) console.log(m.code, JSON.stringify(m.records), JSON.stringify(m.problems));
' "$data/stats.json"
echo "smoke ok"
