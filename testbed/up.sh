#!/usr/bin/env bash
# Starts a real Kubernetes control plane on 127.0.0.1 for the e2e tests and benchmarks:
# etcd, kube-apiserver, kube-controller-manager and kube-scheduler (all built from the
# Go modules pinned in testbed/go.mod by scripts/setup.d/40-testbed.sh), and kwok with a few fake nodes whose pods become
# Ready (and Job pods Succeeded), so Deployments, StatefulSets, DaemonSets and Jobs
# really roll out. Idempotent: when the testbed already answers, it only prints the
# kubeconfig path. Everything lives under $NIXLAB_TESTBED_DIR (default .testbed/):
#   bin/          binaries (40-testbed.sh)      run/pki/   CA, serving/client certs, SA keys
#   run/*.pid     what down.sh stops            run/*.log  component logs
#   kubeconfig    admin kubeconfig (client certificate, system:masters)
# Prints the kubeconfig path on stdout; progress goes to stderr.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
tb="${NIXLAB_TESTBED_DIR:-$root/.testbed}"
bin="${NIXLAB_TESTBED_BIN:-$root/.testbed/bin}"
run="$tb/run"
pki="$run/pki"
kubeconfig="$tb/kubeconfig"
nodes="${NIXLAB_TESTBED_NODES:-3}"
log() { echo "testbed: $*" >&2; }

alive() { [ -f "$run/$1.pid" ] && kill -0 "$(cat "$run/$1.pid")" 2>/dev/null; }
api() { # api METHOD PATH [curl args…]: one request to the apiserver as admin
  local method=$1 path=$2; shift 2
  curl -sS --max-time 10 --cacert "$pki/ca.crt" --cert "$pki/admin.crt" --key "$pki/admin.key" \
    -X "$method" "https://127.0.0.1:$(cat "$run/apiserver.port")$path" "$@"
}
wait_for() { # wait_for SECONDS DESCRIPTION COMMAND…
  local deadline=$((SECONDS + $1)) what=$2; shift 2
  until "$@" >/dev/null 2>&1; do
    if [ $SECONDS -ge $deadline ]; then log "timed out waiting for $what (logs: $run/*.log)"; exit 1; fi
    sleep 0.2
  done
}
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

if alive etcd && alive apiserver && alive controller-manager && alive scheduler && alive kwok && [ -f "$kubeconfig" ] \
  && api GET /readyz >/dev/null 2>&1; then
  log "already running"
  echo "$kubeconfig"
  exit 0
fi
# A partial testbed (a crashed component, a reboot) is restarted from scratch.
"$root/testbed/down.sh" >/dev/null 2>&1 || true

for b in etcd kube-apiserver kube-controller-manager kube-scheduler kwok; do
  [ -x "$bin/$b" ] || { log "$bin/$b missing: run 'bash scripts/setup.d/40-testbed.sh' first"; exit 1; }
done
mkdir -p "$pki" "$run/exec"

