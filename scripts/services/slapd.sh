#!/usr/bin/env bash
# Our own OpenLDAP (Debian slapd) for the services tier: a private config and databases under a cache
# folder, listening on loopback only, loaded with the fixture LDIFs (Futurama, Keycloak) and a generated
# Chinese directory (dc=vochub,dc=cn: member schools as Chinese OUs). Never touches the system slapd.
#   scripts/services/slapd.sh up | stop | status | reset
# Environment: SLAPD_DIR (~/.cache/vochub/slapd), SLAPD_PORT (3890), SLAPD_CN_PEOPLE (10200 generated people),
#   SLAPD_START_TIMEOUT (30 s).
# Accounts (test directory only): cn=admin,<suffix> / password in $SLAPD_DIR/admin.password;
#   cn=limited,dc=vochub,dc=cn (same password) whose paged searches stop after 50 entries (case C22).
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
DIR="${SLAPD_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/vochub/slapd}"
PORT="${SLAPD_PORT:-3890}"
PEOPLE="${SLAPD_CN_PEOPLE:-10200}"
TIMEOUT="${SLAPD_START_TIMEOUT:-30}"
URL="ldap://127.0.0.1:$PORT"
FIXTURES="$ROOT/adapters/ldap-directory/fixtures/ldap"

say() { echo "[slapd] $*" >&2; }

install_if_missing() {
  if command -v slapd >/dev/null 2>&1 || [ -x /usr/sbin/slapd ]; then return 0; fi
  if [ "$(id -u)" != "0" ]; then say "未安装 slapd 且非 root / slapd missing and not root: apt-get install slapd ldap-utils"; exit 1; fi
  say "安装 slapd / installing slapd ldap-utils"
  # The package's own postinst would start the system instance; policy-rc.d usually forbids that in CI.
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slapd ldap-utils >&2
}

SLAPD="$(command -v slapd || echo /usr/sbin/slapd)"
SLAPADD="$(command -v slapadd || echo /usr/sbin/slapadd)"

answers() { ldapsearch -x -H "$URL" -s base -b "" -LLL namingContexts >/dev/null 2>&1; }

write_config() {
  local pw hash
  pw="$(head -c 18 /dev/urandom | base64 | tr -d '/+=')"
  echo -n "$pw" > "$DIR/admin.password"
  chmod 600 "$DIR/admin.password"
  hash="$(/usr/sbin/slappasswd -s "$pw")"
  cat > "$DIR/slapd.conf" <<CONF
include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/nis.schema
include /etc/ldap/schema/inetorgperson.schema
modulepath /usr/lib/ldap
moduleload back_mdb
pidfile $DIR/slapd.pid
argsfile $DIR/slapd.args
# Like AD's MaxPageSize=1000: unpaged searches stop at 1000, paged ones may page through everything.
sizelimit size.soft=1000 size.hard=1000 size.pr=1000 size.prtotal=unlimited

database mdb
suffix "dc=vochub,dc=cn"
rootdn "cn=admin,dc=vochub,dc=cn"
rootpw $hash
directory $DIR/db-vochub
maxsize 1073741824
index objectClass eq
index uid,cn eq
index entryUUID,modifyTimestamp eq
limits dn.exact="cn=limited,dc=vochub,dc=cn" size.soft=50 size.hard=50 size.pr=50 size.prtotal=50
access to attrs=userPassword by self write by anonymous auth by * none
access to * by * read

database mdb
suffix "dc=planetexpress,dc=com"
rootdn "cn=admin,dc=planetexpress,dc=com"
rootpw $hash
directory $DIR/db-futurama
maxsize 268435456
index objectClass eq
index entryUUID,modifyTimestamp eq
access to attrs=userPassword by self write by anonymous auth by * none
access to * by * read

database mdb
suffix "dc=keycloak,dc=org"
rootdn "cn=admin,dc=keycloak,dc=org"
rootpw $hash
directory $DIR/db-keycloak
maxsize 268435456
index objectClass eq
index entryUUID,modifyTimestamp eq
access to attrs=userPassword by self write by anonymous auth by * none
access to * by * read
CONF
  echo "$hash" > "$DIR/limited.hash"
}

