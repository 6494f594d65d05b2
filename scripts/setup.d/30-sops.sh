#!/usr/bin/env bash
# Builds the real sops (pinned) into .testbed/bin for the secrets interop tests and bench.
# Idempotent: skips the build when the pinned version is already there.
set -euo pipefail
cd "$(dirname "$0")/../.."
SOPS_VERSION="v3.13.3"
bin="$PWD/.testbed/bin/sops"
if [ -x "$bin" ] && "$bin" --version --check-for-updates=false 2>/dev/null | grep -q "${SOPS_VERSION#v}"; then
  echo "sops ${SOPS_VERSION} present"
  exit 0
fi
mkdir -p .testbed/bin
# nice: the build shares two cores with everything else running on the machine.
GOBIN="$PWD/.testbed/bin" GOFLAGS="-buildvcs=false" nice -n 10 go install "github.com/getsops/sops/v3/cmd/sops@${SOPS_VERSION}"
echo "built sops ${SOPS_VERSION}: $("$bin" --version --check-for-updates=false 2>/dev/null | head -1)"
