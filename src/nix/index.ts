/**
 * nixlab's Nix: a parser for the whole Nix expression language, an evaluator for
 * the pure subset a `vars.nix` uses, and a printer for JS values as Nix text.
 */
import { dirname, resolve } from "node:path";
import type { NixAst } from "./ast.ts";
import { createState, evalFile } from "./builtins.ts";
import { NixError, type NixLocation } from "./errors.ts";
import { checkScopes, deepForce, evalExpr } from "./eval.ts";
import { parse } from "./parser.ts";
import { toJS } from "./tojs.ts";

export type { Expr, NixAst } from "./ast.ts";
export { NixError, type NixLocation } from "./errors.ts";
export { nixAttrName, printNix, quoteNixString } from "./printer.ts";

/**
 * Parses Nix source text (any expression of the Nix language) into an AST.
 * Throws `NixError` (kind "syntax", exit code 2) with the message
 * `file:line:column: expected …, found …` when the text is not valid Nix.
 * `file` names the source in messages (default "<string>").
 */
export function parseNix(source: string, file?: string): NixAst {
  return parse(source, file ?? "<string>");
}

/**
 * Evaluates Nix source text and returns its value fully forced, as plain JSON-like
 * data: sets → plain objects (own keys inserted in Nix's byte order; JS itself lists
 * integer-like keys such as "10" first), lists → arrays,
 * strings, booleans, null, floats → numbers, integers → numbers, paths → absolute
 * path strings. Relative paths and `import`s resolve against `baseDir` (default: the
 * directory of `file` when given, else the current directory); `import`, `readFile`
 * and `pathExists` may only reach files inside `baseDir`'s tree (symlinks resolved).
 *
 * Throws `NixError` (exit code 2; message `file:line:column: …`) when:
 * the text does not parse; a variable is unbound; evaluation fails the way Nix
 * would fail (type errors, missing attributes, `throw`, `abort`, failed `assert`,
 * division by zero, integer overflow, infinite recursion); a file outside `baseDir`'s
 * tree (or in /proc, /sys, /dev) is read; the value contains a
 * function; an integer is outside ±(2^53−1) and so cannot be a JS number exactly;
 * or the expression uses something outside the supported subset (derivations,
 * fetchers, `<nixpkgs>` search paths, impure builtins such as
 * `builtins.currentTime`, copying paths to the store) — then the message names
 * the construct and its location.
 */
export function evaluateNix(source: string, options: { file?: string; baseDir?: string } = {}): unknown {
  const file = options.file ?? "<string>";
  const baseDir = resolve(options.baseDir ?? (options.file ? dirname(resolve(options.file)) : process.cwd()));
  const ast = parse(source, file, baseDir);
  const state = createState(baseDir);
  return run(ast.root.lm.at(0), () => {
    checkScopes(ast.root, { names: state.root.vars!, parent: undefined });
    const value = evalExpr(ast.root, state.root);
    deepForce(value);
    return toJS(value);
  });
}

/**
 * Reads and evaluates a Nix file (`import`s and relative paths resolve against its
 * directory). Same result and errors as `evaluateNix`; also throws `NixError` when
 * the file cannot be read.
 */
export function evaluateNixFile(path: string): unknown {
  const abs = resolve(path);
  const state = createState(dirname(abs));
  return run({ file: abs, line: 1, column: 1 }, () => {
    const value = evalFile(state, abs);
    deepForce(value);
    return toJS(value);
  });
}

/** Runs an evaluation; errors that carry no place of their own get the file's start. */
function run<T>(start: NixLocation, f: () => T): T {
  try {
    return f();
  } catch (err) {
    // Deeply recursive Nix code (or a cyclic value) can exhaust the JS stack.
    if (err instanceof RangeError && /call stack/i.test(err.message)) {
      throw new NixError("eval", "stack overflow (infinite recursion?) while evaluating the expression", start);
    }
    if (err instanceof NixError) err.locate(start);
    throw err;
  }
}
