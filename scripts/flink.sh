#!/usr/bin/env bash
# scripts/flink.sh — a Flink 1.19 session cluster (a JobManager and two
# TaskManager processes, 2 slots each) and Beam 2.62's Flink job server on
# loopback, parallelism 4, for running the pipelines on Flink
# (e2e_flink_test.go); FLINK_MODE=embedded runs only the job server, with
# its embedded Flink cluster.
#
#   source scripts/flink.sh; beam_boot_install; flink_start; ...; flink_stop
#
# No Beam Flink job server jar and no flink-dist are served to these
# machines, but Beam's Flink runner library is
# (org.apache.beam:beam-runners-flink-1.19:2.62.0, with Flink 1.19.0's
# flink-runtime, flink-clients, flink-streaming-java, ...), and the job
# server's main class, FlinkJobServerDriver, is in it: flink_install resolves
# its Maven classpath once (scripts/mavencp.sh: mvn
# dependency:build-classpath, local repository and classpath cached under
# ~/.cache/vendorlake) and flink_start runs Flink's entry points and the
# driver from it on Java 17, every port a free loopback one. What was tried
# and refused is in scripts/ENGINES.md. FLINK_VERSION and FLINK_BEAM_VERSION
# choose another runner library (1.16 and 2.56.0 were the previous ones).
# With Go SDK v2.77.0 against a 2.62.0 runner, the element types with slice
# fields must not use Beam's row coder (see transforms.RowCoder).
#
# VENDORLAKE_FLINK_JAR=/path/to/a/job-server.jar runs that jar instead
# (java -jar), e.g. beam-runners-flink-1.19-job-server-2.62.0.jar.

# shellcheck source=scripts/freeport.sh
source "$(dirname "${BASH_SOURCE[0]}")/freeport.sh"
# shellcheck source=scripts/mavencp.sh
source "$(dirname "${BASH_SOURCE[0]}")/mavencp.sh"

FLINK_BEAM_VERSION=${FLINK_BEAM_VERSION:-2.62.0}
FLINK_VERSION=${FLINK_VERSION:-1.19}
flink_cache="${VENDORLAKE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/vendorlake}"

# flink_java_opens are the --add-opens Flink (1.16, 1.19) and Beam need on
# Java 17, and SLF4J's simple logger with a time on every line (UTC, to
# the millisecond: the logs are read beside Flink's REST API timestamps
# and vendorlake's log when timing a job).
flink_java_opens() {
  local p
  printf -- '-Duser.timezone=UTC -Dorg.slf4j.simpleLogger.showDateTime=true -Dorg.slf4j.simpleLogger.dateTimeFormat=HH:mm:ss.SSS '
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
  flink_jobserver_install "$dir"
}

