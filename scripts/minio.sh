#!/usr/bin/env bash
# scripts/minio.sh — a local MinIO server for the S3 tests, built from the Go
# module proxy (nothing else is downloaded) and cached between runs.
#
#   scripts/minio.sh install   build MinIO once into the cache, print its path
#   scripts/minio.sh start     start (or restart) it; prints the env to export
#   scripts/minio.sh stop      stop it (the data stays until 'clean')
#   scripts/minio.sh clean     stop it and remove its state folder
#
# State (port, pid, data, log) lives in $VENDORLAKE_MINIO_STATE, a folder the
# caller creates (scripts/test.sh uses mktemp -d); 'start' after 'stop' reuses
# the same port and data, so a test can stop MinIO mid-run and restart it.
set -euo pipefail

# A pseudo-version of github.com/minio/minio (its release tags are not
# semver). This one (2026-02-12) builds with Go 1.24 and later.
MINIO_VERSION=v0.0.0-20260212201848-7aac2a2c5b7c
MINIO_ROOT_USER=${MINIO_ROOT_USER:-vendorlake}
MINIO_ROOT_PASSWORD=${MINIO_ROOT_PASSWORD:-vendorlake-test-secret}
cache=${VENDORLAKE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/vendorlake}
bin="$cache/bin/minio-$MINIO_VERSION"

die() { echo "minio.sh: $*" >&2; exit 1; }

install_minio() {
  if [ -x "$bin" ]; then echo "$bin"; return; fi
  mkdir -p "$cache/bin"
  local tmp start
  tmp=$(mktemp -d)
  start=$(date +%s)
  echo "minio.sh: building MinIO $MINIO_VERSION from the Go module proxy (a few minutes, once)..." >&2
  (cd "$tmp" && GOBIN="$tmp" GOFLAGS=-buildvcs=false go install -ldflags='-s -w' "github.com/minio/minio@$MINIO_VERSION" >&2) ||
    { rm -rf "$tmp"; die "go install github.com/minio/minio@$MINIO_VERSION failed"; }
  mv "$tmp/minio" "$bin"
  rm -rf "$tmp"
  echo "minio.sh: built in $(( $(date +%s) - start )) s: $bin" >&2
  echo "$bin"
}

state() {
  [ -n "${VENDORLAKE_MINIO_STATE:-}" ] || die "VENDORLAKE_MINIO_STATE is not set"
  mkdir -p "$VENDORLAKE_MINIO_STATE/data"
  echo "$VENDORLAKE_MINIO_STATE"
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

free_port() {
  local p
  for _ in $(seq 1 50); do
    p=$(( 20000 + RANDOM % 20000 ))
    port_open "$p" || { echo "$p"; return; }
  done
  die "no free port found"
}

ready() {
  local url="http://127.0.0.1:$1/minio/health/ready"
  if command -v curl >/dev/null; then
    curl -fsS -o /dev/null --max-time 2 "$url" 2>/dev/null
  else
    node -e "fetch('$url').then(r => process.exit(r.ok ? 0 : 1), () => process.exit(1))" 2>/dev/null
  fi
}

start_minio() {
  local s port cport pid exe
  exe=$(install_minio)
  s=$(state)
  if [ -f "$s/pid" ] && kill -0 "$(cat "$s/pid")" 2>/dev/null; then die "already running (pid $(cat "$s/pid"))"; fi
  [ -f "$s/port" ] || { free_port > "$s/port"; free_port > "$s/console-port"; }
  port=$(cat "$s/port"); cport=$(cat "$s/console-port")
  MINIO_ROOT_USER="$MINIO_ROOT_USER" MINIO_ROOT_PASSWORD="$MINIO_ROOT_PASSWORD" MINIO_BROWSER=off MINIO_UPDATE=off \
    "$exe" server --quiet --address "127.0.0.1:$port" --console-address "127.0.0.1:$cport" "$s/data" >>"$s/log" 2>&1 &
  pid=$!
  echo "$pid" > "$s/pid"
  for _ in $(seq 1 150); do
    if ready "$port"; then
      cat <<EOF
export VLTEST_S3_ENDPOINT=http://127.0.0.1:$port
export AWS_ACCESS_KEY_ID=$MINIO_ROOT_USER
export AWS_SECRET_ACCESS_KEY=$MINIO_ROOT_PASSWORD
export AWS_REGION=us-east-1
export AWS_EC2_METADATA_DISABLED=true
EOF
      return
    fi
    kill -0 "$pid" 2>/dev/null || { cat "$s/log" >&2; die "MinIO exited at start"; }
    sleep 0.2
  done
  cat "$s/log" >&2
  die "MinIO not ready after 30 s"
}

stop_minio() {
  local s pid
  s=$(state)
  [ -f "$s/pid" ] || return 0
  pid=$(cat "$s/pid")
  rm -f "$s/pid"
  kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 50); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
}

case "${1:-}" in
  install) install_minio ;;
  start) start_minio ;;
  stop) stop_minio ;;
  clean) stop_minio; rm -rf "$(state)" ;;
  *) die "usage: scripts/minio.sh install|start|stop|clean" ;;
esac