# A generated Chinese directory: 3 member schools (Chinese OU names), 教师/学生 OUs, $PEOPLE people.
generate_chinese() {
  HASH="$(cat "$DIR/limited.hash")" PEOPLE="$PEOPLE" node -e '
const schools = [["金华职业技术学院", "JHC"], ["宁波职业技术学院", "NBP"], ["杭州职业技术学院", "HZV"]];
const sn = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗".split("");
const gn = ["伟", "芳", "娜", "秀英", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明", "超", "秀兰", "霞"];
const out = [];
out.push("dn: dc=vochub,dc=cn\nobjectClass: dcObject\nobjectClass: organization\no: 职教集团\ndc: vochub\n");
out.push("dn: cn=limited,dc=vochub,dc=cn\nobjectClass: simpleSecurityObject\nobjectClass: organizationalRole\ncn: limited\nuserPassword: " + process.env.HASH + "\n");
for (const [name] of schools) {
  out.push(`dn: ou=${name},dc=vochub,dc=cn\nobjectClass: organizationalUnit\nou: ${name}\n`);
  for (const ou of ["教师", "学生"]) out.push(`dn: ou=${ou},ou=${name},dc=vochub,dc=cn\nobjectClass: organizationalUnit\nou: ${ou}\n`);
}
const n = Number(process.env.PEOPLE);
for (let i = 0; i < n; i++) {
  const [school, code] = schools[i % 3];
  const teacher = i % 10 === 0;
  const uid = (teacher ? "t" : "s") + code.toLowerCase() + String(i).padStart(6, "0");
  const s = sn[i % sn.length], g = gn[Math.floor(i / sn.length) % gn.length];
  out.push([`dn: uid=${uid},ou=${teacher ? "教师" : "学生"},ou=${school},dc=vochub,dc=cn`, "objectClass: inetOrgPerson",
    `uid: ${uid}`, `cn: ${s}${g}`, `sn: ${s}`, `givenName: ${g}`, `displayName: ${s}${g}`, `mail: ${uid}@${code.toLowerCase()}.example.cn`,
    `employeeNumber: ${code}${String(i).padStart(6, "0")}`, `employeeType: ${teacher ? "teacher" : "student"}`, `o: ${school}`, ""].join("\n"));
}
process.stdout.write(out.join("\n"));
' > "$DIR/vochub-cn.ldif"
}

load() {
  rm -rf "$DIR/db-vochub" "$DIR/db-futurama" "$DIR/db-keycloak"
  mkdir -p "$DIR/db-vochub" "$DIR/db-futurama" "$DIR/db-keycloak"
  generate_chinese
  # slapadd (offline, fast) adds entryUUID, entryCSN and modifyTimestamp like an online add would.
  "$SLAPADD" -q -f "$DIR/slapd.conf" -b "dc=vochub,dc=cn" -l "$DIR/vochub-cn.ldif"
  { printf 'dn: dc=planetexpress,dc=com\nobjectClass: dcObject\nobjectClass: organization\no: Planet Express\ndc: planetexpress\n\n'
    for f in "$FIXTURES"/00_people.ldif "$FIXTURES"/10_people_*.ldif; do cat "$f"; printf '\n\n'; done
  } > "$DIR/futurama.ldif"
  "$SLAPADD" -q -f "$DIR/slapd.conf" -b "dc=planetexpress,dc=com" -l "$DIR/futurama.ldif"
  "$SLAPADD" -q -f "$DIR/slapd.conf" -b "dc=keycloak,dc=org" -l "$FIXTURES/keycloak-default-users.ldif"
  echo "$PEOPLE" > "$DIR/loaded"
}

stop() {
  if [ -f "$DIR/slapd.pid" ]; then
    local pid; pid="$(cat "$DIR/slapd.pid")"
    if kill -0 "$pid" 2>/dev/null; then kill "$pid"; for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done; fi
    rm -f "$DIR/slapd.pid"
  fi
}

up() {
  if answers; then return 0; fi
  install_if_missing
  mkdir -p "$DIR"
  if [ ! -f "$DIR/loaded" ] || [ "$(cat "$DIR/loaded")" != "$PEOPLE" ]; then
    say "初始化目录 / creating config and loading LDIF in $DIR ($PEOPLE generated people)"
    write_config
    load
  fi
  say "启动 / starting slapd on $URL"
  "$SLAPD" -f "$DIR/slapd.conf" -h "$URL/" >&2
  local waited=0
  until answers; do
    sleep 1; waited=$((waited + 1))
    if [ "$waited" -ge "$TIMEOUT" ]; then say "等待超时 / timed out after ${TIMEOUT}s"; exit 1; fi
  done
}

case "${1:-}" in
  up) up ;;
  stop) stop ;;
  status) if answers; then echo "up $URL $DIR"; else echo "down"; exit 1; fi ;;
  reset) stop; rm -f "$DIR/loaded"; up ;;
  *) echo "usage: $0 up|stop|status|reset" >&2; exit 2 ;;
esac
