/**
 * A VPN user's client configuration, in wg-quick's format (what the WireGuard apps
 * import as a file or a QR code). The cluster renders the same text with placeholders
 * into the pod (services/vpn/configs.ts); `nixlab vpn` fills in the real keys.
 */
import type { Cluster, VpnUser } from "../cluster/model.ts";
import { cidrContains, parseCidr, parseIP } from "../cluster/net.ts";

/** What a client config needs besides the cluster file: keys and the server's public host name. */
export interface ClientSecrets {
  privateKey: string;
  serverPublicKey: string;
  /** Host name or address clients connect to (the `wireguard_server_endpoint` secret), without port. */
  endpointHost: string;
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

/** `host:port`, with an IPv6 address in brackets as wg-quick requires. */
export function endpointText(host: string, port: number): string {
  return host.includes(":") && !host.startsWith("[") ? `[${host}]:${port}` : `${host}:${port}`;
}

/**
 * The wg-quick client config of `user`: its address, the VPN's DNS, the server as the
 * one peer with the user's AllowedIPs and a 25 s keepalive (phones behind NAT). Pure.
 */
export function clientConfig(cluster: Cluster, user: VpnUser, secrets: ClientSecrets): string {
  return [
    "[Interface]",
    `PrivateKey = ${secrets.privateKey}`,
    `Address = ${user.ip}/32`,
    `DNS = ${cluster.vpn.serverIp}`,
    "",
    "[Peer]",
    `PublicKey = ${secrets.serverPublicKey}`,
    `Endpoint = ${endpointText(secrets.endpointHost, cluster.vpn.port)}`,
    `AllowedIPs = ${clientAllowedIPs(cluster, user).join(", ")}`,
    "PersistentKeepalive = 25",
    "",
  ].join("\n");
}
