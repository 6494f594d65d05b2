// Our evaluator against the real `nix-instantiate --eval --strict --json`: the seed's
// template vars.nix, hand-written variants, and property-based generated expressions.
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { evaluateNix, evaluateNixFile, NixError } from "../../src/nix/index.ts";
import { nixExpression } from "./gen.ts";
import { tricky } from "./tricky.ts";
import { haveNix, nixEvalFile, nixEvalMany, type NixOutcome, sameAsNix } from "./nix-peer.ts";

const fixtures = join(import.meta.dirname, "../fixtures/nix");
const corpus = readdirSync(fixtures)
  .filter((f) => f.endsWith(".vars.nix"))
  .sort();

type Ours = { ok: true; value: unknown } | { ok: false; error: string };

function ours(run: () => unknown): Ours {
  try {
    return { ok: true, value: run() };
  } catch (err) {
    if (!(err instanceof NixError)) throw err;
    return { ok: false, error: err.message };
  }
}

/** Nix's value with its batch directory (where relative paths resolved) replaced by "/corner". */
function rebase(o: NixOutcome): unknown {
  if (!o.ok) return undefined;
  return JSON.parse(JSON.stringify(o.value).replace(/\/tmp\/nixlab-nix-batch-[A-Za-z0-9]+/g, "/corner"));
}

function agree(a: Ours, b: NixOutcome): boolean {
  if (a.ok !== b.ok) return false;
  return !a.ok || sameAsNix(a.value, (b as { value: unknown }).value);
}

describe.runIf(haveNix)("differential vs nix-instantiate", () => {
  it("has the template and at least 20 variants", () => {
    expect(corpus).toContain("template.vars.nix");
    expect(corpus.length).toBeGreaterThanOrEqual(21);
  });

  it.each(corpus)("%s evaluates exactly as nix-instantiate does", (name) => {
    const file = join(fixtures, name);
    const nix = nixEvalFile(file);
    expect(nix.ok, nix.ok ? "" : nix.error).toBe(true);
    const mine = ours(() => evaluateNixFile(file));
    expect(mine).toEqual({ ok: true, value: (nix as { value: unknown }).value });
  });

  it("the example cluster's vars.nix gives nix-instantiate's value, which is the YAML example's", () => {
    const file = join(fixtures, "../../../examples/homelab/vars.nix");
    const nix = nixEvalFile(file);
    expect(nix.ok).toBe(true);
    const mine = evaluateNixFile(file);
    expect(sameAsNix(mine, (nix as { value: unknown }).value)).toBe(true);
    expect(mine).toEqual(parse(readFileSync(join(dirname(file), "nixlab.yaml"), "utf8")));
  });

  it("hand-picked corner cases of the grammar and builtins", async () => {
    const nix = await nixEvalMany(tricky);
    const mismatches: string[] = [];
    tricky.forEach((e, i) => {
      const mine = ours(() => evaluateNix(e, { baseDir: "/corner" }));
      const theirs = nix[i]!;
      // Paths are compared as strings: nix-instantiate ran in its own temporary directory.
      const ok = mine.ok === theirs.ok && (!mine.ok || sameAsNix(mine.value, rebase(theirs)));
      if (!ok) mismatches.push(`${e}\n  ours: ${JSON.stringify(mine)}\n  nix:  ${JSON.stringify(theirs)}`);
    });
    expect(mismatches.join("\n\n")).toBe("");
    expect(nix.filter((o) => !o.ok).length).toBeGreaterThan(30);
  });

  it("2000+ generated expressions: same value, or both fail", async () => {
    const exprs = fc.sample(nixExpression, { numRuns: 2200, seed: 20261124 });
    const nix = await nixEvalMany(exprs);
    const mismatches: string[] = [];
    let failures = 0;
    exprs.forEach((e, i) => {
      const mine = ours(() => evaluateNix(e));
      if (!nix[i]!.ok) failures++;
      if (!agree(mine, nix[i]!)) {
        mismatches.push(`${e}\n  ours: ${JSON.stringify(mine)}\n  nix:  ${JSON.stringify(nix[i])}`);
      }
    });
    expect(mismatches.slice(0, 5).join("\n\n")).toBe("");
    expect(exprs.length).toBeGreaterThanOrEqual(2000);
    // The corpus must exercise both outcomes.
    expect(failures).toBeGreaterThan(50);
    expect(exprs.length - failures).toBeGreaterThan(1500);
    // 2200 nix-instantiate evaluations: a hang guard, not a speed goal (CI machines are slower when shared).
  }, 240_000);
});
