import { Command, CommanderError } from "commander";
import pc from "picocolors";
import { UserError } from "../errors.ts";
import { registerBuild } from "./build.ts";
import { registerCheck } from "./check.ts";
import { registerCompletion } from "./completion.ts";
import { registerDashboard } from "./dashboard.ts";
import { registerDeploy } from "./deploy.ts";
import { registerDiff } from "./diff.ts";
import { registerDoctor } from "./doctor.ts";
import { addExamples } from "./examples.ts";
import { registerGraph } from "./graph.ts";
import { registerImport } from "./import.ts";
import { registerInit } from "./init.ts";
import { registerNodes } from "./nodes.ts";
import { dropOutputOnClosedPipe } from "./pipe.ts";
import { registerPlan } from "./plan.ts";
import { registerSecrets } from "./secrets.ts";
import { registerStatus } from "./status.ts";
import { registerVpn } from "./vpn.ts";

/** Every command module exports one `register…(program)`; add yours to this list. */
const registrations: ReadonlyArray<(program: Command) => void> = [
  registerInit,
  registerDoctor,
  registerCheck,
  registerBuild,
  registerPlan,
  registerGraph,
  registerImport,
  registerSecrets,
  registerNodes,
  registerDeploy,
  registerDiff,
  registerStatus,
  registerDashboard,
  registerVpn,
  registerCompletion,
];

export function createProgram(): Command {
  const program = new Command("nixlab")
    .description("One cluster file to a whole k3s homelab: NixOS nodes and every Kubernetes workload.")
    .version("0.1.0")
    .showHelpAfterError("(run with --help for usage)")
    .exitOverride();
  for (const register of registrations) register(program);
  addExamples(program);
  const overrideAll = (command: Command): void => {
    command.exitOverride();
    for (const sub of command.commands) overrideAll(sub);
  };
  for (const command of program.commands) overrideAll(command);
  return program;
}

/** Runs the CLI and returns the process exit code. Never throws. */
export async function main(argv: readonly string[]): Promise<number> {
  dropOutputOnClosedPipe();
  const program = createProgram();
  try {
    await program.parseAsync([...argv], { from: "user" });
    return typeof process.exitCode === "number" ? process.exitCode : 0;
  } catch (error) {
    return reportError(error);
  }
}

function reportError(error: unknown): number {
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
