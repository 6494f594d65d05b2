/**
 * What `check` says about VPN access: problems in the raw file (`lanCidr`, `vpnGroups`,
 * users' `group`, `vpnTests`), problems only the compiled policy shows (a rule that
 * reaches nothing, a failing `vpnTests` entry), and warnings (defaults a user should know).
 */
import type { Cluster } from "../cluster/model.ts";
import { parseCidr } from "../cluster/net.ts";
import { type ConfigProblem, type FieldPath, closest, showValue } from "../config/problems.ts";
import { builtinVpnGroupNames, defaultVpnGroup, isSyntaxProblem, parseDestination } from "./groups.ts";

import {
  type VpnPolicy,
  compilePolicy,
  decideRegion,
  explainRegion,
  groupOf,
  isEmptyMatch,
  reachableCidrs,
  reachesNextcloud,
  runVpnTests,
  type VpnTestResult,
} from "./policy.ts";

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
/** Group names become nft set and chain names (with "-" as "_"). */
const groupName = /^[a-z][a-z0-9-]{0,30}$/;

/** Problems in the raw file's VPN access fields. Pure; reads `raw` defensively (types are zod's). */
export function vpnConfigProblems(raw: Record<string, unknown>): ConfigProblem[] {
  const out: ConfigProblem[] = [];
  const add = (path: FieldPath, message: string, fix: string) => out.push({ path, message, fix });

  if (typeof raw.lanCidr === "string") {
    const lan = parseCidr(raw.lanCidr);
    if (lan?.address.kind() !== "ipv4")
      add(
        ["lanCidr"],
        `${showValue(raw.lanCidr)} is not an IPv4 CIDR`,
        'write your LAN\'s network, e.g. "192.168.1.0/24"',
      );
    else if (lan.hostBitsSet)
      add(["lanCidr"], `${raw.lanCidr} has host bits set`, `write the network address: "${lan.text}"`);
  }

  const groups = isRecord(raw.vpnGroups) ? raw.vpnGroups : {};
  const known = [...new Set([...builtinVpnGroupNames, ...Object.keys(groups)])];
  for (const [name, group] of Object.entries(groups)) {
    if (!groupName.test(name))
      add(
        ["vpnGroups", name],
        "group name is not usable",
        'use 1–31 lowercase letters, digits and "-", starting with a letter, e.g. "kids"',
      );
    if (!isRecord(group)) continue;
    for (const action of ["allow", "deny"] as const) {
      const list = group[action];
      if (!Array.isArray(list)) continue;
      list.forEach((text, i) => {
        if (typeof text !== "string") return;
        const spec = parseDestination(text);
        if (isSyntaxProblem(spec)) add(["vpnGroups", name, action, i], spec.message, spec.fix);
        else if (action === "deny" && "name" in spec.target && spec.target.name === "vpn-dns")
          add(
            ["vpnGroups", name, action, i],
            "the VPN's DNS cannot be denied: every peer needs it to resolve names",
            "remove this entry; deny the destinations themselves instead",
          );
      });
    }
  }

  const users = isRecord(raw.wireguardUsers) ? raw.wireguardUsers : {};
  for (const [name, user] of Object.entries(users)) {
    if (!isRecord(user) || typeof user.group !== "string" || known.includes(user.group)) continue;
    const s = closest(user.group, known);
    add(
      ["wireguardUsers", name, "group"],
      `"${user.group}" is not a VPN group`,
      s ? `did you mean "${s}"?` : `use one of ${known.join(", ")}, or define it under vpnGroups`,
    );
  }

  if (Array.isArray(raw.vpnTests)) {
    raw.vpnTests.forEach((test, i) => {
      if (!isRecord(test)) return;
      if (typeof test.from === "string" && !(test.from in users) && !known.includes(test.from)) {
        const s = closest(test.from, [...Object.keys(users), ...known]);
        add(
          ["vpnTests", i, "from"],
          `"${test.from}" is neither a VPN user nor a group`,
          s ? `did you mean "${s}"?` : "name a user of wireguardUsers or a group",
        );
      }
      if (typeof test.to === "string") {
        const spec = parseDestination(test.to);
        if (isSyntaxProblem(spec)) add(["vpnTests", i, "to"], spec.message, spec.fix);
      }
    });
  }
  return out;
}

