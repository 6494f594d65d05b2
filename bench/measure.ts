/**
 * Measuring whole processes for the bench cases: wall time and peak memory (max RSS, from
 * GNU time) of several runs, interleaved between the commands compared so that a busy
 * machine slows them alike, reported as medians.
 */
import { spawn, spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { BenchRow } from "./types.ts";

/** The repository root. */
export const root = fileURLToPath(new URL("..", import.meta.url));
/** The CLI as users run it: `node bin/nixlab.js` (the bundle). */
export const nixlab = fileURLToPath(new URL("../bin/nixlab.js", import.meta.url));

/** Makes the CLI bundle unless it is fresh, so that no timed run includes bundling. */
export async function freshCli(): Promise<void> {
  const { ensureBundle } = await import("../scripts/bundle-cli.js");
  await ensureBundle();
}

export const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? Number.NaN : s.length % 2 ? s[s.length >> 1]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

export interface ProcessSpec {
  argv: readonly string[];
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  input?: string;
}

export interface ProcessRun {
  code: number;
  ms: number;
  maxRssMiB: number;
  stdout: string;
  stderr: string;
}

/** Runs one process under /usr/bin/time; resolves when it exits (never rejects for a non-zero exit). */
export function runProcess(spec: ProcessSpec): Promise<ProcessRun> {
  return new Promise((resolve, reject) => {
    const start = performance.now();
    const child = spawn("/usr/bin/time", ["-f", "\n%M", ...spec.argv], {
      env: spec.env ?? process.env,
      cwd: spec.cwd,
      stdio: ["pipe", "pipe", "pipe"],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (d: Buffer) => out.push(d));
    child.stderr.on("data", (d: Buffer) => err.push(d));
    child.once("error", reject);
    child.stdin.end(spec.input ?? "");
    child.once("close", (code) => {
      const ms = performance.now() - start;
      const stderr = Buffer.concat(err).toString("utf8").trimEnd();
      const cut = stderr.lastIndexOf("\n");
      resolve({
        code: code ?? -1,
        ms,
        maxRssMiB: Number(stderr.slice(cut + 1)) / 1024,
        stdout: Buffer.concat(out).toString("utf8"),
        stderr: stderr.slice(0, Math.max(0, cut)).trimEnd(),
      });
    });
  });
}

/** Like runProcess, but throws (with the end of its stderr) when the process fails. */
export async function runOk(spec: ProcessSpec): Promise<ProcessRun> {
  const run = await runProcess(spec);
  if (run.code !== 0) throw new Error(`${spec.argv.join(" ")} exited ${run.code}: ${run.stderr.slice(-400)}`);
  return run;
}

export interface Timing {
  /** Median wall time, ms. */
  ms: number;
  /** Median peak memory, MiB. */
  maxRssMiB: number;
  runs: number;
}

/**
 * Runs every spec once as warm-up, then `runs` rounds of all of them in turn; medians per
 * spec, in the order given. Throws when any run fails.
 */
export async function compare(specs: readonly ProcessSpec[], runs: number): Promise<Timing[]> {
  for (const spec of specs) await runOk(spec);
  const samples = specs.map(() => [] as ProcessRun[]);
  for (let round = 0; round < runs; round++) {
    for (const [i, spec] of specs.entries()) samples[i]!.push(await runOk(spec));
  }
  return samples.map((s) => ({ ms: median(s.map((r) => r.ms)), maxRssMiB: median(s.map((r) => r.maxRssMiB)), runs }));
}

/** The node binary running the bench: the one the repository pins (Node 24). */
export const node = process.execPath;

/** Formats a number for a sentence: whole numbers and those above 10 without decimals, else two. */
export const fmt = (n: number): string => (Number.isInteger(n) || Math.abs(n) >= 10 ? n.toFixed(0) : n.toFixed(2));

/**
 * Goal fields of a row whose value must stay at or below `limit` (in the row's own terms:
 * a ratio for "x" rows). `why` explains a miss; "by N%" is added here.
 */
export function atMost(
  value: number,
  limit: number,
  goal: string,
  why?: string,
): Pick<BenchRow, "goal" | "met" | "why"> {
  const met = value <= limit;
  return {
    goal,
    met,
    ...(met ? {} : { why: `over by ${fmt(((value - limit) / limit) * 100)}%${why ? `: ${why}` : ""}` }),
  };
}

/** Goal fields of a row whose value must reach at least `limit`; see atMost. */
export function atLeast(
  value: number,
  limit: number,
  goal: string,
  why?: string,
): Pick<BenchRow, "goal" | "met" | "why"> {
  const met = value >= limit;
  return {
    goal,
    met,
    ...(met ? {} : { why: `short by ${fmt(((limit - value) / limit) * 100)}%${why ? `: ${why}` : ""}` }),
  };
}

/**
 * Starts (testbed/up.sh; returns its kubeconfig path) or stops a private testbed whose run
 * directory is `dir`, so a bench case never touches the e2e tests' testbed. Throws with
 * the end of the script's stderr when it fails.
 */
export function testbed(action: "up" | "down", dir: string): string {
  const r = spawnSync("bash", [join(root, `testbed/${action}.sh`)], {
    encoding: "utf8",
    env: { ...process.env, NIXLAB_TESTBED_DIR: dir },
  });
  if (r.status !== 0)
    throw new Error(`testbed/${action}.sh failed: ${r.stderr.trim().split("\n").slice(-2).join(" | ")}`);
  return r.stdout.trim().split("\n").pop() ?? "";
}

/** Clock ticks per second of /proc/<pid>/stat's CPU times. */
const clockTicks = Number(spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).stdout.trim()) || 100;

/**
 * CPU time (user + system, ms) spent so far by a private testbed's kube-apiserver and
 * etcd (their pids from the run directory `dir`/run): what a run cost the server side.
 * Throws when a pid file or process is missing.
 */
export function controlPlaneCpuMs(dir: string): number {
  let ticks = 0;
  for (const part of ["apiserver", "etcd"]) {
    const pid = readFileSync(join(dir, "run", `${part}.pid`), "utf8").trim();
    // Fields after the command name "(…)": utime and stime are the 12th and 13th.
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    ticks += Number(fields[11]) + Number(fields[12]);
  }
  return (ticks * 1000) / clockTicks;
}
