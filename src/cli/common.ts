/** Options and helpers shared by the commands that read the cluster file. */
import type { Command } from "commander";
import pc from "picocolors";
import { loadCluster } from "../config/load.ts";
import type { Cluster } from "../cluster/model.ts";

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
