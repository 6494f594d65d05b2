// The hostile corpus (issue 14): every file in test/fixtures/hostile gets a clear error that
// names the file and the field or position, or is rightly accepted; never a stack trace,
// an internal error (exit 70), partial output or a hang. expected.json says which.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runCli } from "../support/cli.ts";

const dir = join(import.meta.dirname, "../fixtures/hostile");
const expected = JSON.parse(readFileSync(join(dir, "expected.json"), "utf8")) as Record<
  string,
  { code: number; stderr: string[] }
>;
const files = readdirSync(dir)
  .filter((f) => f !== "expected.json")
  .sort();

describe("nixlab check on the hostile corpus", () => {
  it("has at least 100 files, each with an expectation", () => {
    expect(files.length).toBeGreaterThanOrEqual(100);
    expect(files).toEqual(Object.keys(expected).sort());
  });

  for (const name of files) {
    const want = expected[name]!;
    it(`${name}: ${want.code === 0 ? "accepted" : want.stderr[want.stderr.length - 1]}`, async () => {
      // A Node warning (emitted on a later tick) would reach the user's terminal too.
      const warnings: string[] = [];
      const onWarning = (w: Error) => warnings.push(w.message);
      process.on("warning", onWarning);
      const result = await runCli(["check", "--config", join(dir, name)]).finally(async () => {
        await new Promise((resolve) => setImmediate(resolve));
        process.off("warning", onWarning);
      });
      expect(warnings).toEqual([]);
      expect(result.stderr).not.toMatch(/internal error|\n\s+at .+:\d+:\d+/);
      expect(result.code, result.stderr).toBe(want.code);
      if (want.code === 0) {
        expect(result.stdout).toMatch(/^ok /);
        return;
      }
      expect(result.stdout).toBe("");
      // The file is named in the first line, with a position wherever the format has one.
      expect(result.stderr.split("\n")[0]).toContain(name);
      for (const part of want.stderr) expect(result.stderr).toContain(part);
    });
  }
});
