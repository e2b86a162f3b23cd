#!/usr/bin/env bash
# scripts/freeport.sh — free_port and wait_port, sourced by scripts/flink.sh
# and scripts/spark-runner.sh.
#
# free_port prints a loopback port that nothing listens on and that no
# earlier call of this shell handed out: a port chosen for a process that has
# not bound it yet would otherwise be chosen twice. The ports handed out are
# listed in ${TMPDIR:-/tmp}/vendorlake-ports.PID (free_ports_forget removes
# the list).
free_port() {
  local p used="${TMPDIR:-/tmp}/vendorlake-ports.$$"
  while :; do
    p=$((20000 + RANDOM % 20000))
    grep -qx "$p" "$used" 2>/dev/null && continue
    (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null && continue
    echo "$p" >>"$used"
    echo "$p"
    return
  done
}

# free_ports_forget drops the list of ports handed out by this shell.
free_ports_forget() { rm -f "${TMPDIR:-/tmp}/vendorlake-ports.$$"; }

# wait_port PORT PID LOG WHAT: wait until PORT on 127.0.0.1 accepts
# connections, failing (with LOG on stderr) when PID exits or after 60 s.
wait_port() {
  local port=$1 pid=$2 log=$3 what=$4 tries=0
  until (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do
    tries=$((tries + 1))
    if [ "$tries" -gt 600 ] || ! kill -0 "$pid" 2>/dev/null; then
      echo "$what did not start:" >&2
      cat "$log" >&2
      return 1
    fi
    sleep 0.1
  done
}
