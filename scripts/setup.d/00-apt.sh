#!/usr/bin/env bash
# Debian packages the tests use as real peers. apt-get update only when something is missing.
set -euo pipefail
# nftables, iptables, iproute2: VPN packet tests in network namespaces; zbar-tools: reading QR codes
# back; chromium: dashboard tests (playwright-core drives it); tmux: driving interactive
# commands in a real terminal; zsh, fish, bash-completion: completion scripts loaded for real.
pkgs=(nix-bin age wireguard-tools caddy nginx libnginx-mod-stream btrfs-progs openssl python3
  nftables iptables iproute2 zbar-tools chromium tmux zsh fish bash-completion)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo_cmd=""; [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  echo "installed: ${missing[*]}"
else
  echo "all Debian peers present"
fi
