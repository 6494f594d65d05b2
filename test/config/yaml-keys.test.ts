/** duplicateKeys: the yaml library's duplicate-key errors, found in linear time. */
import fc from "fast-check";
import { parseDocument } from "yaml";
import { describe, expect, it } from "vitest";
import { duplicateKeys } from "../../src/config/yaml-keys.ts";

const libraryErrors = (text: string) =>
  parseDocument(text, { uniqueKeys: true, prettyErrors: false })
    .errors.filter((e) => e.code === "DUPLICATE_KEY")
    .map((e) => ({ offset: e.pos[0], message: e.message.split("\n")[0] }))
    .sort((a, b) => a.offset - b.offset);

describe("duplicateKeys", () => {
  it("reports what uniqueKeys: true reports, at the same offsets", () => {
    const key = fc.constantFrom("a", "b", "1", "'1'", '"a"', "true", "null", "~", "0x1", "1.0", "[x]", "{k: v}");
    const map = fc.array(fc.tuple(key, fc.constantFrom("1", "x", "{a: 1, a: 2}", "[1]")), { maxLength: 8 });
    fc.assert(
      fc.property(map, fc.boolean(), (pairs, flow) => {
        const text = flow
          ? `{${pairs.map(([k, v]) => `${k}: ${v}`).join(", ")}}\n`
          : pairs.map(([k, v]) => `${k}: ${v}`).join("\n");
        const ours = duplicateKeys(parseDocument(text, { uniqueKeys: false })).map((d) => ({
          offset: d.offset,
          message: d.message,
        }));
        expect(ours.sort((x, y) => x.offset - y.offset)).toEqual(libraryErrors(text));
      }),
      { numRuns: 500, seed: 12 },
    );
  });

  it("finds duplicates in nested maps", () => {
    const text = "users:\n  alice: {ip: 1}\n  bob: {ip: 2, ip: 3}\n  alice: {}\n";
    const offsets = duplicateKeys(parseDocument(text, { uniqueKeys: false })).map((d) => d.offset);
    expect(offsets.sort((a, b) => a - b)).toEqual([39, 48]);
    expect(libraryErrors(text).map((e) => e.offset)).toEqual([39, 48]);
  });
});
