import type { Command } from "commander";
import { jsonOption, outputOption, type OutputOptions, printResult, structured } from "./output.ts";
import pc from "picocolors";
import { dirname } from "node:path";
import { nodeInputProblems } from "../nodes/index.ts";
import { catalogInputs } from "../dashboard/bundle.ts";
import { dashboardWarnings } from "../services/dashboard/dashboard.ts";
import { renderCluster } from "../render/build.ts";
import { vpnWarnings } from "../vpn/validate.ts";
import { expiryWarnings } from "../vpn/expiry.ts";
import { type ConfigOptions, addConfigOption, loadFromOptions, plural, refuseUnusableSecrets } from "./common.ts";

export function registerCheck(program: Command): void {
  addConfigOption(
    program
      .command("check")
      .description("Validate the cluster file and render it in memory; every problem names its field and fix")
      .addOption(outputOption())
      .addOption(jsonOption()),
  ).action(async (options: ConfigOptions & OutputOptions) => {
    const cluster = await loadFromOptions(options);
    const secretWarnings = refuseUnusableSecrets(cluster);
    const { plan } = renderCluster(cluster, await catalogInputs(cluster));
    const summary = {
      ok: true,
      file: cluster.source,
      nodes: cluster.nodes.length,
      master: cluster.master.hostname,
      vpnUsers: cluster.vpn.enabledUsers.length,
      charts: plan.charts.length,
      groups: plan.groups.length,
      warnings: [
        ...nodeInputProblems(cluster, dirname(cluster.source)),
        ...secretWarnings,
        ...vpnWarnings(cluster),
        ...expiryWarnings(cluster, Date.now()),
        ...dashboardWarnings(cluster),
      ],
    };
    if (structured(options)) return printResult(summary, options);
    for (const w of summary.warnings) process.stderr.write(`${pc.yellow("warning:")} ${w}\n`);
    process.stdout.write(
      `${pc.green("ok")} ${cluster.source}: ${plural(summary.nodes, "node")} (master ${summary.master}), ` +
        `${plural(summary.vpnUsers, "VPN user")}, ${plural(summary.charts, "chart")} in ${plural(summary.groups, "group")}\n`,
    );
  });
}
