import { describe, expect, it } from "vitest";
import { NixError, parseNix } from "../../src/nix/index.ts";

function syntaxError(src: string, file = "vars.nix"): string {
  try {
    parseNix(src, file);
  } catch (err) {
    expect(err).toBeInstanceOf(NixError);
    expect((err as NixError).exitCode).toBe(2);
    expect((err as NixError).kind).toBe("syntax");
    return (err as Error).message;
  }
  throw new Error(`parsed: ${src}`);
}

describe("parseNix", () => {
  it("parses the whole grammar", () => {
    const src = `
      let
        f = { a, b ? 2, ... }@args: x: a + b;
        g = args@{ c }: c;
        s = rec { x = 1; y.z = x; \${"d"} = 3; "q r" = 4; inherit (builtins) map; };
        legacy = let { body = 1; };
        p = ./a/b + /abs/\${"x"};
        u = https://example.com/x?y=1;
        i = ''
          ind \${s.x} ''$ ''' ''\\n
        '';
      in
      assert true -> false || true && !false;
      with s;
      if 1 < 2 && 2 <= 2 && 3 > 2 && 3 >= 3 && 1 == 1 && 1 != 2
      then [ (f { a = 1; } 2) (-1) ([ 1 ] ++ [ 2 ]) ({ } // { }) (s ? x.y) (s.x or 0) (1 - 2 * 3 / 4) ]
      else null
    `;
    const ast = parseNix(src, "all.nix");
    expect(ast.file).toBe("all.nix");
    expect(ast.root.type).toBe("let");
  });

  it("follows Nix's precedence and associativity", () => {
    const shape = (src: string) =>
      JSON.stringify(parseNix(src).root, (k, v) =>
        k === "lm" || k === "pos" ? undefined : typeof v === "bigint" ? Number(v) : v,
      );
    // `-` is left-associative, `++` and `//` right-associative.
    expect(shape("1 - 2 - 3")).toBe(shape("(1 - 2) - 3"));
    expect(shape("[1] ++ [2] ++ [3]")).toBe(shape("[1] ++ ([2] ++ [3])"));
    expect(shape("a // b // c")).toBe(shape("a // (b // c)"));
    // `!` binds looser than arithmetic but tighter than `==`; negation binds tightest.
    expect(shape("!a + b")).toBe(shape("!(a + b)"));
    expect(shape("!a == b")).toBe(shape("(!a) == b"));
    expect(shape("-a ? b")).toBe(shape("(-a) ? b"));
    expect(shape("- f x")).toBe(shape("-(f x)"));
    expect(shape("a -> b -> c")).toBe(shape("a -> (b -> c)"));
    expect(shape("a || b && c")).toBe(shape("a || (b && c)"));
    expect(shape("a.b or c d")).toBe(shape("(a.b or c) d"));
  });

  it("reports file:line:column and what was expected", () => {
    expect(syntaxError("{\n  a = 1;\n  b = ;\n}")).toBe("vars.nix:3:7: expected an expression, found ';'");
    expect(syntaxError("{ a = 1 }")).toBe("vars.nix:1:9: expected ';' after the attribute value, found '}'");
    expect(syntaxError("[ 1 2")).toBe("vars.nix:1:6: expected a list element or ']', found end of file");
    expect(syntaxError('"abc')).toBe("vars.nix:1:5: expected '\"' closing the string, found end of file");
    expect(syntaxError("''abc")).toBe("vars.nix:1:6: expected \"''\" closing the indented string, found end of file");
    expect(syntaxError("1 == 2 == 3")).toMatch(/^vars\.nix:1:8: expected a parenthesised operand/);
    expect(syntaxError("{ a = 1; a = 2; }")).toBe("vars.nix:1:10: attribute 'a' already defined at vars.nix:1:3");
    expect(syntaxError("let ${toString 1} = 1; in 2")).toMatch(/dynamic attributes are not allowed in let/);
    expect(syntaxError("./a/")).toMatch(/^vars\.nix:1:5: expected more of the path after '\/'/);
    expect(syntaxError("9223372036854775808")).toMatch(/invalid integer/);
    expect(syntaxError("({ a, a }: a)")).toMatch(/duplicate formal function argument 'a'/);
    expect(syntaxError("/* open")).toBe("vars.nix:1:1: expected '*/' closing the comment, found end of file");
    expect(syntaxError("1 2 )")).toMatch(/^vars\.nix:1:5: expected end of file/);
    expect(syntaxError("{ a = 1 % 2; }")).toBe("vars.nix:1:9: expected a Nix token, found the character '%'");
  });

  it("lexes like Nix: paths, URIs and floats by longest match", () => {
    const types = (src: string) => {
      const r = parseNix(src).root;
      return r.type === "list" ? r.items.map((i) => i.type) : [r.type];
    };
    expect(types("[ a/b 1/2 ./. ~/x <nixpkgs> http://x.org/y 1.5 .5 2. a.b ]")).toEqual([
      "path",
      "path",
      "path",
      "path",
      "spath",
      "str",
      "float",
      "float",
      "float",
      "select",
    ]);
  });
});
