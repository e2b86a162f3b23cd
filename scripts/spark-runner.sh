#!/usr/bin/env bash
# scripts/spark-runner.sh — Beam's Spark job server on loopback, running
# pipelines on Spark 3.5 in local[2] mode (e2e_spark_runner_test.go).
#
#   source scripts/spark-runner.sh; spark_runner_start; ...; spark_runner_stop
#
# No Beam Spark job server jar is served to these machines, but Beam's
# Spark 3 runner library is (org.apache.beam:beam-runners-spark-3:2.62.0;
# what was tried and refused is in scripts/ENGINES.md), and its
# SparkJobServerDriver is the job server. Its Spark dependencies are
# "provided": they come from PySpark 3.5.9's jars (scripts/spark.sh
# install, PyPI, cached venv). spark_runner_install resolves the runner's
# Maven classpath once (scripts/mavencp.sh: local repository and classpath
# cached under ~/.cache/vendorlake) and drops its Jackson and SLF4J jars in
# favour of Spark's (Spark's jackson-module-scala refused Beam 2.56's older
# jackson-databind). spark_runner_start runs the driver on Java 17 with
# --spark-master-url=local[2], its job, artifact and expansion ports on free
# loopback ports and Spark bound to 127.0.0.1, and exports
# VENDORLAKE_SPARK_RUNNER_ENDPOINT=127.0.0.1:PORT. SPARK_RUNNER_BEAM_VERSION
# chooses another runner library (2.56.0 was the previous one).

# shellcheck source=scripts/freeport.sh
source "$(dirname "${BASH_SOURCE[0]}")/freeport.sh"
# shellcheck source=scripts/mavencp.sh
source "$(dirname "${BASH_SOURCE[0]}")/mavencp.sh"

SPARK_RUNNER_BEAM_VERSION=${SPARK_RUNNER_BEAM_VERSION:-2.62.0}
spark_runner_cache="${VENDORLAKE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/vendorlake}"
spark_runner_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

spark_runner_install() {
  local dir="$spark_runner_cache/spark-jobserver-$SPARK_RUNNER_BEAM_VERSION" py jars
  py=$("$spark_runner_root/scripts/spark.sh" install) || return 1
  jars=$("$py" -c 'import os, pyspark; print(os.path.join(os.path.dirname(pyspark.__file__), "jars"))') || return 1
  maven_classpath spark-runner.sh "$dir" "org.apache.beam:beam-runners-spark-3:$SPARK_RUNNER_BEAM_VERSION" || return 1
  SPARK_RUNNER_CP="$(tr ':' '\n' <"$dir/cp.txt" | grep -v -E '/com/fasterxml/jackson/|/org/slf4j/' | paste -sd:):$jars/*"
}


spark_runner_start() {
  command -v java >/dev/null || { echo "spark-runner.sh: Java 17 is required" >&2; return 1; }
  spark_runner_install || return 1
  local job artifact expansion p opens=()
  job=$(free_port); artifact=$(free_port); expansion=$(free_port)
  SPARK_RUNNER_STATE=$(mktemp -d)
  for p in java.lang java.lang.invoke java.lang.reflect java.io java.net java.nio java.util \
    java.util.concurrent java.util.concurrent.atomic sun.nio.ch sun.nio.cs sun.security.action sun.util.calendar; do
    opens+=("--add-opens=java.base/$p=ALL-UNNAMED")
  done
  printf '%s\n' 'rootLogger.level = warn' 'rootLogger.appenderRef.stderr.ref = stderr' \
    'appender.console.type = Console' 'appender.console.name = stderr' 'appender.console.target = SYSTEM_ERR' \
    'appender.console.layout.type = PatternLayout' 'appender.console.layout.pattern = %d{HH:mm:ss.SSS} %p %c{1}: %m%n%ex' \
    >"$SPARK_RUNNER_STATE/log4j2.properties"
  # In its state folder: PROCESS workers start there and write files
  # (pipeline_options.json) into their working directory.
  (cd "$SPARK_RUNNER_STATE" && SPARK_LOCAL_IP=127.0.0.1 exec java -Xmx1g "${opens[@]}" \
    -Dlog4j2.configurationFile="$SPARK_RUNNER_STATE/log4j2.properties" \
    -Dspark.ui.enabled=false -Dspark.driver.host=127.0.0.1 -Dspark.driver.bindAddress=127.0.0.1 \
    -Djava.io.tmpdir="$SPARK_RUNNER_STATE" -cp "$SPARK_RUNNER_CP" org.apache.beam.runners.spark.SparkJobServerDriver \
    --job-host=127.0.0.1 --job-port="$job" --artifact-port="$artifact" --expansion-port="$expansion" \
    --artifacts-dir="$SPARK_RUNNER_STATE/artifacts" --spark-master-url='local[2]') >"$SPARK_RUNNER_STATE/log" 2>&1 &
  SPARK_RUNNER_PID=$!
  wait_port "$job" "$SPARK_RUNNER_PID" "$SPARK_RUNNER_STATE/log" "Spark job server" || { spark_runner_stop; return 1; }
  export VENDORLAKE_SPARK_RUNNER_ENDPOINT="127.0.0.1:$job"
  echo "Spark job server (Beam $SPARK_RUNNER_BEAM_VERSION, Spark local[2]) on $VENDORLAKE_SPARK_RUNNER_ENDPOINT (pid $SPARK_RUNNER_PID)"
}

spark_runner_stop() {
  if [ -n "${SPARK_RUNNER_PID:-}" ]; then
    kill "$SPARK_RUNNER_PID" 2>/dev/null || true
    wait "$SPARK_RUNNER_PID" 2>/dev/null || true
    SPARK_RUNNER_PID=
  fi
  [ -n "${SPARK_RUNNER_STATE:-}" ] && rm -rf "$SPARK_RUNNER_STATE"
  free_ports_forget
  SPARK_RUNNER_STATE=
  return 0
}
