/**
 * The flake's pinned inputs, read by the real Nix evaluator, are exactly the table in
 * src/nodes/inputs.ts; every other input follows nixpkgs or is left empty; docs/nodes.md
 * names the release and every pinned revision.
 */
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { nixosRelease, pinnedInputs } from "../../src/nodes/inputs.ts";
import { exampleCluster, fixturesDir, nixInstantiate, renderExample, repoRoot, writeBuild } from "./support.ts";

const build = writeBuild(renderExample(await exampleCluster()));
afterAll(() => rmSync(build, { recursive: true, force: true }));
const inputs: Record<string, Record<string, unknown>> = JSON.parse(
  nixInstantiate(["--eval", "--strict", "--json", join(fixturesDir, "eval-build.nix"), "--arg", "build", build]),
).inputs;

describe("flake inputs", () => {
  it("are the pinned table: rev and narHash for each pinned input, the stable branch for nixpkgs", () => {
    expect(Object.keys(inputs).sort()).toEqual(pinnedInputs.map((i) => i.name).sort());
    for (const pin of pinnedInputs) {
      const input = inputs[pin.name]!;
      if (pin.rev === null) {
        expect(input.url).toBe(`github:${pin.owner}/${pin.repo}/${pin.ref}`);
      } else {
        expect(input).toMatchObject({
          type: "github",
          owner: pin.owner,
          repo: pin.repo,
          rev: pin.rev,
          narHash: pin.narHash,
        });
        expect(pin.rev).toMatch(/^[0-9a-f]{40}$/);
        expect(pin.narHash).toMatch(/^sha256-[A-Za-z0-9+/]{43}=$/);
      }
    }
    expect(inputs.nixpkgs!.url).toBe(`github:NixOS/nixpkgs/nixos-${nixosRelease}`);
  });

  it("make every input's own inputs follow nixpkgs or stay empty (nothing else is fetched)", () => {
    expect(inputs["sops-nix"]!.inputs).toEqual({ nixpkgs: { follows: "nixpkgs" } });
    expect(inputs.disko!.inputs).toEqual({ nixpkgs: { follows: "nixpkgs" } });
    expect(inputs.impermanence!.inputs).toEqual({ nixpkgs: { follows: "nixpkgs" }, "home-manager": { follows: "" } });
    expect(inputs.colmena!.inputs).toEqual({
      nixpkgs: { follows: "nixpkgs" },
      stable: { follows: "nixpkgs" },
      "nix-github-actions": { follows: "" },
      "flake-compat": { follows: "" },
    });
  });

  it("are documented in docs/nodes.md", () => {
    const doc = readFileSync(join(repoRoot, "docs", "nodes.md"), "utf8");
    expect(doc).toContain(`nixos-${nixosRelease}`);
    for (const pin of pinnedInputs) if (pin.rev) expect(doc).toContain(pin.rev);
  });
});
