#!/usr/bin/env bash
# kubectl, the baseline of the bench's apply figure (`kubectl apply --server-side`), built
# from the same pinned k8s.io/kubernetes as the testbed's control plane (40-testbed.sh)
# into .testbed/bin/kubectl. Its extra dependencies' checksums live in
# testbed/kubectl.go.sum, so testbed/go.sum (and the control plane's stamp) stay as they
# are: the build runs with a copy of testbed/go.mod and both sum files (go -modfile).
# Idempotent: a stamp of the pinned version and the module files skips the build.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
k8s=$(awk '$1 == "k8s.io/kubernetes" && $2 ~ /^v/ { print $2 }' testbed/go.mod)
[ -n "$k8s" ] || { echo "42-kubectl: no k8s.io/kubernetes version in testbed/go.mod" >&2; exit 1; }
bin="$root/.testbed/bin"
stamp="$bin/.kubectl.stamp"
want="kubectl=$k8s modules=$(cat testbed/go.mod testbed/go.sum testbed/kubectl.go.sum | sha256sum | cut -c1-16)"
if [ -x "$bin/kubectl" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  echo "kubectl present ($want)"
  exit 0
fi
command -v go >/dev/null || { echo "42-kubectl: go is required" >&2; exit 1; }
mkdir -p "$bin"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp testbed/go.mod "$work/kubectl.mod"
cat testbed/go.sum testbed/kubectl.go.sum >"$work/kubectl.sum"
ver="${k8s#v}"
# As 40-testbed.sh: without these kubectl reports v0.0.0-master.
ldflags="-s -w -X k8s.io/component-base/version.gitVersion=$k8s \
  -X k8s.io/component-base/version.gitMajor=${ver%%.*} \
  -X k8s.io/component-base/version.gitMinor=$(echo "$ver" | cut -d. -f2) \
  -X k8s.io/client-go/pkg/version.gitVersion=$k8s"
(cd testbed && GOFLAGS="-p=${NIXLAB_TESTBED_BUILD_JOBS:-1} -buildvcs=false -trimpath -mod=readonly" \
  nice -n 10 go build -modfile="$work/kubectl.mod" -ldflags="$ldflags" -o "$work/kubectl" k8s.io/kubernetes/cmd/kubectl)
mv "$work/kubectl" "$bin/kubectl"
echo "$want" >"$stamp"
echo "built kubectl ($want)"
