/**
 * The command line. Each command lives in its own module (src/cli/<name>.ts) that exports
 * `register…(program)`. To start fast, only the module of the command being run is loaded
 * (the CLI bundle puts each in its own chunk, with its heavy dependencies: the Kubernetes
 * client, age/SOPS, the Nix evaluator); the others are listed in --help by name and summary.
 *
 * To add a command: add one entry to `commands` below, in the order --help lists them.
 * `summary` is the command's `.description(…)` (test/cli/main.test.ts checks they match);
 * `load` imports its module and returns its register function; `hidden` names the hidden
 * commands it also registers.
 */
import type { Command } from "commander";
import { UserError } from "../errors.ts";
import { addExamples } from "./examples.ts";
import { dropOutputOnClosedPipe } from "./pipe.ts";

/** One top-level command: what --help says of it and how to load it. */
export interface CommandEntry {
  name: string;
  summary: string;
  load: () => Promise<(program: Command) => void>;
  /**
   * Hidden commands the module registers besides `name`. Running one loads every command:
   * they read the whole command tree (`__complete` completes any command's flags).
   */
  hidden?: readonly string[];
}

/** Every top-level command, in --help order. */
export const commands: readonly CommandEntry[] = [
  {
    name: "init",
    summary: "Start a cluster: nixlab.yaml, an age key, .sops.yaml and secrets.yaml with every secret generated",
    load: async () => (await import("./init.ts")).registerInit,
  },
  {
    name: "doctor",
    summary: "Check everything a deploy needs, one line per check with its fix (exit 1 when any fails)",
    load: async () => (await import("./doctor.ts")).registerDoctor,
  },
  {
    name: "check",
    summary: "Validate the cluster file and render it in memory; every problem names its field and fix",
    load: async () => (await import("./check.ts")).registerCheck,
  },
  {
    name: "build",
    summary: "Render every manifest and the deploy plan into the build directory (byte-for-byte reproducible)",
    load: async () => (await import("./build.ts")).registerBuild,
  },
  {
    name: "plan",
    summary: "Show the deploy order: groups by step, their charts, namespaces, secrets and waits",
    load: async () => (await import("./plan.ts")).registerPlan,
  },
  {
    name: "graph",
    summary: "Print the deploy groups' DAG, or with --flow which cluster-file fields reach which outputs",
    load: async () => (await import("./graph.ts")).registerGraph,
  },
  {
    name: "import",
    summary: "Convert a Nix-only nixlab vars.nix into a cluster file (comments are dropped, values kept)",
    load: async () => (await import("./import.ts")).registerImport,
  },
  {
    name: "secrets",
    summary: "Read and write the SOPS secrets file (age; compatible with sops)",
    load: async () => (await import("./secrets.ts")).registerSecrets,
  },
  {
    name: "nodes",
    summary: "The NixOS nodes: list them, roll configurations out, install one",
    load: async () => (await import("./nodes.ts")).registerNodes,
  },
  {
    name: "deploy",
    summary: "Bring the cluster to the deploy plan: groups in dependency order, server-side apply, readiness by watch",
    load: async () => (await import("./deploy.ts")).registerDeploy,
  },
  {
    name: "diff",
    summary: "Show what deploy would change in the live cluster (server-side dry run; secret values masked)",
    load: async () => (await import("./diff.ts")).registerDiff,
  },
  {
    name: "status",
    summary:
      "Per group: applied, ready, and drift in the live cluster (exit 0 in sync, 4 a deploy has work, 1 cannot tell)",
    load: async () => (await import("./status.ts")).registerStatus,
  },
  {
    name: "dashboard",
    summary:
      "Serve a read-only web page of the cluster: the deploy DAG live, groups, drift, certificates, nodes, VPN users",
    load: async () => (await import("./dashboard.ts")).registerDashboard,
  },
  {
    name: "vpn",
    summary: "VPN users (a person to a working phone in one command) and the access groups the WireGuard pod enforces",
    load: async () => (await import("./vpn.ts")).registerVpn,
  },
  {
    name: "completion",
    summary: "Print the shell completion script: commands, flags, groups, node tags and VPN users",
    load: async () => (await import("./completion.ts")).registerCompletion,
    hidden: ["__complete"],
  },
];

/** The command `argv` runs (`nixlab help X` runs X's help), or undefined for the program's own options. */
export function selectedCommand(argv: readonly string[]): string | undefined {
  const words = argv.filter((a) => !a.startsWith("-"));
  return words[0] === "help" ? words[1] : words[0];
}

/**
 * The program with the real definition of the commands named in `load` (all of them
 * with "all", the default) and a name-and-summary stand-in for the others, enough for
 * --help and "did you mean". Throws only if a command module fails to load.
 */
export async function createProgram(load: readonly string[] | "all" = "all"): Promise<Command> {
  const { Command } = await import("commander");
  const program = new Command("nixlab")
    .description("One cluster file to a whole k3s homelab: NixOS nodes and every Kubernetes workload.")
    .version(version)
    .showHelpAfterError("(run with --help for usage)")
    .exitOverride();
  const all = load === "all" || commands.some((c) => c.hidden?.some((h) => load.includes(h)));
  const wanted = (c: CommandEntry) => all || load.includes(c.name);
  const registers = await Promise.all(commands.map((c) => (wanted(c) ? c.load() : undefined)));
  commands.forEach((entry, i) => {
    const register = registers[i];
    if (register) register(program);
    else program.command(entry.name).description(entry.summary);
  });
  addExamples(program);
  const overrideAll = (command: Command): void => {
    command.exitOverride();
    for (const sub of command.commands) overrideAll(sub);
  };
  for (const command of program.commands) overrideAll(command);
  return program;
}

/** nixlab's version, as `--version` prints it. */
export const version = "0.1.0";

/** Runs the CLI and returns the process exit code. Never throws. */
export async function main(argv: readonly string[]): Promise<number> {
  dropOutputOnClosedPipe();
  // The version needs no parser: commander loads for everything else.
  if (argv.length === 1 && (argv[0] === "--version" || argv[0] === "-V")) {
    process.stdout.write(`${version}\n`);
    return 0;
  }
  try {
    const selected = selectedCommand(argv);
    const program = await createProgram(selected === undefined ? [] : [selected]);
    await program.parseAsync([...argv], { from: "user" });
    return typeof process.exitCode === "number" ? process.exitCode : 0;
  } catch (error) {
    return await reportError(error);
  }
}

async function reportError(error: unknown): Promise<number> {
  const { CommanderError } = await import("commander");
  const { default: pc } = await import("picocolors");
  if (error instanceof CommanderError) {
    // commander has already printed help/version or the usage error.
    return error.exitCode === 0 ? 0 : 2;
  }
  if (error instanceof UserError) {
    process.stderr.write(`${pc.red("error:")} ${error.message}\n`);
    for (const line of error.details) process.stderr.write(`${line}\n`);
    return error.exitCode;
  }
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`${pc.red("internal error:")} ${message}\n`);
  if (process.env.NIXLAB_DEBUG && error instanceof Error && error.stack) process.stderr.write(`${error.stack}\n`);
  else process.stderr.write("This is a bug in nixlab; rerun with NIXLAB_DEBUG=1 for details and report it.\n");
  return 70;
}
