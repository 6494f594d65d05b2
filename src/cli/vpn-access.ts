/** `nixlab vpn access [USER|GROUP] [-o json]`: who reaches what, from the compiled firewall policy. */
import type { Command } from "commander";
import pc from "picocolors";
import type { Cluster } from "../cluster/model.ts";
import { closest } from "../config/problems.ts";
import { ExitCode, UserError } from "../errors.ts";
import { destinationNames } from "../vpn/groups.ts";
import {
  type AccessRow,
  type RegionDecision,
  type Subject,
  type VpnPolicy,
  accessMatrix,
  compilePolicy,
  explainRegion,
  findSubject,
  matrixColumns,
} from "../vpn/policy.ts";
import { toCidrs } from "../vpn/ranges.ts";
import { type ConfigOptions, addConfigOption, loadFromOptions } from "./common.ts";
import { jsonOption, type OutputOptions, outputOption, printResult, structured } from "./output.ts";

interface AccessOptions extends ConfigOptions, OutputOptions {}

/** Adds `access` to the `vpn` command. */
export function addVpnAccessCommand(vpn: Command): void {
  addConfigOption(
    vpn
      .command("access")
      .argument("[subject]", "a VPN user or group (default: every group)")
      .addOption(outputOption())
      .addOption(jsonOption())
      .description("Who reaches what through the VPN, and which rule decides: the policy the WireGuard pod enforces"),
  ).action(async (subject: string | undefined, options: AccessOptions) => {
    const cluster = await loadFromOptions(options);
    const policy = compilePolicy(cluster);
    const subjects = subject === undefined ? groupSubjects(policy) : [resolveSubject(cluster, subject)];
    const rows = accessMatrix(policy, subjects);
    if (structured(options)) return printResult(accessJson(policy, rows), options);
    process.stdout.write(subject === undefined ? matrixText(policy, rows) : subjectText(policy, rows[0]!));
  });
}

const groupSubjects = (policy: VpnPolicy): Subject[] =>
  policy.groups.map((g) => ({ kind: "group", name: g.name, group: g.name }));

function resolveSubject(cluster: Cluster, name: string): Subject {
  const found = findSubject(cluster, name);
  if (found) return found;
  const known = [...cluster.vpn.users.map((u) => u.name), ...cluster.vpn.groups.map((g) => g.name)];
  const s = closest(name, known);
  throw new UserError(`${JSON.stringify(name)} is neither a VPN user nor a group`, {
    exitCode: ExitCode.invalidInput,
    details: [`  ${s ? `did you mean "${s}"? ` : ""}known: ${known.join(", ")}`],
  });
}

/** The JSON document: destinations, groups with their rules, and the rows. */
function accessJson(policy: VpnPolicy, rows: AccessRow[]) {
  return {
    lan: policy.lan,
    destinations: matrixColumns(policy).map((c) => ({
      name: c.name,
      description: (destinationNames as Record<string, string>)[c.name] ?? "a CIDR a group rule names",
      addresses: toCidrs(c.match.addresses),
      protocols: c.match.protocols ?? "all",
      ports:
        c.match.ports === null
          ? "all"
          : c.match.ports.map((r) => (r.from === r.to ? `${r.from}` : `${r.from}-${r.to}`)).join(","),
    })),
    groups: policy.groups.map((g) => ({
      name: g.name,
      description: g.description,
      source: g.source,
      members: g.members.map((u) => u.name),
      rules: g.rules.map((r) => ({ id: r.id, action: r.action === "accept" ? "allow" : "deny", to: r.text })),
    })),
    rows,
  };
}

const verdictText = (d: RegionDecision): string => {
  if (d.verdict !== "partial") return d.verdict;
  const allowed = d.parts.filter((p) => p.action === "accept");
  const all = new Set(d.parts.map((p) => p.addresses.join()));
  // Only ports or protocols differ: say which are allowed; else the per-rule view has it.
  if (all.size === 1) return allowed.map((p) => `${p.protocols.join("+")} ${p.ports}`).join("; ");
  return "partial";
};

const paint = (cell: string): string =>
  cell === "allow" ? pc.green(cell) : cell === "deny" ? pc.dim(cell) : pc.yellow(cell);

function matrixText(policy: VpnPolicy, rows: AccessRow[]): string {
  const header = ["GROUP", "MEMBERS", ...rows[0]!.cells.map((c) => c.to)];
  const body = rows.map((r) => [r.from, r.members.join(",") || "-", ...r.cells.map(verdictText)]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[], colour: boolean) =>
    cells
      .map((c, i) => (colour && i >= 2 ? paint(c) : c) + " ".repeat(widths[i]! - c.length))
      .join("  ")
      .trimEnd();
  return [
    `VPN access by group (the WireGuard pod's firewall; lan = ${policy.lan}; the VPN's DNS is always allowed)`,
    "",
    line(header, false),
    ...body.map((b) => line(b, true)),
    "",
    "`nixlab vpn access USER|GROUP` shows the rule that decides each destination.",
    "",
  ].join("\n");
}

function subjectText(policy: VpnPolicy, row: AccessRow): string {
  const group = policy.groups.find((g) => g.name === row.group)!;
  const who = row.kind === "user" ? `${row.from}: group ${row.group}` : `group ${row.from}`;
  const members = row.kind === "group" ? `; members: ${row.members.join(", ") || "none"}` : "";
  const width = Math.max(...row.cells.map((c) => c.to.length));
  const list = (action: "accept" | "drop") =>
    group.rules
      .filter((r) => r.action === action)
      .map((r) => r.text)
      .join(", ") || "nothing";
  return [
    `${who} (${group.description || "no description"}${members})`,
    `  rules (${group.source}): deny ${list("drop")}; allow ${list("accept")}; everything else is dropped`,
    ...row.cells.map(
      (c) => `  ${c.to.padEnd(width)}  ${paint(c.verdict)}${" ".repeat(8 - c.verdict.length)}${explainRegion(c)}`,
    ),
    "",
  ].join("\n");
}