# flink_jobserver_install DIR compiles scripts/flink/LocalClasspathJobServer.java
# against the runner's classpath once (cached in DIR by the source's hash)
# and sets FLINK_JOBSERVER_CMD to run it: the session cluster's job server,
# which ships no jar with a job (the JobManager and TaskManagers run from
# the same classpath; staging it cost 16 s and more a job, see the source).
# Without javac, or if it does not compile, FLINK_JOBSERVER_CMD is
# FLINK_CMD, Beam's FlinkJobServerDriver, which stages the classpath.
flink_jobserver_install() {
  local dir=$1 src hash classes tmp
  FLINK_JOBSERVER_CMD=("${FLINK_CMD[@]}")
  src="$(dirname "${BASH_SOURCE[0]}")/flink/LocalClasspathJobServer.java"
  command -v javac >/dev/null || { echo "flink.sh: no javac: the job server stages its classpath with every job" >&2; return 0; }
  hash=$(sha256sum "$src" | cut -c1-16)
  classes="$dir/jobserver-$hash"
  if [ ! -d "$classes" ]; then
    tmp=$(mktemp -d "$dir/.jobserver.XXXXXX")
    if ! javac -nowarn -d "$tmp" -cp "${FLINK_CMD[1]}" "$src" >"$tmp.log" 2>&1; then
      echo "flink.sh: $src does not compile against Beam $FLINK_BEAM_VERSION; the job server stages its classpath with every job:" >&2
      cat "$tmp.log" >&2
      rm -rf "$tmp" "$tmp.log"
      return 0
    fi
    rm -f "$tmp.log"
    mv "$tmp" "$classes" 2>/dev/null || rm -rf "$tmp" # another shell's copy won
  fi
  FLINK_JOBSERVER_CMD=(-cp "${FLINK_CMD[1]}:$classes" LocalClasspathJobServer)
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
  # The boot program materializes the staged files in --semi_persist_dir
  # (default /tmp, so /tmp/staged): two workers starting at once on one
  # host (two TaskManagers, or other runs) write the same file there, and
  # one ran a half-written binary ("User program exited: signal:
  # segmentation fault"). The wrapper gives each worker its working
  # directory as --semi_persist_dir: each TaskManager (and the Spark job
  # server) has its own, removed when it stops. TMPDIR too: the boot
  # program copies the worker binary (about 175 MB) to a fresh
  # $TMPDIR/binNNN for every worker and never removes it; in /tmp those
  # filled the disk after a few test runs.
  #
  # The worker never exits by itself: once its harness ends, Beam's Go
  # worker sleeps "until we're terminated" (harness/init), and the
  # TaskManager terminates only the process it started, the boot program,
  # which does not pass the signal on. Every PROCESS worker outlived its
  # job, reparented to init: 52 of them (one or two per TaskManager and
  # job) after an evening's runs, about 50 MB resident each and each
  # holding its 180 MB binary in /tmp/binNNN, deleted or not. The wrapper
  # therefore stays the boot program's parent and, when it is stopped,
  # stops the boot program's children (the worker) and then the boot
  # program.
  local wrapper="$bin-cwd4.sh"
  if [ ! -x "$wrapper" ]; then
    tmp=$(mktemp "$flink_cache/bin/.wrapper.XXXXXX")
    cat >"$tmp" <<SH
#!/bin/sh
# Beam's Go boot program with its staged files and temporary copies in the
# working directory; stopping this script stops the boot program and the
# SDK worker it started, which would otherwise sleep forever (scripts/flink.sh).
TMPDIR="\$PWD" $(printf '%q' "$bin") --semi_persist_dir="\$PWD" "\$@" &
boot=\$!
trap 'pkill -TERM -P \$boot; kill -TERM \$boot 2>/dev/null; exit 143' TERM INT HUP
wait \$boot
SH
    chmod +x "$tmp" && mv "$tmp" "$wrapper"
  fi
  export VENDORLAKE_BEAM_BOOT="$wrapper"
}

# flink_taskmanager_script writes $FLINK_STATE/taskmanager.sh ID: it starts
# a TaskManager (TaskManagerRunner, 2 slots) with the resource ID ID in the
# background, its log in $FLINK_STATE/taskmanager-ID.log and its pid in
# $FLINK_STATE/taskmanager-ID.pid. flink_start starts tm1 and tm2 with it;
# e2e_flink_test.go restarts a TaskManager it killed with it
# (VENDORLAKE_FLINK_STATE), and flink_stop stops every pid file's process.
# The TaskManager's RPC and data ports are ephemeral ones (Flink's default,
# port 0) on 127.0.0.1, so that any number of them can run.
flink_taskmanager_script() {
  local opens q
  opens="$(flink_java_opens) --add-exports=java.base/sun.net.util=ALL-UNNAMED"
  q=$(printf '%q ' "${FLINK_CMD[@]:0:2}")
  # The TaskManager's memory, as Flink's start scripts would compute it for
  # a 2.3 GB process (network buffers enough for every stage at once).
  # Direct memory: 256 MB of network buffers, and 896 MB of framework
  # off-heap for Beam's gRPC channels, which hold the staged worker binary
  # (about 180 MB) in direct buffers while PROCESS workers fetch it; with
  # 128 MB the TaskManager failed with "OutOfMemoryError: Cannot reserve
  # 2097152 bytes of direct buffer memory". The heap and direct memory are
  # limits, not what the process holds: an idle TaskManager is about 300 MB.
  cat >"$FLINK_STATE/taskmanager.sh" <<SH
#!/usr/bin/env bash
# Starts Flink TaskManager \$1 of the session cluster in $FLINK_STATE (scripts/flink.sh).
set -eu
id=\${1:?usage: taskmanager.sh ID}
# Each TaskManager has its working directory: its PROCESS workers write
# files there (pipeline_options.json, staged/).
mkdir -p $(printf '%q' "$FLINK_STATE")/"\$id"
cd $(printf '%q' "$FLINK_STATE")/"\$id"
java -Xmx640m -Xms640m -XX:MaxDirectMemorySize=1152m -XX:MaxMetaspaceSize=256m $opens \\
  $q org.apache.flink.runtime.taskexecutor.TaskManagerRunner --configDir $(printf '%q' "$FLINK_STATE") \\
  -D taskmanager.resource-id="\$id" -D taskmanager.cpu.cores=2.0 -D taskmanager.memory.framework.heap.size=128m \\
  -D taskmanager.memory.framework.off-heap.size=896m -D taskmanager.memory.task.heap.size=512m \\
  -D taskmanager.memory.task.off-heap.size=0m -D taskmanager.memory.managed.size=256m \\
  -D taskmanager.memory.network.min=256m -D taskmanager.memory.network.max=256m \\
  -D taskmanager.memory.jvm-metaspace.size=256m -D taskmanager.memory.jvm-overhead.min=192m \\
  -D taskmanager.memory.jvm-overhead.max=192m </dev/null >../"taskmanager-\$id.log" 2>&1 &
echo \$! >../"taskmanager-\$id.pid"
SH
  chmod +x "$FLINK_STATE/taskmanager.sh"
}

