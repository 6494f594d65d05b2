import type { Command } from "commander";
import { jsonOption, outputOption, type OutputOptions, printResult, structured } from "./output.ts";
import pc from "picocolors";
import { diffPlan } from "../deploy/diff.ts";
import { ExitCode, UserError } from "../errors.ts";
import {
  addKubeOptions,
  addSecretOptions,
  type KubeOptions,
  kubeFromOptions,
  planFromOptions,
  type SecretOptions,
  reportRetries,
  secondsOption,
  secretsFromOptions,
  withJsonErrors,
} from "./kube-options.ts";

interface DiffCliOptions extends KubeOptions, SecretOptions {
  only?: string[];
  skipSecrets?: boolean;
}

export function registerDiff(program: Command): void {
  const command = program
    .command("diff")
    .description("Show what deploy would change in the live cluster (server-side dry run; secret values masked)")
    .option("--only <group...>", "diff only these groups (pruning is shown only without --only)")
    .option(
      "--skip-secrets",
      "compare everything but the Secrets (listed as skipped), when no secret values are at hand",
    );
  addKubeOptions(addSecretOptions(command, "to compare Secrets (values are never printed)")).action(
    (options: DiffCliOptions) => withJsonErrors("diff", options, () => errorsAreTwo(() => run(options))),
  );
}

/** Like `kubectl diff`: 1 means "differences", so every error is 2 or more. */
async function errorsAreTwo(body: () => Promise<void>): Promise<void> {
  try {
    await body();
  } catch (error) {
    if (error instanceof UserError && error.exitCode === ExitCode.failure) {
      throw new UserError(error.message, { exitCode: ExitCode.invalidInput, details: error.details, cause: error });
    }
    throw error;
  }
}

async function run(options: DiffCliOptions): Promise<void> {
  const apiTimeoutMs = secondsOption(options.apiTimeout, "--api-timeout");
  const { loaded, clusterFile } = await planFromOptions(options);
  const secrets = options.skipSecrets ? undefined : secretsFromOptions(options, clusterFile);
  const kube = kubeFromOptions(options);
  try {
    const color = !structured(options) && process.stdout.isTTY;
    const paint = (op: " " | "-" | "+", line: string) =>
      op === "+" ? pc.green(line) : op === "-" ? pc.red(line) : line.startsWith("@@") ? pc.cyan(line) : line;
    const report = await diffPlan({
      plan: loaded,
      kube,
      ...(secrets ? { secrets } : {}),
      ...(options.skipSecrets ? { skipSecrets: true } : {}),
      ...(options.only ? { only: options.only } : {}),
      apiTimeoutMs,
      sink: reportRetries,
      ...(color ? { color: paint } : {}),
    });
    if (structured(options)) printResult(report, options);
    else {
      for (const d of report.objects) {
        if (d.action === "unchanged") continue;
        if (d.action === "failed") process.stdout.write(`${pc.red("failed")} ${d.object}: ${d.message}\n`);
        else if (d.action === "skipped") process.stdout.write(`skipped ${d.object}: ${d.message}\n`);
        else process.stdout.write(`${d.message ? `# ${d.object}: ${d.message}\n` : ""}${d.diff}`);
      }
      const c = report.counts;
      process.stdout.write(
        `${c.create} to create, ${c.change} to change, ${c.delete} to delete, ${c.unchanged} unchanged` +
          `${c.skipped ? `, ${c.skipped} skipped` : ""}, ${c.failed} failed\n`,
      );
    }
    process.exitCode = report.exitCode;
  } finally {
    kube.close();
  }
}
