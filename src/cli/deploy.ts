import type { Command } from "commander";
import { jsonOption, outputOption, type OutputOptions, printResult, structured } from "./output.ts";
import { ExitCode, UserError } from "../errors.ts";
import { type DeployEvent, deploy } from "../deploy/engine.ts";
import { Kube } from "../deploy/kube.ts";
import { formatSummary, plainProgress, type ProgressSink, ttyProgress } from "../deploy/progress.ts";
import { DirSecretSource, openSopsSource, type SecretSource } from "../deploy/secrets.ts";
import { loadPlan } from "../deploy/plan.ts";

export interface KubeOptions {
  kubeconfig?: string;
  context?: string;
  plan: string;
  state: string;
}

/** Options shared by deploy, diff and status. */
export function addKubeOptions(command: Command): Command {
  return command
    .option("--kubeconfig <file>", "kubeconfig to use (default: $KUBECONFIG or ~/.kube/config)")
    .option("--context <name>", "kubeconfig context (default: its current context)")
    .option("--plan <file>", "deploy plan written by `nixlab build`", "build/deploy-plan.json")
    .option(
      "--state <dir>",
      "state dir: group hashes, readiness, lock (/var/lib/nixlab on the master)",
      ".nixlab/state",
    );
}

export async function connect(options: KubeOptions): Promise<Kube> {
  try {
    return await Kube.connect({
      ...(options.kubeconfig ? { kubeconfig: options.kubeconfig } : {}),
      ...(options.context ? { context: options.context } : {}),
    });
  } catch (error) {
    throw new UserError(`cannot load the kubeconfig: ${(error as Error).message}`, {
      exitCode: ExitCode.invalidInput,
      details: ["Pass --kubeconfig FILE (on the master: /etc/rancher/k3s/k3s.yaml)."],
    });
  }
}

export async function secretSource(options: {
  secrets?: string;
  secretsDir?: string;
  ageKeyFile?: string;
}): Promise<SecretSource | undefined> {
  if (options.secrets && options.secretsDir) {
    throw new UserError("pass either --secrets or --secrets-dir, not both", { exitCode: ExitCode.invalidInput });
  }
  if (options.secretsDir) return new DirSecretSource(options.secretsDir);
  if (options.secrets) {
    return await openSopsSource(options.secrets, options.ageKeyFile ? { ageKeyFile: options.ageKeyFile } : {});
  }
  return undefined;
}

interface DeployCliOptions extends KubeOptions, OutputOptions {
  secrets?: string;
  secretsDir?: string;
  ageKeyFile?: string;
  only?: string[];
  strict?: boolean;
  concurrency: string;
  waitLock: string;
  apiTimeout: string;
  logFormat: string;
}

function positiveInt(value: string, flag: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0)
    throw new UserError(`${flag} must be a whole number, got ${value}`, { exitCode: ExitCode.invalidInput });
  return n;
}

export function registerDeploy(program: Command): void {
  addKubeOptions(
    program
      .command("deploy")
      .description(
        "Bring the cluster to the deploy plan: groups in dependency order, server-side apply, readiness by watch",
      )
      .option("--secrets <file>", "SOPS file with the secret values (decrypted in memory)")
      .option("--secrets-dir <dir>", "directory of decrypted secrets, one file per name (sops-nix: /run/secrets)")
      .option(
        "--age-key-file <file>",
        "age identity for --secrets (default: SOPS_AGE_KEY_FILE, ~/.config/sops/age/keys.txt)",
      )
      .option("--only <group...>", "deploy only these groups (their dependencies must already be ready)")
      .option("--strict", "a group that does not become ready in time fails the deploy (exit 1 instead of 4)")
      .option("--concurrency <n>", "groups deployed at the same time", "8")
      .option("--wait-lock <seconds>", "wait this long for another running deploy instead of exiting 3", "0")
      .option("--api-timeout <seconds>", "how long to wait for the Kubernetes API to answer", "300")
      .option("--log-format <format>", "auto (live table on a terminal), plain (log lines, for systemd)", "auto")
      .addOption(outputOption())
      .addOption(jsonOption()),
  ).action(async (options: DeployCliOptions) => {
    if (!["auto", "plain"].includes(options.logFormat)) {
      throw new UserError(`--log-format must be auto or plain, got ${options.logFormat}`, {
        exitCode: ExitCode.invalidInput,
      });
    }
    const concurrency = positiveInt(options.concurrency, "--concurrency");
    const lockWaitMs = positiveInt(options.waitLock, "--wait-lock") * 1000;
    const apiWaitMs = positiveInt(options.apiTimeout, "--api-timeout") * 1000;
    const secrets = await secretSource(options);
    const kube = await connect(options);
    const tty = options.logFormat === "auto" && !structured(options) && process.stderr.isTTY;
    let sink: ProgressSink;
    if (tty) {
      const { plan } = await loadPlan(options.plan);
      sink = ttyProgress(
        plan.groups.map((g) => g.name),
        process.stderr,
      );
    } else sink = plainProgress(process.stderr);
    // SIGINT/SIGTERM stop waits; state keeps what was applied, the lock is released.
    const abort = new AbortController();
    const stop = () => abort.abort();
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
    try {
      const report = await deploy({
        kube,
        planPath: options.plan,
        stateDir: options.state,
        ...(secrets ? { secrets } : {}),
        ...(options.only ? { only: options.only } : {}),
        strict: !!options.strict,
        concurrency,
        lockWaitMs,
        apiWaitMs,
        signal: abort.signal,
        onEvent: (e: DeployEvent) => sink.onEvent(e),
      });
      sink.stop();
      if (structured(options)) printResult(report, options);
      else process.stdout.write(formatSummary(report, !!process.stdout.isTTY));
      process.exitCode = abort.signal.aborted ? ExitCode.failure : report.exitCode;
    } finally {
      sink.stop();
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
      kube.close();
    }
  });
}
