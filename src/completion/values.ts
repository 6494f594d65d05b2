/**
 * The values completion offers from the cluster file: deploy groups, nodes and their
 * @tags, VPN users and groups, secret names (the clear key names of the secrets file,
 * never a value: nothing is decrypted).
 */
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { parse } from "yaml";
import { loadCluster } from "../config/load.ts";
import { builtinGroupNames } from "../services/groups.ts";
import { requiredSecrets } from "../services/required-secrets.ts";
import type { ValueKind, ValueSource } from "./complete.ts";

/** The value of `-c/--config` among the typed words, if any. */
function configFlag(words: readonly string[]): string | undefined {
  for (const [i, word] of words.entries()) {
    if (word === "-c" || word === "--config") return words[i + 1];
    if (word.startsWith("--config=")) return word.slice("--config=".length);
  }
  return undefined;
}

/** The top-level key names of a SOPS file (stored in clear), without its `sops` section. */
function secretNames(path: string): string[] {
  if (!existsSync(path)) return [];
  const doc = parse(readFileSync(path, "utf8")) as unknown;
  return doc && typeof doc === "object" ? Object.keys(doc).filter((k) => k !== "sops") : [];
}

/** A ValueSource reading the cluster file found from `cwd` (or -c). Throws when there is none; complete() treats that as no values. */
export function clusterValues(cwd: string): ValueSource {
  return async (kind: ValueKind, words) => {
    const config = configFlag(words);
    const cluster = await loadCluster({ cwd, ...(config ? { config } : {}) });
    switch (kind) {
      case "deploy-group":
        return [...builtinGroupNames, ...Object.keys(cluster.config.groups)];
      case "node":
        return cluster.nodes.map((n) => n.hostname);
      case "node-selector":
        return [
          ...cluster.nodes.map((n) => n.hostname),
          ...[...new Set(cluster.nodes.flatMap((n) => n.tags))].map((t) => `@${t}`),
        ];
      case "vpn-user":
        return cluster.vpn.users.map((u) => u.name);
      case "vpn-group":
        return cluster.vpn.groups.map((g) => g.name);
      case "vpn-subject":
        return [...cluster.vpn.users.map((u) => u.name), ...cluster.vpn.groups.map((g) => g.name)];
      case "secret":
        return [
          ...new Set([
            ...secretNames(join(dirname(cluster.source), "secrets.yaml")),
            ...requiredSecrets(cluster).map((r) => r.name),
          ]),
        ];
      default:
        return [];
    }
  };
}
