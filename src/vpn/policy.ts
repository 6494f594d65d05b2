/**
 * The VPN access policy: each group's rules compiled to address, protocol and port
 * sets, and the one evaluator that decides a packet or a whole destination. The
 * WireGuard pod's firewall (src/services/vpn/firewall.ts), `nixlab vpn access` and
 * `vpnTests` all read this model, so what the matrix says is what the firewall does.
 *
 * Order of evaluation, for traffic a peer sends into the VPN: the VPN's DNS is always
 * allowed; then the peer's group: its deny rules, then its allow rules; else drop.
 * Destinations wider than the pod, service or VPN network stop short of it: only
 * `cluster`, `vpn`, `nextcloud`, `vpn-dns` or a CIDR inside one of them reach there.
 */
import type { Cluster, VpnUser } from "../cluster/model.ts";
import { vpnNetwork } from "../cluster/net.ts";
import {
  type DestinationName,
  type DestinationSpec,
  type VpnGroup,
  type VpnProtocol,
  destinationNames,
  parseDestination,
  isSyntaxProblem,
} from "./groups.ts";
import {
  type RangeSet,
  allAddresses,
  allPorts,
  cidrRange,
  contains,
  covers,
  intersect,
  normalize,
  portText,
  subtract,
  toCidrs,
  union,
} from "./ranges.ts";

/** What a rule matches. Protocols null: every protocol. Ports null: every port; else TCP/UDP only. */
export interface Match {
  addresses: RangeSet;
  protocols: VpnProtocol[] | null;
  ports: RangeSet | null;
}

/** One compiled rule: where it is written, what it matches, what it does. */
export interface PolicyRule {
  /** Where it is written: `always`, `vpnGroups.kids.deny[0]`, `built-in family.allow[1]`. */
  id: string;
  /** The destination as written. */
  text: string;
  action: "accept" | "drop";
  match: Match;
}

/** A group with its members and compiled rules. */
export interface CompiledGroup {
  name: string;
  description: string;
  source: VpnGroup["source"];
  /** Enabled users of the group, by name. */
  members: VpnUser[];
  /** Deny rules first, then allow rules. */
  rules: PolicyRule[];
}

/** The whole compiled policy of a cluster. */
export interface VpnPolicy {
  serverIp: string;
  subnet: string;
  lan: string;
  /** The named destinations, resolved for this cluster (before a rule's ports or protocol). */
  destinations: Record<DestinationName, Match>;
  /** Allowed for every peer before any group rule: the VPN's DNS. */
  always: PolicyRule;
  groups: CompiledGroup[];
}

/** Ranges that are never the internet (IANA special-purpose IPv4 registry, plus multicast). */
const nonPublic = [
  "0.0.0.0/8",
  "10.0.0.0/8",
  "100.64.0.0/10",
  "127.0.0.0/8",
  "169.254.0.0/16",
  "172.16.0.0/12",
  "192.0.0.0/24",
  "192.0.2.0/24",
  "192.88.99.0/24",
  "192.168.0.0/16",
  "198.18.0.0/15",
  "198.51.100.0/24",
  "203.0.113.0/24",
  "224.0.0.0/4",
  "240.0.0.0/4",
];

const set = (...cidrs: string[]): RangeSet => normalize(cidrs.map((c) => cidrRange(c)!));
const tcpUdp: VpnProtocol[] = ["tcp", "udp"];

/** Names whose addresses lie in a protected network on purpose: never clipped. */
const reachesProtected: ReadonlySet<DestinationName> = new Set(["cluster", "vpn", "nextcloud", "vpn-dns"]);

/** Compiles the cluster's groups. Pure; throws only on input `validateConfig` rejects. */
export function compilePolicy(cluster: Cluster): VpnPolicy {
  const { serverIp, subnet } = cluster.vpn;
  const lan = set(cluster.vpn.lan);
  const server = set(serverIp);
  const destinations: Record<DestinationName, Match> = {
    "vpn-dns": { addresses: server, protocols: tcpUdp, ports: [{ from: 53, to: 53 }] },
    nextcloud: { addresses: server, protocols: ["tcp"], ports: [{ from: 443, to: 443 }] },
    pihole: { addresses: set(cluster.config.piholeIp), protocols: null, ports: null },
    ingress: { addresses: set(cluster.config.nginxIp), protocols: null, ports: null },
    lan: { addresses: lan, protocols: null, ports: null },
    internet: { addresses: subtract(allAddresses, union(set(...nonPublic), lan)), protocols: null, ports: null },
    cluster: { addresses: set(vpnNetwork.podCidr, vpnNetwork.serviceCidr), protocols: null, ports: null },
    vpn: { addresses: subtract(set(subnet), server), protocols: null, ports: null },
    any: { addresses: allAddresses, protocols: null, ports: null },
  };
  for (const name of Object.keys(destinations) as DestinationName[]) {
    if (!reachesProtected.has(name)) destinations[name].addresses = clipProtected(destinations[name].addresses);
  }
  const policy: VpnPolicy = {
    serverIp,
    subnet,
    lan: cluster.vpn.lan,
    destinations,
    always: { id: "always", text: "vpn-dns", action: "accept", match: destinations["vpn-dns"] },
    groups: [],
  };
  policy.groups = cluster.vpn.groups.map((g) => ({
    name: g.name,
    description: g.description,
    source: g.source,
    members: cluster.vpn.enabledUsers.filter((u) => u.group === g.name),
    rules: g.rules.map((r) => ({
      id: r.id,
      text: r.spec.text,
      action: r.action === "deny" ? "drop" : "accept",
      match: specMatch(policy, r.spec),
    })),
  }));
  return policy;
}

