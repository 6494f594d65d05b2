// Where the project's SOPS file is: the rule every command shares (secrets, deploy, diff).
import { dirname, join, resolve } from "node:path";
import { findClusterFile } from "../config/find.ts";

/**
 * The secrets file: `file` when given, else secrets.yaml next to the cluster file
 * (`config`, or the one in the working directory), else secrets.yaml in the working
 * directory. Throws the cluster file's UserError only when `config` names a missing file.
 */
export function secretsFilePath(options: { file?: string; config?: string }): string {
  if (options.file) return resolve(options.file);
  let clusterFile: string | undefined;
  try {
    clusterFile = findClusterFile(options.config === undefined ? {} : { config: options.config });
  } catch (error) {
    // Without a cluster file the secrets file is looked for in the working directory.
    if (options.config !== undefined) throw error;
  }
  return join(clusterFile ? dirname(clusterFile) : process.cwd(), "secrets.yaml");
}
