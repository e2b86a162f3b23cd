#!/usr/bin/env bash
# scripts/prism.sh — Beam's standalone prism job server for tests of the
# portable (Job API) path, the way a Flink job server is used.
#
#   source scripts/prism.sh; prism_start; ...; prism_stop
#
# prism_start installs prism from the Go module proxy at the Beam version
# pinned in go.mod (cached in ~/.cache/vendorlake/bin), starts it with its
# job port on a free port and exports VENDORLAKE_PRISM_ENDPOINT=127.0.0.1:PORT.
# Note: prism binds its port on every interface (upstream behaviour); the
# tests only ever connect to 127.0.0.1.

prism_bin_dir="${XDG_CACHE_HOME:-$HOME/.cache}/vendorlake/bin"

prism_install() {
  local version
  version=$(go list -m -f '{{.Version}}' github.com/apache/beam/sdks/v2)
  local bin="$prism_bin_dir/prism-$version"
  if [ ! -x "$bin" ]; then
    mkdir -p "$prism_bin_dir"
    local tmp
    tmp=$(mktemp -d)
    GOBIN="$tmp" go install "github.com/apache/beam/sdks/v2/go/cmd/prism@$version"
    mv "$tmp/prism" "$bin"
    rmdir "$tmp"
  fi
  PRISM_BIN="$bin"
}

prism_start() {
  prism_install
  local port tries=0
  while :; do
    port=$((20000 + RANDOM % 20000))
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || break
  done
  PRISM_LOG=$(mktemp)
  "$PRISM_BIN" --job_port="$port" --serve_http=false --log_level=warn >"$PRISM_LOG" 2>&1 &
  PRISM_PID=$!
  until (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do
    tries=$((tries + 1))
    if [ "$tries" -gt 100 ] || ! kill -0 "$PRISM_PID" 2>/dev/null; then
      echo "prism job server did not start:" >&2
      cat "$PRISM_LOG" >&2
      return 1
    fi
    sleep 0.1
  done
  export VENDORLAKE_PRISM_ENDPOINT="127.0.0.1:$port"
  echo "prism job server $(basename "$PRISM_BIN") on $VENDORLAKE_PRISM_ENDPOINT (pid $PRISM_PID)"
}

prism_stop() {
  if [ -n "${PRISM_PID:-}" ]; then
    kill "$PRISM_PID" 2>/dev/null || true
    wait "$PRISM_PID" 2>/dev/null || true
    PRISM_PID=
  fi
  [ -n "${PRISM_LOG:-}" ] && rm -f "$PRISM_LOG"
  return 0
}
