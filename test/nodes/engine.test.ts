/** The deploy engine bundle: one self-contained ESM file that runs with a bare Node.js. */
import { execFileSync } from "node:child_process";
import { builtinModules } from "node:module";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { bundleEngine } from "../../src/nodes/engine.ts";

const dir = mkdtempSync(join(tmpdir(), "nixlab-engine-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("bundleEngine", () => {
  it("bundles bin/nixlab.js into one file that runs outside the repo, without node_modules", async () => {
    const bundle = await bundleEngine();
    expect(bundle.startsWith("#!/usr/bin/env node")).toBe(true);
    // Nothing left to resolve at run time except Node's own modules.
    const imported = [...bundle.matchAll(/^import\s[^;\n]*from\s+["']([^"']+)["']/gm)].map((m) => m[1]!);
    expect(imported.filter((s) => !s.startsWith("node:") && !builtinModules.includes(s))).toEqual([]);
    const file = join(dir, "nixlab.mjs");
    writeFileSync(file, bundle);
    const version = execFileSync(process.execPath, [file, "--version"], { cwd: dir, encoding: "utf8" });
    expect(version.trim()).toBe("0.1.0");
  });

  it("is deterministic", async () => {
    expect(await bundleEngine()).toBe(await bundleEngine());
  });
});

describe("bundleEngineCached", () => {
  it("returns exactly what bundleEngine makes", async () => {
    const { bundleEngineCached } = await import("../../src/nodes/engine.ts");
    const fresh = await bundleEngine();
    expect(await bundleEngineCached()).toBe(fresh);
    expect(await bundleEngineCached()).toBe(fresh);
  });
});
