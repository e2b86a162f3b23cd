#!/usr/bin/env bash
# scripts/test.sh — the README's test command. It installs what the tests
# need (DuckDB from the npm registry, Debian's lzop, Beam's prism job server
# from the Go module proxy, PySpark from PyPI), starts the services on
# loopback, runs vet, every Go test (unit, end-to-end on the direct and prism
# runners and through the job server, DuckDB and Spark reading the lake), and
# the README's first command on a scratch copy of the repo; the services are
# stopped on exit. Beam's Flink and Spark job servers (scripts/flink.sh,
# scripts/spark-runner.sh) are built from Beam 2.62.0's runner libraries on
# Maven Central (their job server jars are not served here) and run the
# pipelines on a Flink 1.19 session cluster of two TaskManagers and on
# Spark 3.5 local[2].
# Trino 476 (scripts/trino.sh, Maven Central) reads the lake through the
# Athena and Trino DDL; it needs a Java 24+ beside Java 17 and is skipped,
# saying so, on a machine without one.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

step() { printf '\n== %s\n' "$*"; }

step "tools"
command -v go >/dev/null || { echo "Go is required (https://go.dev/dl/)" >&2; exit 1; }
command -v node >/dev/null || { echo "Node.js is required for DuckDB's client (apt-get install nodejs npm)" >&2; exit 1; }
if ! command -v lzop >/dev/null; then
  if [ "$(id -u)" = 0 ]; then
    (apt-get install -y -q lzop >/dev/null 2>&1 || { apt-get update -q >/dev/null && apt-get install -y -q lzop >/dev/null; })
  elif command -v sudo >/dev/null; then
    sudo apt-get install -y -q lzop >/dev/null || { sudo apt-get update -q >/dev/null && sudo apt-get install -y -q lzop >/dev/null; }
  else
    echo "lzop is required: apt-get install lzop" >&2; exit 1
  fi
fi
echo "lzop: $(lzop --version 2>&1 | sed -n 's/^lzop \([^ ]*\).*/\1/p' | head -1)"
if [ ! -d scripts/duckdb/node_modules/@duckdb/node-api ]; then
  npm install --prefix scripts/duckdb --no-audit --no-fund --loglevel=error
fi
echo "duckdb: $(node scripts/duckdb/query.mjs 'SELECT version() AS v' | sed 's/.*"v":"\([^"]*\)".*/\1/')"
export VENDORLAKE_REQUIRE_DUCKDB=1
minio=$(scripts/minio.sh install) # built once from the Go module proxy, then cached
echo "minio: $minio"
command -v java >/dev/null || { echo "Java 17 is required for Spark (apt-get install openjdk-17-jre-headless)" >&2; exit 1; }
VENDORLAKE_PYSPARK_PYTHON=$(scripts/spark.sh install) # PySpark from PyPI, venv cached
export VENDORLAKE_PYSPARK_PYTHON VENDORLAKE_REQUIRE_SPARK=1
echo "pyspark: $("$VENDORLAKE_PYSPARK_PYTHON" -c 'import pyspark; print(pyspark.__version__)')"

# Services, stopped on exit whatever happens.
scratch=$(mktemp -d)
# Every temporary file of the tests and of what they start (Beam's LOOPBACK
# placeholder files, go build's work folders, t.TempDir) lands in one folder,
# removed on exit with whatever a test or a library forgot to remove.
TMPDIR=$(mktemp -d)
export TMPDIR
VENDORLAKE_MINIO_STATE=$(mktemp -d) # scripts/minio.sh: port, pid, data, log
export VENDORLAKE_MINIO_STATE
cleanup() {
  prism_stop
  flink_stop
  spark_runner_stop
  trino_stop
  "$root/scripts/minio.sh" clean || true
  rm -rf "$scratch" "$TMPDIR"
}
trap cleanup EXIT
source scripts/prism.sh
source scripts/flink.sh
source scripts/spark-runner.sh
source scripts/trino.sh
prism_start
export VENDORLAKE_REQUIRE_PRISM=1
minio_env=$(scripts/minio.sh start) # for the S3 tests; a test that stops MinIO starts its own with VENDORLAKE_MINIO_SH
eval "$minio_env"
export VENDORLAKE_REQUIRE_S3=1 VENDORLAKE_MINIO_SH="$root/scripts/minio.sh"
echo "minio: $VLTEST_S3_ENDPOINT"
# The job servers start after MinIO: their PROCESS workers inherit its AWS_*
# credentials from them (never from pipeline options).
beam_boot_install
echo "beam boot: $VENDORLAKE_BEAM_BOOT"
flink_start
export VENDORLAKE_REQUIRE_FLINK=1
spark_runner_start
export VENDORLAKE_REQUIRE_SPARK_RUNNER=1
if trino_java >/dev/null 2>&1; then
  trino_start
  export VENDORLAKE_REQUIRE_TRINO=1
else
  echo "trino: SKIPPED, no Java 24 or newer on this machine (set TRINO_JAVA_HOME): TestTrinoReadsTheLake will skip" >&2
fi

step "go vet"
go vet ./...
go vet -tags vendorlake_faults ./io/faults/

step "go test"
go test -count=1 -timeout=40m ./...
# The fault points themselves exist only in a build with this tag (the
# end-to-end tests build the command with it, see buildVendorlake).
go test -count=1 -tags vendorlake_faults ./io/faults/

step "schedule examples: the Airflow DAG's exit-code mapping (plain Python)"
(cd scripts/schedule && python3 -m unittest -q test_vendorlake_dag)
step "schedule examples: the CronJob strictly decoded into k8s.io/api batch/v1 (its own module)"
(cd scripts/schedule/k8scheck && go test -count=1 ./...)

step "README: go run . demo (on a scratch copy of the repo)"
git ls-files -z | xargs -0 -I{} cp --parents {} "$scratch"/ 2>/dev/null || cp -r . "$scratch"/
(cd "$scratch" && go run . demo > demo.out) || { cat "$scratch/demo.out"; exit 1; }
cat "$scratch/demo.out"
rows=$(node scripts/duckdb/query.mjs "SELECT count(*) AS n FROM read_parquet('$scratch/lake/didomi_users/**/*.parquet', hive_partitioning=true)")
echo "DuckDB reads the demo lake: $rows"
case "$rows" in *'"n":"0"'*|'') echo "the demo lake is empty" >&2; exit 1;; esac
step "fuzz: every parser's fuzz target for a short budget (scripts/fuzz.sh)"; scripts/fuzz.sh

echo
echo "scripts/test.sh: all tests passed"
