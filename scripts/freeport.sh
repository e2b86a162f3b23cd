#!/usr/bin/env bash
# scripts/freeport.sh — free_port, sourced by scripts/flink.sh and
# scripts/spark-runner.sh.
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
