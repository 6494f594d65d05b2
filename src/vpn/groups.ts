/**
 * VPN access groups: the built-in ones, the user's `vpnGroups`, and the destination
 * syntax their rules and `vpnTests` use: `DEST[:PORTS][/PROTOCOL]`, where DEST is a
 * service or network name, an IPv4 address or a CIDR (`lan`, `pihole:53`,
 * `ingress:80,443/tcp`, `192.168.1.10:22`, `10.0.0.0/8/udp`).
 */
import { type Range, cidrRange, normalize, numberToIp } from "./ranges.ts";

/** Protocols a rule or test may name. */
export const vpnProtocols = ["tcp", "udp", "icmp"] as const;
export type VpnProtocol = (typeof vpnProtocols)[number];

/** The names a rule may use, with what each reaches (the docs and `vpn access` print these). */
export const destinationNames = {
  "vpn-dns": "the VPN's DNS resolver (10.0.100.1 port 53); always allowed",
  nextcloud: "Nextcloud through the VPN's sign-in proxy (10.0.100.1 TCP 443)",
  pihole: "Pi-hole (piholeIp): DNS and its web UI",
  ingress: "the ingress controller (nginxIp): the homelab's web services by host name",
  lan: "the LAN (lanCidr)",
  internet: "public IPv4 addresses: not private, local, reserved or the LAN",
  cluster: "Kubernetes's pod and service networks",
  vpn: "other VPN peers (the VPN subnet except the server)",
  any: "every IPv4 address except the pod, service and VPN networks",
} as const;
/** A name a rule may use as destination. */
export type DestinationName = keyof typeof destinationNames;
/** Whether `name` is one of `destinationNames`. */
export const isDestinationName = (name: string): name is DestinationName => Object.hasOwn(destinationNames, name);

/** A parsed destination: what `parseDestination` returns for valid text. */
export interface DestinationSpec {
  /** As written, e.g. `pihole:53`. */
  text: string;
  target: { name: DestinationName } | { cidr: string };
  /** Destination ports (TCP and UDP), or null for every port. */
  ports: Range[] | null;
  /** The one protocol named, or null for every protocol (TCP and UDP when ports are given). */
  protocol: VpnProtocol | null;
}

/** Why a destination does not parse, and how to write it. */
export interface SyntaxProblem {
  message: string;
  fix: string;
}

const specPattern =
  /^(?<dest>[a-z][a-z0-9-]*|\d{1,3}(?:\.\d{1,3}){3}(?:\/\d{1,2})?)(?::(?<ports>[0-9][0-9,-]*))?(?:\/(?<proto>[a-z]+))?$/;
const syntaxFix =
  'write DEST[:PORTS][/PROTOCOL]: DEST a name (lan, internet, cluster, vpn, nextcloud, pihole, ingress, vpn-dns, any), an address or a CIDR; e.g. "lan", "pihole:53", "ingress:80,443/tcp", "192.168.1.10:22", "10.0.0.0/8/udp"';

/** Parses one destination. Returns the spec, or a problem that says how to write it. Pure. */
export function parseDestination(text: string): DestinationSpec | SyntaxProblem {
  const m = specPattern.exec(text.trim());
  if (!m?.groups) return { message: `${JSON.stringify(text)} is not a destination`, fix: syntaxFix };
  const { dest, ports: portsText, proto } = m.groups as { dest: string; ports?: string; proto?: string };
  let target: DestinationSpec["target"];
  if (/^\d/.test(dest)) {
    const range = cidrRange(dest);
    if (!range) return cidrProblem(dest);
    target = { cidr: dest.includes("/") ? dest : `${dest}/32` };
  } else if (isDestinationName(dest)) {
    target = { name: dest };
  } else {
    return {
      message: `"${dest}" is not a destination name`,
      fix: `use one of ${Object.keys(destinationNames).join(", ")}, an address or a CIDR`,
    };
  }
  if (proto !== undefined && !(vpnProtocols as readonly string[]).includes(proto))
    return { message: `"${proto}" is not a protocol`, fix: "use tcp, udp or icmp (or leave it out for all)" };
  const protocol = (proto ?? null) as VpnProtocol | null;
  let ports: Range[] | null = null;
  if (portsText !== undefined) {
    if (protocol === "icmp") return { message: "ICMP has no ports", fix: `write "${dest}/icmp"` };
    const parsed = parsePorts(portsText);
    if (!parsed)
      return {
        message: `"${portsText}" is not a port list`,
        fix: 'write ports 1–65535 as a comma-separated list of numbers and ranges, e.g. "53", "80,443" or "3000-3010"',
      };
    ports = parsed;
  }
  return { text: text.trim(), target, ports, protocol };
}

