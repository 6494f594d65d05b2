// The fuzz suite's fixed-seed run in CI (issue 14): 2,000 inputs per target, the same
// inputs on every run. `npm run fuzz` runs 100,000 per target with the same runner.
import { describe, expect, it } from "vitest";
import { fuzzTarget } from "./runner.ts";
import { targets } from "./targets.ts";

const runs = 2000;
const seed = 14;

describe("fuzz (fixed seed)", () => {
  for (const name of Object.keys(targets)) {
    it(`${name}: ${runs} inputs, no crash and no hang`, async () => {
      const report = await fuzzTarget(name, { runs, seed });
      const findings = report.findings.map(
        (f) => `${f.kind} at input ${f.index}: ${f.detail}\n${f.input.slice(0, 2000)}`,
      );
      expect(findings.join("\n\n")).toBe("");
      expect(report.runs).toBe(runs);
      // The inputs reach past the first error: some are valid all the way through.
      expect(report.accepted).toBeGreaterThan(runs / 20);
    }, 600_000);
  }
});
