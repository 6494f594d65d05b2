// Property-based generators: closed Nix expressions (for the differential test) and
// JS values with adversarial strings and keys (for the printer round trip).
import fc from "fast-check";
import { quoteNixString } from "../../src/nix/printer.ts";

const memo = new Map<string, fc.Arbitrary<string>>();
function cached(key: string, make: () => fc.Arbitrary<string>): fc.Arbitrary<string> {
  let a = memo.get(key);
  if (!a) {
    a = make();
    memo.set(key, a);
  }
  return a;
}

const paren = (s: string) => `(${s})`;
const smallInt = fc.integer({ min: -40, max: 40 }).map((n) => (n < 0 ? `(${n})` : String(n)));
const floatLit = fc.constantFrom("1.5", "0.25", ".5", "2.", "3.0e2", "1.0e-3", "0.1", "100.0", "7.75", "1.0E1");
const identChars = fc.constantFrom("a", "b", "x", "y", "foo", "bar", "_u", "k-1", "n'", "or2", "Z");
const ident = identChars;

// Pieces of a double-quoted string literal, raw source text (escapes and `$` corner cases).
const dqPiece = fc.oneof(
  fc.string({
    maxLength: 6,
    unit: fc.constantFrom("a", "b", " ", "é", "✓", "🚀", "{", "}", "'", "#", ";", "\u0001", "\u007f"),
  }),
  fc.constantFrom(
    "\\n",
    "\\t",
    "\\r",
    '\\"',
    "\\\\",
    "\\$",
    "\\${x}",
    "$$",
    "$${a}",
    "$",
    "''",
    "''$",
    "\\a",
    "\n",
    "\t",
  ),
);
const dqLiteral = fc.array(dqPiece, { maxLength: 5 }).map((ps) => `"${ps.join("")}"`);

