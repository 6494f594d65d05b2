/**
 * Pins which files `build` writes for the example's nodes and the problems it reports (test/golden/nodes/). A change is a
 * reviewed diff: regenerate with NIXLAB_UPDATE_GOLDEN=1 npx vitest run test/nodes/golden.test.ts
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { exampleCluster, renderExample, repoRoot } from "./support.ts";

const goldenDir = join(repoRoot, "test", "golden", "nodes");
const update = process.env.NIXLAB_UPDATE_GOLDEN === "1";

const result = renderExample(await exampleCluster());
const pinned: Array<[string, string]> = [
  ["files.txt", `${result.files.map((f) => f.path).join("\n")}\n`],
  ["problems.txt", result.problems.map((p) => `${p}\n`).join("")],
  ["warnings.txt", result.warnings.map((w) => `${w}\n`).join("")],
  // nodes/<host>.json are pinned with the whole build in test/golden/homelab/, and
  // flake.nix is nix/flake.nix copied verbatim.
];

describe("golden: the example's NixOS build", () => {
  it.each(pinned)("%s", (name, content) => {
    const path = join(goldenDir, name);
    if (update) {
      mkdirSync(goldenDir, { recursive: true });
      writeFileSync(path, content);
    }
    expect(existsSync(path), `${path} is missing; run with NIXLAB_UPDATE_GOLDEN=1`).toBe(true);
    expect(content).toBe(readFileSync(path, "utf8"));
  });

  it("renders the same bytes twice", async () => {
    const again = renderExample(await exampleCluster());
    expect(again.files).toEqual(result.files);
  });
});
