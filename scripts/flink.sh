#!/usr/bin/env bash
# scripts/flink.sh — a Flink 1.16 session cluster (JobManager and
# TaskManager processes) and Beam's Flink job server on loopback, parallelism
# 2, for running the pipelines on Flink (e2e_flink_test.go); FLINK_MODE=embedded
# runs only the job server, with its embedded Flink cluster.
#
#   source scripts/flink.sh; flink_start; ...; flink_stop
#
# Maven Central, as these machines reach it, serves no Beam Flink job server
# jar (beam-runners-flink-<v>-job-server, any version tried) and no
# flink-dist, but it does serve Beam's Flink runner library
# org.apache.beam:beam-runners-flink-1.16:2.56.0 with its dependencies
# (Flink 1.16.0's flink-runtime, flink-clients, flink-streaming-java, ...).
# The job server's main class, FlinkJobServerDriver, is in that library:
# flink_install resolves its Maven classpath once (scripts/mavencp.sh:
# mvn dependency:build-classpath, local repository and classpath cached under
# ~/.cache/vendorlake) and
# flink_start runs Flink's entry points and the driver from it on Java 17,
# every port a free loopback one, and exports
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

# shellcheck source=scripts/freeport.sh
source "$(dirname "${BASH_SOURCE[0]}")/freeport.sh"
# shellcheck source=scripts/mavencp.sh
source "$(dirname "${BASH_SOURCE[0]}")/mavencp.sh"

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

