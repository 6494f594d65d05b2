/**
 * `nixlab nodes apply`: nixos-rebuild per selected node, a bounded number at a time,
 * each node's whole output in its own log file, one progress line per node and a summary.
 */
import { spawn } from "node:child_process";
import { createWriteStream, mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
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