// Lines of an indented string: varying indentation, escapes, blank lines.
const indLine = fc.tuple(
  fc.constantFrom("", " ", "  ", "    ", "\t"),
  fc.array(
    fc.oneof(
      fc.string({ maxLength: 5, unit: fc.constantFrom("a", "b", " ", "$", "'", "\\", '"', "é", "{") }),
      fc.constantFrom("''$", "'''", "''\\n", "''\\t", "''\\ ", "$${x}", '${"i"}', "${toString 3}", "''${"),
    ),
    { maxLength: 3 },
  ),
);
const indLiteral = fc
  .tuple(fc.boolean(), fc.array(indLine, { minLength: 1, maxLength: 4 }), fc.constantFrom("", "  ", "\n", "\n  "))
  .map(([nl, lines, tail]) => {
    const body = lines.map(([ind, parts]) => ind + parts.join("").replace(/''(?![$'\\])/g, "x")).join("\n");
    // A lone `'` right before the closing `''` would close early; the fixups keep the text valid.
    const text = `${nl ? "\n" : ""}${body}${tail}`.replace(/'+$/, "");
    return `''${text}''`;
  });

export function intExpr(d: number): fc.Arbitrary<string> {
  return cached(`int${d}`, () => {
    if (d <= 0) return smallInt;
    const i = intExpr(d - 1);
    return fc.oneof(
      { weight: 3, arbitrary: smallInt },
      fc.tuple(i, fc.constantFrom("+", "-", "*"), i).map(([a, op, b]) => paren(`${a} ${op} ${b}`)),
      fc.tuple(i, i).map(([a, b]) => paren(`${a} / ${b}`)),
      fc.tuple(boolExpr(d - 1), i, i).map(([c, a, b]) => paren(`if ${c} then ${a} else ${b}`)),
      fc.tuple(i, i).map(([a, b]) => paren(`let x = ${a}; y = x * 2; in y + ${b}`)),
      listExpr(d - 1).map((l) => paren(`builtins.length ${l}`)),
      strExpr(d - 1).map((s) => paren(`builtins.stringLength ${s}`)),
      fc.array(i, { maxLength: 4 }).map((xs) => paren(`builtins.foldl' (a: b: a + b) 0 [ ${xs.join(" ")} ]`)),
      fc.tuple(ident, i).map(([k, v]) => paren(`{ ${k} = ${v}; }.${k}`)),
      fc.tuple(i, i).map(([a, b]) => paren(`(x: { y ? 2 }: x - y) ${a} { y = ${b}; }`)),
      fc
        .tuple(i, i)
        .map(([a, b]) =>
          paren(`builtins.${["add", "sub", "mul", "div"][Math.abs(a.length + b.length) % 4]} ${a} ${b}`),
        ),
      fc.tuple(i, fc.nat({ max: 3 })).map(([a, n]) => paren(`builtins.elemAt [ ${a} 1 2 ] ${n}`)),
      fc.tuple(i).map(([a]) => paren(`- ${a}`)),
      fc.tuple(attrsExpr(d - 1)).map(([s]) => paren(`builtins.length (builtins.attrNames ${s})`)),
    );
  });
}

export function floatExpr(d: number): fc.Arbitrary<string> {
  return cached(`float${d}`, () => {
    if (d <= 0) return floatLit;
    const f = floatExpr(d - 1);
    return fc.oneof(
      { weight: 2, arbitrary: floatLit },
      fc
        .tuple(f, fc.constantFrom("+", "-", "*", "/"), fc.oneof(f, intExpr(d - 1)))
        .map(([a, op, b]) => paren(`${a} ${op} ${b}`)),
      fc.tuple(intExpr(d - 1), f).map(([a, b]) => paren(`${a} * ${b}`)),
    );
  });
}

export function boolExpr(d: number): fc.Arbitrary<string> {
  return cached(`bool${d}`, () => {
    const leaf = fc.constantFrom("true", "false");
    if (d <= 0) return leaf;
    const b = boolExpr(d - 1);
    const i = intExpr(d - 1);
    const s = strExpr(d - 1);
    return fc.oneof(
      { weight: 2, arbitrary: leaf },
      fc.tuple(b, fc.constantFrom("&&", "||", "->", "==", "!="), b).map(([x, op, y]) => paren(`${x} ${op} ${y}`)),
      b.map((x) => paren(`!${x}`)),
      fc
        .tuple(i, fc.constantFrom("<", "<=", ">", ">=", "==", "!="), fc.oneof(i, floatExpr(d - 1)))
        .map(([x, op, y]) => paren(`${x} ${op} ${y}`)),
      fc.tuple(s, fc.constantFrom("<", "==", ">=", "!="), s).map(([x, op, y]) => paren(`${x} ${op} ${y}`)),
      fc.tuple(attrsExpr(d - 1), ident).map(([a, k]) => paren(`${a} ? ${k}`)),
      fc.tuple(attrsExpr(d - 1), ident, ident).map(([a, k, l]) => paren(`${a} ? ${k}.${l}`)),
      fc.tuple(i, listExpr(d - 1)).map(([x, l]) => paren(`builtins.elem ${x} ${l}`)),
      fc.tuple(anyExpr(d - 1), anyExpr(d - 1)).map(([x, y]) => paren(`${x} == ${y}`)),
      fc
        .tuple(
          fc.constantFrom("isInt", "isFloat", "isString", "isBool", "isNull", "isList", "isAttrs", "isFunction"),
          anyExpr(d - 1),
        )
        .map(([p, x]) => paren(`builtins.${p} ${x}`)),
      fc.tuple(listExpr(d - 1), listExpr(d - 1)).map(([x, y]) => paren(`${x} < ${y}`)),
    );
  });
}

export function strExpr(d: number): fc.Arbitrary<string> {
  return cached(`str${d}`, () => {
    const leaf = fc.oneof({ weight: 3, arbitrary: dqLiteral }, indLiteral);
    if (d <= 0) return leaf;
    const s = strExpr(d - 1);
    const i = intExpr(d - 1);
    return fc.oneof(
      { weight: 3, arbitrary: leaf },
      fc.tuple(s, s).map(([a, b]) => paren(`${a} + ${b}`)),
      fc.tuple(s, i).map(([a, b]) => `"<\${${a}}|\${toString ${b}}>"`),
      fc.tuple(s, s).map(([a, b]) => `''\n  x \${${a}}\n    y\n  \${${b}}''`),
      fc.oneof(i, boolExpr(d - 1), floatExpr(d - 1), listExpr(d - 1)).map((x) => paren(`toString ${x}`)),
      fc.array(s, { maxLength: 3 }).map((xs) => paren(`builtins.concatStringsSep ", " [ ${xs.join(" ")} ]`)),
      // A non-empty ASCII pattern: Nix replaces bytewise, so "" would split UTF-8 characters.
      fc
        .tuple(fc.constantFrom('"a"', '"$"', '"\\n"', '"ab"', "''x''"), s, s)
        .map(([a, b, c]) => paren(`builtins.replaceStrings [ ${a} "b" ] [ ${b} "B" ] ${c}`)),
      fc
        .tuple(fc.nat({ max: 4 }), fc.integer({ min: -1, max: 4 }), fc.constantFrom('"abcdefgh"', '"xy"', '""'))
        .map(([a, b, c]) => paren(`builtins.substring ${a} ${b < 0 ? `(${b})` : b} ${c}`)),
      jsonSafeExpr(d - 1).map((x) => paren(`builtins.toJSON ${x}`)),
      anyExpr(d - 1).map((x) => paren(`builtins.typeOf ${x}`)),
      fc.tuple(ident, s).map(([k, v]) => paren(`let ${k} = ${v}; in ${k} + ${k}`)),
      fc
        .tuple(s, s)
        .map(([a, b]) =>
          paren(`let f = { p, q ? p + "!", ... }@all: q + (all.r or "-"); in f { p = ${a}; r = ${b}; }`),
        ),
      fc.tuple(s).map(([a]) => paren(`({ __functor = self: x: x + self.n; n = ${a}; }) "<"`)),
      fc.tuple(s, s).map(([a, b]) => paren(`let x = ${a}; in with { x = ${b}; y = x; }; x + y`)),
      fc.tuple(s).map(([v]) => paren(`with { w = ${v}; }; w`)),
      fc
        .tuple(s, s)
        .map(([a, b]) => paren(`builtins.fromJSON (builtins.toJSON [ ${a} ${b} ])`))
        .map((x) => paren(`builtins.head ${x}`)),
    );
  });
}

export function listExpr(d: number): fc.Arbitrary<string> {
  return cached(`list${d}`, () => {
    const items = (a: fc.Arbitrary<string>) =>
      fc.array(a, { maxLength: 4 }).map((xs) => (xs.length ? `[ ${xs.join(" ")} ]` : "[ ]"));
    if (d <= 0) return items(fc.oneof(smallInt, dqLiteral, fc.constantFrom("null", "true")));
    const l = listExpr(d - 1);
    const i = intExpr(d - 1);
    return fc.oneof(
      { weight: 2, arbitrary: items(anyExpr(d - 1)) },
      fc.tuple(l, l).map(([a, b]) => paren(`${a} ++ ${b}`)),
      fc.array(i, { maxLength: 4 }).map((xs) => paren(`map (x: x * 2 + 1) [ ${xs.join(" ")} ]`)),
      fc.array(i, { maxLength: 5 }).map((xs) => paren(`builtins.filter (x: x > 0) [ ${xs.join(" ")} ]`)),
      fc.array(i, { maxLength: 5 }).map((xs) => paren(`builtins.sort builtins.lessThan [ ${xs.join(" ")} ]`)),
      fc.array(strExpr(d - 1), { maxLength: 4 }).map((xs) => paren(`builtins.sort (a: b: a < b) [ ${xs.join(" ")} ]`)),
      fc.nat({ max: 5 }).map((n) => paren(`builtins.genList (i: i * i) ${n}`)),
      attrsExpr(d - 1).map((a) => paren(`builtins.attrNames ${a}`)),
      attrsExpr(d - 1).map((a) => paren(`builtins.attrValues ${a}`)),
      l.map((a) => paren(`builtins.tail (${a} ++ [ 0 ])`)),
      fc.array(l, { maxLength: 3 }).map((xs) => paren(`builtins.concatLists [ ${xs.join(" ")} ]`)),
    );
  });
}

function attrKey(): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 4, arbitrary: ident },
    fc.constantFrom(
      '"a b"',
      '""',
      '"${"x"}y"',
      '"é"',
      '"$"',
      '"\\n"',
      '"B"',
      '"10"',
      '"9"',
      '${"dyn"}',
      '"🚀"',
      '"\uE000"',
      '"ｚ"',
    ),
  );
}

export function attrsExpr(d: number): fc.Arbitrary<string> {
  return cached(`attrs${d}`, () => {
    const binds = (v: fc.Arbitrary<string>) =>
      fc
        .uniqueArray(fc.tuple(attrKey(), v), { maxLength: 4, selector: ([k]) => k.replace(/^"(.*)"$/, "$1") })
        .map((kvs) => kvs.map(([k, x]) => `${k} = ${x};`).join(" "));
    if (d <= 0)
      return binds(fc.oneof(smallInt, dqLiteral, fc.constantFrom("null", "false", "[ ]", "{ }"))).map(
        (b) => `{ ${b} }`,
      );
    const a = attrsExpr(d - 1);
    const v = anyExpr(d - 1);
    return fc.oneof(
      { weight: 2, arbitrary: binds(v).map((b) => `{ ${b} }`) },
      binds(v).map((b) => `rec { ${b} }`),
      fc.tuple(a, a).map(([x, y]) => paren(`${x} // ${y}`)),
      fc
        .tuple(ident, ident, v, v)
        .map(([k, l, x, y]) => (k === l ? `{ ${k}.p = ${x}; ${k}.q = ${y}; }` : `{ ${k}.${l} = ${x}; ${l} = ${y}; }`)),
      fc.tuple(v, v).map(([x, y]) => paren(`rec { a = ${x}; b = [ a ${y} ]; c = { inherit a; }; }`)),
      fc.tuple(v, a).map(([x, y]) => paren(`let s = ${y}; a = ${x}; in { inherit a; inherit (s) ; t = s; }`)),
      a.map((x) => paren(`builtins.mapAttrs (n: v: [ n v ]) ${x}`)),
      a.map((x) => paren(`builtins.removeAttrs ${x} [ "a" "x" "foo" ]`)),
      fc
        .array(
          fc.tuple(
            attrKey().filter((k) => !k.startsWith("$")),
            v,
          ),
          { maxLength: 4 },
        )
        .map((kvs) =>
          paren(
            `builtins.listToAttrs [ ${kvs.map(([k, x]) => `{ name = ${k.startsWith('"') ? k : `"${k}"`}; value = ${x}; }`).join(" ")} ]`,
          ),
        ),
      fc.tuple(a, v).map(([x, y]) => paren(`with ${x}; { r = ${y}; }`)),
      fc.tuple(v).map(([x]) => paren(`builtins.tryEval ${x}`)),
      fc.tuple(v).map(([x]) => paren(`builtins.fromJSON (builtins.toJSON { v = ${x}; })`)),
      // Integers beyond 2^53 are a documented error on output (no exact JS number), not tested here.
      fc
        .json({ maxDepth: 2 })
        .filter((j) => !/\d{16,}/.test(j))
        .map((j) => paren(`{ parsed = builtins.fromJSON ${quoteNixString(j)}; }`)),
      fc.tuple(v, v).map(([x, y]) => paren(`{ a = ${x}; b.c = ${y}; } // { a.or = 1; }`)),
    );
  });
}

/** Values whose toJSON is version-independent (no floats, no functions). */
export function jsonSafeExpr(d: number): fc.Arbitrary<string> {
  return cached(`json${d}`, () => {
    const leaf = fc.oneof(smallInt, dqLiteral, fc.constantFrom("null", "true", "false"));
    if (d <= 0) return leaf;
    const j = jsonSafeExpr(d - 1);
    return fc.oneof(
      { weight: 2, arbitrary: leaf },
      fc.array(j, { maxLength: 3 }).map((xs) => `[ ${xs.join(" ")} ]`),
      fc
        .uniqueArray(fc.tuple(ident, j), { maxLength: 3, selector: ([k]) => k })
        .map((kvs) => `{ ${kvs.map(([k, x]) => `${k} = ${x};`).join(" ")} }`),
      intExpr(d - 1),
      strExpr(d - 1),
    );
  });
}

/** Expressions that must fail in both evaluators. */
const failing = fc.constantFrom(
  'throw "boom"',
  "assert 1 == 2; 3",
  '1 + "a"',
  '"a" + 1',
  "{ a = 1; }.b",
  "builtins.head [ ]",
  "1 / 0",
  "1.5 / 0",
  "!1",
  "if 1 then 2 else 3",
  "[ 1 ] ++ 2",
  "{ } // [ ]",
  '"${1}"',
  '"${null}"',
  "(x: x) 1 2",
  "({ a }: a) { b = 1; }",
  "({ a }: a) { }",
  '1 < "a"',
  '[ 1 ] < [ "a" ]',
  "let x = x; in x",
  'abort "stop"',
  "builtins.elemAt [ 1 ] 3",
  'builtins.getAttr "q" { }',
  "{ a = 1; a = 2; }",
  "undefinedVariable",
  'builtins.fromJSON "{"',
  "x: x",
  "[ (x: x) ]",
  "builtins.tail [ ]",
  'builtins.substring (-1) 2 "abc"',
  "9223372036854775808",
  "1 +",
  "{ a = 1 }",
  "let in",
  '"unterminated',
  "1 == 2 == 3",
  "a: b:",
  "builtins.toJSON (x: x)",
);

export function anyExpr(d: number): fc.Arbitrary<string> {
  return cached(`any${d}`, () =>
    fc.oneof(
      { weight: 3, arbitrary: intExpr(d) },
      { weight: 1, arbitrary: floatExpr(d) },
      { weight: 2, arbitrary: boolExpr(d) },
      { weight: 3, arbitrary: strExpr(d) },
      { weight: 2, arbitrary: listExpr(d) },
      { weight: 2, arbitrary: attrsExpr(d) },
      { weight: 1, arbitrary: fc.constant("null") },
    ),
  );
}

/** Top-level generated expressions: mostly valid, some must-fail ones, mixed into valid contexts. */
export const nixExpression: fc.Arbitrary<string> = fc.oneof(
  { weight: 36, arbitrary: anyExpr(3) },
  { weight: 1, arbitrary: failing },
  { weight: 1, arbitrary: fc.tuple(failing, anyExpr(1)).map(([f, x]) => `[ ${x} (${f}) ]`) },
);

// ---------------------------------------------------------------- printer round trip

const adversarial = fc.constantFrom(
  "${",
  "${x}",
  "$${x}",
  "''",
  "''$",
  "'''",
  "''\\",
  "\\",
  "\\\\",
  '"',
  '\\"',
  "\n",
  "\r\n",
  "\r",
  "\t",
  "$",
  "$$",
  "{",
  "}",
  "#",
  "/*",
  "é",
  "✓",
  "🚀",
  "\u2028",
  "\u0001",
  "\u007f",
  "\u00a0",
  " ",
  "or",
  "rec",
  "with",
);
export const nastyString: fc.Arbitrary<string> = fc.oneof(
  fc.array(fc.oneof(adversarial, fc.string({ maxLength: 4 })), { maxLength: 6 }).map((xs) => xs.join("")),
  fc.string({ unit: "binary", maxLength: 8 }).map((s) => s.replace(/\0/g, "")),
  fc.string({ maxLength: 10 }),
);
const nastyKey: fc.Arbitrary<string> = fc.oneof(
  nastyString,
  fc.constantFrom(
    "",
    "a",
    "a-b",
    "a.b",
    "1a",
    "_",
    "if",
    "or",
    "in",
    "__proto__",
    "constructor",
    "10",
    "9",
    "x'",
    "ab c",
    "$",
  ),
);
// Floats that survive Nix 2.8's 6-digit JSON output are compared exactly there; all floats
// are also compared exactly through Nix's own `==` against `builtins.fromJSON`.
const anyFloat = fc.oneof(
  fc.double({ noNaN: true, noDefaultInfinity: true, min: -1e300, max: 1e300 }).filter((x) => !Number.isInteger(x)),
  fc.constantFrom(0.5, -2.25, 1e-7, 1.5e300, 123456.75, 0.1, -0.3, 2 ** 60, 1e21, 2 ** 53 + 2),
  fc.integer({ min: -1e6, max: 1e6 }).map((n) => n / 64),
);
const safeInt = fc.oneof(
  fc.integer({ min: -1000, max: 1000 }),
  fc.maxSafeInteger(),
  fc.constantFrom(Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER, 0, -1),
);

export const jsValue: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    fc.constant(null),
    fc.boolean(),
    safeInt,
    anyFloat,
    nastyString,
    fc.array(tie("value"), { maxLength: 4 }),
    fc.dictionary(nastyKey, tie("value"), { maxKeys: 4, noNullPrototype: true }),
  ),
})).value;
