// Runs the real `nix-instantiate` (Debian nix-bin) as the reference for our evaluator.
// Many expressions go into one process: each is wrapped in `builtins.tryEval`, and an
// error tryEval cannot catch is traced to its expression by the line Nix reports.
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** The nix-instantiate binary, or null when absent (a failure under NIXLAB_E2E=1). */
export function findNixInstantiate(): string | null {
  // NIXLAB_NIX_INSTANTIATE picks a specific binary (or, pointed at nothing, simulates its absence).
  const chosen = process.env.NIXLAB_NIX_INSTANTIATE;
  if (chosen !== undefined) return existsSync(chosen) ? chosen : null;
  try {
    const path = execFileSync("sh", ["-c", "command -v nix-instantiate"], { encoding: "utf8" }).trim();
    return path || null;
  } catch {
    return null;
  }
}

export const nixBin = findNixInstantiate();
/** Whether the differential tests run; under NIXLAB_E2E=1 a missing binary fails them instead. */
export const haveNix = nixBin !== null || process.env.NIXLAB_E2E === "1";

/** Nix gets a private HOME and state dir under `dir` and the dummy store: no writable /nix needed, as root or not. */
function nixEnv(dir: string): NodeJS.ProcessEnv {
  return { ...process.env, HOME: dir, NIX_STATE_DIR: join(dir, "state"), NIX_LOG_DIR: join(dir, "log"), NIX_PATH: "" };
}

/** How many nix-instantiate processes the batches have started (for the test's report). */
export let nixRuns = 0;

export type NixOutcome = { ok: true; value: unknown } | { ok: false; error: string };

function requireNix(): string {
  if (!nixBin) throw new Error("nix-instantiate is not installed (Debian package nix-bin; run scripts/setup.sh)");
  return nixBin;
}

/** `nix-instantiate --eval --strict --json` on one file. */
export function nixEvalFile(file: string): NixOutcome {
  const dir = mkdtempSync(join(tmpdir(), "nixlab-nix-home-"));
  const r = spawnSync(requireNix(), ["--eval", "--strict", "--json", "--store", "dummy://", file], {
    env: nixEnv(dir),
    encoding: "utf8",
  });
  rmSync(dir, { recursive: true, force: true });
  if (r.status === 0) return { ok: true, value: JSON.parse(r.stdout) };
  return { ok: false, error: cleanError(r.stderr) };
}

function cleanError(stderr: string): string {
  return stderr
    .split("\n")
    .filter((l) => l.trim() && !l.includes("nixbld"))
    .join("\n");
}

/**
 * Evaluates each expression (a closed Nix expression) with nix-instantiate, in as few
 * processes as possible, two at a time (the machines have two cores).
 */
export async function nixEvalMany(exprs: readonly string[]): Promise<NixOutcome[]> {
  const work = mkdtempSync(join(tmpdir(), "nixlab-nix-batch-"));
  const results: NixOutcome[] = exprs.map(() => ({ ok: false, error: "not evaluated" }));
  try {
    const chunks: number[][] = [];
    for (let k = 0; k < exprs.length; k += 60) chunks.push(exprs.slice(k, k + 60).map((_, j) => k + j));
    const worker = async (id: number) => {
      for (let c = id; c < chunks.length; c += 2) await evalChunk(exprs, chunks[c]!, work, `w${id}`, results);
    };
    await Promise.all([worker(0), worker(1)]);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return results;
}

function run(file: string, work: string): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(requireNix(), ["--eval", "--strict", "--json", "--store", "dummy://", file], {
      env: nixEnv(work),
    });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => {
      stdout += d;
    });
    child.stderr.setEncoding("utf8").on("data", (d: string) => {
      stderr += d;
    });
    child.on("error", reject);
    child.on("close", (status) => resolvePromise({ status, stdout, stderr }));
  });
}

async function evalChunk(
  exprs: readonly string[],
  indices: number[],
  work: string,
  tag: string,
  results: NixOutcome[],
): Promise<void> {
  // Each expression lives in its own file, so even a syntax error is Nix's error for
  // that expression alone, and the file name in the message tells which one failed.
  const fileOf = (i: number) => join(work, `expr-${i}.nix`);
  for (const i of indices) writeFileSync(fileOf(i), exprs[i]!);
  let pending = indices;
  while (pending.length > 0) {
    const items = pending.map((i) => `(builtins.tryEval (let v = import ${fileOf(i)}; in builtins.deepSeq v v))`);
    const file = join(work, `batch-${tag}.nix`);
    writeFileSync(file, `[\n${items.join("\n")}\n]\n`);
    const r = await run(file, work);
    nixRuns++;
    if (r.status === 0) {
      const out = JSON.parse(r.stdout) as { success: boolean; value: unknown }[];
      pending.forEach((i, k) => {
        const o = out[k]!;
        results[i] = o.success ? { ok: true, value: o.value } : { ok: false, error: "caught by builtins.tryEval" };
      });
      return;
    }
    const err = cleanError(r.stderr);
    if (pending.length === 1) {
      results[pending[0]!] = { ok: false, error: err };
      return;
    }
    const named = [...err.matchAll(/expr-(\d+)\.nix/g)].map((m) => Number(m[1]));
    const culprit = named.find((i) => pending.includes(i));
    if (culprit === undefined) {
      // No location in an expression's file: bisect.
      const mid = pending.length >> 1;
      await evalChunk(exprs, pending.slice(0, mid), work, tag, results);
      await evalChunk(exprs, pending.slice(mid), work, tag, results);
      return;
    }
    results[culprit] = { ok: false, error: err };
    pending = pending.filter((i) => i !== culprit);
  }
}

/**
 * Deep equality of our value with Nix's JSON output. Nix 2.8 prints floats with 6
 * significant digits, so floats compare at that precision; everything else exactly.
 */
export function sameAsNix(ours: unknown, nix: unknown): boolean {
  if (typeof ours === "number" && typeof nix === "number") {
    if (Number.isInteger(ours) && Number.isInteger(nix) && ours === nix) return true;
    // Nix rounds ties to even, JS's toPrecision rounds them up: allow one unit in the 6th digit.
    return Number(ours.toPrecision(6)) === nix || Math.abs(ours - nix) <= Math.abs(ours) * 1e-5;
  }
  if (Array.isArray(ours) || Array.isArray(nix)) {
    return (
      Array.isArray(ours) &&
      Array.isArray(nix) &&
      ours.length === nix.length &&
      ours.every((x, i) => sameAsNix(x, nix[i]))
    );
  }
  if (ours && nix && typeof ours === "object" && typeof nix === "object") {
    const a = Object.keys(ours).sort();
    const b = Object.keys(nix).sort();
    return (
      a.length === b.length &&
      a.every(
        (k, i) => k === b[i] && sameAsNix((ours as Record<string, unknown>)[k], (nix as Record<string, unknown>)[k]),
      )
    );
  }
  return ours === nix;
}