const protectedNetworks = (): RangeSet[] => [
  set(vpnNetwork.podCidr),
  set(vpnNetwork.serviceCidr),
  set(vpnNetwork.subnet),
];

/** Removes each protected network that `addresses` strictly contains (0.0.0.0/0, 10.0.0.0/8 …). */
function clipProtected(addresses: RangeSet): RangeSet {
  let out = addresses;
  for (const p of protectedNetworks()) if (covers(out, p) && !covers(p, out)) out = subtract(out, p);
  return out;
}

/** What a written destination matches in this policy (possibly nothing: see `isEmptyMatch`). */
export function specMatch(policy: Pick<VpnPolicy, "destinations">, spec: DestinationSpec): Match {
  const base =
    "name" in spec.target
      ? policy.destinations[spec.target.name]
      : { addresses: clipProtected(set(spec.target.cidr)), protocols: null, ports: null };
  let protocols = base.protocols;
  const only = (allowed: VpnProtocol[]) => {
    protocols = protocols === null ? allowed : protocols.filter((p) => allowed.includes(p));
  };
  if (spec.protocol) only([spec.protocol]);
  if (spec.ports) only(tcpUdp);
  const ports = spec.ports && base.ports ? intersect(base.ports, spec.ports) : (spec.ports ?? base.ports);
  return { addresses: base.addresses, protocols, ports };
}

/** True when a match can never match a packet (no address, protocol or port left). */
export const isEmptyMatch = (m: Match): boolean =>
  m.addresses.length === 0 || m.protocols?.length === 0 || m.ports?.length === 0;

// ---------------------------------------------------------------------------
// deciding

/** A packet's protocol; `other` is anything but TCP, UDP and ICMP. */
export type PacketProtocol = VpnProtocol | "other";
const packetProtocols: PacketProtocol[] = ["tcp", "udp", "icmp", "other"];

/** A packet as the firewall sees it: destination address, protocol and port. */
export interface Packet {
  /** Destination address as a uint32 (see ranges.ts ipToNumber). */
  address: number;
  protocol: PacketProtocol;
  /** Destination port (TCP and UDP). */
  port?: number;
}

/** What happens to a packet, and why. */
export interface Decision {
  action: "accept" | "drop";
  /** The deciding rule's id and destination, or the default. */
  rule: string;
}

const matches = (m: Match, p: Packet): boolean =>
  contains(m.addresses, p.address) &&
  (m.protocols === null || (m.protocols as PacketProtocol[]).includes(p.protocol)) &&
  (m.ports === null || (p.port !== undefined && contains(m.ports, p.port)));

/** How messages name a rule: `always: the VPN's DNS`, `vpnGroups.kids.deny[0] "lan:22/tcp"`. */
export const ruleLabel = (r: PolicyRule): string =>
  r.id === "always" ? "always: the VPN's DNS" : `${r.id} "${r.text}"`;
/** How messages name the default drop of a group. */
export const defaultLabel = (group: string): string => `default: no rule of group ${group} allows it`;

/** The group named `name`. Throws Error when there is none (names come from validated input). */
export function groupOf(policy: VpnPolicy, name: string): CompiledGroup {
  const g = policy.groups.find((x) => x.name === name);
  if (!g) throw new Error(`no VPN group ${name}`);
  return g;
}

/** What the firewall does with a packet a peer of `group` sends. Pure. */
export function decide(policy: VpnPolicy, group: string, packet: Packet): Decision {
  if (matches(policy.always.match, packet)) return { action: "accept", rule: ruleLabel(policy.always) };
  for (const r of groupOf(policy, group).rules)
    if (matches(r.match, packet)) return { action: r.action, rule: ruleLabel(r) };
  return { action: "drop", rule: defaultLabel(group) };
}

/** One uniform piece of a destination: every packet in it gets the same decision. */
export interface RegionPart extends Decision {
  addresses: string[];
  protocols: PacketProtocol[];
  /** `all`, or TCP/UDP ports like `53` or `80-90,443`. */
  ports: string;
}

