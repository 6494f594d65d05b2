import type { Command } from "commander";
import { jsonOption, outputOption, type OutputOptions, printResult, structured } from "./output.ts";
import pc from "picocolors";
import type { HttpKube } from "../deploy/http-kube.ts";
import { FileStateStore } from "../deploy/state.ts";
import { deployStatus, type GroupStatusReport } from "../deploy/status.ts";
import {
  addKubeOptions,
  type KubeOptions,
  kubeFromOptions,
  planFromOptions,
  reportRetries,
  secondsOption,
  withJsonErrors,
} from "./kube-options.ts";

export function registerStatus(program: Command): void {
  addKubeOptions(
    program
      .command("status")
      .description(
        "Per group: applied, ready, and drift in the live cluster (exit 0 in sync, 4 a deploy has work, 1 cannot tell)",
      )
      .option("--offline", "read only the state dir, not the cluster"),
  ).action((options: KubeOptions & { offline?: boolean }) => withJsonErrors("status", options, () => run(options)));
}

function line(g: GroupStatusReport, width: number): string {
  const st = g.status === "ready" ? pc.green(g.status) : g.status === "failed" ? pc.red(g.status) : pc.yellow(g.status);
  const notes = [
    g.appliedAt ? `applied ${g.appliedAt}` : "",
    g.inCluster && g.inCluster !== "applied" ? pc.yellow(`in cluster: ${g.inCluster}`) : "",
    g.planChanged ? pc.yellow("plan changed") : "",
    ...g.drift.map((d) => pc.red(`${d.object}: ${d.detail}`)),
    ...g.notReady.map((n) => pc.yellow(`${n.object}: ${n.reason}`)),
  ].filter(Boolean);
  return `${g.name.padEnd(width)}  ${st}  ${notes.join("  ")}`;
}

async function run(options: KubeOptions & { offline?: boolean }): Promise<void> {
  const apiTimeoutMs = secondsOption(options.apiTimeout, "--api-timeout");
  const { loaded } = await planFromOptions(options);
  let kube: HttpKube | undefined;
  if (!options.offline) kube = kubeFromOptions(options);
  try {
    const report = await deployStatus({
      plan: loaded,
      store: new FileStateStore(options.state),
      ...(kube ? { kube } : {}),
      apiTimeoutMs,
      sink: reportRetries,
    });
    process.exitCode = report.exitCode;
    if (structured(options)) return printResult(report, options);
    for (const w of report.warnings) process.stderr.write(`${pc.yellow("warning:")} ${w}\n`);
    const width = Math.max(...report.groups.map((g) => g.name.length));
    for (const g of report.groups) process.stdout.write(`${line(g, width)}\n`);
    if (report.lastRun) {
      process.stdout.write(`last deploy: ${report.lastRun.startedAt} ${report.lastRun.result ?? "(did not finish)"}\n`);
    }
    const verdict =
      report.result === "in-sync"
        ? pc.green("in sync: every group applied, ready, no drift")
        : report.result === "out-of-sync"
          ? pc.yellow("not in sync: a deploy has work to do (see above)")
          : "offline: the local record only";
    process.stdout.write(`${verdict}\n`);
  } finally {
    kube?.close();
  }
}
