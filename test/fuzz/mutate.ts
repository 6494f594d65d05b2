// Text mutations for the fuzz targets: a valid text with a few edits at random places
// (tokens of the format inserted, ranges deleted or repeated, lines swapped).
import fc from "fast-check";

type Edit =
  | { kind: "insert"; at: number; token: string }
  | { kind: "delete"; at: number; length: number }
  | { kind: "repeat"; at: number; length: number; times: number }
  | { kind: "swap-lines"; a: number; b: number }
  | { kind: "truncate"; at: number };

const fraction = fc.double({ min: 0, max: 1, noNaN: true });

function edit(tokens: readonly string[]): fc.Arbitrary<Edit> {
  return fc.oneof(
    {
      weight: 4,
      arbitrary: fc.record({
        kind: fc.constant("insert" as const),
        at: fraction,
        token: fc.oneof(fc.constantFrom(...tokens), fc.string({ maxLength: 4, unit: "binary" })),
      }),
    },
    {
      weight: 2,
      arbitrary: fc.record({
        kind: fc.constant("delete" as const),
        at: fraction,
        length: fc.integer({ min: 1, max: 40 }),
      }),
    },
    {
      weight: 1,
      arbitrary: fc.record({
        kind: fc.constant("repeat" as const),
        at: fraction,
        length: fc.integer({ min: 1, max: 30 }),
        times: fc.integer({ min: 2, max: 200 }),
      }),
    },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant("swap-lines" as const), a: fraction, b: fraction }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant("truncate" as const), at: fraction }) },
  );
}

function apply(text: string, e: Edit): string {
  const pos = (f: number) => Math.floor(f * text.length);
  switch (e.kind) {
    case "insert":
      return text.slice(0, pos(e.at)) + e.token + text.slice(pos(e.at));
    case "delete":
      return text.slice(0, pos(e.at)) + text.slice(pos(e.at) + e.length);
    case "repeat": {
      const piece = text.slice(pos(e.at), pos(e.at) + e.length);
      return text.slice(0, pos(e.at)) + piece.repeat(e.times) + text.slice(pos(e.at) + e.length);
    }
    case "swap-lines": {
      const lines = text.split("\n");
      const a = Math.floor(e.a * lines.length);
      const b = Math.floor(e.b * lines.length);
      [lines[a], lines[b]] = [lines[b]!, lines[a]!];
      return lines.join("\n");
    }
    case "truncate":
      return text.slice(0, pos(e.at));
  }
}

/** `base` texts with 1–4 edits drawn from `tokens` (and random binary strings). */
export function mutated(base: fc.Arbitrary<string>, tokens: readonly string[]): fc.Arbitrary<string> {
  return fc
    .tuple(base, fc.array(edit(tokens), { minLength: 1, maxLength: 4 }))
    .map(([text, edits]) => edits.reduce(apply, text));
}
