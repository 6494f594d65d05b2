/** `nixlab import vars.nix --to nixlab.yaml|nixlab.config.ts`: migrate a Nix-only nixlab's vars.nix. */
import { randomBytes } from "node:crypto";
import { existsSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { basename, dirname, extname, join, resolve } from "node:path";
import type { Command } from "commander";
import pc from "picocolors";
import { stringify } from "yaml";
import { clusterFromValue } from "../config/load.ts";
import { ExitCode, UserError } from "../errors.ts";
import { evaluateNixFile } from "../nix/index.ts";
import { tsLiteral } from "../config/ts-literal.ts";

export { tsLiteral };

/** The text of the target file for an evaluated vars.nix, chosen by the target's extension. */
export function renderImport(value: unknown, target: string): string {
  const ext = extname(target);
  if (ext === ".yaml" || ext === ".yml") {
    return `# Imported from vars.nix by \`nixlab import\`.\n${stringify(value, { lineWidth: 0 })}`;
  }
  if (ext === ".ts" || ext === ".mts") {
    return `import { defineConfig } from "nixlab";\n\nexport default defineConfig(${tsLiteral(value)});\n`;
  }
  if (ext === ".json") return `${JSON.stringify(value, null, 2)}\n`;
  throw new UserError(`cannot import to ${basename(target)}: unknown file type "${ext}"`, {
    exitCode: ExitCode.invalidInput,
    details: ["  use --to nixlab.yaml, nixlab.config.ts or nixlab.json"],
  });
}

/** Writes via a temporary file in the same directory and a rename, so readers never see half a file. */
function writeAtomically(path: string, text: string): void {
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`);
  try {
    writeFileSync(tmp, text, { flag: "wx", mode: 0o644 });
    renameSync(tmp, path);
  } catch (error) {
    rmSync(tmp, { force: true });
    throw error;
  }
}

export function registerImport(program: Command): void {
  program
    .command("import")
    .description("Convert a Nix-only nixlab vars.nix into a cluster file (comments are dropped, values kept)")
    .argument("<vars.nix>", "the vars.nix to read")
    .requiredOption("--to <file>", "the cluster file to write: nixlab.yaml, nixlab.config.ts or nixlab.json")
    .option("-f, --force", "overwrite the target if it exists")
    .action((source: string, options: { to: string; force?: boolean }) => {
      const target = resolve(options.to);
      if (existsSync(target) && !options.force) {
        throw new UserError(`${options.to} already exists`, {
          exitCode: ExitCode.failure,
          details: ["  pass --force to overwrite it"],
        });
      }
      const value = evaluateNixFile(source);
      // Refuse to write a cluster file nixlab would reject; every problem names its field.
      clusterFromValue(value, resolve(source));
      const text = renderImport(value, target);
      writeAtomically(target, text);
      process.stdout.write(`${pc.green("wrote")} ${options.to} from ${source}\n`);
    });
}
