// parse+eval of the seed's template vars.nix (warm) beside nix-instantiate on the same file.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { evaluateNix } from "../../src/nix/index.ts";
import type { BenchCase, BenchRow } from "../types.ts";

const file = fileURLToPath(new URL("../../test/fixtures/nix/template.vars.nix", import.meta.url));

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1]!;
}

const bench: BenchCase = async () => {
  const source = readFileSync(file, "utf8");
  const options = { file, baseDir: dirname(file) };
  const coldStart = performance.now();
  evaluateNix(source, options);
  const cold = performance.now() - coldStart;
  for (let i = 0; i < 200; i++) evaluateNix(source, options);
  const times: number[] = [];
  for (let i = 0; i < 500; i++) {
    const t = performance.now();
    evaluateNix(source, options);
    times.push(performance.now() - t);
  }
  const ours = median(times);

  const rows: BenchRow[] = [];
  let baseline: BenchRow["baseline"];
  const home = mkdtempSync(join(tmpdir(), "nixlab-bench-nix-"));
  try {
    const runs: number[] = [];
    for (let i = 0; i < 15; i++) {
      const t = performance.now();
      const r = spawnSync("nix-instantiate", ["--eval", "--strict", "--json", "--store", "dummy://", file], {
        env: { ...process.env, HOME: home, NIX_STATE_DIR: join(home, "state") },
        encoding: "utf8",
      });
      if (r.error || r.status !== 0) throw new Error(`nix-instantiate failed: ${r.error?.message ?? r.stderr}`);
      runs.push(performance.now() - t);
    }
    baseline = { name: "nix-instantiate --eval --strict --json (whole process)", value: median(runs) };
  } catch (error) {
    rows.push({ name: `nix-instantiate unavailable: ${(error as Error).message}`, value: 0, unit: "count" });
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
  rows.unshift({
    name: "nix: parse+eval template vars.nix (warm, median of 500)",
    value: ours,
    unit: "ms",
    ...(baseline ? { baseline } : {}),
    goal: "< 5 ms",
    met: ours < 5,
  });
  rows.splice(1, 0, {
    name: "nix: parse+eval template vars.nix (cold: first call in the process)",
    value: cold,
    unit: "ms",
  });
  return rows;
};

export default bench;
