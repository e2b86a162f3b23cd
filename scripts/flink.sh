#!/usr/bin/env bash
# scripts/flink.sh — Beam's Flink job server on loopback, with its embedded
# Flink cluster (--flink-master=[local], parallelism 2), for running the
# pipelines on Flink (e2e_flink_test.go).
#
#   source scripts/flink.sh; flink_start; ...; flink_stop
#
# Maven Central, as these machines reach it, serves no Beam Flink job server
# jar (beam-runners-flink-<v>-job-server, any version tried) and no
# flink-dist, but it does serve Beam's Flink runner library
# org.apache.beam:beam-runners-flink-1.16:2.56.0 with its dependencies
# (Flink 1.16.0's flink-runtime, flink-clients, flink-streaming-java, ...).
# The job server's main class, FlinkJobServerDriver, is in that library:
# flink_install resolves its Maven classpath once (mvn dependency:build-classpath,
# local repository and classpath cached under ~/.cache/vendorlake) and
# flink_start runs the driver from it on Java 17, with its job, artifact and
# expansion ports on free loopback ports, and exports
# VENDORLAKE_FLINK_ENDPOINT=127.0.0.1:PORT. Tried and refused ("Could not
# find artifact ... in central"): the job server jars for Flink 1.17-2.0 at
# 2.77.0, 1.19 at 2.61.0 and 2.73.0-2.76.0, 1.16 at 2.50.0, 1.18 at 2.56.0;
# the runner libraries for Flink 1.15 and 1.17 at 2.56.0, 1.16 and 1.18 at
# 2.57.0, 1.18 at 2.60.0/2.61.0, 1.19 at 2.73.0/2.75.0/2.77.0, 1.20 at
# 2.73.0/2.75.0, 2.0 at 2.75.0. With Go SDK v2.77.0 against this 2.56.0
# runner, the element types with slice fields must not use Beam's row coder
# (see transforms.RowCoder).
#
# VENDORLAKE_FLINK_JAR=/path/to/a/job-server.jar runs that jar instead
# (java -jar), e.g. beam-runners-flink-1.19-job-server-2.77.0.jar.

FLINK_BEAM_VERSION=${FLINK_BEAM_VERSION:-2.56.0}
FLINK_VERSION=${FLINK_VERSION:-1.16}
flink_cache="${VENDORLAKE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/vendorlake}"

# flink_java_opens are the --add-opens Flink 1.16 and Beam need on Java 17.
flink_java_opens() {
  local p
  for p in java.lang java.lang.invoke java.lang.reflect java.io java.net java.nio java.text \
    java.time java.math java.util java.util.concurrent java.util.concurrent.atomic sun.nio.ch sun.security.action; do
    printf -- '--add-opens=java.base/%s=ALL-UNNAMED ' "$p"
  done
}

# flink_classpath resolves (once) the Maven classpath of $1 (group:artifact:version)
# into $2/cp.txt, with a local repository under the cache.
flink_classpath() {
  local gav=$1 dir=$2 g a v
  IFS=: read -r g a v <<<"$gav"
  [ -s "$dir/cp.txt" ] && grep -q "/$a-$v.jar" "$dir/cp.txt" && return 0
  command -v mvn >/dev/null || { echo "Maven is required (apt-get install maven)" >&2; return 1; }
  mkdir -p "$dir"
  cat >"$dir/pom.xml" <<POM
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>vendorlake</groupId><artifactId>$a-classpath</artifactId><version>1</version>
  <dependencies>
    <dependency><groupId>$g</groupId><artifactId>$a</artifactId><version>$v</version></dependency>
    <dependency><groupId>org.slf4j</groupId><artifactId>slf4j-simple</artifactId><version>1.7.30</version></dependency>
  </dependencies>
</project>
POM
  echo "fetching $gav and its dependencies from Maven Central (once)..." >&2
  if ! (cd "$dir" && mvn -q -B -Dstyle.color=never dependency:build-classpath -Dmaven.repo.local="$flink_cache/m2" \
      -Dmdep.outputFile=cp.txt.tmp >&2 && mv cp.txt.tmp cp.txt); then
    echo "cannot fetch $gav from Maven Central" >&2
    return 1
  fi
}

