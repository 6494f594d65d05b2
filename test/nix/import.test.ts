// `nixlab import vars.nix --to …`: the written file holds exactly the values of vars.nix.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { parse } from "yaml";
import { main } from "../../src/cli/main.ts";
import { tsLiteral } from "../../src/config/import.ts";
import { evaluateNixFile } from "../../src/nix/index.ts";

const example = join(import.meta.dirname, "../../examples/homelab/vars.nix");
let dir: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "nixlab-import-"));
  vi.spyOn(process.stdout, "write").mockImplementation(() => true);
  vi.spyOn(process.stderr, "write").mockImplementation(() => true);
});
afterEach(() => {
  vi.restoreAllMocks();
  rmSync(dir, { recursive: true, force: true });
});

function tsValue(text: string): unknown {
  const prefix = 'import { defineConfig } from "nixlab";\n\nexport default defineConfig(';
  expect(text.startsWith(prefix)).toBe(true);
  expect(text.endsWith(");\n")).toBe(true);
  return new Function(`return (${text.slice(prefix.length, -3)});`)();
}

describe("nixlab import", () => {
  it("writes YAML with the same values as vars.nix", async () => {
    const to = join(dir, "nixlab.yaml");
    expect(await main(["import", example, "--to", to])).toBe(0);
    expect(parse(readFileSync(to, "utf8"))).toEqual(evaluateNixFile(example));
  });

  it("writes nixlab.config.ts with the same values as vars.nix", async () => {
    const to = join(dir, "nixlab.config.ts");
    expect(await main(["import", example, "--to", to])).toBe(0);
    expect(tsValue(readFileSync(to, "utf8"))).toEqual(evaluateNixFile(example));
  });

  it("refuses to overwrite without --force, and overwrites atomically with it", async () => {
    const to = join(dir, "nixlab.yaml");
    writeFileSync(to, "keep: me\n");
    expect(await main(["import", example, "--to", to])).toBe(1);
    expect(readFileSync(to, "utf8")).toBe("keep: me\n");
    expect(await main(["import", example, "--to", to, "--force"])).toBe(0);
    expect(parse(readFileSync(to, "utf8"))).toEqual(evaluateNixFile(example));
    // No temporary file is left behind.
    expect(readdirSync(dir)).toEqual(["nixlab.yaml"]);
  });

  it("refuses an invalid cluster and a Nix error, writing nothing", async () => {
    const bad = join(dir, "vars.nix");
    writeFileSync(bad, '{ username = "x"; }');
    expect(await main(["import", bad, "--to", join(dir, "a.yaml")])).toBe(2);
    writeFileSync(bad, "{ username = builtins.currentTime; }");
    expect(await main(["import", bad, "--to", join(dir, "a.yaml")])).toBe(2);
    expect(await main(["import", example, "--to", join(dir, "a.toml")])).toBe(2);
    expect(existsSync(join(dir, "a.yaml"))).toBe(false);
    expect(existsSync(join(dir, "a.toml"))).toBe(false);
  });

  it("emits TypeScript literals that keep awkward keys as data", () => {
    const value = { "a-b": 1, __proto__x: 2, "": [true, null, 'x\u2028"${y}'], ok: { nested: [] } };
    const withProto = JSON.parse('{"__proto__": {"polluted": true}}');
    expect(new Function(`return (${tsLiteral(value)});`)()).toEqual(value);
    const back = new Function(`return (${tsLiteral(withProto)});`)() as Record<string, unknown>;
    expect(Object.keys(back)).toEqual(["__proto__"]);
    expect(Object.getPrototypeOf(back)).toBe(Object.prototype);
  });
});
