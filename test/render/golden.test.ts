import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { describe, expect, it } from "vitest";
import { runCli } from "../support/cli.ts";

const root = join(import.meta.dirname, "../..");
const goldenDir = join(root, "test/golden/homelab");
const example = join(root, "examples/homelab/nixlab.yaml");

function readTree(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string) => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      const path = join(d, entry.name);
      if (entry.isDirectory()) walk(path);
      else out.set(relative(dir, path), readFileSync(path, "utf8"));
    }
  };
  walk(dir);
  return out;
}

async function build(config: string): Promise<Map<string, string>> {
  const out = join(mkdtempSync(join(tmpdir(), "nixlab-build-")), "build");
  // The example's key opens secrets.yaml, so build checks secrets.agents.yaml is current.
  const saved = process.env.SOPS_AGE_KEY_FILE;
  process.env.SOPS_AGE_KEY_FILE = join(root, "examples/homelab/age-key.txt");
  const result = await runCli(["build", "--config", config, "--out", out]).finally(() => {
    if (saved === undefined) delete process.env.SOPS_AGE_KEY_FILE;
    else process.env.SOPS_AGE_KEY_FILE = saved;
  });
  // The only warnings: the example's workers name their disk /dev/sda (test/golden/nodes/warnings.txt).
  const warnings = result.stderr.split("\n").filter((l) => l !== "");
  expect(
    warnings.every((l) => /^warning: node node[23]: disk \/dev\/sda is a kernel name/.test(l)),
    result.stderr,
  ).toBe(true);
  expect(warnings).toHaveLength(2);
  expect(result.code).toBe(0);
  return readTree(out);
}

describe("nixlab build of the bundled example", () => {
  it("matches the golden files (UPDATE_GOLDEN=1 rewrites them)", async () => {
    const built = await build(example);
    // The engine bundle is compiled from our own sources: it changes with any code change,
    // so it is pinned by the determinism test below rather than by a golden copy.
    built.delete("engine/nixlab.mjs");
    // The marker lists exactly what the build wrote.
    expect(JSON.parse(built.get(".nixlab-build") ?? "{}").files).toEqual(
      [...built.keys(), "engine/nixlab.mjs"].filter((p) => p !== ".nixlab-build").sort(),
    );
    built.delete(".nixlab-build");
    // Files the build copies verbatim are compared with their sources, not kept twice.
    const sources: Record<string, string> = {
      "flake.nix": "nix/flake.nix",
      "secrets.yaml": "examples/homelab/secrets.yaml",
      "secrets.agents.yaml": "examples/homelab/secrets.agents.yaml",
    };
    for (const path of [...built.keys()]) {
      const source = path.startsWith("nix/")
        ? path
        : path.startsWith("hosts/")
          ? `examples/homelab/${path}`
          : sources[path];
      if (source === undefined) continue;
      expect(built.get(path), path).toBe(readFileSync(join(root, source), "utf8"));
      built.delete(path);
    }
    if (process.env.UPDATE_GOLDEN === "1") {
      rmSync(goldenDir, { recursive: true, force: true });
      for (const [path, content] of built) {
        mkdirSync(dirname(join(goldenDir, path)), { recursive: true });
        writeFileSync(join(goldenDir, path), content);
      }
    }
    const golden = readTree(goldenDir);
    expect([...built.keys()].sort()).toEqual([...golden.keys()].sort());
    for (const [path, content] of built) expect(content, path).toBe(golden.get(path));
  });

  it("is byte-identical across runs and between the YAML, TypeScript and vars.nix cluster files", async () => {
    const a = await build(example);
    const b = await build(example);
    const ts = await build(join(root, "examples/homelab/nixlab.config.ts"));
    const nix = await build(join(root, "examples/homelab/vars.nix"));
    expect(b).toEqual(a);
    // The plan names no source file, so the three formats must give the same bytes.
    expect(ts).toEqual(a);
    expect(nix).toEqual(a);
  });

  it("replaces a previous build completely and refuses a foreign directory", async () => {
    const parent = mkdtempSync(join(tmpdir(), "nixlab-build-"));
    const out = join(parent, "build");
    mkdirSync(out);
    writeFileSync(join(out, "notes.txt"), "mine");
    const refused = await runCli(["build", "--config", example, "--out", out]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain("was not written by `nixlab build`");
    expect(readFileSync(join(out, "notes.txt"), "utf8")).toBe("mine");

    rmSync(out, { recursive: true });
    expect((await runCli(["build", "--config", example, "--out", out])).code).toBe(0);
    // A manifest the previous build wrote (listed in its marker) that this build does not write.
    const marker = JSON.parse(readFileSync(join(out, ".nixlab-build"), "utf8"));
    marker.files.push("manifests/stale.yaml");
    writeFileSync(join(out, ".nixlab-build"), JSON.stringify(marker));
    writeFileSync(join(out, "manifests", "stale.yaml"), "old");
    expect((await runCli(["build", "--config", example, "--out", out])).code).toBe(0);
    expect(readdirSync(join(out, "manifests"))).not.toContain("stale.yaml");
    expect(readdirSync(parent)).toEqual(["build"]);
  });
});

describe("the published JSON Schema", () => {
  it("is generated from the zod schema (npm run schema)", async () => {
    const { clusterJsonSchema } = await import("../../src/config/schema.ts");
    const committed = readFileSync(join(root, "schema/nixlab.schema.json"), "utf8");
    expect(committed).toBe(`${JSON.stringify(clusterJsonSchema(), null, 2)}\n`);
  });
});

describe("the README's configuration reference", () => {
  it("is generated from the zod schema (npm run schema)", async () => {
    const { configReference } = await import("../../src/config/reference.ts");
    const readme = readFileSync(join(root, "README.md"), "utf8");
    expect(readme).toContain(`<!-- config-reference:start -->\n${configReference()}<!-- config-reference:end -->`);
  });
});