flink_install() {
  if [ -n "${VENDORLAKE_FLINK_JAR:-}" ]; then FLINK_CMD=(-jar "$(realpath "$VENDORLAKE_FLINK_JAR")"); return; fi
  local dir="$flink_cache/flink-jobserver-$FLINK_VERSION-$FLINK_BEAM_VERSION"
  maven_classpath "" "$dir" "org.apache.beam:beam-runners-flink-$FLINK_VERSION:$FLINK_BEAM_VERSION" \
    org.slf4j:slf4j-simple:1.7.30 || return 1
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

# flink_start starts, with FLINK_MODE=session (the default), a Flink session
# cluster of separate processes, a JobManager
# (StandaloneSessionClusterEntrypoint) and a TaskManager (TaskManagerRunner)
# with 2 slots, from the same Flink 1.16.0 jars, and the job server pointed at
# it (--flink-master=127.0.0.1:REST_PORT); with FLINK_MODE=embedded (or
# VENDORLAKE_FLINK_JAR), only the job server, with its embedded Flink cluster
# (--flink-master=[local]). Everything on 127.0.0.1, parallelism 2.
flink_start() {
  command -v java >/dev/null || { echo "flink.sh: Java 17 is required" >&2; return 1; }
  flink_install || return 1
  local job artifact expansion master='[local]' mode=${FLINK_MODE:-session} p
  [ -n "${VENDORLAKE_FLINK_JAR:-}" ] && mode=embedded
  job=$(free_port); artifact=$(free_port); expansion=$(free_port)
  FLINK_STATE=$(mktemp -d)
  FLINK_PIDS=()
  {
    printf '%s\n' 'parallelism.default: 2' 'taskmanager.numberOfTaskSlots: 2' \
      'jobmanager.rpc.address: 127.0.0.1' 'jobmanager.bind-host: 127.0.0.1' \
      'rest.address: 127.0.0.1' 'rest.bind-address: 127.0.0.1' \
      'taskmanager.host: 127.0.0.1' 'taskmanager.bind-host: 127.0.0.1' \
      'jobmanager.memory.process.size: 1024m' 'classloader.resolve-order: parent-first'
    for p in jobmanager.rpc.port rest.port blob.server.port taskmanager.rpc.port taskmanager.data.port; do
      echo "$p: $(free_port)"
    done
  } >"$FLINK_STATE/flink-conf.yaml"
  cp "$FLINK_STATE/flink-conf.yaml" "$FLINK_STATE/config.yaml" # Flink 1.19+ reads config.yaml
  local opens
  opens="$(flink_java_opens) --add-exports=java.base/sun.net.util=ALL-UNNAMED"
  if [ "$mode" = session ]; then
    local rest
    rest=$(sed -n 's/^rest.port: //p' "$FLINK_STATE/flink-conf.yaml")
    # shellcheck disable=SC2086
    (cd "$FLINK_STATE" && exec java -Xmx512m $opens "${FLINK_CMD[@]:0:2}" \
      org.apache.flink.runtime.entrypoint.StandaloneSessionClusterEntrypoint --configDir "$FLINK_STATE") \
      >"$FLINK_STATE/jobmanager.log" 2>&1 &
    FLINK_PIDS+=($!)
    wait_port "$rest" "$!" "$FLINK_STATE/jobmanager.log" "Flink JobManager" || { flink_stop; return 1; }
    # The TaskManager's memory, as Flink's start scripts would compute it for
    # a 2.3 GB process (network buffers enough for every stage at once).
    # Direct memory: 256 MB of network buffers, and 896 MB of framework
    # off-heap for Beam's gRPC channels, which hold the staged worker
    # binary (about 180 MB) in direct buffers while PROCESS workers fetch
    # it; with 128 MB the TaskManager failed with "OutOfMemoryError: Cannot
    # reserve 2097152 bytes of direct buffer memory".
    # shellcheck disable=SC2086
    (cd "$FLINK_STATE" && exec java -Xmx640m -Xms640m -XX:MaxDirectMemorySize=1152m -XX:MaxMetaspaceSize=256m $opens \
      "${FLINK_CMD[@]:0:2}" org.apache.flink.runtime.taskexecutor.TaskManagerRunner --configDir "$FLINK_STATE" \
      -D taskmanager.cpu.cores=2.0 -D taskmanager.memory.framework.heap.size=128m \
      -D taskmanager.memory.framework.off-heap.size=896m -D taskmanager.memory.task.heap.size=512m \
      -D taskmanager.memory.task.off-heap.size=0m -D taskmanager.memory.managed.size=256m \
      -D taskmanager.memory.network.min=256m -D taskmanager.memory.network.max=256m \
      -D taskmanager.memory.jvm-metaspace.size=256m -D taskmanager.memory.jvm-overhead.min=192m \
      -D taskmanager.memory.jvm-overhead.max=192m) >"$FLINK_STATE/taskmanager.log" 2>&1 &
    FLINK_PIDS+=($!)
    local tries=0
    until curl -sf "http://127.0.0.1:$rest/overview" 2>/dev/null | grep -q '"slots-total":2'; do
      tries=$((tries + 1))
      if [ "$tries" -gt 600 ] || ! kill -0 "${FLINK_PIDS[1]}" 2>/dev/null; then
        echo "Flink TaskManager did not register:" >&2
        cat "$FLINK_STATE/taskmanager.log" >&2
        flink_stop
        return 1
      fi
      sleep 0.1
    done
    master="127.0.0.1:$rest"
  fi
  # In its state folder: PROCESS workers start there and write files
  # (pipeline_options.json) into their working directory.
  # shellcheck disable=SC2086
  (cd "$FLINK_STATE" && exec java -Xmx1g $opens -Dorg.slf4j.simpleLogger.defaultLogLevel=warn \
    "${FLINK_CMD[@]}" --job-host=127.0.0.1 --job-port="$job" --artifact-port="$artifact" \
    --expansion-port="$expansion" --artifacts-dir="$FLINK_STATE/artifacts" \
    --flink-master="$master" --flink-conf-dir="$FLINK_STATE") >"$FLINK_STATE/log" 2>&1 &
  FLINK_PID=$!
  FLINK_PIDS+=($!)
  wait_port "$job" "$FLINK_PID" "$FLINK_STATE/log" "Flink job server" || { flink_stop; return 1; }
  export VENDORLAKE_FLINK_ENDPOINT="127.0.0.1:$job"
  if [ "$mode" = session ]; then
    echo "Flink job server (Beam $FLINK_BEAM_VERSION) on $VENDORLAKE_FLINK_ENDPOINT, Flink $FLINK_VERSION session cluster at $master: JobManager pid ${FLINK_PIDS[0]}, TaskManager pid ${FLINK_PIDS[1]} (2 slots), parallelism 2"
  else
    echo "Flink job server (Beam ${VENDORLAKE_FLINK_JAR:-$FLINK_BEAM_VERSION, Flink $FLINK_VERSION}) on $VENDORLAKE_FLINK_ENDPOINT, embedded Flink, parallelism 2 (pid $FLINK_PID)"
  fi
}

flink_stop() {
  local pid
  for pid in ${FLINK_PIDS[@]+"${FLINK_PIDS[@]}"}; do
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  FLINK_PIDS=()
  FLINK_PID=
  [ -n "${FLINK_STATE:-}" ] && rm -rf "$FLINK_STATE"
  free_ports_forget
  FLINK_STATE=
  return 0
}
