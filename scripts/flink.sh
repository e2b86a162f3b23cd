#!/usr/bin/env bash
# scripts/flink.sh — Beam's Flink job server on loopback, with its embedded
# Flink cluster (--flink-master=[local], parallelism 2), for running the
# pipelines on Flink (e2e_flink_test.go).
#
#   source scripts/flink.sh; flink_start; ...; flink_stop
#
# flink_install fetches org.apache.beam:beam-runners-flink-$FLINK_VERSION-job-server
# at the Beam version pinned in go.mod from Maven Central (mvn dependency:copy,
# local repository and jar cached under ~/.cache/vendorlake). flink_start
# starts it with its job, artifact and expansion ports on free loopback ports
# and exports VENDORLAKE_FLINK_ENDPOINT=127.0.0.1:PORT.
#
# Status: Maven Central, as these machines reach it, serves no Beam Flink job
# server jar (nor beam-runners-flink-*) at any version tried (2.77.0 for Flink
# 1.17, 1.18, 1.19, 1.20 and 2.0; 2.73.0-2.76.0 and 2.61.0 for 1.19; older for
# 1.16-1.18): "Could not find artifact ... in central". flink_install fails
# with that error; scripts/test.sh therefore does not run Flink (see the
# README's "Run on Flink"). Set VENDORLAKE_FLINK_JAR to a job server jar
# obtained elsewhere to use it.

FLINK_VERSION=${FLINK_VERSION:-1.19}
flink_cache="${VENDORLAKE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/vendorlake}"

flink_install() {
  if [ -n "${VENDORLAKE_FLINK_JAR:-}" ]; then FLINK_JAR=$VENDORLAKE_FLINK_JAR; return; fi
  local beam artifact
  beam=$(go list -m -f '{{.Version}}' github.com/apache/beam/sdks/v2) || return 1
  beam=${beam#v}
  artifact="org.apache.beam:beam-runners-flink-$FLINK_VERSION-job-server:$beam:jar"
  FLINK_JAR="$flink_cache/jars/beam-runners-flink-$FLINK_VERSION-job-server-$beam.jar"
  [ -s "$FLINK_JAR" ] && return 0
  command -v mvn >/dev/null || { echo "flink.sh: Maven is required (apt-get install maven)" >&2; return 1; }
  mkdir -p "$flink_cache/jars"
  if ! mvn -q -B dependency:copy -Dmaven.repo.local="$flink_cache/m2" -Dartifact="$artifact" \
      -DoutputDirectory="$flink_cache/jars" -Dmdep.overWriteIfNewer=true >&2; then
    echo "flink.sh: cannot fetch $artifact from Maven Central" >&2
    return 1
  fi
}

flink_free_port() {
  local p
  while :; do
    p=$((20000 + RANDOM % 20000))
    (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return; }
  done
}

flink_start() {
  flink_install || return 1
  command -v java >/dev/null || { echo "flink.sh: Java 11 or 17 is required" >&2; return 1; }
  local job artifact expansion tries=0
  job=$(flink_free_port); artifact=$(flink_free_port); expansion=$(flink_free_port)
  FLINK_STATE=$(mktemp -d)
  printf 'parallelism.default: 2\ntaskmanager.numberOfTaskSlots: 2\nrest.bind-address: 127.0.0.1\nrest.address: 127.0.0.1\njobmanager.rpc.address: 127.0.0.1\ntaskmanager.host: 127.0.0.1\n' >"$FLINK_STATE/flink-conf.yaml"
  cp "$FLINK_STATE/flink-conf.yaml" "$FLINK_STATE/config.yaml" # Flink 1.19+ reads config.yaml
  java -Xmx1g -jar "$FLINK_JAR" --job-host=127.0.0.1 --job-port="$job" --artifact-port="$artifact" \
    --expansion-port="$expansion" --artifacts-dir="$FLINK_STATE/artifacts" \
    --flink-master='[local]' --flink-conf-dir="$FLINK_STATE" >"$FLINK_STATE/log" 2>&1 &
  FLINK_PID=$!
  until (exec 3<>"/dev/tcp/127.0.0.1/$job") 2>/dev/null; do
    tries=$((tries + 1))
    if [ "$tries" -gt 600 ] || ! kill -0 "$FLINK_PID" 2>/dev/null; then
      echo "Flink job server did not start:" >&2
      cat "$FLINK_STATE/log" >&2
      flink_stop
      return 1
    fi
    sleep 0.1
  done
  export VENDORLAKE_FLINK_ENDPOINT="127.0.0.1:$job"
  echo "Flink job server $(basename "$FLINK_JAR") on $VENDORLAKE_FLINK_ENDPOINT, embedded Flink, parallelism 2 (pid $FLINK_PID)"
}

flink_stop() {
  if [ -n "${FLINK_PID:-}" ]; then
    kill "$FLINK_PID" 2>/dev/null || true
    wait "$FLINK_PID" 2>/dev/null || true
    FLINK_PID=
  fi
  [ -n "${FLINK_STATE:-}" ] && rm -rf "$FLINK_STATE"
  FLINK_STATE=
  return 0
}
