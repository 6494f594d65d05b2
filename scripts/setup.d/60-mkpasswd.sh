#!/usr/bin/env bash
# mkpasswd (Debian's whois package): the real SHA-512 crypt tool that checks the login
# password hashes `nixlab init` makes in-process. Idempotent: apt only when it is missing.
set -euo pipefail
if command -v mkpasswd >/dev/null; then
  echo "mkpasswd present"
  exit 0
fi
sudo_cmd=""; [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
$sudo_cmd apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends whois >/dev/null
echo "installed: whois (mkpasswd)"