# flink_wait_slots N: wait until the session cluster's JobManager counts N
# task slots (REST /overview), failing after 60 s or when a TaskManager of a
# pid file exits.
flink_wait_slots() {
  local n=$1 tries=0 f
  until curl -sf "http://$VENDORLAKE_FLINK_REST/overview" 2>/dev/null | grep -q "\"slots-total\":$n[,}]"; do
    tries=$((tries + 1))
    for f in "$FLINK_STATE"/taskmanager-*.pid; do
      if [ "$tries" -gt 600 ] || ! kill -0 "$(cat "$f")" 2>/dev/null; then
        echo "Flink TaskManager ${f##*/} did not register:" >&2
        cat "${f%.pid}.log" >&2
        return 1
      fi
    done
    sleep 0.1
  done
}

# flink_start starts, with FLINK_MODE=session (the default), a Flink session
# cluster of separate processes, a JobManager
# (StandaloneSessionClusterEntrypoint) and two TaskManagers (TaskManagerRunner,
# tm1 and tm2) with 2 slots each, from the same Flink jars, and the job
# server pointed at it (--flink-master=127.0.0.1:REST_PORT), parallelism 4:
# every stage runs subtasks on both TaskManagers. It exports
# VENDORLAKE_FLINK_ENDPOINT (the job server), VENDORLAKE_FLINK_REST (Flink's
# REST API, host:port) and VENDORLAKE_FLINK_STATE (the cluster's folder:
# taskmanager.sh, the TaskManagers' pid files and logs). With
# FLINK_MODE=embedded (or VENDORLAKE_FLINK_JAR), only the job server, with
# its embedded Flink cluster (--flink-master=[local]), parallelism 2.
# Everything on 127.0.0.1.
flink_start() {
  command -v java >/dev/null || { echo "flink.sh: Java 17 is required" >&2; return 1; }
  command -v curl >/dev/null || { echo "flink.sh: curl is required" >&2; return 1; }
  flink_install || return 1
  local job artifact expansion master='[local]' mode=${FLINK_MODE:-session} p parallelism=4
  [ -n "${VENDORLAKE_FLINK_JAR:-}" ] && mode=embedded
  [ "$mode" = session ] || parallelism=2
  job=$(free_port); artifact=$(free_port); expansion=$(free_port)
  FLINK_STATE=$(mktemp -d)
  FLINK_PIDS=()
  {
    printf '%s\n' "parallelism.default: $parallelism" 'taskmanager.numberOfTaskSlots: 2' \
      'jobmanager.rpc.address: 127.0.0.1' 'jobmanager.bind-host: 127.0.0.1' \
      'rest.address: 127.0.0.1' 'rest.bind-address: 127.0.0.1' \
      'taskmanager.host: 127.0.0.1' 'taskmanager.bind-host: 127.0.0.1' \
      'jobmanager.memory.process.size: 1024m' 'classloader.resolve-order: parent-first' \
      'heartbeat.interval: 3000' 'heartbeat.timeout: 30000' \
      "io.tmp.dirs: $FLINK_STATE/io"
    # (io.tmp.dirs: the TaskManagers' working folders, tm_ID with every
    # job's blobs, in the state folder flink_stop removes, not in /tmp.)
    # (A lost TaskManager is noticed within 30 s rather than Flink's 50:
    # e2e_flink_test.go kills one.)
    for p in jobmanager.rpc.port rest.port blob.server.port; do
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
    export VENDORLAKE_FLINK_REST="127.0.0.1:$rest" VENDORLAKE_FLINK_STATE="$FLINK_STATE"
    flink_taskmanager_script
    "$FLINK_STATE/taskmanager.sh" tm1 && "$FLINK_STATE/taskmanager.sh" tm2 || { flink_stop; return 1; }
    flink_wait_slots 4 || { flink_stop; return 1; }
    master="127.0.0.1:$rest"
  fi
  # The session cluster runs from the job server's classpath: a job server
  # that ships none of it (flink_jobserver_install).
  local jobserver=("${FLINK_CMD[@]}")
  # Its TaskManagers keep a job's SDK workers 10 s after a phase's last
  # task (Beam's environment_cache_millis), for the next phase to reuse.
  [ "$mode" = session ] && jobserver=("-Dvendorlake.environmentCacheMillis=${FLINK_ENVIRONMENT_CACHE_MILLIS:-10000}" "${FLINK_JOBSERVER_CMD[@]}")
  # In its state folder: PROCESS workers start there and write files
  # (pipeline_options.json) into their working directory.
  # shellcheck disable=SC2086
  (cd "$FLINK_STATE" && exec java -Xmx1g $opens -Dorg.slf4j.simpleLogger.defaultLogLevel="${FLINK_JOBSERVER_LOG_LEVEL:-warn}" \
    "${jobserver[@]}" --job-host=127.0.0.1 --job-port="$job" --artifact-port="$artifact" \
    --expansion-port="$expansion" --artifacts-dir="$FLINK_STATE/artifacts" \
    --flink-master="$master" --flink-conf-dir="$FLINK_STATE") >"$FLINK_STATE/log" 2>&1 &
  FLINK_PID=$!
  FLINK_PIDS+=($!)
  wait_port "$job" "$FLINK_PID" "$FLINK_STATE/log" "Flink job server" || { flink_stop; return 1; }
  export VENDORLAKE_FLINK_ENDPOINT="127.0.0.1:$job"
  if [ "$mode" = session ]; then
    echo "Flink job server (Beam $FLINK_BEAM_VERSION) on $VENDORLAKE_FLINK_ENDPOINT, Flink $FLINK_VERSION session cluster at $master: JobManager pid ${FLINK_PIDS[0]}, TaskManagers tm1 pid $(cat "$FLINK_STATE/taskmanager-tm1.pid") and tm2 pid $(cat "$FLINK_STATE/taskmanager-tm2.pid") (2 slots each), parallelism 4"
  else
    echo "Flink job server (Beam ${VENDORLAKE_FLINK_JAR:-$FLINK_BEAM_VERSION, Flink $FLINK_VERSION}) on $VENDORLAKE_FLINK_ENDPOINT, embedded Flink, parallelism 2 (pid $FLINK_PID)"
  fi
}

flink_stop() {
  local pid f tries
  for pid in ${FLINK_PIDS[@]+"${FLINK_PIDS[@]}"}; do
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  # The TaskManagers are not this shell's children (taskmanager.sh starts
  # them): stop each by its pid file and wait for it to exit.
  if [ -n "${FLINK_STATE:-}" ]; then
    for f in "$FLINK_STATE"/taskmanager-*.pid; do
      [ -s "$f" ] || continue
      pid=$(cat "$f")
      kill "$pid" 2>/dev/null || continue
      tries=0
      while kill -0 "$pid" 2>/dev/null && [ "$tries" -lt 100 ]; do sleep 0.1; tries=$((tries + 1)); done
    done
  fi
  FLINK_PIDS=()
  FLINK_PID=
  [ -n "${FLINK_STATE:-}" ] && rm -rf "$FLINK_STATE"
  free_ports_forget
  FLINK_STATE=
  unset VENDORLAKE_FLINK_REST VENDORLAKE_FLINK_STATE
  return 0
}
