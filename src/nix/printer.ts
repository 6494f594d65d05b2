// JS value → canonical, readable Nix text. Every string goes through one escaper that
// makes `${` inert, so printed text can never contain code the value did not mean.
import { NixError } from "./errors.ts";
import { nixLimits } from "./limits.ts";
import { compareStrings } from "./values.ts";

const KEYWORDS = new Set(["if", "then", "else", "assert", "with", "let", "in", "rec", "inherit", "or"]);
const BARE_KEY = /^[a-zA-Z_][a-zA-Z0-9_'-]*$/;

/** A Nix double-quoted string literal for `s`. Throws `NixError` (kind "print") if `s` contains NUL. */
export function quoteNixString(s: string): string {
  if (s.includes("\0")) throw new NixError("print", "Nix strings cannot contain NUL characters");
  // `$` is escaped before `{` (interpolation) and before `$` (so `$${` cannot form).
  return `"${s.replace(/["\\\n\r\t]|\$(?=[{$])/g, (c) => escapes[c] ?? `\\${c}`)}"`;
}

const escapes: Record<string, string> = { "\n": "\\n", "\r": "\\r", "\t": "\\t" };

/** An attribute name: bare when it is an identifier (and not a keyword), quoted otherwise. */
export function nixAttrName(k: string): string {
  return BARE_KEY.test(k) && !KEYWORDS.has(k) ? k : quoteNixString(k);
}

function printNumber(n: number, inList: boolean): string {
  if (!Number.isFinite(n)) throw new NixError("print", `Nix has no literal for ${n}`);
  let text: string;
  if (Number.isInteger(n) && Math.abs(n) <= Number.MAX_SAFE_INTEGER) text = String(n);
  else if (n !== 0 && Math.abs(n) < 2.2250738585072014e-308) {
    // Nix rejects subnormal float literals (strtod reports ERANGE); scaling by a power
    // of two is exact, so print the value as an exact division.
    return `(${printNumber(n * 2 ** 600, false)} / ${printNumber(2 ** 600, false)})`;
  } else {
    // Shortest text that reads back to the same double; Nix floats need digits before
    // and after the dot when there is an exponent (`1.0e+21`, not `1e+21`).
    const s = String(Math.abs(n));
    const [mant, exp] = s.split("e") as [string, string | undefined];
    const m = mant.includes(".") ? mant : `${mant}.0`;
    text = `${n < 0 ? "-" : ""}${m}${exp === undefined ? "" : `e${exp}`}`;
  }
  return inList && text.startsWith("-") ? `(${text})` : text;
}

function printBigint(n: bigint, inList: boolean): string {
  if (n > 2n ** 63n - 1n || n < -(2n ** 63n)) throw new NixError("print", `integer ${n} does not fit in 64 bits`);
  // The smallest int has no literal: its absolute value overflows.
  let text = n === -(2n ** 63n) ? "(-9223372036854775807 - 1)" : n.toString();
  if (inList && text.startsWith("-")) text = `(${text})`;
  return text;
}

function isPlainObject(v: object): boolean {
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

function print(v: unknown, indent: string, inList: boolean, seen: Set<object>, at: string): string {
  if (v === null) return "null";
  if (v === true) return "true";
  if (v === false) return "false";
  if (typeof v === "string") return quoteNixString(v);
  if (typeof v === "number") return printNumber(v, inList);
  if (typeof v === "bigint") return printBigint(v, inList);
  if (typeof v === "object") {
    if (seen.has(v)) throw new NixError("print", `cannot print a cyclic value (at ${at || "top level"})`);
    if (seen.size >= nixLimits.nesting) {
      throw new NixError("print", `cannot print a value nested deeper than ${nixLimits.nesting} levels (at ${at})`);
    }
    const inner = `${indent}  `;
    if (Array.isArray(v)) {
      if (v.length === 0) return "[ ]";
      seen.add(v);
      const items = v.map((x, i) => `${inner}${print(x, inner, true, seen, `${at}[${i}]`)}\n`);
      seen.delete(v);
      return `[\n${items.join("")}${indent}]`;
    }
    if (isPlainObject(v)) {
      const keys = Object.keys(v).sort(compareStrings);
      if (keys.length === 0) return "{ }";
      seen.add(v);
      const lines = keys.map((k) => {
        const value = (v as Record<string, unknown>)[k];
        return `${inner}${nixAttrName(k)} = ${print(value, inner, false, seen, at ? `${at}.${k}` : k)};\n`;
      });
      seen.delete(v);
      return `{\n${lines.join("")}${indent}}`;
    }
  }
  const what = v === undefined ? "undefined" : typeof v === "object" ? (v.constructor?.name ?? "object") : typeof v;
  throw new NixError("print", `cannot print ${what} as Nix (at ${at || "top level"})`);
}

/**
 * Prints a JS value as canonical Nix text: sets with keys in Nix's order, two-space
 * indentation, one attribute or list element per line, strings always double-quoted
 * with `\\`, `\"`, `\n`, `\r`, `\t` and `\${` escaped. Integral numbers print as Nix
 * integers, others as floats that read back to the same double; bigints print as
 * 64-bit integers. Accepts null, booleans, strings, finite numbers, bigints, arrays
 * and plain objects. Throws `NixError` (kind "print") for anything else (undefined,
 * functions, symbols, class instances, cycles, NaN/Infinity, bigints beyond 64
 * bits, strings containing NUL, which Nix strings cannot hold) and for values nested
 * deeper than `nixLimits.nesting`.
 */
export function printNix(value: unknown): string {
  return print(value, "", false, new Set(), "");
}
