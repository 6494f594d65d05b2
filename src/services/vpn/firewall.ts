/**
 * The WireGuard pod's firewall: the compiled VPN policy (src/vpn/policy.ts) as one
 * nftables ruleset, loaded atomically by wg0's PreUp before the interface exists, so
 * no packet from a peer is ever forwarded unfiltered (defect 24, issue 9).
 *
 * Traffic a peer sends (in on wg0) to the pod itself or onwards: established flows
 * pass; the VPN's DNS is always allowed; the peer's source address (which WireGuard's
 * cryptokey routing binds to its key) selects its group's chain: deny rules, then allow
 * rules; everything else is dropped. Nothing but replies goes out to wg0, and no
 * packet with a VPN source address is accepted from any other interface.
 */
import type { Cluster } from "../../cluster/model.ts";
import { allAddresses, covers, portText, rangeTexts } from "../../vpn/ranges.ts";
import {
  type Match,
  type PolicyRule,
  type VpnPolicy,
  compilePolicy,
  isEmptyMatch,
  ruleLabel,
} from "../../vpn/policy.ts";

/** The nftables table nixlab owns in the pod's network namespace. */
export const firewallTable = "nixlab_vpn";
/** Where the wireguard container finds the ruleset (a ConfigMap item); NIXLAB_FIREWALL overrides it. */
export const firewallPath = "/etc/nixlab/firewall.nft";
const wg = '"wg0"';

const identifier = (group: string): string => `group_${group.replaceAll("-", "_")}`;
const braces = (items: string[]): string => (items.length === 1 ? items[0]! : `{ ${items.join(", ")} }`);

/** The nft match expression of a compiled rule ("" matches every packet). */
export function matchExpression(m: Match): string {
  const parts: string[] = [];
  if (!covers(m.addresses, allAddresses)) parts.push(`ip daddr ${braces(rangeTexts(m.addresses))}`);
  const protocols = m.protocols;
  if (m.ports !== null) {
    const ports = braces(m.ports.map(portText));
    if (protocols?.length === 1) parts.push(`${protocols[0]} dport ${ports}`);
    else parts.push(`meta l4proto { tcp, udp } th dport ${ports}`);
  } else if (protocols !== null) {
    parts.push(`meta l4proto ${braces(protocols)}`);
  }
  return parts.join(" ");
}

/** nft comments cannot escape quotes: the rule's id and destination, unquoted. */
const comment = (r: PolicyRule): string =>
  `comment "${(r.id === "always" ? ruleLabel(r) : `${r.id} ${r.text}`).replaceAll('"', "").slice(0, 120)}"`;

const ruleLine = (r: PolicyRule): string =>
  [matchExpression(r.match), r.action, comment(r)].filter((s) => s !== "").join(" ");

/** The ruleset text of a compiled policy. Pure. */
export function firewallRuleset(policy: VpnPolicy): string {
  const lines: string[] = [
    "#!/usr/sbin/nft -f",
    "# nixlab: the VPN's access groups (generated; see docs/vpn.md). Replaces the table atomically.",
    `table inet ${firewallTable} {}`,
    `delete table inet ${firewallTable}`,
    `table inet ${firewallTable} {`,
  ];
  for (const g of policy.groups) {
    lines.push(`\tset ${identifier(g.name)} {`, "\t\ttype ipv4_addr");
    if (g.members.length > 0) lines.push(`\t\telements = { ${g.members.map((u) => u.ip).join(", ")} }`);
    lines.push("\t}", "");
  }
  lines.push(
    "\t# No packet with a VPN source address comes from anywhere but wg0.",
    "\tchain prerouting {",
    "\t\ttype filter hook prerouting priority raw; policy accept;",
    `\t\tiifname != { ${wg}, "lo" } ip saddr ${policy.subnet} drop`,
    "\t}",
    "",
    "\tchain input {",
    "\t\ttype filter hook input priority filter; policy accept;",
    `\t\tiifname ${wg} jump from_vpn`,
    "\t}",
    "",
    "\tchain forward {",
    "\t\ttype filter hook forward priority filter; policy drop;",
    `\t\tiifname ${wg} jump from_vpn`,
    `\t\toifname ${wg} ct state established,related accept`,
    "\t}",
    "",
    "\tchain from_vpn {",
    "\t\tct state established,related accept",
    "\t\tct state invalid drop",
    "\t\tmeta nfproto ipv6 drop",
    `\t\t${ruleLine(policy.always)}`,
    ...policy.groups.map((g) => `\t\tip saddr @${identifier(g.name)} jump ${identifier(g.name)}`),
    '\t\tdrop comment "default: not allowed"',
    "\t}",
  );
  for (const g of policy.groups) {
    lines.push("", `\tchain ${identifier(g.name)} {`);
    for (const r of g.rules) if (!isEmptyMatch(r.match)) lines.push(`\t\t${ruleLine(r)}`);
    lines.push("\t}");
  }
  lines.push(
    "",
    "\t# Peers reach the LAN and the internet with the pod's address.",
    "\tchain postrouting {",
    "\t\ttype nat hook postrouting priority srcnat; policy accept;",
    `\t\tip saddr ${policy.subnet} oifname != ${wg} masquerade`,
    "\t}",
    "}",
    "",
  );
  return lines.join("\n");
}

/** The ruleset of `cluster`. Pure. */
export const clusterFirewall = (cluster: Cluster): string => firewallRuleset(compilePolicy(cluster));
