/**
 * Real peer tools for interop tests. Without NIXLAB_E2E a missing tool skips the test;
 * with NIXLAB_E2E=1 (CI) it fails it, so a missing install step can never pass silently.
 */
import { execFileSync, spawnSync } from "node:child_process";

export function findTool(name: string): string | null {
  const r = spawnSync("sh", ["-c", `command -v "$1"`, "sh", name], { encoding: "utf8" });
  return r.status === 0 ? r.stdout.trim() : null;
}

/** The tool's path; skips (or, in CI, fails) the calling test when it is missing. */
export function requireTool(name: string, ctx: { skip: (note?: string) => void }): string {
  const path = findTool(name);
  if (path) return path;
  if (process.env.NIXLAB_E2E === "1") throw new Error(`${name} is not installed; run npm run setup`);
  ctx.skip(`${name} not installed`);
  throw new Error("unreachable");
}

export function run(
  cmd: string,
  args: string[],
  options: { input?: string; cwd?: string; env?: NodeJS.ProcessEnv } = {},
) {
  return spawnSync(cmd, args, { encoding: "utf8", ...options });
}

export const sh = (script: string) => execFileSync("sh", ["-c", script], { encoding: "utf8" });
