#!/usr/bin/env bash
# Userspace WireGuard (wireguard-go) for the VPN packet tests in network namespaces: the
# kernel module is absent on the machines we test on, the userspace implementation works
# with /dev/net/tun. Built from the pinned Go module into .testbed/bin/wireguard-go.
# Idempotent: a stamp of the pinned version skips the build.
set -euo pipefail
cd "$(dirname "$0")/../.."
WIREGUARD_GO="golang.zx2c4.com/wireguard@v0.0.0-20260522210424-ecfc5a8d5446"
bin="$PWD/.testbed/bin"
stamp="$bin/.wireguard-go.stamp"
if [ -x "$bin/wireguard-go" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$WIREGUARD_GO" ]; then
  echo "wireguard-go present ($WIREGUARD_GO)"
  exit 0
fi
command -v go >/dev/null || { echo "45-wireguard-go: go is required" >&2; exit 1; }
mkdir -p "$bin"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# go install names the binary after the module's last path element ("wireguard").
GOBIN="$work" GOFLAGS="-buildvcs=false -trimpath" nice -n 10 go install -ldflags="-s -w" "$WIREGUARD_GO"
mv "$work/wireguard" "$bin/wireguard-go"
echo "$WIREGUARD_GO" >"$stamp"
echo "built wireguard-go ($WIREGUARD_GO)"
