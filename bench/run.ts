// `npm run bench [filter…]`: runs every bench case in bench/cases/ (or those whose file name
// contains one of the filters) and prints each figure beside its baseline and goal, and for
// a missed goal by how much and why. A case is a file default-exporting a BenchCase
// (bench/types.ts); bench/measure.ts times processes. Add a figure by adding a file.
import { readdirSync } from "node:fs";
import { availableParallelism, loadavg } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { fmt } from "./measure.ts";
import type { BenchCase, BenchRow } from "./types.ts";

const dir = fileURLToPath(new URL("./cases/", import.meta.url));
const filters = process.argv.slice(2);
const files = readdirSync(dir)
  .filter((f) => f.endsWith(".ts") && (filters.length === 0 || filters.some((w) => f.includes(w))))
  .sort();

function format(row: BenchRow): string {
  const parts = [`${row.name}: ${fmt(row.value)} ${row.unit}`];
  if (row.baseline) {
    const ratio = row.unit === "x" ? "" : ` (×${(row.value / row.baseline.value).toFixed(2)})`;
    parts.push(`baseline ${row.baseline.name}: ${fmt(row.baseline.value)} ${row.unit}${ratio}`);
  }
  if (row.goal) parts.push(`goal ${row.goal}: ${row.met ? "met" : `NOT met, ${row.why ?? "no reason measured"}`}`);
  return parts.join("  |  ");
}

const load = loadavg().map((l) => l.toFixed(1));
process.stdout.write(
  `nixlab bench: Node ${process.version}, ${availableParallelism()} cores, load average ${load.join(" ")} at start\n`,
);
const missed: string[] = [];
let failed = false;
for (const file of files) {
  const mod = (await import(pathToFileURL(join(dir, file)).href)) as { default: BenchCase };
  process.stdout.write(`# ${file}\n`);
  try {
    for (const row of await mod.default()) {
      process.stdout.write(`${format(row)}\n`);
      if (row.goal && !row.met) missed.push(`${file}: ${row.name}`);
    }
  } catch (error) {
    failed = true;
    process.stdout.write(`  failed: ${error instanceof Error ? error.message : String(error)}\n`);
  }
}
if (missed.length) process.stdout.write(`goals missed:\n${missed.map((m) => `  ${m}\n`).join("")}`);
else if (!failed) process.stdout.write("every goal met\n");
process.exitCode = failed ? 1 : 0;
