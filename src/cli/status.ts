import type { Command } from "commander";
import { jsonOption, outputOption, type OutputOptions, printResult, structured } from "./output.ts";
import pc from "picocolors";
import type { Kube } from "../deploy/kube.ts";
import { deployStatus } from "../deploy/status.ts";
import { addKubeOptions, connect, type KubeOptions } from "./deploy.ts";

export function registerStatus(program: Command): void {
  addKubeOptions(
    program
      .command("status")
      .description("Per group: hash, applied, ready, and drift since the last deploy")
      .option("--offline", "read only the state dir, not the cluster")
      .addOption(outputOption())
      .addOption(jsonOption()),
  ).action(async (options: KubeOptions & OutputOptions & { offline?: boolean }) => {
    let kube: Kube | undefined;
    if (!options.offline) kube = await connect(options);
    try {
      const report = await deployStatus({ planPath: options.plan, stateDir: options.state, ...(kube ? { kube } : {}) });
      if (structured(options)) return printResult(report, options);
      const width = Math.max(...report.groups.map((g) => g.name.length));
      for (const g of report.groups) {
        const st =
          g.status === "ready" ? pc.green(g.status) : g.status === "failed" ? pc.red(g.status) : pc.yellow(g.status);
        const notes = [
          g.hash ? pc.dim(g.hash.slice(0, 12)) : "",
          g.appliedAt ? `applied ${g.appliedAt}` : "",
          g.planChanged ? pc.yellow("plan changed") : "",
          g.missing.length ? pc.red(`missing: ${g.missing.join(", ")}`) : "",
          g.notReady.length ? pc.yellow(`not ready: ${g.notReady.join(", ")}`) : "",
        ].filter(Boolean);
        process.stdout.write(`${g.name.padEnd(width)}  ${st}  ${notes.join("  ")}\n`);
      }
      if (report.lastRun) {
        process.stdout.write(
          `last deploy: ${report.lastRun.startedAt} ${report.lastRun.result ?? "(did not finish)"}\n`,
        );
      }
    } finally {
      kube?.close();
    }
  });
}
