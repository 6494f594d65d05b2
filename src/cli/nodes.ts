/** `nixlab nodes list|apply|install`: the NixOS side of the cluster. */
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { type Command, InvalidArgumentError, Option } from "commander";
import { ExitCode, UserError } from "../errors.ts";
import { readBuildSpecs } from "../nodes/build-dir.ts";
import { installSteps, runInstallStep } from "../nodes/install.ts";
import { type Goal, applyNodes, goals } from "../nodes/rollout.ts";
import { selectNodes } from "../nodes/select.ts";
import { defaultKeyFile } from "../secrets/identities.ts";
import { type ConfigOptions, addConfigOption, loadFromOptions, printJson } from "./common.ts";

const positiveInt = (value: string): number => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError("must be a whole number of at least 1");
  return n;
};

const stamp = (date: Date): string => date.toISOString().replace(/[:]/g, "").replace(/\..*$/, "Z");

export function registerNodes(program: Command): void {
  const nodes = program
    .command("nodes")
    .description("The NixOS nodes: list them, roll configurations out, install one");

  addConfigOption(
    nodes
      .command("list")
      .description("Every node of the cluster file: host, role, tags, disk, master URL")
      .option("--json", "print JSON instead of a table"),
  ).action(async (opts: ConfigOptions & { json?: boolean }) => {
    const cluster = await loadFromOptions(opts);
    const rows = cluster.nodes.map((n) => ({
      name: n.name,
      hostname: n.hostname,
      role: n.role,
      tags: n.tags,
      disk: n.disk,
      espSize: n.espSize,
      master: cluster.serverAddr,
    }));
    if (opts.json) return printJson(rows);
    const table = [
      ["HOST", "ROLE", "TAGS", "DISK", "MASTER"],
      ...rows.map((r) => [r.hostname, r.role, r.tags.map((t) => `@${t}`).join(",") || "-", r.disk, r.master]),
    ];
    const widths = table[0]!.map((_, i) => Math.max(...table.map((row) => row[i]!.length)));
    for (const row of table)
      process.stdout.write(
        `${row
          .map((c, i) => c.padEnd(widths[i]!))
          .join("  ")
          .trimEnd()}\n`,
      );
  });

  nodes
    .command("apply")
    .description("Build and activate the nodes' configurations with nixos-rebuild over SSH (<user>@<host>.local)")
    .option("--on <selector>", "nodes to apply: names, globs, @tags, comma-separated (default: all)")
    .option("--limit <n>", "most nodes rebuilt at once", positiveInt, 4)
    .addOption(new Option("--goal <goal>", "what nixos-rebuild does").choices(goals).default("switch"))
    .option("--build <dir>", "the build directory `nixlab build` wrote", "build")
    .option("--log-dir <dir>", "where each node's full log goes (default: .nixlab/logs/apply-<time>/)")
    .action(async (opts: { on?: string; limit: number; goal: Goal; build: string; logDir?: string }) => {
      const all = readBuildSpecs(resolve(opts.build));
      const selected = selectNodes(all, opts.on);
      const logDir = resolve(opts.logDir ?? join(".nixlab", "logs", `apply-${stamp(new Date())}`));
      const outcomes = await applyNodes({
        buildDir: opts.build,
        nodes: selected,
        goal: opts.goal,
        limit: opts.limit,
        logDir,
        print: (line) => process.stdout.write(`${line}\n`),
      });
      if (outcomes.some((o) => !o.ok)) process.exitCode = ExitCode.failure;
    });

  nodes
    .command("install")
    .description("First install of a node: run as root on the machine booted from the NixOS installer")
    .argument("<host>", "the node's hostname")
    .option("--build <dir>", "the build directory (copied onto the machine)", "build")
    .option(
      "--age-key-file <file>",
      "the age private key that decrypts secrets.yaml (default: SOPS_AGE_KEY_FILE, ~/.config/sops/age/keys.txt)",
    )
    .option("--yes", "really erase the node's disk")
    .action(async (host: string, opts: { build: string; ageKeyFile?: string; yes?: boolean }) => {
      const specs = readBuildSpecs(resolve(opts.build));
      const spec = specs.find((s) => s.hostname === host || s.name === host);
      if (!spec) {
        throw new UserError(`no node ${host} in ${opts.build}`, {
          exitCode: ExitCode.invalidInput,
          details: [`  nodes: ${specs.map((s) => s.hostname).join(", ")}`],
        });
      }
      const fallback = defaultKeyFile();
      const ageKey =
        opts.ageKeyFile ?? (process.env.SOPS_AGE_KEY_FILE || (existsSync(fallback) ? fallback : undefined));
      if (ageKey === undefined) {
        throw new UserError("no age key given", {
          exitCode: ExitCode.invalidInput,
          details: [
            "  pass --age-key-file FILE (the key `nixlab secrets init` made): the node decrypts its secrets with it",
          ],
        });
      }
      if (!existsSync(ageKey))
        throw new UserError(`age key ${ageKey} does not exist`, { exitCode: ExitCode.invalidInput });
      const steps = installSteps(spec, { buildDir: opts.build, ageKeyFile: ageKey });
      const show = steps.map((s, i) => `  ${i + 1}. ${s.title}\n     $ ${s.argv.join(" ")}`);
      if (!opts.yes) {
        throw new UserError(`not installing ${spec.hostname}: this ERASES ${spec.disk.device} on this machine`, {
          exitCode: ExitCode.invalidInput,
          details: ["  the steps would be:", ...show, "  rerun with --yes on the right machine to go ahead"],
        });
      }
      if (process.getuid?.() !== 0)
        throw new UserError("nodes install must run as root (on the machine, from the NixOS installer)");
      for (const [i, step] of steps.entries()) {
        process.stdout.write(`==> ${i + 1}/${steps.length} ${step.title}\n`);
        const code = await runInstallStep(step.argv);
        if (code !== 0) {
          throw new UserError(
            `step ${i + 1} failed (${code === null ? "could not start" : `exit code ${code}`}): ${step.argv[0]}`,
            {
              details: [`  $ ${step.argv.join(" ")}`],
            },
          );
        }
      }
      process.stdout.write(`${spec.hostname} is installed; reboot into it and it joins the cluster\n`);
    });
}
