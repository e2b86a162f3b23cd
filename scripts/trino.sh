#!/usr/bin/env bash
# scripts/trino.sh — one Trino node on loopback for e2e_trino_test.go: the
# engine behind Athena (engine v3), with a Hive catalog over a file metastore
# and partition projection on, reading the lake from the local disk.
#
#   source scripts/trino.sh; trino_start; ...; trino_stop
#
# trino_install takes io.trino:trino-server:476 (a tar.gz, 821 MB) and the
# io.trino:trino-cli:476 executable jar from Maven Central once (cached under
# ~/.cache/vendorlake/trino; of its plugins only the Hive connector is kept). Trino 476 needs Java 24 or newer for its own process: it uses
# $TRINO_JAVA_HOME, else /usr/lib/jvm/temurin-25-jdk-amd64, else any
# /usr/lib/jvm/*-2[4-9]* JDK (everything else here stays on Java 17).
# trino_start writes the node's configuration into a fresh state folder,
# starts it on a free loopback port and exports
#   VENDORLAKE_TRINO_SERVER=http://127.0.0.1:PORT
#   VENDORLAKE_TRINO_CLI=path/to/trino-cli-476-executable.jar
#   VENDORLAKE_TRINO_JAVA=path/to/java (Java 24+, to run the CLI)
# The catalog "hive" (hive.properties below) reads local files through
# Trino's native local file system, whose URIs are local:///path.

# shellcheck source=scripts/freeport.sh
source "$(dirname "${BASH_SOURCE[0]}")/freeport.sh"

TRINO_VERSION=${TRINO_VERSION:-476}
trino_cache="${VENDORLAKE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/vendorlake}/trino"

