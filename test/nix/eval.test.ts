import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { evaluateNix, evaluateNixFile, NixError } from "../../src/nix/index.ts";

const ev = (src: string) => evaluateNix(src, { file: "vars.nix", baseDir: "/base" });

function evalError(src: string): NixError {
  try {
    ev(src);
  } catch (err) {
    expect(err).toBeInstanceOf(NixError);
    expect((err as NixError).exitCode).toBe(2);
    return err as NixError;
  }
  throw new Error(`evaluated: ${src}`);
}

describe("evaluateNix", () => {
  it("returns plain data with keys in Nix byte order", () => {
    const v = ev('{ b = 1; a = [ true null 1.5 "s" ]; "é" = { }; B = ./x/../y; }') as Record<string, unknown>;
    expect(Object.keys(v)).toEqual(["B", "a", "b", "é"]);
    expect(v).toEqual({ B: "/base/y", a: [true, null, 1.5, "s"], b: 1, é: {} });
  });

  it("keeps integers exact as 64-bit and refuses to round them", () => {
    expect(ev("9007199254740991")).toBe(9007199254740991);
    expect(ev("9223372036854775807 - 9223372036854775806")).toBe(1);
    expect(evalError("9007199254740993").message).toMatch(/outside ±\(2\^53-1\)/);
    expect(evalError("9223372036854775807 + 1").message).toMatch(/vars\.nix:1:21: integer overflow in addition/);
    expect(ev("[ (7 / 2) (-7 / 2) (7 / 2.0) ]")).toEqual([3, -3, 3.5]);
  });

  it("implements strings: escapes, interpolation, indentation stripping", () => {
    expect(ev('"a\\n\\t\\${x}$${y}\\"\\\\"')).toBe('a\n\t${x}$${y}"\\');
    expect(ev('let x = 1; in "v${toString x}"')).toBe("v1");
    expect(ev("''\n    a\n      b\n    ''$c '''\n  ''")).toBe("a\n  b\n$c ''\n");
    expect(ev("''\n  ''\\t x\n  ''")).toBe("\t x\n");
  });

  it("is lazy and catches only throw/assert in tryEval", () => {
    expect(ev('let x = throw "no"; in 1')).toBe(1);
    expect(ev('{ a = 1; b = throw "x"; }.a')).toBe(1);
    expect(ev('builtins.tryEval (throw "x")')).toEqual({ success: false, value: false });
    expect(ev("builtins.tryEval (assert false; 1)")).toEqual({ success: false, value: false });
    expect(evalError("builtins.tryEval (1 / 0)").message).toBe("vars.nix:1:21: division by zero");
  });

  it("reports errors with their location", () => {
    expect(evalError("{ a = 1; }.b").message).toBe("vars.nix:1:1: attribute 'b' missing");
    expect(evalError('let\n  x = 1 + "a";\nin x').message).toBe("vars.nix:2:9: cannot add a string to an integer");
    expect(evalError("undefinedName").message).toBe("vars.nix:1:1: undefined variable 'undefinedName'");
    expect(evalError("let x = x; in x").message).toBe("vars.nix:1:9: infinite recursion encountered");
    expect(evalError('throw "custom"').kind).toBe("thrown");
    expect(evalError("x: x").message).toMatch(/^vars\.nix:1:1: the value \(top level\) is a function/);
    expect(evalError("{ f = map; }").message).toMatch(/the value at 'f' is a function/);
  });

  it("names unsupported constructs and where they are", () => {
    const cases: [string, RegExp][] = [
      ["builtins.currentTime", /^vars\.nix:1:1: builtins\.currentTime is not supported/],
      ['{\n  src = builtins.fetchurl "https://x";\n}', /^vars\.nix:2:9: builtins\.fetchurl is not supported/],
      ['{ a = fetchTarball { url = "x"; }; }', /^vars\.nix:1:7: fetchTarball is not supported/],
      ['derivation { name = "x"; }', /^vars\.nix:1:1: derivation is not supported/],
      ["import <nixpkgs> { }", /^vars\.nix:1:8: search path <nixpkgs> is not supported/],
      ['"${./file}"', /^vars\.nix:1:4: using the path \/base\/file in a string copies it to the Nix store/],
      ['with builtins; getEnv "HOME"', /^vars\.nix:1:16: getEnv is not supported|builtins\.getEnv is not supported/],
      ["~/x", /home-relative path/],
      ['builtins.match "a" "a"', /builtins\.match is not supported/],
    ];
    for (const [src, re] of cases) {
      const e = evalError(src);
      expect(e.kind).toBe("unsupported");
      expect(e.message).toMatch(re);
    }
  });

  it("imports and reads files relative to the importing file", () => {
    const dir = mkdtempSync(join(tmpdir(), "nixlab-nix-eval-"));
    writeFileSync(join(dir, "lib.nix"), "{ x ? 1 }: { y = x + 1; key = builtins.readFile ./key.txt; }");
    writeFileSync(join(dir, "key.txt"), "ssh-ed25519 AAAA");
    writeFileSync(join(dir, "vars.nix"), "(import ./lib.nix { x = 41; }) // { here = ./.; }");
    expect(evaluateNixFile(join(dir, "vars.nix"))).toEqual({ y: 42, key: "ssh-ed25519 AAAA", here: dir });
    expect(() => evaluateNixFile(join(dir, "missing.nix"))).toThrow(NixError);
    rmSync(dir, { recursive: true, force: true });
  });

  it("supports the builtins a config uses", () => {
    expect(
      ev(`with builtins; {
        a = map (x: x * 2) [ 1 2 ];
        b = filter (x: x > 1) [ 1 2 3 ];
        c = attrNames { z = 1; a = 2; };
        d = attrValues { z = 1; a = 2; };
        e = listToAttrs [ { name = "k"; value = 1; } { name = "k"; value = 2; } ];
        f = mapAttrs (n: v: n + v) { x = "1"; };
        g = length [ 1 2 3 ];
        h = elem 2 [ 1 2 ];
        i = concatStringsSep "," [ "a" "b" ];
        j = replaceStrings [ "a" ] [ "A" ] "banana";
        k = [ (hasAttr "x" { x = 1; }) (getAttr "x" { x = 5; }) ];
        l = [ (head [ 1 2 ]) (tail [ 1 2 ]) ];
        m = [ (isString "") (isInt 1) (isFloat 1.0) (isBool true) (isList [ ]) (isAttrs { }) (isNull null) (isFunction map) (isPath ./.) ];
        n = fromJSON "{\\"a\\": [1, 2.5, \\"x\\", null, true]}";
        o = toJSON { b = [ 1 "x" ]; a = null; };
        p = toString [ 1 true null "s" 2.5 ];
      }`),
    ).toEqual({
      a: [2, 4],
      b: [2, 3],
      c: ["a", "z"],
      d: [2, 1],
      e: { k: 1 },
      f: { x: "x1" },
      g: 3,
      h: true,
      i: "a,b",
      j: "bAnAnA",
      k: [true, 5],
      l: [1, [2]],
      m: [true, true, true, true, true, true, true, true, true],
      n: { a: [1, 2.5, "x", null, true] },
      o: '{"a":null,"b":[1,"x"]}',
      p: "1 1  s 2.500000",
    });
  });

  it("ends endless recursion with a NixError at its place", () => {
    expect(evalError("let f = x: f x + 1; in f 0").message).toMatch(
      /^vars\.nix:1:12: evaluation nested deeper than \d+ levels \(infinite recursion/,
    );
    // A cyclic value cannot be plain data either.
    expect(evalError("let x = { y = x; }; in x").message).toMatch(/^vars\.nix:1:1: evaluation nested deeper than/);
  });
});
