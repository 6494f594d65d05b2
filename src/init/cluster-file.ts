/**
 * The cluster file `nixlab init` writes: the answers as a cluster-file value, checked
 * field by field with the same validation `nixlab check` runs, and printed as YAML with
 * the schema modeline editors use. Pure.
 */
import { stringify } from "yaml";
import { vpnNetwork } from "../cluster/net.ts";
import type { ConfigProblem, FieldPath } from "../config/problems.ts";
import { validateConfig } from "../config/validate.ts";

/** A node as `init` asks for it: its name is also its hostname. */
export interface InitNode {
  name: string;
  disk: string;
  master: boolean;
}

/** A VPN user as `init` asks for it; the address and key secret name are derived. */
export interface InitVpnUser {
  name: string;
  group?: string;
}

/** Everything the cluster file needs. */
export interface ClusterAnswers {
  username: string;
  timezone: string;
  clusterSshKey: string;
  domain: string;
  acmeEmail?: string;
  metallbPool: string;
  nginxIp: string;
  wireguardIp: string;
  piholeIp: string;
  upstreamDns: string;
  nodes: InitNode[];
  vpnUsers: InitVpnUser[];
}

/** The name of the SOPS secret holding VPN user `name`'s public key. */
export const publicKeySecretOf = (name: string): string => `${name.replaceAll("-", "_")}_wg_public_key`;

/** The VPN address of the `index`-th user (0-based): 10.0.100.2, .3, … */
export function vpnAddress(index: number): string {
  const server = vpnNetwork.serverIp.split(".").map(Number);
  return [...server.slice(0, 3), server[3]! + 1 + index].join(".");
}

/** The cluster-file value for `answers` (not yet validated). The first node marked master, else the first node, is the master. */
export function clusterValue(answers: ClusterAnswers): Record<string, unknown> {
  const masterName = answers.nodes.find((n) => n.master)?.name ?? answers.nodes[0]?.name;
  const nodes = Object.fromEntries(
    answers.nodes.map((n) => {
      const master = n.name === masterName;
      return [
        n.name,
        { hostname: n.name, ...(master ? { master: true } : {}), disk: n.disk, tags: [master ? "master" : "worker"] },
      ];
    }),
  );
  const wireguardUsers = Object.fromEntries(
    answers.vpnUsers.map((u, i) => [
      u.name,
      { ip: vpnAddress(i), ...(u.group ? { group: u.group } : {}), publicKeySecret: publicKeySecretOf(u.name) },
    ]),
  );
  return {
    username: answers.username,
    timezone: answers.timezone,
    clusterSshKey: answers.clusterSshKey.trim(),
    nodes,
    domain: answers.domain,
    ...(answers.acmeEmail ? { acmeEmail: answers.acmeEmail } : {}),
    metallbPool: answers.metallbPool,
    piholeIp: answers.piholeIp,
    wireguardIp: answers.wireguardIp,
    nginxIp: answers.nginxIp,
    upstreamDns: answers.upstreamDns,
    wireguardUsers,
  };
}

const startsWith = (path: FieldPath, prefix: FieldPath): boolean => prefix.every((part, i) => path[i] === part);

/** The problems `nixlab check` would report at or below `prefix` of `value`. Pure. */
export function problemsAt(value: unknown, prefix: FieldPath): ConfigProblem[] {
  const result = validateConfig(value);
  return result.ok ? [] : result.problems.filter((p) => startsWith(p.path, prefix));
}

/** One line for a wizard: the first problem at `prefix` and its fix, or undefined when there is none. */
export function firstProblemAt(value: unknown, prefix: FieldPath): string | undefined {
  const [problem] = problemsAt(value, prefix);
  return problem ? `${problem.message}; ${problem.fix}` : undefined;
}

/** The text of nixlab.yaml: the schema modeline (`schemaRef`, a path or URL), a header, then the value. */
export function clusterFileText(value: Record<string, unknown>, schemaRef: string): string {
  const header = [
    `# yaml-language-server: $schema=${schemaRef}`,
    "# Written by `nixlab init`. Every field: README.md#configuration-reference; check it with `nixlab check`.",
  ];
  return `${header.join("\n")}\n${stringify(value, { lineWidth: 0 })}`;
}