flink_install() {
  if [ -n "${VENDORLAKE_FLINK_JAR:-}" ]; then FLINK_CMD=(-jar "$(realpath "$VENDORLAKE_FLINK_JAR")"); return; fi
  local dir="$flink_cache/flink-jobserver-$FLINK_VERSION-$FLINK_BEAM_VERSION"
  flink_classpath "org.apache.beam:beam-runners-flink-$FLINK_VERSION:$FLINK_BEAM_VERSION" "$dir" || return 1
  FLINK_CMD=(-cp "$(cat "$dir/cp.txt")" org.apache.beam.runners.flink.FlinkJobServerDriver)
}

# beam_boot_install builds Beam's Go boot program (the worker entry point of
# --environment_type=PROCESS: it fetches the staged vendorlake binary from
# the job server and runs it) from the Go module proxy at the Beam version in
# go.mod, cached in ~/.cache/vendorlake/bin, and exports VENDORLAKE_BEAM_BOOT.
beam_boot_install() {
  local version bin tmp
  version=$(go list -m -f '{{.Version}}' github.com/apache/beam/sdks/v2) || return 1
  bin="$flink_cache/bin/beam-boot-$version"
  if [ ! -x "$bin" ]; then
    mkdir -p "$flink_cache/bin"
    tmp=$(mktemp -d)
    GOBIN="$tmp" go install "github.com/apache/beam/sdks/v2/go/container@$version" || { rm -rf "$tmp"; return 1; }
    mv "$tmp/container" "$bin"
    rm -rf "$tmp"
  fi
  export VENDORLAKE_BEAM_BOOT="$bin"
}

flink_free_port() {
  local p
  while :; do
    p=$((20000 + RANDOM % 20000))
    (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return; }
  done
}

flink_start() {
  command -v java >/dev/null || { echo "flink.sh: Java 17 is required" >&2; return 1; }
  flink_install || return 1
  local job artifact expansion tries=0
  job=$(flink_free_port); artifact=$(flink_free_port); expansion=$(flink_free_port)
  FLINK_STATE=$(mktemp -d)
  printf 'parallelism.default: 2\ntaskmanager.numberOfTaskSlots: 2\nrest.bind-address: 127.0.0.1\nrest.address: 127.0.0.1\njobmanager.rpc.address: 127.0.0.1\ntaskmanager.host: 127.0.0.1\n' >"$FLINK_STATE/flink-conf.yaml"
  cp "$FLINK_STATE/flink-conf.yaml" "$FLINK_STATE/config.yaml" # Flink 1.19+ reads config.yaml
  # In its state folder: PROCESS workers start there and write files
  # (pipeline_options.json) into their working directory.
  # shellcheck disable=SC2046
  (cd "$FLINK_STATE" && exec java -Xmx1g $(flink_java_opens) -Dorg.slf4j.simpleLogger.defaultLogLevel=warn \
    "${FLINK_CMD[@]}" --job-host=127.0.0.1 --job-port="$job" --artifact-port="$artifact" \
    --expansion-port="$expansion" --artifacts-dir="$FLINK_STATE/artifacts" \
    --flink-master='[local]' --flink-conf-dir="$FLINK_STATE") >"$FLINK_STATE/log" 2>&1 &
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
  echo "Flink job server (Beam ${VENDORLAKE_FLINK_JAR:-$FLINK_BEAM_VERSION, Flink $FLINK_VERSION}) on $VENDORLAKE_FLINK_ENDPOINT, embedded Flink, parallelism 2 (pid $FLINK_PID)"
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
