/** Finding the cluster file: cheap (no parsing), so commands that only need its location load nothing else. */
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { ExitCode, UserError } from "../errors.ts";

/** Cluster file names looked for in the working directory, in this order. */
export const clusterFileNames = ["nixlab.config.ts", "nixlab.yaml", "nixlab.yml", "nixlab.json", "vars.nix"] as const;

/** Which cluster file: --config, relative to cwd. */
export interface LoadOptions {
  /** Path given with --config; otherwise the first of clusterFileNames in cwd. */
  config?: string;
  cwd?: string;
}

/** The path of the cluster file to use. Throws UserError when there is none. */
export function findClusterFile(options: LoadOptions = {}): string {
  const cwd = options.cwd ?? process.cwd();
  if (options.config !== undefined) {
    const path = resolve(cwd, options.config);
    if (!existsSync(path))
      throw new UserError(`cluster file ${options.config} does not exist`, {
        exitCode: ExitCode.invalidInput,
      });
    return path;
  }
  for (const name of clusterFileNames) {
    const path = resolve(cwd, name);
    if (existsSync(path)) return path;
  }
  throw new UserError(`no cluster file in ${cwd}`, {
    exitCode: ExitCode.invalidInput,
    details: [`  create one of ${clusterFileNames.join(", ")} (see examples/homelab/), or pass --config FILE`],
  });
}
