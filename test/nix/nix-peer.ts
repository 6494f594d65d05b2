// Runs the real `nix-instantiate` (Debian nix-bin) as the reference for our evaluator.
// Many expressions go into one process: each is wrapped in `builtins.tryEval`, and an
// error tryEval cannot catch is traced to its expression by the line Nix reports.
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** The nix-instantiate binary, or null when absent (a failure under NIXLAB_E2E=1). */
export function findNixInstantiate(): string | null {
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

let home: string | undefined;

/** A private HOME/state dir and the dummy store: evaluation needs no writable /nix, as root or not. */
function nixEnv(): NodeJS.ProcessEnv {
  home ??= mkdtempSync(join(tmpdir(), "nixlab-nix-home-"));
  return { ...process.env, HOME: home, NIX_STATE_DIR: join(home, "state"), NIX_LOG_DIR: join(home, "log"), NIX_PATH: "" };
}

export type NixOutcome = { ok: true; value: unknown } | { ok: false; error: string };

function requireNix(): string {
  if (!nixBin) throw new Error("nix-instantiate is not installed (Debian package nix-bin; run scripts/setup.sh)");
  return nixBin;
}

/** `nix-instantiate --eval --strict --json` on one file. */
export function nixEvalFile(file: string): NixOutcome {
  const r = spawnSync(requireNix(), ["--eval", "--strict", "--json", "--store", "dummy://", file], {
    env: nixEnv(),
    encoding: "utf8",
  });
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
 * processes as possible. `dir` is where the batch file goes (relative paths resolve there).
 */
export function nixEvalMany(exprs: readonly string[], dir?: string): NixOutcome[] {
  const work = dir ?? mkdtempSync(join(tmpdir(), "nixlab-nix-batch-"));
  const results: (NixOutcome | undefined)[] = exprs.map(() => undefined);
  let pending = exprs.map((_, i) => i);
  try {
    while (pending.length > 0) {
      // Each expression starts on its own line; `starts[k]` is its first line number.
      let text = "[\n";
      const starts: number[] = [];
      let line = 2;
      for (const i of pending) {
        starts.push(line);
        const body = `(builtins.tryEval (let v = (\n${exprs[i]}\n); in builtins.deepSeq v v))\n`;
        text += body;
        line += body.split("\n").length - 1;
      }
      text += "]\n";
      const file = join(work, "batch.nix");
      writeFileSync(file, text);
      const r = spawnSync(requireNix(), ["--eval", "--strict", "--json", "--store", "dummy://", file], {
        env: nixEnv(),
        encoding: "utf8",
        maxBuffer: 256 * 1024 * 1024,
      });
      if (r.status === 0) {
        const out = JSON.parse(r.stdout) as { success: boolean; value: unknown }[];
        pending.forEach((i, k) => {
          const o = out[k]!;
          results[i] = o.success ? { ok: true, value: o.value } : { ok: false, error: "caught by builtins.tryEval" };
        });
        break;
      }
      const err = cleanError(r.stderr);
      const m = new RegExp(`${file.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}:(\\d+):`).exec(err);
      let culprit = -1;
      if (m) {
        const errLine = Number(m[1]);
        for (let k = 0; k < starts.length; k++) if (starts[k]! <= errLine) culprit = k;
      }
      if (culprit === -1) {
        // No usable location: evaluate the first pending expression alone to make progress.
        const i = pending[0]!;
        const single = nixEvalMany([exprs[i]!], work)[0]!;
        results[i] = single;
        pending = pending.slice(1);
        continue;
      }
      results[pending[culprit]!] = { ok: false, error: err };
      pending = pending.filter((_, k) => k !== culprit);
    }
  } finally {
    if (!dir) rmSync(work, { recursive: true, force: true });
  }
  return results as NixOutcome[];
}

/**
 * Deep equality of our value with Nix's JSON output. Nix 2.8 prints floats with 6
 * significant digits, so floats compare at that precision; everything else exactly.
 */
export function sameAsNix(ours: unknown, nix: unknown): boolean {
  if (typeof ours === "number" && typeof nix === "number") {
    if (Number.isInteger(ours) && Number.isInteger(nix) && ours === nix) return true;
    return Number(ours.toPrecision(6)) === Number(nix.toPrecision(6)) || (ours === 0 && nix === 0);
  }
  if (Array.isArray(ours) || Array.isArray(nix)) {
    return (
      Array.isArray(ours) && Array.isArray(nix) && ours.length === nix.length && ours.every((x, i) => sameAsNix(x, nix[i]))
    );
  }
  if (ours && nix && typeof ours === "object" && typeof nix === "object") {
    const a = Object.keys(ours).sort();
    const b = Object.keys(nix).sort();
    return (
      a.length === b.length &&
      a.every((k, i) => k === b[i] && sameAsNix((ours as Record<string, unknown>)[k], (nix as Record<string, unknown>)[k]))
    );
  }
  return ours === nix;
}
