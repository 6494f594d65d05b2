/**
 * The WireGuard pod's reconciler: a small container beside the server that keeps the
 * running interface equal to what the cluster file says, without restarting the pod.
 *
 * Peers are data, not pod configuration: their public keys live in their own Secret
 * (`wireguard-peers`, which rolls nothing), the peer list and client templates in the
 * ConfigMap, and the kubelet updates both mounted volumes in place. Every pass the
 * reconciler (1) removes peers past their expiry from the live interface by address,
 * even when nothing else can be rendered, (2) renders wg0.conf again with setup.sh,
 * (3) removes peers that are gone or changed, (4) reloads the access-group firewall when
 * it changed, and (5) applies the config with `wg syncconf`, which touches only peers
 * that differ, so nobody else's session drops. Expiry therefore needs no redeploy, and
 * new peers need no restart. NIXLAB_NOW replaces the clock in tests.
 */
import type { Cluster } from "../../cluster/model.ts";
import { image } from "../util.ts";
import { firewallPath } from "./firewall.ts";

/** The Secret that holds the VPN users' public keys (changes to it roll no pod). */
export const peersSecret = "wireguard-peers";
/** Seconds between two passes; the kubelet's volume updates take about a minute anyway. */
export const reconcileIntervalSeconds = 30;

/** One pass. Exit 0 when the interface matches the config (or is not up yet), 1 when a step failed. */
export const reconcileScript = `#!/bin/sh
set -u
tpl="\${TEMPLATE_DIR:-/config-template}"
out="\${CONFIG_DIR:-/config}"
iface="\${WG_INTERFACE:-wg0}"
firewall="\${NIXLAB_FIREWALL:-${firewallPath}}"
state="\${STATE_DIR:-/tmp}"
NIXLAB_NOW="\${NIXLAB_NOW:-$(date +%s)}"
export NIXLAB_NOW

if ! wg show "$iface" >/dev/null 2>&1; then
  echo "$iface is not up yet"
  exit 0
fi

# 1. Expired peers leave first, by address, whatever else fails below.
while read -r name ip key expires; do
  case "$name" in '' | '#'*) continue ;; esac
  if [ "$expires" = "-" ] || [ "$NIXLAB_NOW" -lt "$expires" ]; then continue; fi
  for peer in $(wg show "$iface" allowed-ips | awk -v ip="$ip/32" '$2 == ip { print $1 }'); do
    wg set "$iface" peer "$peer" remove && echo "removed expired peer $name ($ip)"
  done
done < "$tpl/peers"

# 2. The config as the ConfigMap and Secrets say now.
if ! sh "$tpl/setup.sh" >/dev/null; then
  echo "cannot render the config; the running peers stay as they are" >&2
  exit 1
fi
stripped="$state/$iface.stripped.conf"
if ! wg-quick strip "$out/wg_confs/wg0.conf" > "$stripped"; then
  echo "wg-quick cannot read the rendered config" >&2
  exit 1
fi

# 3. Peers that are gone or moved leave before the firewall changes, so an address is
# never in a group's set while its previous owner is still connected.
wanted=" $(awk '$1 == "PublicKey" { key = $3 } $1 == "AllowedIPs" { printf "%s=%s ", key, $3 }' "$stripped")"
wg show "$iface" allowed-ips | while read -r peer ips; do
  case "$wanted" in
    *" $peer=$ips "*) ;;
    *) wg set "$iface" peer "$peer" remove && echo "removed peer $ips" ;;
  esac
done

# 4. The access-group firewall (atomic), when it changed.
if [ -f "$firewall" ]; then
  sum=$(cksum < "$firewall")
  if [ "$sum" != "$(cat "$state/firewall.sum" 2>/dev/null)" ]; then
    if ! nft -f "$firewall"; then
      echo "cannot load the firewall; new peers wait" >&2
      exit 1
    fi
    printf '%s' "$sum" > "$state/firewall.sum"
    echo "firewall reloaded"
  fi
fi

# 5. Everything else; peers that did not change keep their sessions.
# (Sorted: wireguard-go lists peers in no fixed order.)
before=$(wg show "$iface" allowed-ips | sort)
wg syncconf "$iface" "$stripped" || exit 1
after=$(wg show "$iface" allowed-ips | sort)
if [ "$before" != "$after" ]; then
  echo "peers now: $(printf '%s\\n' "$after" | grep -c .)"
fi
`;

/**
 * The reconciler container: the WireGuard image (it has wg, wg-quick and nft), NET_ADMIN
 * in the pod's own network namespace, not privileged, running a pass every 30 s.
 */
export function reconcilerContainer(cluster: Cluster): Record<string, unknown> {
  return {
    name: "reconciler",
    image: image(cluster, "wireguard"),
    command: ["/bin/sh", "-c", `while :; do sh /config-template/reconcile.sh; sleep ${reconcileIntervalSeconds}; done`],
    resources: {
      requests: { cpu: "10m", memory: "16Mi" },
      limits: { cpu: "100m", memory: "64Mi" },
    },
    securityContext: { privileged: false, allowPrivilegeEscalation: false, capabilities: { add: ["NET_ADMIN"] } },
    volumeMounts: [
      { name: "config-template", mountPath: "/config-template", readOnly: true },
      { name: "wireguard-data", mountPath: "/config" },
      { name: "wireguard-secrets", mountPath: "/secrets", readOnly: true },
      { name: "wireguard-peers", mountPath: "/peers", readOnly: true },
      { name: "firewall", mountPath: "/etc/nixlab", readOnly: true },
    ],
  };
}
