import type { Command } from "commander";
import { jsonOption, outputOption, type OutputOptions, printResult, structured } from "./output.ts";
import pc from "picocolors";
import { catalogInputs } from "../dashboard/bundle.ts";
import { renderCluster } from "../render/build.ts";
import { dagLevels } from "../plan/dag.ts";
import type { DeployPlan } from "../plan/schema.ts";
import { type ConfigOptions, addConfigOption, loadFromOptions, plural } from "./common.ts";

/** The plan as text: groups by level (each level may run concurrently), with charts and waits. */
export function formatPlan(plan: DeployPlan, domain: string): string {
  const lines = [
    `${pc.bold("Deploy plan")} for ${domain}: ${plural(plan.groups.length, "group")}, ${plural(plan.charts.length, "chart")}, ` +
      `${plural(plan.namespaces.length, "namespace")}`,
    "",
  ];
  const levels = dagLevels(plan.groups);
  levels.forEach((names, i) => {
    lines.push(pc.dim(`── step ${i + 1}${names.length > 1 ? ` (${names.length} groups in parallel)` : ""} ──`));
    for (const name of names) {
      const g = plan.groups.find((x) => x.name === name)!;
      const after = g.dependsOn.length > 0 ? pc.dim(`  after ${g.dependsOn.join(", ")}`) : "";
      lines.push(`${pc.bold(pc.cyan(g.name))}${after}`);
      for (const key of g.charts) {
        const c = plan.charts.find((x) => x.key === key)!;
        const what = c.helm ? `helm ${c.helm.chart} ${c.helm.version}` : plural(c.objects.length, "object");
        lines.push(`    ${key.padEnd(26)} ${what.padEnd(26)} → ${c.namespace}`);
      }
      for (const s of g.secrets) lines.push(`    ${pc.dim("secret")} ${s}`);
      for (const w of g.waitFor)
        lines.push(`    ${pc.dim("wait")}   ${w.kind} ${w.namespace}/${w.name} ${pc.dim(`≤${w.timeoutSeconds}s`)}`);
      lines.push(
        pc.dim(`    retry ${g.retry.attempts}× from ${g.retry.delaySeconds}s backoff · hash ${g.hash.slice(0, 12)}`),
      );
    }
    lines.push("");
  });
  for (const h of plan.hooks)
    lines.push(
      `${pc.bold("hook")} ${h.name} after ${h.after}: occ as ${h.runAs} in ${h.target.namespace}/${h.target.deployment}`,
    );
  return `${lines.join("\n")}\n`;
}

export function registerPlan(program: Command): void {
  addConfigOption(
    program
      .command("plan")
      .description("Show the deploy order: groups by step, their charts, namespaces, secrets and waits")
      .addOption(outputOption())
      .addOption(jsonOption()),
  ).action(async (options: ConfigOptions & OutputOptions) => {
    const cluster = await loadFromOptions(options);
    const { plan } = renderCluster(cluster, await catalogInputs(cluster));
    if (structured(options)) return printResult(plan, options);
    process.stdout.write(formatPlan(plan, cluster.config.domain));
  });
}
