/**
 * `nixlab nodes apply`: nixos-rebuild per selected node, a bounded number at a time,
 * each node's whole output in its own log file, one progress line per node and a summary.
 */
import { spawn } from "node:child_process";
import { createWriteStream, mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import type { ClusterNodes } from "./node-health.ts";
import type { NodeSpec } from "./spec.ts";

export const goals = ["switch", "boot", "test", "dry-activate"] as const;
export type Goal = (typeof goals)[number];

export interface ApplyOptions {
  buildDir: string;
  nodes: readonly NodeSpec[];
  goal: Goal;
  /** Most nodes rebuilt at once (at least 1). */
  limit: number;
  /** Directory the per-node logs go to (created). */
  logDir: string;
  /** Receives each progress line (without newline). */
  print: (line: string) => void;
  /** The nixos-rebuild to run (default: the one on PATH). */
  command?: string;
}

export interface NodeOutcome {
  hostname: string;
  ok: boolean;
  /** The exit code, or null when the process could not start or was killed. */
  exitCode: number | null;
  seconds: number;
  logFile: string;
  /** Why it failed, in one line (the last line of its output, or the start error). */
  reason?: string;
}

/** The nixos-rebuild arguments for one node. */
export function rebuildArgs(buildDir: string, spec: NodeSpec, goal: Goal): string[] {
  return [
    goal,
    // path: so the build directory is used as is, even inside a git work tree that ignores it.
    "--flake",
    `path:${resolve(buildDir)}#${spec.hostname}`,
    "--target-host",
    `${spec.deployment.targetUser}@${spec.deployment.targetHost}`,
    "--use-remote-sudo",
  ];
}

function runOne(options: ApplyOptions, spec: NodeSpec): Promise<NodeOutcome> {
  const command = options.command ?? "nixos-rebuild";
  const args = rebuildArgs(options.buildDir, spec, options.goal);
  const logFile = join(options.logDir, `${spec.hostname}.log`);
  const log = createWriteStream(logFile);
  log.write(`$ ${[command, ...args].join(" ")}\n`);
  const started = performance.now();
  let lastLine = "";
  const remember = (chunk: Buffer): void => {
    const lines = chunk
      .toString("utf8")
      .split("\n")
      .map((l) => l.trim())
      .filter((l) => l !== "");
    if (lines.length > 0) lastLine = lines[lines.length - 1]!;
  };
  return new Promise((done) => {
    let settled = false;
    // A child that fails to start emits both "error" and "close": report it once.
    const finish = (exitCode: number | null, reason?: string): void => {
      if (settled) return;
      settled = true;
      const seconds = (performance.now() - started) / 1000;
      log.end(`\n# exit: ${exitCode ?? "none"}${reason ? ` (${reason})` : ""}\n`, () => {
        const ok = exitCode === 0;
        done({
          hostname: spec.hostname,
          ok,
          exitCode,
          seconds,
          logFile,
          ...(ok ? {} : { reason: reason ?? (lastLine || `exit code ${exitCode}`) }),
        });
      });
    };
    const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"] });
    child.stdout.on("data", (c: Buffer) => {
      log.write(c);
      remember(c);
    });
    child.stderr.on("data", (c: Buffer) => {
      log.write(c);
      remember(c);
    });
    child.on("error", (error: NodeJS.ErrnoException) => {
      finish(
        null,
        error.code === "ENOENT" ? `${command} not found on PATH (install Nix, or run from NixOS)` : error.message,
      );
    });
    child.on("close", (code, signal) => {
      if (code === null && signal !== null) finish(null, `killed by ${signal}`);
      else if (code !== null) finish(code);
    });
  });
}

/** Rebuilds every node of `options.nodes`; resolves when all have finished. */
export async function applyNodes(options: ApplyOptions): Promise<NodeOutcome[]> {
  mkdirSync(options.logDir, { recursive: true });
  const limit = Math.max(1, Math.min(options.limit, options.nodes.length));
  const total = options.nodes.length;
  const width = Math.max(...options.nodes.map((n) => n.hostname.length));
  options.print(
    `${options.goal}: ${total} node${total === 1 ? "" : "s"}, up to ${limit} at a time; logs in ${options.logDir}`,
  );
  const outcomes = new Map<string, NodeOutcome>();
  let next = 0;
  let finished = 0;
  const worker = async (): Promise<void> => {
    while (next < total) {
      const spec = options.nodes[next++]!;
      const outcome = await runOne(options, spec);
      outcomes.set(spec.hostname, outcome);
      finished++;
      const head = `[${String(finished).padStart(String(total).length)}/${total}] ${spec.hostname.padEnd(width)}`;
      const time = `${outcome.seconds.toFixed(1)}s`;
      options.print(
        outcome.ok
          ? `${head}  ok      ${time}`
          : `${head}  FAILED  ${time}  ${outcome.reason}  (log: ${outcome.logFile})`,
      );
    }
  };
  await Promise.all(Array.from({ length: limit }, worker));
  const results = options.nodes.map((n) => outcomes.get(n.hostname)!);
  const failed = results.filter((r) => !r.ok);
  options.print(
    failed.length === 0
      ? `summary: ${results.length} of ${total} ok`
      : `summary: ${total - failed.length} ok, ${failed.length} failed (${failed.map((f) => f.hostname).join(", ")})`,
  );
  return results;
}

/** The machine side of a health-gated rollout: what runs, what is running, and going back. */
export interface NodeMachine {
  /** The store path of the running system (/run/current-system); throws Error when unreachable. */
  currentSystem(spec: NodeSpec): Promise<string>;
  /** nixos-rebuild <goal> for the node (its log goes to the rollout's log directory). */
  rebuild(spec: NodeSpec, goal: Goal): Promise<NodeOutcome>;
  /** Makes `system` the running (and, for switch, the boot) system again; null when done, else why not. */
  activate(spec: NodeSpec, system: string, goal: Goal): Promise<string | null>;
}

const storePathRe = /^\/nix\/store\/[0-9a-z]{32}-[A-Za-z0-9+._?=-]+$/;

/** Runs `argv`, returning its exit code (null: could not start) and output. */
function capture(argv: string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((done) => {
    let output = "";
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ["ignore", "pipe", "pipe"] });
    child.stdout.on("data", (c: Buffer) => (output += c.toString("utf8")));
    child.stderr.on("data", (c: Buffer) => (output += c.toString("utf8")));
    child.on("error", (e) => done({ code: null, output: e.message }));
    child.on("close", (code) => done({ code, output }));
  });
}

