/** Runs the real CLI as a child process (its own stdout, stderr, exit code and time), for e2e tests. */
import { spawn } from "node:child_process";
import { join } from "node:path";
import { root } from "./testbed.ts";

export interface SpawnResult {
  code: number;
  stdout: string;
  stderr: string;
  ms: number;
}

export interface SpawnOptions {
  cwd?: string;
  env?: Record<string, string | undefined>;
  /** Close our end of the child's stdout at once (a reader that went away: `| head`). */
  closeStdout?: boolean;
}

/** `nixlab ARGS…` with NO_COLOR; resolves when it exits. */
export function spawnCli(args: string[], options: SpawnOptions = {}): Promise<SpawnResult> {
  const start = performance.now();
  const merged: Record<string, string | undefined> = {
    ...process.env,
    NO_COLOR: "1",
    FORCE_COLOR: undefined,
    ...options.env,
  };
  const env = Object.fromEntries(Object.entries(merged).filter((e): e is [string, string] => e[1] !== undefined));
  const child = spawn(process.execPath, [join(root, "bin/nixlab.js"), ...args], {
    cwd: options.cwd ?? root,
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  if (options.closeStdout) child.stdout.destroy();
  else child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) =>
    child.once("close", (code) => resolve({ code: code ?? -1, stdout, stderr, ms: performance.now() - start })),
  );
}
