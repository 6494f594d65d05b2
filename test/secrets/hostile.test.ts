// The SOPS reader on hostile files (issue 14); the fuzz suite (test/fuzz) covers the rest.
import { describe, expect, it } from "vitest";
import { DocumentError, YamlDocument } from "../../src/secrets/yaml-store.ts";

describe("YAML secrets files", () => {
  it("a file of 20,000 keys parses in linear time (the YAML library's duplicate check took a minute)", () => {
    const text = Array.from({ length: 20_000 }, (_, i) => `key_${i}: value`).join("\n");
    expect(YamlDocument.parse(text).keysAt([])).toHaveLength(20_000);
  });

  it("a repeated key is still refused, at its position", () => {
    for (const [text, line, col] of [
      ["a: 1\nb: 2\na: 3\n", 3, 1],
      ["x:\n  k: 1\n  k: 2\n", 3, 3],
    ] as const) {
      let error: unknown;
      try {
        YamlDocument.parse(text);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(DocumentError);
      expect(error).toMatchObject({ message: "it is not valid YAML (DUPLICATE_KEY)", line, col });
    }
  });
});