/**
 * The machine side over SSH (`ssh <user>@<host>`, NIX_SSHOPTS honoured, sudo without a
 * password as nixlab's nodes allow) and nixos-rebuild. Going back sets the system profile
 * to the exact system that ran before (a new generation pointing at it), then runs its
 * switch-to-configuration: unlike `--rollback`, this is right even when the previous
 * generation is not the one that was running.
 */
export function sshMachine(options: Omit<ApplyOptions, "nodes" | "goal" | "limit" | "print">): NodeMachine {
  mkdirSync(options.logDir, { recursive: true });
  const sshOptions = (process.env.NIX_SSHOPTS ?? "").split(/\s+/).filter((o) => o !== "");
  const ssh = (spec: NodeSpec, command: string) =>
    capture(["ssh", ...sshOptions, `${spec.deployment.targetUser}@${spec.deployment.targetHost}`, command]);
  return {
    async currentSystem(spec) {
      const r = await ssh(spec, "readlink -f /run/current-system");
      const path = r.output.trim();
      if (r.code !== 0 || !storePathRe.test(path)) {
        throw new Error(
          `cannot read the running system of ${spec.hostname} over SSH: ${lastLine(r.output) || `exit code ${r.code}`}`,
        );
      }
      return path;
    },
    rebuild: (spec, goal) => runOne({ ...options, nodes: [spec], goal, limit: 1, print: () => {} }, spec),
    async activate(spec, system, goal) {
      if (!storePathRe.test(system)) return `not a system path: ${system}`;
      const how = goal === "switch" ? "switch" : "test";
      const command =
        goal === "switch"
          ? `sudo -n nix-env -p /nix/var/nix/profiles/system --set ${system} && sudo -n ${system}/bin/switch-to-configuration ${how}`
          : `sudo -n ${system}/bin/switch-to-configuration ${how}`;
      const r = await ssh(spec, command);
      return r.code === 0 ? null : lastLine(r.output) || `exit code ${r.code}`;
    },
  };
}

function lastLine(text: string): string {
  return (
    text
      .split("\n")
      .map((l) => l.trim())
      .filter((l) => l !== "")
      .at(-1) ?? ""
  );
}

export interface RollOptions {
  nodes: readonly NodeSpec[];
  /** switch or test: goals that change the running system now. */
  goal: Goal;
  /** Most agents rolled at once; the master always goes last, alone. */
  limit: number;
  print: (line: string) => void;
  cluster: ClusterNodes;
  machine: NodeMachine;
  /** How long a node may take to be Ready with Ready pods after its switch. */
  healthTimeoutMs: number;
  drainTimeoutMs: number;
  /** Between health checks (default 1 s). */
  pollMs?: number;
  /** The Kubernetes node name of a node (default: its hostname, as k3s names nodes). */
  nodeName?: (spec: NodeSpec) => string;
}

export interface RollOutcome {
  hostname: string;
  ok: boolean;
  /** Where it stopped: drain, switch or health (undefined when ok). */
  stage?: "reach" | "drain" | "switch" | "health";
  reason?: string;
  /** True when the node was switched back to the system that ran before. */
  rolledBack: boolean;
  /** True when the node was left cordoned (going back failed, or it is still unhealthy). */
  leftCordoned: boolean;
  seconds: number;
}

/** Polls `cluster.unhealthy` until healthy (null) or the budget is spent; API errors count as unhealthy. */
async function waitHealthy(options: RollOptions, node: string): Promise<string | null> {
  const deadline = Date.now() + options.healthTimeoutMs;
  let last: string | null = "not checked yet";
  for (;;) {
    try {
      last = await options.cluster.unhealthy(node);
    } catch (error) {
      last = `the Kubernetes API did not answer: ${(error as Error).message}`;
    }
    if (last === null || Date.now() >= deadline) return last;
    await new Promise((r) => setTimeout(r, options.pollMs ?? 1000));
  }
}

