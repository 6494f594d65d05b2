#!/usr/bin/env bash
# Peers of the NixOS-side tests (test/nodes/) beyond 00-apt.sh: systemd-escape (device
# unit names), losetup/mount (util-linux) and a loop device for the btrfs rollback test.
# Idempotent: installs only what is missing.
set -euo pipefail
sudo_cmd=""; [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
missing=()
command -v systemd-escape >/dev/null 2>&1 || missing+=(systemd)
command -v losetup >/dev/null 2>&1 || missing+=(mount)
command -v mkfs.btrfs >/dev/null 2>&1 || missing+=(btrfs-progs)
command -v nix-instantiate >/dev/null 2>&1 || missing+=(nix-bin)
if [ ${#missing[@]} -gt 0 ]; then
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  echo "installed: ${missing[*]}"
fi
# The rollback test needs loop devices; load the driver where that is allowed.
if [ ! -e /dev/loop-control ]; then
  $sudo_cmd modprobe loop 2>/dev/null || echo "warning: no /dev/loop-control; test/nodes/rollback.test.ts needs loop devices (it fails under NIXLAB_E2E=1)"
fi
echo "nodes peers present"
