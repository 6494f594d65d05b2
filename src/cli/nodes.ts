/** `nixlab nodes list|apply|install`: the NixOS side of the cluster. */
import { dirname, join, resolve } from "node:path";
import { jsonOption, outputOption, type OutputOptions, printResult, structured } from "./output.ts";
import { type Command, InvalidArgumentError, Option } from "commander";
import { ExitCode, UserError } from "../errors.ts";
import { readBuildSpecs } from "../nodes/build-dir.ts";
import { type Goal, applyNodes, goals } from "../nodes/rollout.ts";
import { selectNodes } from "../nodes/select.ts";
import { type ConfigOptions, addConfigOption, loadFromOptions, noteOnStderr } from "./common.ts";

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
      .addOption(outputOption())
      .addOption(jsonOption()),
  ).action(async (opts: ConfigOptions & OutputOptions) => {
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
    if (structured(opts)) return printResult(rows, opts);
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
    .description(
      "Roll the nodes' configurations out with nixos-rebuild over SSH: switch and test are health-gated " +
        "(cordon, drain, switch, wait Ready, uncordon; back to the previous system when unhealthy)",
    )
    .option("--on <selector>", "nodes to apply: names, globs, @tags, comma-separated (default: all)")
    .option("--limit <n>", "most agents rolled (or nodes rebuilt, without the gate) at once", positiveInt, 4)
    .addOption(new Option("--goal <goal>", "what nixos-rebuild does").choices(goals).default("switch"))
    .option("--build <dir>", "the build directory `nixlab build` wrote", "build")
    .option("--log-dir <dir>", "where each node's full log goes (default: .nixlab/logs/apply-<time>/)")
    .option("--kubeconfig <file>", "kubeconfig of the cluster (default: KUBECONFIG, ~/.kube/config)")
    .option("--context <name>", "kubeconfig context")
    .option("--health-timeout <seconds>", "how long a node may take to be Ready again", positiveInt, 300)
    .option("--drain-timeout <seconds>", "how long evicting a node's pods may take", positiveInt, 300)
    .option("--no-health-gate", "no cordon, drain or health check: rebuild the nodes as they are (cluster unreachable)")
    .action(
      async (opts: {
        on?: string;
        limit: number;
        goal: Goal;
        build: string;
        logDir?: string;
        kubeconfig?: string;
        context?: string;
        healthTimeout: number;
        drainTimeout: number;
        healthGate: boolean;
      }) => {
        const all = readBuildSpecs(resolve(opts.build), noteOnStderr);
        const selected = selectNodes(all, opts.on);
        const logDir = resolve(opts.logDir ?? join(".nixlab", "logs", `apply-${stamp(new Date())}`));
        const print = (line: string) => process.stdout.write(`${line}\n`);
        const gated = opts.healthGate && (opts.goal === "switch" || opts.goal === "test");
        if (!gated) {
          const outcomes = await applyNodes({
            buildDir: opts.build,
            nodes: selected,
            goal: opts.goal,
            limit: opts.limit,
            logDir,
            print,
          });
          if (outcomes.some((o) => !o.ok)) process.exitCode = ExitCode.failure;
          return;
        }
        // The Kubernetes client loads only for a gated rollout (start time of other commands).
        const { HttpKube } = await import("../deploy/http-kube.ts");
        const { loadKubeconfig } = await import("../deploy/kubeconfig.ts");
        const { KubeNodeHealth } = await import("../nodes/node-health.ts");
        const { rollNodes, sshMachine } = await import("../nodes/rollout.ts");
        // kubectl's loading rules; a problem names the file or context and the choices.
        let connection: ReturnType<typeof loadKubeconfig>;
        try {
          connection = loadKubeconfig({
            ...(opts.kubeconfig ? { kubeconfig: opts.kubeconfig } : {}),
            ...(opts.context ? { context: opts.context } : {}),
          });
        } catch (error) {
          if (!(error instanceof UserError)) throw error;
          throw new UserError(error.message, {
            exitCode: error.exitCode,
            details: [...error.details, "  or pass --no-health-gate to roll out unchecked (see docs/nodes.md)"],
          });
        }
        const kube = new HttpKube(connection);
        try {
          const outcomes = await rollNodes({
            nodes: selected,
            goal: opts.goal,
            limit: opts.limit,
            print,
            cluster: new KubeNodeHealth(kube),
            machine: sshMachine({ buildDir: opts.build, logDir }),
            healthTimeoutMs: opts.healthTimeout * 1000,
            drainTimeoutMs: opts.drainTimeout * 1000,
          });
          if (outcomes.some((o) => !o.ok)) process.exitCode = ExitCode.failure;
        } finally {
          kube.close();
        }
      },
    );

  addConfigOption(
    nodes
      .command("install")
      .description(
        "First install of a node booted from the NixOS installer: its own keys, disko, nixos-install (over SSH with --target)",
      )
      .argument("<host>", "the node's hostname")
      .option("--target <user@host>", "the installer over SSH (default: run on this machine, as root)")
      .option("--build <dir>", "the build directory `nixlab build` wrote", "build")
      .option(
        "--age-key-file <file>",
        "your age key, which opens secrets.yaml (default: SOPS_AGE_KEY_FILE, SOPS_AGE_KEY, ~/.config/sops/age/keys.txt)",
      )
      .option("--mount <dir>", "where disko mounts the new system on the target", "/mnt")
      .option("-y, --yes", "really erase the node's disk"),
  ).action(
    async (
      host: string,
      opts: ConfigOptions & { target?: string; build: string; ageKeyFile?: string; mount: string; yes?: boolean },
    ) => {
      const build = resolve(opts.build);
      const specs = readBuildSpecs(build, noteOnStderr);
      const spec = specs.find((s) => s.hostname === host || s.name === host);
      if (!spec) {
        throw new UserError(`no node ${host} in ${opts.build}`, {
          exitCode: ExitCode.invalidInput,
          details: [`  nodes: ${specs.map((s) => s.hostname).join(", ")}`],
        });
      }
      const { describeKeyChanges, installArchive, installScript, prepareNodeKeys, runOnTarget } = await import(
        "../nodes/install.ts"
      );
      const { discoverIdentities } = await import("../secrets/identities.ts");
      const cluster = await loadFromOptions(opts);
      const clusterDir = dirname(cluster.source);
      const script = installScript(spec, opts.mount);
      const where = opts.target ? `on ${opts.target}` : "on this machine";
      if (!opts.yes) {
        throw new UserError(`not installing ${spec.hostname}: this ERASES ${spec.disk.device} ${where}`, {
          exitCode: ExitCode.invalidInput,
          details: [
            ...describeKeyChanges(clusterDir, spec).map((l) => `  ${l}`),
            `then, as root ${where}:`,
            ...script.split("\n").map((l) => `    ${l}`),
            "  rerun with --yes (and the right --target) to go ahead",
          ],
        });
      }
      if (!opts.target && process.getuid?.() !== 0) {
        throw new UserError(
          "nodes install without --target must run as root (on the machine, from the NixOS installer)",
        );
      }
      const admin = await discoverIdentities(opts.ageKeyFile ? { ageKeyFile: opts.ageKeyFile } : {});
      if (admin.length === 0) {
        throw new UserError("no age key found to open secrets.yaml", {
          exitCode: ExitCode.invalidInput,
          details: ["  pass --age-key-file FILE (the key `nixlab secrets init` made)"],
        });
      }
      const prepared = await prepareNodeKeys(clusterDir, build, spec, admin);
      const say = (line: string) => process.stdout.write(`${line}\n`);
      say(`==> ${spec.hostname}: new age key and SSH host key; ${prepared.configPath} lists its recipient`);
      say(`==> ${spec.hostname}'s own key opens ${spec.sops.file}: ${prepared.verified.join(", ")}`);
      const sshOptions = (process.env.NIX_SSHOPTS ?? "").split(/\s+/).filter((o) => o !== "");
      const code = await runOnTarget(
        { target: opts.target ?? null, sshOptions },
        script,
        installArchive(build, prepared.keys),
      );
      if (code !== 0) {
        throw new UserError(
          `installing ${spec.hostname} failed ${where} (${code === null ? "could not start" : `exit code ${code}`})`,
          {
            details: [
              "  the output above says which step; .sops.yaml already lists the node's new recipient,",
              "  and installing again replaces it with the next one",
            ],
          },
        );
      }
      say(`${spec.hostname} is installed; reboot it and it joins the cluster`);
      say(`its SSH host key: ${prepared.keys.ssh.fingerprint}; for ~/.ssh/known_hosts:`);
      say(`  ${spec.deployment.targetHost} ${prepared.keys.ssh.publicKey.trim()}`);
    },
  );
}
