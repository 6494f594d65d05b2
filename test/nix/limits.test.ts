// Hostile Nix: every input ends in a NixError that names its place and the limit, never
// a stack overflow (RangeError), an out-of-memory abort or a hang (issue 14).
import { describe, expect, it } from "vitest";
import { evaluateNix, NixError, nixLimits, parseNix, printNix } from "../../src/nix/index.ts";
import { haveNix, nixEvalMany, sameAsNix } from "./nix-peer.ts";

function failure(run: () => unknown): NixError {
  try {
    run();
  } catch (err) {
    // A RangeError here is the stack overflow these limits exist to prevent.
    expect(err).toBeInstanceOf(NixError);
    expect((err as NixError).exitCode).toBe(2);
    return err as NixError;
  }
  throw new Error("expected a NixError, got a value");
}

const evalFails = (src: string) => failure(() => evaluateNix(src, { file: "vars.nix", baseDir: "/base" }));
/** Far beyond every limit, and far beyond what overflowed the stack before the limits. */
const deep = 20_000;
/** `f n` is a list nested n deep, built lazily. */
const deepList = (use: string) => `let f = n: if n == 0 then [] else [(f (n - 1))]; in ${use}`;

describe("nesting deeper than the parser's limit", () => {
  const shapes: Record<string, string> = {
    brackets: `${"[".repeat(deep)}${"]".repeat(deep)}`,
    parentheses: `${"(".repeat(deep)}1${")".repeat(deep)}`,
    sets: `${"{a=".repeat(deep)}1${";}".repeat(deep)}`,
    "left-associative +": Array(deep).fill("1").join(" + "),
    "right-associative ++": Array(deep).fill("[]").join(" ++ "),
    "//": Array(deep).fill("{}").join(" // "),
    "function bodies": `${Array.from({ length: deep }, (_, i) => `x${i}:`).join(" ")} 1`,
    "let … in chains": `${Array.from({ length: deep }, (_, i) => `let x${i} = ${i}; in`).join(" ")} 1`,
    "else if chains": `${"if true then 1 else ".repeat(deep)}2`,
    interpolation: `${'"${'.repeat(deep)}"x"${'}"'.repeat(deep)}`,
    negation: `${"-".repeat(deep)}1`,
    not: `${"!".repeat(deep)}true`,
    "or defaults": `${"{}.a or ".repeat(deep)}1`,
    "? chains": `{}${" ? a".repeat(deep)}`,
    "formal defaults": `${"{a ? ".repeat(deep)}1${"}: 1".repeat(deep)}`,
  };
  for (const [name, src] of Object.entries(shapes)) {
    it(`${name}: a syntax error at the level that is too deep`, () => {
      const err = failure(() => parseNix(src, "vars.nix"));
      expect(err.kind).toBe("syntax");
      expect(err.message).toMatch(
        new RegExp(`^vars\\.nix:1:\\d+: expression nested deeper than ${nixLimits.nesting} levels`),
      );
      // evaluateNix reports the same, with the same place.
      expect(evalFails(src).message).toBe(err.message);
    });
  }

  it("accepts nesting up to the limit and evaluates it like Nix", () => {
    const n = nixLimits.nesting - 1;
    expect(evaluateNix(`${"(".repeat(n)}1${")".repeat(n)}`)).toBe(1);
    expect(JSON.stringify(evaluateNix(`${"[".repeat(n)}${"]".repeat(n)}`))).toBe(`${"[".repeat(n)}${"]".repeat(n)}`);
  });
});

describe("evaluation deeper than its limit", () => {
  const shapes: Record<string, string> = {
    "unbounded recursion": "let f = x: f x + 1; in f 0",
    "deep recursion": `let f = n: if n == 0 then 0 else 1 + f (n - 1); in f ${deep}`,
    "a lazily built deep list": deepList(`f ${deep}`),
    "comparing deep lists": deepList(`f ${deep} == f ${deep}`),
    "ordering deep lists": deepList(`f ${deep} < f ${deep}`),
    "toJSON of a deep list": deepList(`builtins.toJSON (f ${deep})`),
    "toString of a deep list": deepList(`toString (f ${deep})`),
    "a deep value built by foldl'": "builtins.foldl' (acc: x: { a = acc; }) {} (builtins.genList (x: x) 5000)",
    "a functor that returns itself": "let f = { __functor = self: self; }; in f 1",
    "__toString that recurses": "let f = n: { __toString = self: toString (f (n + 1)); }; in toString (f 0)",
    "a chain of 5,000 bindings": `let ${Array.from({ length: 5000 }, (_, i) => (i === 0 ? "a0 = 0;" : `a${i} = a${i - 1} + 1;`)).join(" ")} in a4999`,
    "a cyclic value": "let x = { y = x; }; in x",
  };
  for (const [name, src] of Object.entries(shapes)) {
    it(name, () => {
      expect(evalFails(src).message).toMatch(
        new RegExp(`^vars\\.nix:\\d+:\\d+: evaluation nested deeper than ${nixLimits.depth} levels`),
      );
    });
  }

  it("fromJSON refuses JSON nested deeper than the limit", () => {
    const json = `${"[".repeat(deep)}${"]".repeat(deep)}`;
    expect(evalFails(`builtins.fromJSON "${json}"`).message).toMatch(
      /^vars\.nix:1:1: JSON nested deeper than \d+ levels/,
    );
    expect(evaluateNix(`builtins.fromJSON "[[[1, \\"[[[\\"]]]"`)).toEqual([[[1, "[[["]]]);
  });

  it("recursion as deep as a configuration needs still works", () => {
    expect(evaluateNix("let f = n: if n == 0 then 0 else 1 + f (n - 1); in f 100")).toBe(100);
  });
});

