#!/usr/bin/env bash
# Real API schemas for validating rendered objects and CRDs for the e2e apiserver.
# Every file comes verbatim out of a pinned Go module fetched through the Go module
# proxy (checksummed by sum.golang.org), so the set is reproducible and offline
# once cached. Idempotent: a stamp of the pinned versions skips the work.
#   .testbed/schemas/openapi/*.json  Kubernetes OpenAPI v3 spec (api/openapi-spec/v3)
#   .testbed/crds/*.yaml             cert-manager, MetalLB and k3s helm-controller CRDs
#   .testbed/schemas/sources.json    module, version and go.sum hash of each source
set -euo pipefail
cd "$(dirname "$0")/../.."

K8S="k8s.io/kubernetes@v1.34.4"
CERT_MANAGER="github.com/cert-manager/cert-manager@v1.20.3"
METALLB="go.universe.tf/metallb@v0.15.2"
# v0.16.x is the line built against k8s.io/* v0.34, matching a k3s 1.34 cluster.
HELM_CONTROLLER="github.com/k3s-io/helm-controller@v0.16.27"

schemas=.testbed/schemas
crds=.testbed/crds
stamp="$schemas/.stamp"
want="$K8S $CERT_MANAGER $METALLB $HELM_CONTROLLER"

if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -n "$(ls "$schemas"/openapi/*.json 2>/dev/null)" ] \
  && [ -n "$(ls "$crds"/*.yaml 2>/dev/null)" ]; then
  echo "schemas and CRDs cached ($want)"
  exit 0
fi

command -v go >/dev/null || { echo "15-schemas: go is required (Go module proxy download)" >&2; exit 1; }

# `go mod download -json` outside a module fetches into the shared module cache and prints
# Dir/Sum; it runs in an empty temp dir with GOWORK=off so no go.mod/go.work interferes.
workdir=$(mktemp -d)
trap 'rm -rf "$workdir"' EXIT
declare -A dirs sums
for mod in $want; do
  json=$(cd "$workdir" && GOWORK=off GO111MODULE=on go mod download -json "$mod")
  dir=$(printf '%s' "$json" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')
  sum=$(printf '%s' "$json" | sed -n 's/^[[:space:]]*"Sum": "\(.*\)",\{0,1\}$/\1/p')
  if [ -z "$dir" ] || [ ! -d "$dir" ]; then
    echo "15-schemas: go mod download $mod failed:" >&2
    printf '%s\n' "$json" >&2
    exit 1
  fi
  dirs[$mod]=$dir
  sums[$mod]=$sum
done

# Build into fresh directories and swap them in, so an interrupted run never leaves a half set.
tmp_openapi="$workdir/openapi"
tmp_crds="$workdir/crds"
mkdir -p "$tmp_openapi" "$tmp_crds"

copy_all() { # src-dir pattern dest
  local n=0 f
  for f in "$1"/$2; do
    [ -f "$f" ] || continue
    cp "$f" "$3/"
    n=$((n + 1))
  done
  [ "$n" -gt 0 ] || { echo "15-schemas: nothing matched $1/$2" >&2; exit 1; }
}

copy_all "${dirs[$K8S]}/api/openapi-spec/v3" '*.json' "$tmp_openapi"
# deploy/crds is controller-gen's output; the Helm chart's crd-*.yaml are the same schemas wrapped in templating.
copy_all "${dirs[$CERT_MANAGER]}/deploy/crds" '*.yaml' "$tmp_crds"
# config/crd/bases without the kustomize patch that points BGPPeer conversion at a webhook
# Service a bare test apiserver does not have (the chart's copy hardcodes it too).
copy_all "${dirs[$METALLB]}/config/crd/bases" '*.yaml' "$tmp_crds"
# The controller embeds exactly these files (pkg/crds/crds.go, go:embed yaml) and installs them at startup.
copy_all "${dirs[$HELM_CONTROLLER]}/pkg/crds/yaml/generated" '*.yaml' "$tmp_crds"

chmod -R u+w "$tmp_openapi" "$tmp_crds" # the module cache is read-only
{
  printf '{\n'
  i=0
  for mod in $want; do
    i=$((i + 1))
    sep=","; [ "$i" -eq 4 ] && sep=""
    printf '  "%s": { "version": "%s", "sum": "%s" }%s\n' "${mod%@*}" "${mod#*@}" "${sums[$mod]}" "$sep"
  done
  printf '}\n'
} >"$workdir/sources.json"

mkdir -p "$schemas" "$crds"
rm -rf "$schemas/openapi" && mv "$tmp_openapi" "$schemas/openapi"
rm -f "$crds"/*.yaml && mv "$tmp_crds"/*.yaml "$crds/"
mv "$workdir/sources.json" "$schemas/sources.json"
printf '%s' "$want" >"$stamp"
echo "schemas: $(ls "$schemas"/openapi/*.json | wc -l) OpenAPI v3 files, $(ls "$crds"/*.yaml | wc -l) CRDs ($want)"
