// The printer, proven by the real Nix: printed text must evaluate to the same value,
// for random values with adversarial strings and keys.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { evaluateNix, printNix } from "../../src/nix/index.ts";
import { quoteNixString } from "../../src/nix/printer.ts";
import { jsValue } from "./gen.ts";
import { haveNix, nixEvalMany, sameAsNix } from "./nix-peer.ts";

/** Exact deep equality (floats bit-exact; -0 and 0 equal, as Nix has no -0 literal). */
function identical(a: unknown, b: unknown): boolean {
  if (typeof a === "number" && typeof b === "number") return a === b;
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((x, i) => identical(x, b[i]));
  }
  if (a && b && typeof a === "object" && typeof b === "object") {
    const ka = Object.keys(a).sort();
    const kb = Object.keys(b).sort();
    return (
      ka.length === kb.length &&
      ka.every((k, i) => k === kb[i] && identical((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]))
    );
  }
  return a === b;
}

const values = fc.sample(jsValue, { numRuns: 2100, seed: 424242 });

function strings(v: unknown, out: string[] = []): string[] {
  if (typeof v === "string") out.push(v);
  else if (Array.isArray(v)) for (const x of v) strings(x, out);
  else if (v && typeof v === "object") {
    for (const [k, x] of Object.entries(v)) {
      out.push(k);
      strings(x, out);
    }
  }
  return out;
}

describe("printNix round trip", () => {
  it("the sample is adversarial: every dangerous fragment occurs many times", () => {
    const all = values.flatMap((v) => strings(v));
    const keys = values.flatMap((v) => (v && typeof v === "object" && !Array.isArray(v) ? Object.keys(v) : []));
    for (const fragment of ["${", "''", "''$", "\\", '"', "\n", "\t", "$$", "🚀", "é"]) {
      expect(all.filter((s) => s.includes(fragment)).length, JSON.stringify(fragment)).toBeGreaterThanOrEqual(10);
    }
    expect(keys.filter((k) => k === "").length).toBeGreaterThanOrEqual(5);
    expect(keys.filter((k) => !/^[a-zA-Z_][a-zA-Z0-9_'-]*$/.test(k)).length).toBeGreaterThanOrEqual(100);
  });

  it("our evaluator reads every printed value back exactly (2100 random values)", () => {
    const bad = values.filter((v) => !identical(evaluateNix(printNix(v)), v));
    expect(bad.slice(0, 3)).toEqual([]);
  });

  it.runIf(haveNix)("nix-instantiate reads every printed value back exactly (2100 random values)", async () => {
    // `exact` makes Nix itself compare the value with the JSON text of the original,
    // which catches float digits that Nix 2.8's 6-digit JSON output would hide.
    const exprs = values.map((v) => {
      const printed = printNix(v);
      return `let v = ${printed}; in { inherit v; exact = builtins.fromJSON ${quoteNixString(JSON.stringify(v))} == v; }`;
    });
    const out = await nixEvalMany(exprs);
    const mismatches: string[] = [];
    out.forEach((o, i) => {
      const r = o.ok ? (o.value as { v: unknown; exact: boolean }) : undefined;
      if (!r?.exact || !sameAsNix(values[i], r.v)) {
        mismatches.push(`${JSON.stringify(values[i])}\n${printNix(values[i])}\n=> ${JSON.stringify(o)}`);
      }
    });
    expect(mismatches.slice(0, 3).join("\n\n")).toBe("");
    expect(out.length).toBeGreaterThanOrEqual(2000);
  });
});