export interface RegionDecision {
  /** allow: every packet to the destination passes; deny: none does; partial: some do. */
  verdict: "allow" | "deny" | "partial";
  parts: RegionPart[];
}

/** How the firewall treats everything a peer of `group` could send to `target`. Pure. */
export function decideRegion(policy: VpnPolicy, group: string, target: Match): RegionDecision {
  const rules = [policy.always, ...groupOf(policy, group).rules];
  const addressCuts = segments(
    target.addresses,
    rules.map((r) => r.match.addresses),
  );
  // Per protocol and address segment: each decision with the ports it covers. Address
  // segments with the same decisions merge, then protocols with the same pieces do.
  const parts: RegionPart[] = [];
  for (const protocol of target.protocols ?? packetProtocols) {
    const portful = protocol === "tcp" || protocol === "udp";
    const portCuts = portful
      ? segments(
          target.ports ?? allPorts,
          rules.map((r) => r.match.ports ?? allPorts),
        )
      : [null];
    const bySignature = new Map<string, { addresses: RangeSet; decisions: Array<Decision & { ports: RangeSet }> }>();
    for (const addr of addressCuts) {
      const decisions: Array<Decision & { ports: RangeSet }> = [];
      for (const port of portCuts) {
        const d = decide(policy, group, { address: addr.from, protocol, ...(port ? { port: port.from } : {}) });
        const same = decisions.find((x) => sameDecision(x, d));
        if (same) same.ports = union(same.ports, port ? [port] : []);
        else decisions.push({ ...d, ports: port ? [port] : [] });
      }
      const key = JSON.stringify(decisions);
      const entry = bySignature.get(key);
      if (entry) entry.addresses = union(entry.addresses, [addr]);
      else bySignature.set(key, { addresses: [addr], decisions });
    }
    for (const { addresses, decisions } of bySignature.values()) {
      const cidrs = toCidrs(addresses);
      for (const d of decisions) {
        const ports = !portful || covers(d.ports, allPorts) ? "all" : d.ports.map(portText).join(",");
        const same = parts.find((x) => sameDecision(x, d) && x.ports === ports && x.addresses.join() === cidrs.join());
        if (same) same.protocols.push(protocol);
        else parts.push({ action: d.action, rule: d.rule, addresses: cidrs, protocols: [protocol], ports });
      }
    }
  }
  const actions = new Set(parts.map((p) => p.action));
  const verdict = actions.size === 2 ? "partial" : actions.has("accept") ? "allow" : "deny";
  return { verdict, parts };
}

const sameDecision = (a: Decision, b: Decision) => a.action === b.action && a.rule === b.rule;

/** `within` cut at every boundary of `sets`: the pieces on which membership never changes. */
function segments(within: RangeSet, sets: RangeSet[]): RangeSet {
  const cuts = new Set<number>();
  for (const s of sets)
    for (const r of s) {
      cuts.add(r.from);
      cuts.add(r.to + 1);
    }
  const out: RangeSet = [];
  for (const r of within) {
    const inside = [...cuts].filter((c) => c > r.from && c <= r.to).sort((a, b) => a - b);
    let from = r.from;
    for (const c of inside) {
      out.push({ from, to: c - 1 });
      from = c;
    }
    out.push({ from, to: r.to });
  }
  return out;
}

// ---------------------------------------------------------------------------
// subjects, the access matrix and vpnTests

/** Whose access is asked about: a user (with its group) or a group. */
export type Subject =
  | { kind: "user"; name: string; group: string; enabled: boolean }
  | { kind: "group"; name: string; group: string };

/** A user of that name, else a group of that name, else null. */
export function findSubject(cluster: Cluster, name: string): Subject | null {
  const user = cluster.vpn.users.find((u) => u.name === name);
  if (user) return { kind: "user", name, group: user.group, enabled: user.enabled };
  return cluster.vpn.groups.some((g) => g.name === name) ? { kind: "group", name, group: name } : null;
}

/** A subject's access to a destination; a disabled user has no peer and reaches nothing. */
export function subjectAccess(policy: VpnPolicy, subject: Subject, target: Match): RegionDecision {
  if (subject.kind === "user" && !subject.enabled) {
    const rule = `wireguardUsers.${subject.name}.enabled is false (no VPN peer)`;
    return {
      verdict: "deny",
      parts: [
        {
          action: "drop",
          rule,
          addresses: toCidrs(target.addresses),
          protocols: target.protocols ?? packetProtocols,
          ports: "all",
        },
      ],
    };
  }
  return decideRegion(policy, subject.group, target);
}

