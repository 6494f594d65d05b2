#!/usr/bin/env bash
# The e2e/bench control plane: kube-apiserver, kube-controller-manager and kube-scheduler built from
# the release pinned in testbed/go.mod, etcd at the version that release pins (v3.6.x:
# Debian's etcd-server is 3.4, which lacks the watch progress notifications 1.34 relies
# on, so informers fell back to relisting and pods went Ready seconds late), and kwok
# (fake nodes and pod lifecycle), all into .testbed/bin. Idempotent: a stamp of the
# pinned versions skips the build. The build is slow on small machines, so it runs
# one package at a time at low priority and leaves the other cores alone.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD

KWOK="sigs.k8s.io/kwok/cmd/kwok@v0.7.0"
k8s=$(awk '$1 == "k8s.io/kubernetes" && $2 ~ /^v/ { print $2 }' testbed/go.mod)
[ -n "$k8s" ] || { echo "40-testbed: no k8s.io/kubernetes version in testbed/go.mod" >&2; exit 1; }
bin="$root/.testbed/bin"
stamp="$bin/.stamp"
want="kubernetes=$k8s scheduler etcd=$(awk '$1 == "go.etcd.io/etcd/server/v3" && $2 ~ /^v/ { print $2 }' testbed/go.mod) $KWOK go.sum=$(sha256sum testbed/go.sum | cut -c1-16)"

if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -x "$bin/kube-apiserver" ] \
  && [ -x "$bin/kube-controller-manager" ] && [ -x "$bin/kube-scheduler" ] && [ -x "$bin/etcd" ] \
  && [ -x "$bin/kwok" ]; then
  echo "testbed binaries cached ($want)"
  exit 0
fi

command -v go >/dev/null || { echo "40-testbed: go is required" >&2; exit 1; }
mkdir -p "$bin"
rm -f "$stamp"

export GOFLAGS="-p=${NIXLAB_TESTBED_BUILD_JOBS:-1} -buildvcs=false -trimpath"
ver="${k8s#v}"
# Without these the apiserver reports v0.0.0-master; clients and kwok read /version.
ldflags="-s -w -X k8s.io/component-base/version.gitVersion=$k8s \
  -X k8s.io/component-base/version.gitMajor=${ver%%.*} \
  -X k8s.io/component-base/version.gitMinor=$(echo "$ver" | cut -d. -f2) \
  -X k8s.io/client-go/pkg/version.gitVersion=$k8s"

(cd testbed && nice -n 10 go build -ldflags="$ldflags" -o "$bin/" \
  k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager \
  k8s.io/kubernetes/cmd/kube-scheduler)
(cd testbed && nice -n 10 go build -ldflags="-s -w" -o "$bin/etcd" go.etcd.io/etcd/server/v3)
GOBIN="$bin" nice -n 10 go install -ldflags="-s -w" "$KWOK"

echo "$want" >"$stamp"
echo "testbed binaries built ($want)"
