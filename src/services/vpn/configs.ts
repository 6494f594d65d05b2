/**
 * The text files of the WireGuard pod: wg0.conf template, client templates, Caddyfile
 * (VPN SSO for Nextcloud), Corefile (the VPN's DNS), and the scripts that assemble them.
 * User names reaching these files were validated as [a-z0-9-] (defect 36), and every
 * value from a Secret is checked by the init script before it is substituted.
 */
import type { Cluster, VpnUser } from "../../cluster/model.ts";
import { clientConfig } from "../../vpn/client-config.ts";
import { expiryEpoch } from "../../vpn/expiry.ts";
import { compilePolicy, reachesNextcloud } from "../../vpn/policy.ts";
import { gateUrl, ssoTokenEnv, ssoTokenHeader, tokenGuard } from "../apps/nextcloud-sso-gate.ts";
import { dashboardCaddyRoutes, dashboardHost, dashboardTokenGuard } from "../dashboard/dashboard.ts";
import { firewallPath } from "./firewall.ts";

/** ConfigMap key of a user's client template; prefixed so no user can shadow another key. */
export const clientKey = (user: VpnUser): string => `client-${user.name}.conf`;
/** Caddy matcher name of a user: @vpn_dave_y. */
export const caddyMatcher = (user: VpnUser): string => `vpn_${user.name.replaceAll("-", "_")}`;

/**
 * The server's wg0.conf. The access-group firewall (firewall.ts) is loaded by PreUp,
 * before wg-quick creates wg0, and a failure stops wg0 from coming up: no peer is ever
 * forwarded unfiltered. ip_forward comes from the pod's sysctls (the container is not
 * privileged, so /proc/sys is read-only). NIXLAB_FIREWALL points elsewhere in tests.
 */
export function wg0Template(cluster: Cluster): string {
  const { serverIp, port } = cluster.vpn;
  const lines = [
    "[Interface]",
    `Address = ${serverIp}/24`,
    `ListenPort = ${port}`,
    "PrivateKey = __SERVER_PRIVATE_KEY__",
    "# The VPN access groups: forwarding, filtering and masquerading (nftables, atomic)",
    `PreUp = nft -f "\${NIXLAB_FIREWALL:-${firewallPath}}"`,
  ];
  // Peers are appended by setup.sh from the peer list, so adding one changes neither this
  // template nor the pod (see reconciler.ts).
  return `${lines.join("\n")}\n`;
}

/** The client config template the pod fills in (setup.sh): the user's config with placeholders for the keys. */
export function clientTemplate(cluster: Cluster, user: VpnUser): string {
  return clientConfig(cluster, user, {
    privateKey: `__PASTE_${user.name.toUpperCase()}_PRIVATE_KEY_HERE__`,
    serverPublicKey: "__SERVER_PUBLIC_KEY__",
    endpointHost: "__WG_SERVER_ENDPOINT__",
  });
}

/** A Caddyfile string literal (values are validated, but quoting is never optional). */
const caddyQuote = (s: string): string => `"${s.replaceAll("\\", "\\\\").replaceAll('"', '\\"')}"`;

/**
 * Caddy on 10.0.100.1:443 inside the WireGuard pod: a VPN peer's source address picks
 * the Nextcloud user it is signed in as (WireGuard binds the address to the peer's key).
 * Caddy replaces any client-sent X-Remote-User and adds the token the gate in front of
 * Nextcloud checks. Only users whose group reaches `nextcloud` get a route.
 * NIXLAB_CERT_DIR and NIXLAB_SSO_UPSTREAM replace in-cluster paths in tests.
 */
export function caddyfile(cluster: Cluster): string {
  const host = `nextcloud.${cluster.config.domain}`;
  const certs = "{$NIXLAB_CERT_DIR:/certs}";
  const lines = [
    "{",
    "\tadmin off",
    "\tauto_https off",
    "}",
    "",
    ":443 {",
    `\ttls ${certs}/tls.crt ${certs}/tls.key`,
    "",
    ...(cluster.config.dashboard.enabled ? dashboardCaddyRoutes(cluster, caddyQuote) : []),
  ];
  const policy = compilePolicy(cluster);
  const signIn = new Map(policy.groups.map((g) => [g.name, reachesNextcloud(policy, g.name)]));
  for (const user of cluster.vpn.ssoUsers.filter((u) => signIn.get(u.group))) {
    const m = caddyMatcher(user);
    lines.push(
      `\t@${m} remote_ip ${user.ip}`,
      `\thandle @${m} {`,
      `\t\treverse_proxy {$NIXLAB_SSO_UPSTREAM:${gateUrl(cluster)}} {`,
      `\t\t\theader_up Host ${host}`,
      `\t\t\theader_up X-Remote-User ${caddyQuote(user.nextcloudUser!)}`,
      // PHP maps X_Remote_User to the same variable; never let a client supply it.
      "\t\t\theader_up -X_Remote_User",
      `\t\t\theader_up ${ssoTokenHeader} {$${ssoTokenEnv}}`,
      "\t\t}",
      "\t}",
      "",
    );
  }
  lines.push("\thandle {", '\t\trespond "VPN user not recognized" 403', "\t}", "}");
  return `${lines.join("\n")}\n`;
}

/**
 * The VPN's DNS (defect 25): nextcloud.<domain> is the VPN address, where Caddy signs
 * the peer in; every other name goes to Pi-hole. LAN clients never see this answer.
 */