describe("memory and time budgets", () => {
  it("genList 1e8 ends at once with the memory limit", () => {
    const start = performance.now();
    expect(evalFails("builtins.length (builtins.genList (x: x) 100000000)").message).toMatch(
      /^vars\.nix:1:18: evaluation created more than \d+ MB of lists, sets and strings/,
    );
    expect(performance.now() - start).toBeLessThan(1000);
  });

  const huge: Record<string, string> = {
    "a string doubled 40 times": 'let s = n: if n == 0 then "x" else let t = s (n - 1); in t + t; in s 40',
    "a list doubled 40 times":
      "let l = n: if n == 0 then [1] else let t = l (n - 1); in t ++ t; in builtins.length (l 40)",
    "a set merged into itself":
      "builtins.length (builtins.attrNames (builtins.foldl' (acc: x: acc // { ${toString x} = acc; }) {} (builtins.genList (x: x) 1000000)))",
    "concatStringsSep of a huge list":
      'builtins.stringLength (builtins.concatStringsSep "xxxxxxxx" (builtins.genList (x: "yyyyyyyy") 10000000))',
    "map over a huge list": "builtins.length (map (x: x) (builtins.genList (x: x) 10000000))",
  };
  for (const [name, src] of Object.entries(huge)) {
    it(`${name}: the memory limit (or the step limit, for copies)`, () => {
      expect(evalFails(src).message).toMatch(
        /^vars\.nix:\d+:\d+: evaluation (created more than \d+ MB of lists, sets and strings|took more than)/,
      );
    });
  }

  it("exponential work ends with the step or time limit", () => {
    expect(evalFails("let f = n: if n == 0 then 0 else f (n - 1) + f (n - 1); in f 40").message).toMatch(
      /^vars\.nix:\d+:\d+: evaluation took (more than [\d,]+ steps|longer than \d+ s)/,
    );
    expect(evalFails("builtins.foldl' (a: x: a + x) 0 (builtins.genList (x: x) 500000)").message).toMatch(
      /evaluation took (more than [\d,]+ steps|longer than \d+ s)|evaluation created more than/,
    );
  });

  it("a source file longer than the limit is refused before lexing", () => {
    const src = `"${"x".repeat(nixLimits.sourceChars)}"`;
    expect(failure(() => parseNix(src, "vars.nix")).message).toMatch(
      /^vars\.nix:1:1: the file has [\d,]+ characters; nixlab reads Nix files of up to/,
    );
  });
});

describe("the lexer stays linear on long runs of one character", () => {
  // Each of these took minutes before (a regex rescanned the rest of the run per token).
  for (const unit of ["-", "+", ".", "a+", "a.", "1.", "a-b.c+", "*", "/* *", "<a"]) {
    it(JSON.stringify(unit), () => {
      const src = unit.repeat(Math.ceil(100_000 / unit.length));
      const err = failure(() => parseNix(src, "vars.nix"));
      expect(err.kind).toBe("syntax");
    }, 20_000);
  }
});

describe("printNix", () => {
  it("refuses a value nested deeper than the limit instead of overflowing the stack", () => {
    let v: unknown = [];
    for (let i = 0; i < deep; i++) v = [v];
    expect(failure(() => printNix(v)).message).toMatch(/cannot print a value nested deeper than \d+ levels/);
    let ok: unknown = 1;
    for (let i = 0; i < nixLimits.nesting - 1; i++) ok = { a: ok };
    expect(evaluateNix(printNix(ok))).toEqual(ok);
  });
});

describe.runIf(haveNix)("inside the limits, the same value as nix-instantiate", () => {
  // The limits must not refuse what a real vars.nix does: each of these is near one limit.
  const n = nixLimits.nesting - 1;
  const near: Record<string, string> = {
    parentheses: `${"(".repeat(n)}1${")".repeat(n)}`,
    brackets: `${"[".repeat(n)}${"]".repeat(n)}`,
    sets: `${"{a=".repeat(n)}1${";}".repeat(n)}`,
    "else if chains": `${"if false then 1 else ".repeat(n)}2`,
    "let … in chains": `${Array.from({ length: n }, (_, i) => `let x${i} = ${i}; in`).join(" ")} x${n - 1}`,
    "recursion 200 calls deep": "let f = n: if n == 0 then 0 else 1 + f (n - 1); in f 200",
    "a chain of 200 bindings": `let ${Array.from({ length: 200 }, (_, i) => (i === 0 ? "a0 = 0;" : `a${i} = a${i - 1} + 1;`)).join(" ")} in a199`,
    "a list of 200,000 elements": "builtins.foldl' (a: x: a + x) 0 (builtins.genList (x: x) 200000)",
    "a string of a million characters":
      'let s = n: if n == 0 then "x" else let t = s (n - 1); in t + t; in builtins.stringLength (s 20)',
    "a set of 50,000 attributes":
      "builtins.length (builtins.attrNames (builtins.listToAttrs (builtins.genList (x: { name = toString x; value = x; }) 50000)))",
    "fromJSON 250 levels deep": `builtins.fromJSON "${"[".repeat(250)}${"]".repeat(250)}"`,
  };

  it("evaluates each as Nix does", async () => {
    const names = Object.keys(near);
    const nix = await nixEvalMany(names.map((name) => near[name]!));
    names.forEach((name, i) => {
      const theirs = nix[i]!;
      expect(theirs.ok, `${name}: ${theirs.ok ? "" : theirs.error}`).toBe(true);
      const mine = evaluateNix(near[name]!);
      expect(sameAsNix(mine, (theirs as { value: unknown }).value), name).toBe(true);
    });
  }, 120_000);
});
