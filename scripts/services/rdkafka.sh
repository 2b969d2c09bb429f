#!/usr/bin/env bash
# node-rdkafka for the Kafka transport, built once and cached, then linked into node_modules.
# It is an optional peer dependency (package.json peerDependenciesMeta): a plain `npm install` never compiles
# librdkafka. This script builds it in $VOCHUB_CACHE/node-rdkafka-<version> (minutes, once per machine) and links
# node_modules/node-rdkafka to it. Idempotent: re-run it after `npm ci`, which removes the link.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
VERSION="${RDKAFKA_VERSION:-3.6.1}"
CACHE="${VOCHUB_CACHE:-$HOME/.cache/vochub}/node-rdkafka-$VERSION"
MOD="$CACHE/node_modules/node-rdkafka"

if ! [ -f "$MOD/build/Release/node-librdkafka.node" ]; then
  echo "[rdkafka] 编译 node-rdkafka $VERSION（仅首次，约数分钟）/ building node-rdkafka $VERSION once into $CACHE" >&2
  if command -v dpkg >/dev/null && ! dpkg -s libzstd-dev libsasl2-dev libcurl4-openssl-dev >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
      # Without these librdkafka builds silently without zstd, GSSAPI and OIDC (SERVICES.md).
      (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libzstd-dev libsasl2-dev libcurl4-openssl-dev) >&2 \
        || echo "[rdkafka] 未能安装开发库，继续 / could not install the dev libraries; building without zstd/GSSAPI/OIDC" >&2
    else
      echo "[rdkafka] 提示 / hint: apt-get install -y libzstd-dev libsasl2-dev libcurl4-openssl-dev (else no zstd/GSSAPI/OIDC)" >&2
    fi
  fi
  mkdir -p "$CACHE"
  printf '{"name":"vochub-rdkafka-cache","private":true,"allowScripts":{"node-rdkafka":true}}\n' > "$CACHE/package.json"
  (cd "$CACHE" && npm install --no-audit --no-fund --no-save "node-rdkafka@$VERSION" >&2)
fi
mkdir -p "$ROOT/node_modules"
if [ "$(readlink "$ROOT/node_modules/node-rdkafka" 2>/dev/null)" != "$MOD" ]; then
  rm -rf "$ROOT/node_modules/node-rdkafka"
  ln -s "$MOD" "$ROOT/node_modules/node-rdkafka"
fi
node -e "require('$ROOT/node_modules/node-rdkafka')" >/dev/null
