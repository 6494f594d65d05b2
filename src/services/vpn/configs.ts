/**
 * The text files of the WireGuard pod: wg0.conf template, client templates, Caddyfile
 * (VPN SSO for Nextcloud), Corefile (the VPN's DNS), and the scripts that assemble them.
 * User names reaching these files were validated as [a-z0-9-] (defect 36), and every
 * value from a Secret is checked by the init script before it is substituted.
 */
import type { Cluster, VpnUser } from "../../cluster/model.ts";
import { cidrContains, parseCidr, parseIP } from "../../cluster/net.ts";
import { compilePolicy, reachesNextcloud } from "../../vpn/policy.ts";
import { gateUrl, ssoTokenEnv, ssoTokenHeader, tokenGuard } from "../apps/nextcloud-sso-gate.ts";
import { firewallPath } from "./firewall.ts";

/** The placeholder of a peer's public key: __ALICE_PUBLIC_KEY__, __DAVE-Y_PUBLIC_KEY__. */
export const peerPlaceholder = (user: VpnUser): string => `__${user.name.toUpperCase()}_PUBLIC_KEY__`;
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
  for (const user of cluster.vpn.enabledUsers) {
    lines.push("", "[Peer]", `PublicKey = ${peerPlaceholder(user)}`, `AllowedIPs = ${user.ip}/32`);
  }
  return `${lines.join("\n")}\n`;
}

/**
 * The client's AllowedIPs: the user's list, plus the VPN server address when the list
 * does not route it, because the client's DNS server is the VPN's own (10.0.100.1).
 */
export function clientAllowedIPs(cluster: Cluster, user: VpnUser): string[] {
  const server = parseIP(cluster.vpn.serverIp)!;
  const covered = user.allowedIPs.some((entry) => {
    const cidr = parseCidr(entry);
    return cidr ? cidrContains(cidr, server) : entry === cluster.vpn.serverIp;
  });
  return covered ? user.allowedIPs : [...user.allowedIPs, `${cluster.vpn.serverIp}/32`];
}

export function clientTemplate(cluster: Cluster, user: VpnUser): string {
  return [
    "[Interface]",
    `PrivateKey = __PASTE_${user.name.toUpperCase()}_PRIVATE_KEY_HERE__`,
    `Address = ${user.ip}/32`,
    `DNS = ${cluster.vpn.serverIp}`,
    "",
    "[Peer]",
    "PublicKey = __SERVER_PUBLIC_KEY__",
    `Endpoint = __WG_SERVER_ENDPOINT__:${cluster.vpn.port}`,
    `AllowedIPs = ${clientAllowedIPs(cluster, user).join(", ")}`,
    "PersistentKeepalive = 25",
    "",
  ].join("\n");
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
    "\t\tfallthrough",
    "\t}",
    `\tforward . ${cluster.config.piholeIp}`,
    "\tcache 30",
    "}",
    "",
  ].join("\n");
}

/**
 * The init container's script: builds wg0.conf and the client configs from the
 * templates and the Secret's files. Fails (set -eu) on a missing directory, file or
 * malformed key instead of starting a server without peers (defect 28).
 */
export function setupScript(cluster: Cluster): string {
  const users = cluster.vpn.enabledUsers;
  const lines = [
    "#!/bin/sh",
    "set -eu",
    "umask 077",
    'tpl="${TEMPLATE_DIR:-/config-template}"',
    'secrets="${SECRETS_DIR:-/secrets}"',
    'out="${CONFIG_DIR:-/config}"',
    "",
    "# A WireGuard key is 32 bytes in base64; anything else must not reach the config.",
    "read_key() {",
    '  value=$(cat "$secrets/$1")',
    "  if ! printf '%s' \"$value\" | grep -Eq '^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=$'; then",
    '    echo "error: secret key $1 is not a WireGuard key" >&2',
    "    exit 1",
    "  fi",
    "  printf '%s' \"$value\"",
    "}",
    "",
    "server_private=$(read_key server-private-key)",
    "server_public=$(read_key server-public-key)",
    'endpoint=$(cat "$secrets/wg-server-endpoint")',
    "if ! printf '%s' \"$endpoint\" | grep -Eq '^([A-Za-z0-9.-]+|\\[[0-9A-Fa-f:]+\\])$'; then",
    '  echo "error: secret key wg-server-endpoint must be a host name or address" >&2',
    "  exit 1",
    "fi",
    ...users.map((u, i) => `peer_${i}=$(read_key ${u.publicKeySecret})`),
    "",
    'mkdir -p "$out/wg_confs" "$out/clients"',
    'sed -e "s|__SERVER_PRIVATE_KEY__|$server_private|" \\',
    ...users.map((u, i) => `  -e "s|${peerPlaceholder(u)}|$peer_${i}|" \\`),
    '  "$tpl/wg0.conf.template" > "$out/wg_confs/wg0.conf.new"',
    'chmod 600 "$out/wg_confs/wg0.conf.new"',
    'mv "$out/wg_confs/wg0.conf.new" "$out/wg_confs/wg0.conf"',
    "",
    "# Client configs of current users only: a disabled user's file does not linger.",
    'rm -f "$out"/clients/*.conf',
    ...users.map(
      (u) =>
        `sed -e "s|__SERVER_PUBLIC_KEY__|$server_public|" -e "s|__WG_SERVER_ENDPOINT__|$endpoint|" "$tpl/${clientKey(u)}" > "$out/clients/${u.name}.conf"`,
    ),
    `echo "WireGuard config ready with ${users.length} users"`,
    "",
  ];
  return lines.join("\n");
}

/**
 * Runs Caddy once cert-manager has issued the Nextcloud certificate, and restarts it
 * when the certificate is renewed. The VPN itself never waits for ACME (defect 30), and
 * a renewed certificate is served without a manual restart (defect 29).
 */
export const caddyRunScript = `#!/bin/sh
set -u
${tokenGuard}
cert="\${NIXLAB_CERT_DIR:-/certs}/tls.crt"
key="\${NIXLAB_CERT_DIR:-/certs}/tls.key"
pid=""
trap 'if [ -n "$pid" ]; then kill "$pid" 2>/dev/null; fi; exit 0' TERM INT
fingerprint() { cat "$cert" "$key" 2>/dev/null | md5sum; }
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
  echo "certificate changed: restarting Caddy"
  kill "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  pid=""
done
`;
