// Shared setup for the secrets tests: the real sops and age, temp dirs, the CLI,
// and a scan for plaintext leaks.
import { execFileSync, spawnSync, type SpawnSyncReturns } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const repoRoot = resolve(fileURLToPath(new URL("../..", import.meta.url)));
export const fixtures = join(repoRoot, "test/secrets/fixtures");

function onPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    const candidate = join(dir, name);
    if (dir && existsSync(candidate)) return candidate;
  }
  return undefined;
}

/** The real tools, or undefined when missing. */
export const tools = {
  sops: [join(repoRoot, ".testbed/bin/sops")].find((p) => existsSync(p)) ?? onPath("sops"),
  age: onPath("age"),
  ageKeygen: onPath("age-keygen"),
};

/** In CI (NIXLAB_E2E=1) a missing peer is a failure, never a skip. */
export const e2e = process.env.NIXLAB_E2E === "1";
export const haveTools = Boolean(tools.sops && tools.age && tools.ageKeygen);

/** Call at the top of a suite that needs the real tools; throws under NIXLAB_E2E=1 when they are missing. */
export function requireTools(): boolean {
  if (haveTools) return true;
  if (e2e) {
    throw new Error(
      `NIXLAB_E2E=1 but ${!tools.sops ? "sops" : !tools.age ? "age" : "age-keygen"} is missing: run scripts/setup.sh (sops is built into .testbed/bin)`,
    );
  }
  return false;
}

const created: string[] = [];

/** A fresh temp directory, removed by removeTempDirs(). */
export function tempDir(prefix = "nixlab-secrets-test-"): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  created.push(dir);
  return dir;
}

/** Removes every directory tempDir() made in this test file. */
export function removeTempDirs(): void {
  for (const dir of created.splice(0)) rmSync(dir, { recursive: true, force: true });
}

/** Runs age-keygen into `path`; returns the recipient. */
export function ageKeygen(path: string): string {
  execFileSync(tools.ageKeygen!, ["-o", path], { stdio: "pipe" });
  return execFileSync(tools.ageKeygen!, ["-y", path], { encoding: "utf8" }).trim();
}

export interface Run {
  status: number;
  stdout: string;
  stderr: string;
}

function result(r: SpawnSyncReturns<string>): Run {
  if (r.error) throw r.error;
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** Runs the real sops with only the environment given (plus PATH). */
export function sops(args: string[], env: Record<string, string>, input?: string, cwd?: string): Run {
  return result(
    spawnSync(tools.sops!, args, {
      encoding: "utf8",
      env: { PATH: process.env.PATH ?? "", HOME: env.HOME ?? tempDir(), ...env },
      input,
      cwd,
    }),
  );
}

/** Runs `nixlab` (bin/nixlab.js under this Node) with only the environment given (plus PATH). */
export function nixlab(args: string[], options: { env: Record<string, string>; input?: string; cwd?: string }): Run {
  return result(
    spawnSync(process.execPath, [join(repoRoot, "bin/nixlab.js"), ...args], {
      encoding: "utf8",
      env: { PATH: process.env.PATH ?? "", NO_COLOR: "1", ...options.env },
      input: options.input ?? "",
      cwd: options.cwd,
    }),
  );
}

function walk(dir: string, out: string[]): string[] {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    const st = statSync(path);
    if (st.isDirectory()) walk(path, out);
    else if (st.isFile()) out.push(path);
  }
  return out;
}

/** Files under `dirs` (and strings in `texts`) that contain any of `secrets`; [] means no leak. */
export function findLeaks(
  secrets: readonly string[],
  dirs: readonly string[],
  texts: Record<string, string> = {},
): string[] {
  const leaks: string[] = [];
  const check = (where: string, content: string) => {
    for (const s of secrets)
      if (s.length >= 6 && content.includes(s)) leaks.push(`${where} contains ${JSON.stringify(s.slice(0, 12))}…`);
  };
  for (const dir of dirs)
    if (existsSync(dir))
      for (const file of walk(dir, [])) check(file, readFileSync(file, "latin1") + readFileSync(file, "utf8"));
  for (const [where, content] of Object.entries(texts)) check(where, content);
  return leaks;
}
