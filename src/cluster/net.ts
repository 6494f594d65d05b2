/** IP and CIDR helpers on top of ipaddr.js (parsing is strict: no octal, no short forms). */
import ipaddr from "ipaddr.js";

export type Address = ipaddr.IPv4 | ipaddr.IPv6;

/** Parses a dotted-quad IPv4 address; null for anything else. */
export function parseIPv4(text: string): ipaddr.IPv4 | null {
  return ipaddr.IPv4.isValidFourPartDecimal(text) ? ipaddr.IPv4.parse(text) : null;
}

/** Parses an IPv4 or IPv6 address; null for anything else. */
export function parseIP(text: string): Address | null {
  if (ipaddr.IPv4.isValidFourPartDecimal(text)) return ipaddr.IPv4.parse(text);
  if (text.includes(":") && ipaddr.IPv6.isValid(text)) return ipaddr.IPv6.parse(text);
  return null;
}

export interface Cidr {
  address: Address;
  prefix: number;
  /** Canonical text: the network address and prefix, e.g. 192.168.1.192/26. */
  text: string;
  /** True when the address given had host bits set (192.168.1.200/26). */
  hostBitsSet: boolean;
}

/** Parses `a.b.c.d/n` or an IPv6 CIDR; null when it is not one. */
export function parseCidr(text: string): Cidr | null {
  const slash = text.indexOf("/");
  if (slash < 0 || !/^\d{1,3}$/.test(text.slice(slash + 1))) return null;
  const address = parseIP(text.slice(0, slash));
  if (!address) return null;
  const prefix = Number(text.slice(slash + 1));
  if (prefix > (address.kind() === "ipv4" ? 32 : 128)) return null;
  const network =
    address.kind() === "ipv4"
      ? ipaddr.IPv4.networkAddressFromCIDR(`${address.toString()}/${prefix}`)
      : ipaddr.IPv6.networkAddressFromCIDR(`${address.toString()}/${prefix}`);
  return {
    address: network,
    prefix,
    text: `${network.toString()}/${prefix}`,
    hostBitsSet: network.toString() !== address.toString(),
  };
}

/** Whether `ip` lies inside `cidr` (false across address families). */
export function cidrContains(cidr: Cidr, ip: Address): boolean {
  if (cidr.address.kind() !== ip.kind()) return false;
  return (ip as ipaddr.IPv4).match(cidr.address as ipaddr.IPv4, cidr.prefix);
}

/** The number of addresses in an IPv4 CIDR. */
export function cidrSize(cidr: Cidr): number {
  return 2 ** ((cidr.address.kind() === "ipv4" ? 32 : 128) - cidr.prefix);
}

/** The VPN's fixed addressing (the seed hard-codes these; we name them once). */
export const vpnNetwork = {
  subnet: "10.0.100.0/24",
  serverIp: "10.0.100.1",
  port: 51820,
  podCidr: "10.42.0.0/16",
  serviceCidr: "10.43.0.0/16",
} as const;
