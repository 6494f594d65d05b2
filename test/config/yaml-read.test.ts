/**
 * Reading a YAML cluster file gives the yaml library's own value for every scalar form
 * (`%YAML 1.1` keeps its meaning, alias expansion stays bounded); a problem names its line.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { parseDocument } from "yaml";
import { ConfigError, loadCluster, readClusterSource } from "../../src/config/load.ts";
import { root } from "../support/example.ts";

const dir = mkdtempSync(join(tmpdir(), "nixlab-yaml-read-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let n = 0;
async function read(text: string): Promise<unknown> {
  const file = join(dir, `c${n++}.yaml`);
  writeFileSync(file, text);
  return (await readClusterSource(file)).value;
}
const library = (text: string) => parseDocument(text, { uniqueKeys: false }).toJS({ maxAliasCount: 100 });

describe("reading a YAML cluster file", () => {
  it("gives the yaml library's value for every scalar form", async () => {
    const scalar = fc.constantFrom(
      ...["1_000", "0b101", "0o17", "017", "0x1F", "+12", "-0", "1e3", ".5", ".inf", "-.Inf", ".NaN", "~", "null"],
      ...["Null", "true", "True", "yes", "on", "2026-12-31", "12:30", "0.1.2", "'x'", '"\\u00e9"', "a b", '"#"'],
      ...["|\n  x\n  y", ">-\n  x\n\n  y", "[1, b]", "{c: d}", "!!str 1", "''", "10.0.100.2", "0.0.0.0/0"],
    );
    const entries = fc.array(fc.tuple(fc.constantFrom("a", "b", "c", "d"), scalar), { minLength: 1, maxLength: 6 });
    await fc.assert(
      fc.asyncProperty(entries, async (pairs) => {
        const unique = [...new Map(pairs)];
        const text = `${unique.map(([k, v]) => `${k}: ${v}`).join("\n")}\n`;
        expect(await read(text)).toEqual(library(text));
      }),
      { numRuns: 100, seed: 7 },
    );
    const example = readFileSync(join(root, "examples/homelab/nixlab.yaml"), "utf8");
    expect(await read(example)).toEqual(library(example));
  });

  it("keeps a %YAML 1.1 directive's meaning and bounds alias expansion", async () => {
    expect(await read("%YAML 1.1\n---\na: yes\n")).toEqual({ a: true });
    const bomb = ["a: &a [x, x, x, x, x, x, x, x, x, x]"];
    for (let i = 1; i < 8; i++)
      bomb.push(`${"abcdefgh"[i]}: &${"abcdefgh"[i]} [${`*${"abcdefgh"[i - 1]}, `.repeat(10)}]`);
    await expect(read(`${bomb.join("\n")}\n`)).rejects.toThrow(/alias/i);
  });

  it("names the line of a problem", async () => {
    const file = join(dir, "bad.yaml");
    const example = readFileSync(join(root, "examples/homelab/nixlab.yaml"), "utf8");
    writeFileSync(file, example.replace(/^timezone: .*$/m, "timezone: Mars/Olympus"));
    const line = example.split("\n").findIndex((l) => l.startsWith("timezone:")) + 1;
    const error = await loadCluster({ config: file }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect(String((error as ConfigError).details.join("\n"))).toContain(`bad.yaml:${line}:`);
  });
});
