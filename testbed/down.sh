#!/usr/bin/env bash
# Stops exactly the processes testbed/up.sh started (by their pid files), newest first,
# and removes the etcd data; certificates stay for the next start.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
run="${NIXLAB_TESTBED_DIR:-$root/.testbed}/run"

for name in kwok scheduler controller-manager apiserver etcd; do
  pidfile="$run/$name.pid"
  [ -f "$pidfile" ] || continue
  pid=$(cat "$pidfile")
  if kill -0 "$pid" 2>/dev/null; then
    kill "$pid"
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null || true
    echo "testbed: stopped $name ($pid)" >&2
  fi
  rm -f "$pidfile"
done
rm -rf "$run/etcd" "$run/apiserver.port"
