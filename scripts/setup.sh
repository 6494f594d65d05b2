#!/usr/bin/env bash
# Installs every real peer the tests use (Debian packages, Go-built tools).
# Idempotent: each step skips what is already there. One file per concern in setup.d/.
set -euo pipefail
cd "$(dirname "$0")/.."
for step in scripts/setup.d/*.sh; do
  echo "== setup: ${step##*/}"
  bash "$step"
done
