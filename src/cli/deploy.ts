import type { Command } from "commander";
import { jsonOption, outputOption, type OutputOptions, printResult, structured } from "./output.ts";
import { deploy } from "../deploy/engine.ts";
import { plainProgress, type ProgressSink } from "../deploy/progress-plain.ts";
import { ttyProgress } from "../deploy/progress-tty.ts";
import { FileStateStore } from "../deploy/state.ts";
import { formatSummary } from "../deploy/summary.ts";
import { ExitCode, UserError } from "../errors.ts";
import {
  addKubeOptions,
  addSecretOptions,
  type KubeOptions,
  kubeFromOptions,
  planFromOptions,
  type SecretOptions,
  secondsOption,
  secretsFromOptions,
  withJsonErrors,
} from "./kube-options.ts";

interface DeployCliOptions extends KubeOptions, SecretOptions {
  only?: string[];
  strict?: boolean;
  concurrency: string;
  waitLock: string;
  logFormat: string;
}

export function registerDeploy(program: Command): void {
  const command = program
    .command("deploy")
    .description(
      "Bring the cluster to the deploy plan: groups in dependency order, server-side apply, readiness by watch",
    )
    .option("--only <group...>", "deploy only these groups (their dependencies must already be ready)")
    .option("--strict", "a group that does not become ready in time fails the deploy (exit 1 instead of 4)")
    .option("--concurrency <n>", "groups deployed at the same time", "8")
    .option("--wait-lock <seconds>", "wait this long for another running deploy instead of exiting 3", "0")
    .option("--log-format <format>", "auto (live table on a terminal), plain (log lines, for systemd)", "auto");
  addKubeOptions(addSecretOptions(command, "(decrypted in memory)")).action((options: DeployCliOptions) =>
    withJsonErrors("deploy", options, () => run(options)),
  );
}

async function run(options: DeployCliOptions): Promise<void> {
  if (!["auto", "plain"].includes(options.logFormat)) {
    throw new UserError(`--log-format must be auto or plain, got ${options.logFormat}`, {
      exitCode: ExitCode.invalidInput,
    });
  }
  const concurrency = Number(options.concurrency);
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    throw new UserError(`--concurrency must be a whole number of at least 1, got ${options.concurrency}`, {
      exitCode: ExitCode.invalidInput,
    });
  }
  const lockWaitMs = secondsOption(options.waitLock, "--wait-lock");
  const apiTimeoutMs = secondsOption(options.apiTimeout, "--api-timeout");
  const { loaded, clusterFile } = await planFromOptions(options);
  const secrets = secretsFromOptions(options, clusterFile);
  const kube = kubeFromOptions(options);
  const tty = options.logFormat === "auto" && !structured(options) && process.stderr.isTTY;
  const sink: ProgressSink = tty
    ? ttyProgress(
        loaded.plan.groups.map((g) => g.name),
        process.stderr,
      )
    : plainProgress(process.stderr);
  // SIGINT/SIGTERM stop the run: waits end, the state keeps what was applied, the lock is released.
  const abort = new AbortController();
  const stop = () => abort.abort();
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  try {
    const report = await deploy({
      plan: loaded,
      kube,
      store: new FileStateStore(options.state),
      ...(secrets ? { secrets } : {}),
      ...(options.only ? { only: options.only } : {}),
      strict: !!options.strict,
      concurrency,
      lockWaitMs,
      apiTimeoutMs,
      signal: abort.signal,
      sink: (e) => sink.onEvent(e),
    });
    // The table's last frame first: the summary's verdict is the last thing shown.
    sink.stop();
    if (structured(options)) printResult(report, options);
    else process.stdout.write(formatSummary(report, !!process.stdout.isTTY));
    process.exitCode = report.exitCode;
  } finally {
    sink.stop();
    process.off("SIGINT", stop);
    process.off("SIGTERM", stop);
    kube.close();
  }
}
