#!/usr/bin/env bash
# Restarts testbed components in place (same ports, same etcd data), for fault tests:
#   testbed/restart.sh stop NAME…    stops them (SIGKILL: a crash, not a clean shutdown)
#   testbed/restart.sh start NAME…   starts them again with the command line up.sh used
# NAME is one of etcd, apiserver, controller-manager, scheduler, kwok.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
run="${NIXLAB_TESTBED_DIR:-$root/.testbed}/run"
action=$1; shift
for name in "$@"; do
  [ -f "$run/$name.cmd" ] || { echo "testbed: no $run/$name.cmd (start the testbed with testbed/up.sh)" >&2; exit 1; }
  case $action in
    stop)
      pid=$(cat "$run/$name.pid" 2>/dev/null || true)
      if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
        kill -9 "$pid"
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      fi
      ;;
    start)
      eval "setsid $(cat "$run/$name.cmd") >>\"\$run/\$name.log\" 2>&1 </dev/null &"
      echo $! >"$run/$name.pid"
      ;;
    *) echo "usage: testbed/restart.sh stop|start NAME…" >&2; exit 2 ;;
  esac
done