export function corefile(cluster: Cluster): string {
  return [
    ".:53 {",
    "\terrors",
    "\thosts {",
    `\t\t${cluster.vpn.serverIp} nextcloud.${cluster.config.domain}`,
    ...(cluster.config.dashboard.enabled ? [`\t\t${cluster.vpn.serverIp} ${dashboardHost(cluster)}`] : []),
    "\t\tfallthrough",
    "\t}",
    `\tforward . ${cluster.config.piholeIp}`,
    "\tcache 30",
    "}",
    "",
  ].join("\n");
}

/**
 * The peer list setup.sh and the reconciler read: per enabled user its name, address,
 * key file in the peers Secret, and the Unix time it expires at (- for never). Names,
 * addresses and secret names are validated, so the fields split safely at spaces.
 */
export function peerList(cluster: Cluster): string {
  const tz = cluster.config.timezone;
  const lines = ["# name address key-file expires-at"];
  for (const u of cluster.vpn.enabledUsers) {
    lines.push(`${u.name} ${u.ip} ${u.publicKeySecret} ${u.expires ? expiryEpoch(u.expires, tz) : "-"}`);
  }
  return `${lines.join("\n")}\n`;
}

/**
 * Builds wg0.conf and the client configs from the templates, the peer list and the
 * Secrets' files, leaving out expired peers. The init container runs it before
 * WireGuard starts, the reconciler on every pass. Fails (set -eu) on a missing
 * directory, file or malformed key instead of writing a server config without its
 * peers (defect 28); the previous wg0.conf stays until a new one is complete.
 */
export const setupScript = `#!/bin/sh
set -eu
umask 077
tpl="\${TEMPLATE_DIR:-/config-template}"
secrets="\${SECRETS_DIR:-/secrets}"
peers="\${PEERS_DIR:-/peers}"
out="\${CONFIG_DIR:-/config}"
now="\${NIXLAB_NOW:-$(date +%s)}"

# A WireGuard key is 32 bytes in base64; anything else must not reach the config.
read_key() {
  value=$(cat "$1")
  if ! printf '%s' "$value" | grep -Eq '^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=$'; then
    echo "error: secret key \${1##*/} is not a WireGuard key" >&2
    exit 1
  fi
  printf '%s' "$value"
}

server_private=$(read_key "$secrets/server-private-key")
server_public=$(read_key "$secrets/server-public-key")
endpoint=$(cat "$secrets/wg-server-endpoint")
if ! printf '%s' "$endpoint" | grep -Eq '^([A-Za-z0-9.-]+|\\[[0-9A-Fa-f:]+\\])$'; then
  echo "error: secret key wg-server-endpoint must be a host name or address" >&2
  exit 1
fi

mkdir -p "$out/wg_confs" "$out/clients"
conf="$out/wg_confs/wg0.conf"
sed -e "s|__SERVER_PRIVATE_KEY__|$server_private|" "$tpl/wg0.conf.template" > "$conf.new"
chmod 600 "$conf.new"
# Client configs of current peers only: a disabled or expired user's file does not linger.
rm -f "$out"/clients/*.conf
ready=0
expired=0
while read -r name ip key expires; do
  case "$name" in '' | '#'*) continue ;; esac
  if [ "$expires" != "-" ] && [ "$now" -ge "$expires" ]; then
    expired=$((expired + 1))
    continue
  fi
  public=$(read_key "$peers/$key")
  printf '\\n[Peer]\\n# %s\\nPublicKey = %s\\nAllowedIPs = %s/32\\n' "$name" "$public" "$ip" >> "$conf.new"
  sed -e "s|__SERVER_PUBLIC_KEY__|$server_public|" -e "s|__WG_SERVER_ENDPOINT__|$endpoint|" \\
    "$tpl/client-$name.conf" > "$out/clients/$name.conf"
  ready=$((ready + 1))
done < "$tpl/peers"
mv "$conf.new" "$conf"
echo "WireGuard config ready with $ready users ($expired expired)"
`;

/**
 * Runs Caddy once cert-manager has issued the Nextcloud certificate, and restarts it
 * when the certificate is renewed or the Caddyfile changes (a VPN user's route; the pod
 * is not rolled for peers). The VPN itself never waits for ACME (defect 30), and a
 * renewed certificate is served without a manual restart (defect 29). With the dashboard
 * on, it also refuses to start without the dashboard's token.
 */
export const caddyRunScript = (cluster: Cluster): string => `#!/bin/sh
set -u
${tokenGuard}
${cluster.config.dashboard.enabled ? `${dashboardTokenGuard}\n` : ""}cert="\${NIXLAB_CERT_DIR:-/certs}/tls.crt"
key="\${NIXLAB_CERT_DIR:-/certs}/tls.key"
pid=""
trap 'if [ -n "$pid" ]; then kill "$pid" 2>/dev/null; fi; exit 0' TERM INT
fingerprint() { cat "$cert" "$key" "\${NIXLAB_CADDYFILE:-/etc/caddy/Caddyfile}" 2>/dev/null | md5sum; }
while :; do
  until [ -s "$cert" ] && [ -s "$key" ]; do
    echo "waiting for the nextcloud-tls certificate"
    sleep 30 & wait $!
  done
  current=$(fingerprint)
  caddy run --config "\${NIXLAB_CADDYFILE:-/etc/caddy/Caddyfile}" --adapter caddyfile &
  pid=$!
  while sleep 60 & wait $!; do
    if ! kill -0 "$pid" 2>/dev/null; then
      wait "$pid"
      exit 1
    fi
    [ "$(fingerprint)" = "$current" ] || break
  done
  echo "certificate or Caddyfile changed: restarting Caddy"
  kill "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  pid=""
done
`;