/** One node: cordon, drain, rebuild, health gate, uncordon; back to the previous system when unhealthy. */
async function rollOne(options: RollOptions, spec: NodeSpec): Promise<Omit<RollOutcome, "seconds">> {
  const node = (options.nodeName ?? ((s) => s.hostname))(spec);
  const fail = (stage: RollOutcome["stage"], reason: string, rolledBack = false, leftCordoned = false) => ({
    hostname: spec.hostname,
    ok: false,
    stage,
    reason,
    rolledBack,
    leftCordoned,
  });
  let before: string;
  try {
    before = await options.machine.currentSystem(spec);
  } catch (error) {
    return fail("reach", (error as Error).message);
  }
  await options.cluster.setUnschedulable(node, true);
  try {
    await options.cluster.drain(node, options.drainTimeoutMs);
  } catch (error) {
    await options.cluster.setUnschedulable(node, false);
    return fail("drain", `${(error as Error).message}; nothing was switched, ${node} is schedulable again`);
  }
  const rebuilt = await options.machine.rebuild(spec, options.goal);
  let problem: { stage: "switch" | "health"; reason: string } | null = null;
  if (!rebuilt.ok) {
    const now = await options.machine.currentSystem(spec).catch(() => null);
    if (now === before) {
      await options.cluster.setUnschedulable(node, false);
      return fail("switch", `${rebuilt.reason} (nothing was activated; log: ${rebuilt.logFile})`);
    }
    problem = { stage: "switch", reason: `${rebuilt.reason} (log: ${rebuilt.logFile})` };
  } else {
    const unhealthy = await waitHealthy(options, node);
    if (unhealthy === null) {
      await options.cluster.setUnschedulable(node, false);
      return { hostname: spec.hostname, ok: true, rolledBack: false, leftCordoned: false };
    }
    problem = {
      stage: "health",
      reason: `not healthy within ${Math.round(options.healthTimeoutMs / 1000)}s after ${options.goal}: ${unhealthy}`,
    };
  }
  const back = await options.machine.activate(spec, before, options.goal);
  if (back !== null) {
    return fail(
      problem.stage,
      `${problem.reason}; switching back to ${before} FAILED: ${back}; ${node} stays cordoned`,
      false,
      true,
    );
  }
  const afterBack = await waitHealthy(options, node);
  if (afterBack !== null) {
    return fail(
      problem.stage,
      `${problem.reason}; switched back to ${before}, but still unhealthy (${afterBack}); ${node} stays cordoned`,
      true,
      true,
    );
  }
  await options.cluster.setUnschedulable(node, false);
  return fail(problem.stage, `${problem.reason}; switched back to ${before}`, true);
}

/**
 * A health-gated rolling switch: agents up to `limit` at a time, then the master alone.
 * The first node that fails stops the rollout (nodes already under way finish); the
 * rest are not touched. Returns one outcome per node that was started, in the order
 * they finished.
 */
export async function rollNodes(options: RollOptions): Promise<RollOutcome[]> {
  const agents = options.nodes.filter((n) => !n.master);
  const masters = options.nodes.filter((n) => n.master);
  const total = options.nodes.length;
  const limit = Math.max(1, Math.min(options.limit, agents.length || 1));
  options.print(
    `${options.goal}, health-gated: ${total} node${total === 1 ? "" : "s"}, agents up to ${limit} at a time` +
      (masters.length > 0 ? `, then the master ${masters.map((m) => m.hostname).join(", ")} alone` : ""),
  );
  const outcomes: RollOutcome[] = [];
  let stopped = false;
  const runOneNode = async (spec: NodeSpec): Promise<void> => {
    const started = performance.now();
    const outcome = { ...(await rollOne(options, spec)), seconds: (performance.now() - started) / 1000 };
    outcomes.push(outcome);
    if (!outcome.ok) stopped = true;
    const head = `[${String(outcomes.length).padStart(String(total).length)}/${total}] ${spec.hostname}`;
    options.print(
      outcome.ok
        ? `${head}  ok      ${outcome.seconds.toFixed(1)}s  drained, ${options.goal}ed, Ready, uncordoned`
        : `${head}  FAILED  ${outcome.seconds.toFixed(1)}s  ${outcome.stage}: ${outcome.reason}`,
    );
  };
  let next = 0;
  const worker = async (): Promise<void> => {
    while (!stopped && next < agents.length) await runOneNode(agents[next++]!);
  };
  await Promise.all(Array.from({ length: limit }, worker));
  for (const master of masters) if (!stopped) await runOneNode(master);
  const failed = outcomes.find((o) => !o.ok);
  const untouched = total - outcomes.length;
  options.print(
    failed
      ? `summary: rollout stopped at ${failed.hostname} (${failed.stage}${failed.rolledBack ? ", rolled back" : ""}): ` +
          `${outcomes.filter((o) => o.ok).length} ok, ${untouched} not started`
      : `summary: ${outcomes.length} of ${total} ok`,
  );
  return outcomes;
}
