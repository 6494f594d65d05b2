// Runs every bench case in bench/cases/ (or those whose file name contains argv[2])
// and prints each figure beside its baseline and goal.
import { readdirSync } from "node:fs";
import { fileURLToPath, pathToFileURL } from "node:url";
import { join } from "node:path";
import type { BenchCase, BenchRow } from "./types.ts";

const dir = fileURLToPath(new URL("./cases/", import.meta.url));
const filter = process.argv[2];
const files = readdirSync(dir)
  .filter((f) => f.endsWith(".ts") && (!filter || f.includes(filter)))
  .sort();

function format(row: BenchRow): string {
  const v = (n: number) => (Number.isInteger(n) ? String(n) : n.toFixed(2));
  const base = row.baseline ? `  baseline ${row.baseline.name}: ${v(row.baseline.value)} ${row.unit}` : "";
  const goal = row.goal ? `  goal ${row.goal}: ${row.met ? "met" : "NOT met"}` : "";
  return `${row.name}: ${v(row.value)} ${row.unit}${base}${goal}`;
}

let failed = false;
for (const file of files) {
  const mod = (await import(pathToFileURL(join(dir, file)).href)) as { default: BenchCase };
  process.stdout.write(`# ${file}\n`);
  try {
    for (const row of await mod.default()) process.stdout.write(`${format(row)}\n`);
  } catch (error) {
    failed = true;
    process.stdout.write(`  failed: ${error instanceof Error ? error.message : String(error)}\n`);
  }
}
process.exitCode = failed ? 1 : 0;
