#!/usr/bin/env bash
# scripts/spark.sh — PySpark from PyPI in a virtual environment cached in
# ~/.cache/vendorlake/pyspark-venv, for the tests where Spark reads the lake
# (e2e_spark_test.go runs scripts/spark/read_lake.py with it).
#
#   scripts/spark.sh install   create the venv once, print its python
#
# Spark runs in the test's own process tree (local[2], driver bound to
# 127.0.0.1, no UI): no service to start or stop. It needs Java 17.
set -euo pipefail

PYSPARK_VERSION=3.5.9 # Scala 2.12 and Java 17, like Beam's Spark 3 runner
cache=${VENDORLAKE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/vendorlake}
venv="$cache/pyspark-venv"

die() { echo "spark.sh: $*" >&2; exit 1; }

install_pyspark() {
  if "$venv/bin/python" -c "import pyspark, sys; sys.exit(pyspark.__version__ != '$PYSPARK_VERSION')" 2>/dev/null; then
    echo "$venv/bin/python"; return
  fi
  command -v java >/dev/null || die "Java 17 is required (apt-get install openjdk-17-jre-headless)"
  command -v python3 >/dev/null || die "Python 3 is required"
  local start
  start=$(date +%s)
  echo "spark.sh: installing PySpark $PYSPARK_VERSION from PyPI into $venv (about 320 MB, once)..." >&2
  rm -rf "$venv"
  python3 -m venv "$venv" >&2 || die "python3 -m venv failed (apt-get install python3-venv)"
  "$venv/bin/pip" install -q --disable-pip-version-check "pyspark==$PYSPARK_VERSION" >&2 || { rm -rf "$venv"; die "pip install pyspark==$PYSPARK_VERSION failed"; }
  echo "spark.sh: installed in $(( $(date +%s) - start )) s" >&2
  echo "$venv/bin/python"
}

case "${1:-}" in
  install) install_pyspark ;;
  *) die "usage: scripts/spark.sh install" ;;
esac
