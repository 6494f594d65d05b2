/** Options and helpers shared by the commands that read the cluster file. */
import type { Command } from "commander";
import pc from "picocolors";
import { dirname, join, relative } from "node:path";
import type { Cluster } from "../cluster/model.ts";
import { loadCluster } from "../config/load.ts";
import { ExitCode, UserError } from "../errors.ts";
import { secretsFileProblems } from "../secrets/project.ts";
import { requiredSecrets } from "../services/required-secrets.ts";
import { agentSecretsFile, masterSecretsFile } from "../nodes/spec.ts";

export interface ConfigOptions {
  config?: string;
}

export function addConfigOption(command: Command): Command {
  return command.option(
    "-c, --config <file>",
    "cluster file (default: nixlab.config.ts, nixlab.yaml, nixlab.yml, nixlab.json or vars.nix in the working directory)",
  );
}

export function loadFromOptions(options: ConfigOptions): Promise<Cluster> {
  return loadCluster(options.config === undefined ? {} : { config: options.config });
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

export const plural = (n: number, word: string, many = `${word}s`): string => `${n} ${n === 1 ? word : many}`;

/** Prints a note for the user (something nixlab did on its own, e.g. a recovery) on stderr. */
export const noteOnStderr = (line: string): void => {
  process.stderr.write(`${pc.yellow("note:")} ${line}\n`);
};

/**
 * Throws UserError (exit 2) when the secrets file next to the cluster file is not fully
 * SOPS-encrypted (nothing in clear may be used or copied into a build), or lacks the key
 * of an enabled VPN user (the VPN could not start). Returns one warning per other
 * required secret it lacks (`nixlab secrets init` adds those); [] when the file is fine
 * or absent (the NixOS side reports a missing file).
 */
export function refuseUnusableSecrets(cluster: Cluster): string[] {
  // The agents' file is derived from the master's by nixlab; it is checked for plaintext too.
  for (const name of [agentSecretsFile, masterSecretsFile]) refuseUnencrypted(cluster, name);
  const path = join(dirname(cluster.source), masterSecretsFile);
  const found = secretsFileProblems(path, requiredSecrets(cluster));
  if (!found) return [];
  const shown = shownPath(path);
  const userKeys = new Set(cluster.vpn.enabledUsers.map((u) => u.publicKeySecret));
  const missingKeys = found.missing.filter((r) => userKeys.has(r.name));
  if (missingKeys.length > 0) {
    throw new UserError(`${shown} lacks the public key of ${plural(missingKeys.length, "VPN user")}`, {
      exitCode: ExitCode.invalidInput,
      details: [
        ...missingKeys.map((r) => `  missing: ${r.name} (${r.usedBy})`),
        "  fix: `nixlab secrets set NAME` with the public key of the user's WireGuard client on stdin",
      ],
    });
  }
  // Only the user knows some values (a token, a device's key): say how to set those.
  const fix = (r: (typeof found.missing)[number]) =>
    r.source.kind === "user"
      ? `add it with \`nixlab secrets set ${r.name}\` (the value on stdin): ${r.source.hint}`
      : "run `nixlab secrets init` to add it";
  return found.missing.map((r) => `secrets.yaml has no ${r.name} (${r.usedBy}); ${fix(r)}`);
}

/** `path` relative to the working directory when it is below it, else absolute. */
function shownPath(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel.startsWith("..") ? path : rel;
}

/** Throws UserError (exit 2) when secrets file `name` next to the cluster file exists and is not fully encrypted. */
function refuseUnencrypted(cluster: Cluster, name: string): void {
  const path = join(dirname(cluster.source), name);
  const found = secretsFileProblems(path, requiredSecrets(cluster));
  if (!found || found.unencrypted.length === 0) return;
  const shown = shownPath(path);
  throw new UserError(`${shown} is not fully SOPS-encrypted; nixlab neither uses it nor copies it into a build`, {
    exitCode: ExitCode.invalidInput,
    details: [
      ...found.unencrypted.map((p) => `  ${p}`),
      ...(found.sops
        ? [
            "  fix: remove what is in clear (e.g. restore the file from version control), add those values again",
            "  with `nixlab secrets set NAME` or `nixlab secrets edit`, and change any secret that was ever committed in clear",
          ]
        : [
            `  fix: encrypt it (\`sops encrypt -i ${shown}\`, with a .sops.yaml rule), or move it away, run`,
            "  `nixlab secrets init` and add each value with `nixlab secrets set NAME`; change any secret that was committed in clear",
          ]),
    ],
  });
}
