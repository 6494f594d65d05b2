// Unit tests of the nesting pre-scan (src/nesting.ts) that spares the JSON and YAML parsers
// texts nested deep enough to exhaust their stack (issue 14).
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { stringify as yamlStringify } from "yaml";
import { jsonTooDeepAt, yamlTooDeepAt } from "../../src/nesting.ts";

/** How deeply arrays and objects nest in a JSON value (a scalar is 0). */
function depthOf(value: unknown): number {
  if (typeof value !== "object" || value === null) return 0;
  const children = Object.values(value as Record<string, unknown>);
  return 1 + Math.max(0, ...children.map(depthOf));
}

const nested = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    fc.oneof(fc.string(), fc.integer(), fc.boolean(), fc.constant(null), fc.constantFrom("[", "{", '"]', "\\", "#")),
    fc.array(tie("value"), { maxLength: 3 }),
    fc.dictionary(fc.string({ maxLength: 4 }), tie("value"), { maxKeys: 3 }),
  ),
})).value;

describe("jsonTooDeepAt", () => {
  it("finds the opening past the limit, and only that", () => {
    expect(jsonTooDeepAt("[[[1]]]", 3)).toBe(-1);
    expect(jsonTooDeepAt("[[[1]]]", 2)).toBe(2);
    expect(jsonTooDeepAt('{"a":{"b":[]}}', 2)).toBe(10);
    expect(jsonTooDeepAt("[[],[],[],[]]", 2)).toBe(-1);
  });

  it("brackets inside strings, escaped quotes included, do not count", () => {
    expect(jsonTooDeepAt('["[[[[", "\\"[[[["]', 1)).toBe(-1);
    expect(jsonTooDeepAt('["\\\\", [1]]', 1)).toBe(7);
  });

  it("agrees with the real depth of any JSON value", () => {
    fc.assert(
      fc.property(nested, fc.integer({ min: 0, max: 6 }), (value, limit) => {
        const at = jsonTooDeepAt(JSON.stringify(value), limit);
        expect(at === -1).toBe(depthOf(value) <= limit);
      }),
      { numRuns: 3000, seed: 14 },
    );
  });

  it("is linear: 200,000 levels are scanned at once", () => {
    const text = `${"[".repeat(200_000)}${"]".repeat(200_000)}`;
    expect(jsonTooDeepAt(text, 1000)).toBe(1000);
    expect(jsonTooDeepAt(text, 200_000)).toBe(-1);
  });
});

describe("yamlTooDeepAt", () => {
  it("flow collections, outside quotes and comments", () => {
    expect(yamlTooDeepAt("a: [[[1]]]", 3)).toBe(-1);
    expect(yamlTooDeepAt("a: [[[1]]]", 2)).toBe(5);
    expect(yamlTooDeepAt("a: \"[[[\"\nb: '[[[ it''s'\nc: [1] # [[[[\n", 1)).toBe(-1);
    expect(yamlTooDeepAt('a: "\\"[[["', 0)).toBe(-1);
  });

  it("compact block sequences and complex keys on one line", () => {
    expect(yamlTooDeepAt("- - - x\n", 3)).toBe(-1);
    expect(yamlTooDeepAt("- - - x\n", 2)).toBe(4);
    expect(yamlTooDeepAt("? ? ? x\n", 2)).toBe(4);
    expect(yamlTooDeepAt("a:\n  - - x\n  - - - y\n", 2)).toBe(17);
  });

  it("a # inside a plain scalar is not a comment", () => {
    expect(yamlTooDeepAt("a: b#[[\n", 1)).toBe(6);
  });

  it("never understates the nesting of flow YAML", () => {
    fc.assert(
      fc.property(nested, fc.integer({ min: 0, max: 6 }), (value, limit) => {
        const text = yamlStringify({ v: value }, { collectionStyle: "flow" });
        if (depthOf({ v: value }) > limit) expect(yamlTooDeepAt(text, limit)).not.toBe(-1);
      }),
      { numRuns: 3000, seed: 14 },
    );
  });

  it("is linear on 200,000 levels of either kind", () => {
    expect(yamlTooDeepAt(`a: ${"[".repeat(200_000)}`, 500)).toBe(503);
    expect(yamlTooDeepAt("- ".repeat(200_000), 500)).toBe(1000);
  });
});
