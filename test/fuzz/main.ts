// `npm run fuzz [-- --runs N] [--seed S] [--target config,nix,sops] [--only INDEX]`:
// 100,000 inputs per target by default; prints crashes and hangs per target and writes
// each failing input to .fuzz/. `--only INDEX` replays one input in this process.
import { parseArgs } from "node:util";
import { UserError } from "../../src/errors.ts";
import { fuzzLimits, fuzzTarget } from "./runner.ts";
import { targets } from "./targets.ts";
import { inputAt } from "./worker.ts";

const { values } = parseArgs({
  options: {
    runs: { type: "string", default: "100000" },
    seed: { type: "string", default: "14" },
    target: { type: "string", default: Object.keys(targets).join(",") },
    only: { type: "string" },
  },
});
const seed = Number(values.seed);
const names = values.target.split(",");
for (const name of names)
  if (!targets[name]) throw new Error(`no fuzz target ${name}; use ${Object.keys(targets).join(", ")}`);

if (values.only !== undefined) {
  const name = names[0]!;
  const input = inputAt(name, seed, Number(values.only));
  process.stdout.write(`${targets[name]!.show(input)}\n---\n`);
  const started = performance.now();
  try {
    await targets[name]!.run(input);
    process.stdout.write(`ok in ${Math.round(performance.now() - started)} ms\n`);
  } catch (error) {
    const ms = Math.round(performance.now() - started);
    // A UserError is a clear refusal, not a finding: its message is what the user sees.
    if (error instanceof UserError) process.stdout.write(`refused in ${ms} ms: ${error.message}\n`);
    else process.stdout.write(`crash in ${ms} ms: ${error instanceof Error ? error.stack : String(error)}\n`);
  }
} else {
  const runs = Number(values.runs);
  process.stdout.write(
    `fuzzing ${names.join(", ")}: ${runs.toLocaleString("en")} inputs each, seed ${seed}; a crash is an exception other than UserError, a Node warning or more than ${fuzzLimits.heapMb} MB, a hang more than ${fuzzLimits.seconds} s of CPU time\n`,
  );
  let failed = false;
  for (const name of names) {
    const report = await fuzzTarget(name, {
      runs,
      seed,
      failuresDir: ".fuzz",
      onProgress: (done) => {
        if (done % 5000 === 0) process.stderr.write(`  ${name}: ${done.toLocaleString("en")}\n`);
      },
    });
    failed ||= report.crashes + report.hangs > 0;
    process.stdout.write(
      `${name.padEnd(7)} ${report.runs.toLocaleString("en").padStart(8)} inputs (${report.accepted.toLocaleString("en")} accepted)  ${report.crashes} crashes  ${report.hangs} hangs  ` +
        `slowest ${Math.round(report.slowestMs)} ms CPU (${Math.round(report.slowestWallMs)} ms wall)  max heap ${Math.round(report.maxHeapMb)} MB  ${report.seconds.toFixed(0)} s\n`,
    );
    for (const f of report.findings.slice(0, 5)) {
      process.stdout.write(
        `  ${f.kind} at input ${f.index} (npm run fuzz -- --target ${name} --seed ${seed} --only ${f.index}): ${f.detail.split("\n")[0]}\n`,
      );
    }
  }
  process.exitCode = failed ? 1 : 0;
}