/** Tells a `parseDestination` problem from a spec. */
export const isSyntaxProblem = (v: DestinationSpec | SyntaxProblem): v is SyntaxProblem => "message" in v;

function parsePorts(text: string): Range[] | null {
  const out: Range[] = [];
  for (const part of text.split(",")) {
    const m = /^([1-9][0-9]{0,4})(?:-([1-9][0-9]{0,4}))?$/.exec(part);
    if (!m) return null;
    const from = Number(m[1]);
    const to = m[2] === undefined ? from : Number(m[2]);
    if (to > 65535 || from > to) return null;
    out.push({ from, to });
  }
  return normalize(out);
}

function cidrProblem(dest: string): SyntaxProblem {
  const [ip, prefix] = dest.split("/");
  const base = cidrRange(ip ?? "");
  if (base && prefix !== undefined && Number(prefix) <= 32) {
    const size = 2 ** (32 - Number(prefix));
    const text = numberToIp(Math.floor(base.from / size) * size);
    return {
      message: `${dest} has host bits set (its network is ${text}/${prefix})`,
      fix: `write "${text}/${prefix}" for the whole network, or "${ip}" for the one address`,
    };
  }
  return { message: `${JSON.stringify(dest)} is not an IPv4 address or CIDR`, fix: syntaxFix };
}

/** A group's definition as written (built-in or in `vpnGroups`). */
export interface VpnGroupConfig {
  description?: string | undefined;
  allow: readonly string[];
  deny: readonly string[];
}

/**
 * The built-in groups (services.md §8.2 settled, see docs/vpn.md): admin everything;
 * family the LAN, the homelab's services and the internet; friends named services
 * only; guests the internet only. The VPN's DNS is allowed for every group.
 */
export const builtinVpnGroups = {
  admin: {
    description: "everything: the LAN, the internet, the homelab's services, other VPN peers, Nextcloud sign-in",
    allow: ["any", "vpn", "nextcloud"],
    deny: [],
  },
  family: {
    description: "the LAN, the homelab's services, Nextcloud sign-in and the internet",
    allow: ["lan", "pihole", "ingress", "nextcloud", "internet"],
    deny: [],
  },
  friends: {
    description: "named services only: Nextcloud sign-in and the homelab's web services",
    allow: ["nextcloud", "ingress:80,443/tcp"],
    deny: [],
  },
  guests: { description: "the internet only", allow: ["internet"], deny: [] },
} as const satisfies Record<string, VpnGroupConfig>;

/** admin, family, friends or guests. */
export type BuiltinVpnGroupName = keyof typeof builtinVpnGroups;
/** The built-in group names, in table order. */
export const builtinVpnGroupNames = Object.keys(builtinVpnGroups) as BuiltinVpnGroupName[];

/** The group of a user who names none: the internet only, nothing at home. */
export const defaultVpnGroup: BuiltinVpnGroupName = "guests";

/** One written rule of a group, parsed. */
export interface VpnGroupRule {
  /** Where the rule is written: `vpnGroups.kids.deny[0]` or `built-in family.allow[1]`. */
  id: string;
  action: "allow" | "deny";
  spec: DestinationSpec;
}

/** A group as the policy compiler reads it. */
export interface VpnGroup {
  name: string;
  description: string;
  /** `vpnGroups` when the cluster file defines (or redefines) it. */
  source: "built-in" | "vpnGroups";
  /** Deny rules first (deny wins), then allow rules, each in file order. */
  rules: VpnGroupRule[];
}

/**
 * Every group: the built-ins (a `vpnGroups` entry of the same name replaces one
 * wholesale), then the user's own in name order. Throws Error on a rule `validateConfig`
 * would have rejected.
 */
export function resolveVpnGroups(vpnGroups: Readonly<Record<string, VpnGroupConfig>>): VpnGroup[] {
  const names = [
    ...builtinVpnGroupNames,
    ...Object.keys(vpnGroups)
      .filter((n) => !(n in builtinVpnGroups))
      .sort(),
  ];
  return names.map((name) => {
    const own = vpnGroups[name];
    const config: VpnGroupConfig = own ?? builtinVpnGroups[name as BuiltinVpnGroupName];
    const source = own ? "vpnGroups" : "built-in";
    const prefix = own ? `vpnGroups.${name}` : `built-in ${name}`;
    const rules = (action: "allow" | "deny") =>
      config[action].map((text, i): VpnGroupRule => {
        const spec = parseDestination(text);
        if (isSyntaxProblem(spec)) throw new Error(`${prefix}.${action}[${i}]: ${spec.message}`);
        return { id: `${prefix}.${action}[${i}]`, action, spec };
      });
    return { name, description: config.description ?? "", source, rules: [...rules("deny"), ...rules("allow")] };
  });
}
