#!/usr/bin/env bash
# ping (iputils) for the VPN user packet tests: a client built from `nixlab vpn` output
# pings the WireGuard server through the tunnel. Idempotent: installs only when missing.
set -euo pipefail
if dpkg-query -W -f='${Status}' iputils-ping 2>/dev/null | grep -q "install ok installed"; then
  echo "ping present"
  exit 0
fi
sudo_cmd=""; [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
$sudo_cmd apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends iputils-ping >/dev/null
echo "installed: iputils-ping"
