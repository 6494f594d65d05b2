import { relative } from "node:path";
import type { Command } from "commander";
import { jsonOption, outputOption, type OutputOptions, printResult, structured } from "./output.ts";
import pc from "picocolors";
import { criticalPath } from "../plan/dag.ts";
import { catalogInputs } from "../dashboard/bundle.ts";
import { buildToDir } from "../render/write.ts";
import {
  type ConfigOptions,
  addConfigOption,
  loadFromOptions,
  noteOnStderr,
  plural,
  refuseUnusableSecrets,
} from "./common.ts";

export function registerBuild(program: Command): void {
  addConfigOption(
    program
      .command("build")
      .description("Render every manifest and the deploy plan into the build directory (byte-for-byte reproducible)")
      .option("--out <dir>", "build directory", "build")
      .option("--no-nodes", "render only the Kubernetes side (no flake, node specs or engine bundle)")
      .addOption(outputOption())
      .addOption(jsonOption()),
  ).action(async (options: ConfigOptions & OutputOptions & { out: string; nodes: boolean }) => {
    const cluster = await loadFromOptions(options);
    for (const warning of refuseUnusableSecrets(cluster)) process.stderr.write(`${pc.yellow("warning:")} ${warning}\n`);
    const { plan, files, nodes, warnings, notes } = await buildToDir(cluster, options.out, {
      nodes: options.nodes,
      inputs: await catalogInputs(cluster),
    });
    for (const w of warnings) process.stderr.write(`${pc.yellow("warning:")} ${w}\n`);
    for (const note of notes) noteOnStderr(note);
    if (structured(options)) {
      return printResult({ out: options.out, planHash: plan.hash, files: files.map((f) => f.path) }, options);
    }
    const objects = plan.charts.reduce((n, c) => n + c.objects.length, 0);
    const keys = plan.secrets.reduce((n, s) => n + s.keys.length, 0);
    const path = criticalPath(plan.groups, () => 1);
    const out = (label: string, text: string) => process.stdout.write(`  ${pc.bold(label.padEnd(9))} ${text}\n`);
    process.stdout.write(
      `${pc.green("built")} ${relative(process.cwd(), cluster.source) || cluster.source} → ${options.out}/\n`,
    );
    out(
      "cluster",
      `${cluster.config.domain}: ${plural(cluster.nodes.length, "node")} (master ${cluster.master.hostname}), ` +
        `${plural(cluster.vpn.enabledUsers.length, "VPN user")} (${cluster.vpn.ssoUsers.length} with Nextcloud SSO)`,
    );
    out(
      "charts",
      `${plan.charts.length} (${plan.charts.filter((c) => c.kind === "helm").length} Helm, ` +
        `${plan.charts.filter((c) => c.kind === "manifests").length} manifests), ${plural(objects, "object")}`,
    );
    out("secrets", `${plural(keys, "key")} in ${plural(plan.secrets.length, "Secret")} (filled from SOPS at deploy)`);
    out("groups", `${plan.groups.length}, longest chain ${path.join(" → ")}`);
    if (nodes) {
      out(
        "nodes",
        `${plural(nodes.length, "NixOS configuration")} (${nodes.map((s) => `${s.hostname}:${s.role}`).join(", ")}), flake.nix, engine bundle`,
      );
    }
    out("wrote", `${plural(files.length, "file")}, plan ${plan.hash.slice(0, 12)}`);
    process.stdout.write(
      `next: ${pc.cyan("nixlab plan")} to read the deploy order, ${pc.cyan("nixlab deploy")} to apply it\n`,
    );
  });
}
