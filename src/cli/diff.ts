import type { Command } from "commander";
import { jsonOption, outputOption, type OutputOptions, printResult, structured } from "./output.ts";
import pc from "picocolors";
import { diffPlan } from "../deploy/diff.ts";
import { addKubeOptions, connect, type KubeOptions, secretSource } from "./deploy.ts";

interface DiffCliOptions extends KubeOptions, OutputOptions {
  secrets?: string;
  secretsDir?: string;
  ageKeyFile?: string;
  only?: string[];
}

export function registerDiff(program: Command): void {
  addKubeOptions(
    program
      .command("diff")
      .description("Show what deploy would change in the live cluster (server-side dry run; secret values masked)")
      .option("--secrets <file>", "SOPS file, to compare Secrets too (values are never printed)")
      .option("--secrets-dir <dir>", "directory of decrypted secrets (sops-nix: /run/secrets)")
      .option("--age-key-file <file>", "age identity for --secrets")
      .option("--only <group...>", "diff only these groups")
      .addOption(outputOption())
      .addOption(jsonOption()),
  ).action(async (options: DiffCliOptions) => {
    const secrets = await secretSource(options);
    const kube = await connect(options);
    try {
      const color = !structured(options) && process.stdout.isTTY;
      const paint = (op: " " | "-" | "+", line: string) =>
        op === "+" ? pc.green(line) : op === "-" ? pc.red(line) : line.startsWith("@@") ? pc.cyan(line) : line;
      const diffs = await diffPlan({
        kube,
        planPath: options.plan,
        ...(secrets ? { secrets } : {}),
        ...(options.only ? { only: options.only } : {}),
        ...(color ? { color: paint } : {}),
      });
      if (structured(options)) printResult(diffs, options);
      else {
        for (const d of diffs) {
          if (d.action === "unchanged") continue;
          if (d.action === "failed") process.stdout.write(`${pc.red("failed")} ${d.object}: ${d.message}\n`);
          else process.stdout.write(d.diff);
        }
        const n = (a: string) => diffs.filter((d) => d.action === a).length;
        process.stdout.write(
          `${n("create")} to create, ${n("change")} to change, ${n("unchanged")} unchanged, ${n("failed")} failed\n`,
        );
      }
      // Like diff(1): 1 when there are differences, so scripts can tell.
      process.exitCode = diffs.some((d) => d.action === "failed")
        ? 2
        : diffs.some((d) => d.action !== "unchanged")
          ? 1
          : 0;
    } finally {
      kube.close();
    }
  });
}