/**
 * Problems only the compiled policy shows: a rule that reaches nothing, and every
 * `vpnTests` entry the policy fails, with the rule that decides it. Pure.
 */
export function vpnPolicyProblems(cluster: Cluster, policy: VpnPolicy = compilePolicy(cluster)): ConfigProblem[] {
  const out: ConfigProblem[] = [];
  for (const g of policy.groups) {
    if (g.source !== "vpnGroups") continue;
    for (const r of g.rules) {
      if (!isEmptyMatch(r.match)) continue;
      const [, action, index] = /\.(allow|deny)\[(\d+)\]$/.exec(r.id)!;
      out.push({
        path: ["vpnGroups", g.name, action!, Number(index)],
        message: `"${r.text}" reaches nothing (nextcloud is TCP 443 only, vpn-dns port 53 only; wide CIDRs exclude the pod, service and VPN networks)`,
        fix: "name the ports and protocol the destination has, or use cluster / vpn / a CIDR inside those networks",
      });
    }
  }
  for (const t of runVpnTests(cluster, policy)) {
    if (t.passed) continue;
    const got = { allow: "allowed", deny: "denied", partial: "partly allowed" }[t.outcome.verdict];
    out.push({
      path: ["vpnTests", t.index],
      message: `${t.from} → ${t.to} is ${got}, the test expects ${t.expect}: ${explainRegion(t.outcome)}`,
      fix: testFix(policy, t),
    });
  }
  return out;
}

/** How to make a failing test pass: the rule to change, in the group that decides. */
function testFix(policy: VpnPolicy, t: VpnTestResult): string {
  const builtin = groupOf(policy, t.group).source === "built-in";
  const add = (list: "allow" | "deny") =>
    `add "${t.to}" to vpnGroups.${t.group}.${list}${builtin ? ` (that replaces the built-in ${t.group}: copy its rules from \`nixlab vpn access ${t.group}\`)` : ""}`;
  if (t.expect === "deny") return `${add("deny")}, deny wins over allow; or correct the test`;
  const denyRule = t.outcome.parts.find((p) => p.action === "drop" && !p.rule.startsWith("default:"));
  if (denyRule) return `remove or narrow the deny rule ${denyRule.rule}, or correct the test`;
  return `${add("allow")}; or correct the test`;
}

/** Things that are valid but probably not what the user wants, one sentence each with its fix. Pure. */
export function vpnWarnings(cluster: Cluster, policy: VpnPolicy = compilePolicy(cluster)): string[] {
  const out: string[] = [];
  const groupList = policy.groups.map((g) => g.name).join(", ");
  if (cluster.vpn.lanDefaulted && cluster.vpn.enabledUsers.length > 0)
    out.push(
      `lanCidr is not set, so the VPN destination "lan" is ${cluster.vpn.lan} (the /24 that holds metallbPool); set lanCidr if your LAN is another network`,
    );
  // Per group, not per user: a region decision is the costly part.
  const perGroup = <T>(f: (group: string) => T) => new Map(policy.groups.map((g) => [g.name, f(g.name)]));
  const signIn = perGroup((g) => reachesNextcloud(policy, g));
  const internet = perGroup((g) => decideRegion(policy, g, policy.destinations.internet).verdict);
  for (const u of cluster.vpn.enabledUsers) {
    if (u.groupDefaulted)
      out.push(
        `wireguardUsers.${u.name} has no group, so it is in ${defaultVpnGroup} (${groupOf(policy, defaultVpnGroup).description}); set group to one of ${groupList}`,
      );
    if (u.nextcloudUser !== undefined && !signIn.get(u.group))
      out.push(
        `wireguardUsers.${u.name}.nextcloudUser is set, but group ${u.group} does not reach nextcloud, so ${u.name} cannot sign in through the VPN; add "nextcloud" to the group's allow list or remove nextcloudUser`,
      );
    const fullTunnel = u.allowedIPs.some((a) => a === "0.0.0.0/0");
    if (fullTunnel && internet.get(u.group) === "deny")
      out.push(
        `wireguardUsers.${u.name}.allowedIPs sends all traffic through the VPN, but group ${u.group} does not reach the internet, so ${u.name} has no internet while connected; set allowedIPs to what the group reaches: "${reachableCidrs(policy, u.group).join(", ")}"`,
      );
  }
  return out;
}
