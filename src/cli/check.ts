import type { Command } from "commander";
import pc from "picocolors";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import type { Cluster } from "../cluster/model.ts";
import { nodeInputProblems } from "../nodes/index.ts";
import { renderCluster } from "../render/build.ts";
import { missingFromText } from "../secrets/project.ts";
import { requiredSecrets } from "../services/required-secrets.ts";
import { vpnWarnings } from "../vpn/validate.ts";
import { type ConfigOptions, addConfigOption, loadFromOptions, plural, printJson } from "./common.ts";

export function registerCheck(program: Command): void {
  addConfigOption(
    program
      .command("check")
      .description("Validate the cluster file and render it in memory; every problem names its field and fix")
      .option("--json", "print the result as JSON"),
  ).action(async (options: ConfigOptions & { json?: boolean }) => {
    const cluster = await loadFromOptions(options);
    const { plan } = renderCluster(cluster);
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
        ...missingSecretWarnings(cluster),
        ...vpnWarnings(cluster),
      ],
    };
    if (options.json) return printJson(summary);
    for (const w of summary.warnings) process.stderr.write(`${pc.yellow("warning:")} ${w}\n`);
    process.stdout.write(
      `${pc.green("ok")} ${cluster.source}: ${plural(summary.nodes, "node")} (master ${summary.master}), ` +
        `${plural(summary.vpnUsers, "VPN user")}, ${plural(summary.charts, "chart")} in ${plural(summary.groups, "group")}\n`,
    );
  });
}

/** One warning per secret the cluster needs that secrets.yaml (next to the cluster file) lacks. */
function missingSecretWarnings(cluster: Cluster): string[] {
  const path = join(dirname(cluster.source), "secrets.yaml");
  if (!existsSync(path)) return []; // nodeInputProblems reports the missing file
  const missing = missingFromText(readFileSync(path, "utf8"), requiredSecrets(cluster));
  return (missing ?? []).map(
    (r) => `secrets.yaml has no ${r.name} (${r.usedBy}); run \`nixlab secrets init\` to add it`,
  );
}