/** The columns of the access matrix: the named destinations (without `any`), then CIDRs rules name. */
export function matrixColumns(policy: VpnPolicy): Array<{ name: string; match: Match }> {
  const named = (Object.keys(destinationNames) as DestinationName[])
    .filter((n) => n !== "any")
    .map((name) => ({ name, match: policy.destinations[name] }));
  const cidrs = new Map<string, Match>();
  for (const g of policy.groups)
    for (const r of g.rules) {
      const spec = parseDestination(r.text);
      if (!isSyntaxProblem(spec) && "cidr" in spec.target && !cidrs.has(spec.target.cidr))
        cidrs.set(spec.target.cidr, specMatch(policy, { ...spec, ports: null, protocol: null }));
    }
  return [...named, ...[...cidrs].map(([name, match]) => ({ name, match }))];
}

/** One row of `nixlab vpn access`: a subject's decision for every column. */
export interface AccessRow {
  /** A user or a group name. */
  from: string;
  kind: Subject["kind"];
  group: string;
  members: string[];
  cells: Array<{ to: string } & RegionDecision>;
}

/** One row per subject: what it reaches of every matrix column, and which rule decides. Pure. */
export function accessMatrix(policy: VpnPolicy, subjects: Subject[]): AccessRow[] {
  const columns = matrixColumns(policy);
  return subjects.map((s) => ({
    from: s.name,
    kind: s.kind,
    group: s.group,
    members: groupOf(policy, s.group).members.map((u) => u.name),
    cells: columns.map((c) => ({ to: c.name, ...subjectAccess(policy, s, c.match) })),
  }));
}

/** The outcome of one `vpnTests` entry. */
export interface VpnTestResult {
  index: number;
  from: string;
  /** The group whose rules decide (the user's, or the group named). */
  group: string;
  to: string;
  expect: "allow" | "deny";
  outcome: RegionDecision;
  passed: boolean;
}

/** Runs `vpnTests` against the compiled policy. Pure; tests were validated (subjects exist, `to` parses). */
export function runVpnTests(cluster: Cluster, policy: VpnPolicy): VpnTestResult[] {
  return cluster.config.vpnTests.map((t, index) => {
    const subject = findSubject(cluster, t.from);
    const spec = parseDestination(t.to);
    if (!subject || isSyntaxProblem(spec)) throw new Error(`vpnTests[${index}] was not validated`);
    const outcome = subjectAccess(policy, subject, specMatch(policy, spec));
    const passed = outcome.verdict === (t.expect === "allow" ? "allow" : "deny");
    return { index, from: t.from, group: subject.group, to: t.to, expect: t.expect, outcome, passed };
  });
}

/**
 * The deciding rules of a region, e.g. `allowed by built-in friends.allow[1] "ingress:80,443/tcp"
 * (tcp 80,443 to 192.168.1.193); the rest denied by default: …`. In a partial region the
 * allowed parts and explicit deny rules are spelled out; the default covers the rest.
 */
export function explainRegion(outcome: RegionDecision): string {
  const byRule = new Map<string, RegionPart[]>();
  for (const p of outcome.parts) byRule.set(p.rule, [...(byRule.get(p.rule) ?? []), p]);
  const partial = outcome.verdict === "partial";
  return [...byRule]
    .sort(([, a], [, b]) => (a[0]!.action === b[0]!.action ? 0 : a[0]!.action === "accept" ? -1 : 1))
    .map(([rule, parts]) => {
      const accept = parts[0]!.action === "accept";
      if (partial && !accept && rule.startsWith("default:")) return `the rest denied by ${rule}`;
      const what = partial ? ` (${parts.map(describePart).join("; ")})` : "";
      return `${accept ? "allowed" : "denied"} by ${rule}${what}`;
    })
    .join("; ");
}

/** `tcp 443 to 10.0.100.1/32`, `all protocols to 192.168.1.0/24`. */
export function describePart(p: RegionPart): string {
  const protocols = p.protocols.length === packetProtocols.length ? "all protocols" : p.protocols.join("+");
  const ports = p.ports === "all" ? "" : ` ${p.ports}`;
  const shown = p.addresses.map((a) => (a.endsWith("/32") ? a.slice(0, -3) : a));
  const addresses = shown.length > 3 ? `${shown.slice(0, 3).join(", ")} …` : shown.join(", ");
  return `${protocols}${ports} to ${addresses}`;
}

/** Whether every peer of `group` reaches Nextcloud's sign-in proxy (it then gets a Caddy route). */
export const reachesNextcloud = (policy: VpnPolicy, group: string): boolean =>
  decideRegion(policy, group, policy.destinations.nextcloud).verdict === "allow";

/** Addresses a group reaches (any protocol or port), as CIDRs: for split-tunnel advice. */
export function reachableCidrs(policy: VpnPolicy, group: string): string[] {
  const accepted = [policy.always, ...groupOf(policy, group).rules].filter((r) => r.action === "accept");
  return toCidrs(union(...accepted.map((r) => r.match.addresses)));
}