if [ ! -f "$pki/admin.crt" ]; then
  log "generating certificates"
  ossl() { openssl "$@" 2>/dev/null; }
  ossl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=nixlab-testbed-ca" \
    -keyout "$pki/ca.key" -out "$pki/ca.crt"
  sign() { # sign NAME SUBJECT [EXTFILE]
    ossl req -newkey rsa:2048 -nodes -subj "$2" -keyout "$pki/$1.key" -out "$pki/$1.csr"
    ossl x509 -req -in "$pki/$1.csr" -CA "$pki/ca.crt" -CAkey "$pki/ca.key" -CAcreateserial -days 3650 \
      ${3:+-extfile "$3"} -out "$pki/$1.crt"
    rm -f "$pki/$1.csr"
  }
  printf 'subjectAltName=IP:127.0.0.1,IP:10.96.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc\nextendedKeyUsage=serverAuth\n' >"$pki/serving.ext"
  printf 'extendedKeyUsage=clientAuth\n' >"$pki/client.ext"
  sign serving "/CN=kube-apiserver" "$pki/serving.ext"
  sign admin "/O=system:masters/CN=nixlab-testbed-admin" "$pki/client.ext"
  ossl genrsa -out "$pki/sa.key" 2048
  ossl rsa -in "$pki/sa.key" -pubout -out "$pki/sa.pub"
  chmod 600 "$pki"/*.key
fi

start() { # start NAME COMMAND…: background, own session, pid, log and command line under run/
  local name=$1; shift
  printf '%q ' "$@" >"$run/$name.cmd"
  setsid "$@" >"$run/$name.log" 2>&1 </dev/null &
  echo $! >"$run/$name.pid"
}

etcd_port=$(free_port); etcd_peer=$(free_port)
rm -rf "$run/etcd"
log "starting etcd on 127.0.0.1:$etcd_port"
start etcd "$bin/etcd" --name testbed --data-dir "$run/etcd" \
  --listen-client-urls "http://127.0.0.1:$etcd_port" --advertise-client-urls "http://127.0.0.1:$etcd_port" \
  --listen-peer-urls "http://127.0.0.1:$etcd_peer" --initial-advertise-peer-urls "http://127.0.0.1:$etcd_peer" \
  --initial-cluster "testbed=http://127.0.0.1:$etcd_peer" --quota-backend-bytes 2147483648 \
  --log-level warn --unsafe-no-fsync
wait_for 30 etcd curl -sf "http://127.0.0.1:$etcd_port/health"

api_port=$(free_port); kwok_port=$(free_port)
echo "$api_port" >"$run/apiserver.port"
log "starting kube-apiserver on https://127.0.0.1:$api_port"
start apiserver "$bin/kube-apiserver" \
  --etcd-servers "http://127.0.0.1:$etcd_port" \
  --bind-address 127.0.0.1 --advertise-address 127.0.0.1 --secure-port "$api_port" \
  --tls-cert-file "$pki/serving.crt" --tls-private-key-file "$pki/serving.key" \
  --client-ca-file "$pki/ca.crt" --authorization-mode Node,RBAC \
  --service-account-issuer https://kubernetes.default.svc --service-account-key-file "$pki/sa.pub" \
  --service-account-signing-key-file "$pki/sa.key" --service-cluster-ip-range 10.96.0.0/16 \
  --allow-privileged=true --kubelet-preferred-address-types InternalIP \
  --kubelet-client-certificate "$pki/admin.crt" --kubelet-client-key "$pki/admin.key" \
  --endpoint-reconciler-type none --profiling=false \
  --disable-admission-plugins TaintNodesByCondition
wait_for 120 "kube-apiserver /readyz" api GET /readyz --fail

cat >"$kubeconfig" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: testbed
  cluster:
    server: https://127.0.0.1:$api_port
    certificate-authority: $pki/ca.crt
users:
- name: admin
  user:
    client-certificate: $pki/admin.crt
    client-key: $pki/admin.key
contexts:
- name: testbed
  context: {cluster: testbed, user: admin}
current-context: testbed
EOF

log "starting kube-controller-manager"
# No node-lifecycle controller (and no not-ready taint on new nodes, see the apiserver's
# admission plugins): fake nodes must never turn NotReady and take their pods along.
start controller-manager "$bin/kube-controller-manager" \
  --kubeconfig "$kubeconfig" --authentication-kubeconfig "$kubeconfig" --authorization-kubeconfig "$kubeconfig" \
  --leader-elect=false --secure-port 0 --use-service-account-credentials=false \
  --service-account-private-key-file "$pki/sa.key" --root-ca-file "$pki/ca.crt" \
  --controllers '*,-node-ipam-controller,-service-lb-controller,-cloud-node-lifecycle-controller,-node-lifecycle-controller' \
  --concurrent-deployment-syncs 10 --concurrent-statefulset-syncs 10 --concurrent-job-syncs 10 \
  --profiling=false

log "starting kube-scheduler"
start scheduler "$bin/kube-scheduler" \
  --kubeconfig "$kubeconfig" --authentication-kubeconfig "$kubeconfig" --authorization-kubeconfig "$kubeconfig" \
  --leader-elect=false --secure-port 0 --profiling=false

# The exec of fake pods runs on this host; tests point PATH at their shims.
sed -e "s|@EXEC_WORKDIR@|$run/exec|" \
  -e "s|@EXEC_PATH@|${NIXLAB_TESTBED_EXEC_PATH:-$root/test/fixtures/deploy/exec-bin}:/usr/bin:/bin|" \
  "$root/testbed/kwok.yaml" >"$run/kwok.yaml"
log "starting kwok (exec server on 127.0.0.1:$kwok_port)"
start kwok "$bin/kwok" --kubeconfig "$kubeconfig" --config "$run/kwok.yaml" \
  --manage-all-nodes=false --manage-nodes-with-annotation-selector kwok.x-k8s.io/node=fake \
  --node-ip 127.0.0.1 --node-port "$kwok_port" --server-address "127.0.0.1:$kwok_port" --node-lease-duration-seconds 40 \
  --tls-cert-file "$pki/serving.crt" --tls-private-key-file "$pki/serving.key"

for i in $(seq 0 $((nodes - 1))); do
  api POST /api/v1/nodes -H 'Content-Type: application/json' -o /dev/null -d @- <<EOF
{"apiVersion":"v1","kind":"Node","metadata":{"name":"kwok-node-$i",
 "annotations":{"kwok.x-k8s.io/node":"fake","node.alpha.kubernetes.io/ttl":"0"},
 "labels":{"kubernetes.io/hostname":"kwok-node-$i","kubernetes.io/os":"linux","type":"kwok"}},
 "spec":{}}
EOF
done
nodes_ready() {
  [ "$(api GET /api/v1/nodes | jq '[.items[] | select(.status.conditions // [] | any(.type == "Ready" and .status == "True"))] | length')" -ge "$nodes" ]
}
wait_for 60 "kwok nodes Ready" nodes_ready
# Pods need the namespace's default ServiceAccount, which the controller-manager creates.
wait_for 60 "default ServiceAccount" api GET /api/v1/namespaces/default/serviceaccounts/default --fail
log "ready ($nodes nodes); kubeconfig $kubeconfig"
echo "$kubeconfig"
