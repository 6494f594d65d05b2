/**
 * The LAN `nixlab init` sees, and the addresses it suggests from it: the MetalLB pool at
 * the top of the LAN (like the example: 192.168.1.0/24 → 192.168.1.192/26), the
 * ingress, WireGuard and Pi-hole addresses inside it, and the router as upstream DNS.
 * Pure: callers pass `os.networkInterfaces()`.
 */
import type { NetworkInterfaceInfo } from "node:os";
import type ipaddr from "ipaddr.js";
import { parseCidr, parseIPv4 } from "../cluster/net.ts";

/** A LAN this machine is on: its network and this machine's address in it. */
export interface SeenLan {
  /** The network, canonical (e.g. 192.168.1.0/24). */
  cidr: string;
  /** This machine's address on it. */
  address: string;
  /** The interface name. */
  iface: string;
}

/** The addresses the cluster file needs, suggested for a LAN. */
export interface LanSuggestion {
  metallbPool: string;
  nginxIp: string;
  wireguardIp: string;
  piholeIp: string;
  upstreamDns: string;
}

const toInt = (ip: ipaddr.IPv4): number => ip.toByteArray().reduce((n, b) => n * 256 + b, 0);
const fromInt = (n: number): string => [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join(".");

/**
 * The private IPv4 LANs among `interfaces` (loopback, link-local and container bridges
 * left out), the likeliest first (wired/wireless names before virtual ones).
 */
export function seenLans(interfaces: NodeJS.Dict<NetworkInterfaceInfo[]>): SeenLan[] {
  const virtual = /^(docker|br-|veth|virbr|cni|flannel|kube|tun|tap|wg|lxc|vboxnet|vmnet|podman|tailscale|zt)/;
  const out: Array<SeenLan & { rank: number }> = [];
  for (const [iface, infos] of Object.entries(interfaces)) {
    for (const info of infos ?? []) {
      if (info.family !== "IPv4" || info.internal) continue;
      const ip = parseIPv4(info.address);
      if (ip?.range() !== "private") continue;
      const cidr = parseCidr(info.cidr ?? `${info.address}/24`);
      if (!cidr || cidr.prefix > 28 || cidr.prefix < 8) continue;
      out.push({ cidr: cidr.text, address: info.address, iface, rank: virtual.test(iface) ? 1 : 0 });
    }
  }
  return out.sort((a, b) => a.rank - b.rank).map(({ rank: _rank, ...lan }) => lan);
}

/**
 * The service addresses inside a MetalLB pool: ingress the first, WireGuard the second,
 * Pi-hole near the top (192.168.1.192/26 → .193, .194, .250). Empty when `pool` is not
 * an IPv4 CIDR of /8 to /29 (the pool's own validation says why).
 */
export function poolAddresses(
  pool: string,
): { nginxIp: string; wireguardIp: string; piholeIp: string } | Record<string, never> {
  const cidr = parseCidr(pool);
  if (cidr?.address.kind() !== "ipv4" || cidr.prefix < 8 || cidr.prefix > 29) return {};
  const start = toInt(cidr.address as ipaddr.IPv4);
  const size = 2 ** (32 - cidr.prefix);
  return {
    nginxIp: fromInt(start + 1),
    wireguardIp: fromInt(start + 2),
    piholeIp: fromInt(start + size - (size > 8 ? 6 : 2)),
  };
}

/**
 * Suggested addresses for the LAN `lanCidr`: a /26 MetalLB pool at the top of the LAN's
 * last /24 (for LANs smaller than a /24, its top quarter), moved down one block when it
 * would hold `avoid` (this machine); the router (.1 of the LAN) as upstream DNS. Null
 * when `lanCidr` is not an IPv4 network of /8 to /28.
 */
export function suggestAddresses(lanCidr: string, avoid?: string): LanSuggestion | null {
  const lan = parseCidr(lanCidr);
  if (lan?.address.kind() !== "ipv4" || lan.prefix < 8 || lan.prefix > 28) return null;
  const base = toInt(lan.address as ipaddr.IPv4);
  const size = 2 ** (32 - lan.prefix);
  const poolPrefix = lan.prefix <= 24 ? 26 : lan.prefix + 2;
  const poolSize = 2 ** (32 - poolPrefix);
  let start = base + size - poolSize;
  const avoidIp = avoid ? parseIPv4(avoid) : null;
  if (avoidIp && toInt(avoidIp) >= start && toInt(avoidIp) < start + poolSize) start -= poolSize;
  const metallbPool = `${fromInt(start)}/${poolPrefix}`;
  return {
    metallbPool,
    ...(poolAddresses(metallbPool) as ReturnType<typeof poolAddresses> & object),
    upstreamDns: fromInt(base + 1),
  } as LanSuggestion;
}
