/** `nixlab import vars.nix --to nixlab.yaml|nixlab.config.ts`: migrate a Nix-only nixlab's vars.nix. */
import type { Command } from "commander";
import pc from "picocolors";
import { importVarsNix } from "../config/import.ts";

export function registerImport(program: Command): void {
  program
    .command("import")
    .description("Convert a Nix-only nixlab vars.nix into a cluster file (comments are dropped, values kept)")
    .argument("<vars.nix>", "the vars.nix to read")
    .option("--to <file>", "the cluster file to write: nixlab.yaml, nixlab.config.ts or nixlab.json", "nixlab.yaml")
    .option("--force", "overwrite the target if it exists")
    .action((source: string, options: { to: string; force?: boolean }) => {
      importVarsNix(source, options.to, options.force ? { force: true } : {});
      process.stdout.write(`${pc.green("wrote")} ${options.to} from ${source}\n`);
    });
}