trino_java() {
  local j
  for j in "${TRINO_JAVA_HOME:-}" /usr/lib/jvm/temurin-25-jdk-amd64 /usr/lib/jvm/*-2[4-9]* /usr/lib/jvm/*-2[4-9]-*; do
    if [ -n "$j" ] && [ -x "$j/bin/java" ]; then echo "$j/bin/java"; return; fi
  done
  echo "trino.sh: Trino $TRINO_VERSION needs Java 24 or newer (set TRINO_JAVA_HOME)" >&2
  return 1
}

trino_install() {
  local server="$trino_cache/trino-server-$TRINO_VERSION" cli="$trino_cache/trino-cli-$TRINO_VERSION-executable.jar" start
  if [ -x "$server/bin/launcher" ] && [ -d "$server/plugin/hive" ] && [ -f "$cli" ]; then
    TRINO_HOME=$server TRINO_CLI=$cli
    return
  fi
  command -v mvn >/dev/null || { echo "trino.sh: Maven is required (apt-get install maven)" >&2; return 1; }
  mkdir -p "$trino_cache"
  start=$(date +%s)
  echo "trino.sh: downloading Trino $TRINO_VERSION from Maven Central (821 MB, once)..." >&2
  (cd "$trino_cache" &&
    mvn -q -B -Dstyle.color=never dependency:copy -DoutputDirectory=. -Dmaven.repo.local="$trino_cache/m2" \
      -Dartifact="io.trino:trino-server:$TRINO_VERSION:tar.gz" >&2 &&
    mvn -q -B -Dstyle.color=never dependency:copy -DoutputDirectory=. -Dmaven.repo.local="$trino_cache/m2" \
      -Dartifact="io.trino:trino-cli:$TRINO_VERSION:jar:executable" >&2) ||
    { echo "trino.sh: could not download Trino $TRINO_VERSION" >&2; return 1; }
  rm -rf "$server" "$trino_cache/m2"
  # Whole (its plugins share jars through hard links), then every plugin but
  # the Hive connector's goes: fewer plugins, a faster start.
  (cd "$trino_cache" && tar xzf "trino-server-$TRINO_VERSION.tar.gz" &&
    find "trino-server-$TRINO_VERSION/plugin" -mindepth 1 -maxdepth 1 ! -name hive -exec rm -rf {} +) ||
    { echo "trino.sh: could not unpack trino-server-$TRINO_VERSION.tar.gz" >&2; return 1; }
  rm -f "$trino_cache/trino-server-$TRINO_VERSION.tar.gz"
  echo "trino.sh: installed in $(( $(date +%s) - start )) s: $server" >&2
  TRINO_HOME=$server TRINO_CLI=$cli
}

# trino_info PORT prints the node's /v1/info (curl, else Node.js's fetch).
trino_info() {
  local url="http://127.0.0.1:$1/v1/info"
  if command -v curl >/dev/null; then
    curl -fsS --max-time 2 "$url" 2>/dev/null
  else
    node -e "fetch('$url').then(r => r.text()).then(t => console.log(t), () => process.exit(1))" 2>/dev/null
  fi
}

trino_start() {
  local java port s
  java=$(trino_java) || return 1
  trino_install || return 1
  port=$(free_port)
  s=$(mktemp -d)
  TRINO_STATE=$s
  mkdir -p "$s/etc/catalog" "$s/data" "$s/metastore"
  cat >"$s/etc/node.properties" <<EOF
node.environment=vendorlake_test
node.id=vendorlake-test
node.data-dir=$s/data
node.bind-ip=127.0.0.1
node.internal-address=127.0.0.1
EOF
  # A small heap: the test tables are small and the machine has 2 cores.
  cat >"$s/etc/jvm.config" <<EOF
-server
-Xmx1G
-XX:+UseG1GC
-XX:+ExitOnOutOfMemoryError
-Djdk.attach.allowAttachSelf=true
-Djava.io.tmpdir=$s/data
EOF
  cat >"$s/etc/config.properties" <<EOF
coordinator=true
node-scheduler.include-coordinator=true
http-server.http.port=$port
discovery.uri=http://127.0.0.1:$port
query.max-memory=512MB
query.max-memory-per-node=512MB
EOF
  printf 'io.trino=WARN\n' >"$s/etc/log.properties"
  cat >"$s/etc/catalog/hive.properties" <<EOF
connector.name=hive
hive.metastore=file
hive.metastore.catalog.dir=local://$s/metastore
hive.timestamp-precision=MICROSECONDS
hive.partition-projection-enabled=true
hive.ignore-absent-partitions=true
hive.allow-register-partition-procedure=true
fs.native-local.enabled=true
local.location=/
EOF
  JAVA_HOME=$(dirname "$(dirname "$java")") PATH="$(dirname "$java"):$PATH" \
    "$TRINO_HOME/bin/launcher" run --etc-dir="$s/etc" --data-dir="$s/data" >"$s/log" 2>&1 &
  TRINO_PID=$!
  wait_port "$port" "$TRINO_PID" "$s/log" "Trino" || { trino_stop; return 1; }
  # The port opens before the node takes queries: wait until /v1/info says
  # it is no longer starting (up to 4 minutes on a loaded 2-core machine).
  local tries=0
  until trino_info "$port" | grep -q '"starting":false'; do
    tries=$((tries + 1))
    if [ "$tries" -gt 480 ] || ! kill -0 "$TRINO_PID" 2>/dev/null; then
      echo "Trino did not start:" >&2
      grep -E 'ERROR|Exception|Error' "$s/log" | head -20 >&2
      tail -20 "$s/log" >&2
      trino_stop
      return 1
    fi
    sleep 0.5
  done
  export VENDORLAKE_TRINO_SERVER="http://127.0.0.1:$port" VENDORLAKE_TRINO_CLI="$TRINO_CLI" VENDORLAKE_TRINO_JAVA="$java"
  echo "Trino $TRINO_VERSION on $VENDORLAKE_TRINO_SERVER (pid $TRINO_PID)"
}

trino_stop() {
  if [ -n "${TRINO_PID:-}" ]; then
    kill "$TRINO_PID" 2>/dev/null || true
    wait "$TRINO_PID" 2>/dev/null || true
    TRINO_PID=
  fi
  [ -n "${TRINO_STATE:-}" ] && rm -rf "$TRINO_STATE"
  TRINO_STATE=
  return 0
}
