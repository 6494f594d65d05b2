/** Options and helpers shared by the commands that read the cluster file. */
import type { Command } from "commander";
import pc from "picocolors";
import { dirname, join, relative } from "node:path";
import type { Cluster } from "../cluster/model.ts";
import { loadCluster } from "../config/load.ts";
import { ExitCode, UserError } from "../errors.ts";
import { secretsFileProblems } from "../secrets/project.ts";
import { requiredSecrets } from "../services/required-secrets.ts";

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
 * SOPS-encrypted (nothing in clear may be used or copied into a build), or lacks a secret
 * the cluster needs (e.g. a VPN user's public key). Returns when it is fine or absent
 * (the NixOS side reports a missing file).
 */
export function refuseUnusableSecrets(cluster: Cluster): void {
  const path = join(dirname(cluster.source), "secrets.yaml");
  const shown = relative(process.cwd(), path) || path;
  const found = secretsFileProblems(path, requiredSecrets(cluster));
  if (!found) return;
  if (found.unencrypted.length > 0) {
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
  if (found.missing.length > 0) {
    throw new UserError(`${shown} lacks ${found.missing.length} secret(s) the cluster needs`, {
      exitCode: ExitCode.invalidInput,
      details: [
        ...found.missing.map((r) => `  missing: ${r.name} (${r.usedBy})`),
        "  fix: `nixlab secrets init` adds the generated ones; `nixlab secrets set NAME` (value on stdin) the others",
      ],
    });
  }
}
