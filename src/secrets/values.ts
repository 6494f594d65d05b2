// Conversions between document scalars and the typed byte form sops encrypts and
// hashes. Plain YAML scalars are typed the way go-yaml v3 types them when sops
// decodes into interface{}, so both tools agree on every value's type and MAC bytes.
import type { TypedText } from "./cipher.ts";

/** What a plain (unquoted, untagged) YAML scalar means to sops. */
export type Resolved = { kind: "null" } | { kind: "value"; value: TypedText } | { kind: "unsupported"; why: string };

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const UINT64_MAX = 2n ** 64n - 1n;
const YAML_FLOAT = /^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$/;
const NULLS = new Set(["", "~", "null", "Null", "NULL"]);
const TRUES = new Set(["true", "True", "TRUE"]);
const FALSES = new Set(["false", "False", "FALSE"]);
const SPECIAL_FLOATS: Record<string, number> = {
  ".nan": Number.NaN,
  ".NaN": Number.NaN,
  ".NAN": Number.NaN,
  ".inf": Infinity,
  ".Inf": Infinity,
  ".INF": Infinity,
  "+.inf": Infinity,
  "+.Inf": Infinity,
  "+.INF": Infinity,
  "-.inf": -Infinity,
  "-.Inf": -Infinity,
  "-.INF": -Infinity,
};

/** Go's strconv.ParseInt(s, 0, 64) without underscores: sign, then 0x/0o/0b/0 prefixes. */
function parseGoInt(s: string): bigint | null {
  const m = /^([+-]?)(0[xX][0-9a-fA-F]+|0[oO][0-7]+|0[bB][01]+|0[0-7]*|[1-9][0-9]*)$/.exec(s);
  if (!m) return null;
  const body = m[2]!;
  let magnitude: bigint;
  if (/^0[oO]/.test(body)) magnitude = BigInt(`0o${body.slice(2)}`);
  else if (/^0[0-7]+$/.test(body)) magnitude = BigInt(`0o${body.slice(1)}`);
  else magnitude = BigInt(body);
  return m[1] === "-" ? -magnitude : magnitude;
}

/** Go's strconv.FormatFloat(f, 'f', -1, 64): shortest round-trip digits, never an exponent. */
export function formatGoFloat(f: number): string {
  if (Number.isNaN(f)) return "NaN";
  if (f === Infinity) return "+Inf";
  if (f === -Infinity) return "-Inf";
  if (f === 0) return Object.is(f, -0) ? "-0" : "0";
  const sign = f < 0 ? "-" : "";
  const [mant, expPart] = Math.abs(f).toExponential().split("e") as [string, string];
  const digits = mant.replace(".", "");
  const exp = Number(expPart);
  let out: string;
  if (exp >= digits.length - 1) out = digits + "0".repeat(exp - digits.length + 1);
  else if (exp >= 0) out = `${digits.slice(0, exp + 1)}.${digits.slice(exp + 1)}`;
  else out = `0.${"0".repeat(-exp - 1)}${digits}`;
  return sign + out;
}

/** Go's strconv.ParseFloat for the shapes sops writes; null when not a float. */
export function parseGoFloat(text: string): number | null {
  if (/^[+-]?(inf|infinity)$/i.test(text)) return text.startsWith("-") ? -Infinity : Infinity;
  if (/^nan$/i.test(text)) return Number.NaN;
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(text)) return null;
  return Number(text);
}

/** Resolves a plain YAML scalar the way go-yaml v3 does when decoding into interface{}. */
export function resolvePlainYaml(s: string): Resolved {
  if (NULLS.has(s)) return { kind: "null" };
  if (TRUES.has(s)) return { kind: "value", value: { type: "bool", text: "True" } };
  if (FALSES.has(s)) return { kind: "value", value: { type: "bool", text: "False" } };
  const special = Object.hasOwn(SPECIAL_FLOATS, s) ? SPECIAL_FLOATS[s] : undefined;
  if (special !== undefined) return { kind: "value", value: { type: "float", text: formatGoFloat(special) } };
  const first = s[0]!;
  if (first === ".") {
    const f = parseGoFloat(s);
    if (f !== null) return { kind: "value", value: { type: "float", text: formatGoFloat(f) } };
  } else if (first === "+" || first === "-" || (first >= "0" && first <= "9")) {
    const plain = s.replaceAll("_", "");
    const i = parseGoInt(plain);
    if (i !== null && i >= INT64_MIN && i <= INT64_MAX)
      return { kind: "value", value: { type: "int", text: i.toString() } };
    if (i !== null && i > 0n && i <= UINT64_MAX) {
      return {
        kind: "unsupported",
        why: "an integer above the signed 64-bit range (quote it to store it as text)",
      };
    }
    if (YAML_FLOAT.test(plain)) return { kind: "value", value: { type: "float", text: formatGoFloat(Number(plain)) } };
  }
  return { kind: "value", value: { type: "str", text: s } };
}

/** Types a JSON number token like sops' JSON store: int64 when it parses as one, else float64. */
export function resolveJsonNumber(token: string): TypedText {
  if (/^-?(0|[1-9]\d*)$/.test(token)) {
    const i = BigInt(token);
    if (i >= INT64_MIN && i <= INT64_MAX) return { type: "int", text: i.toString() };
  }
  return { type: "float", text: formatGoFloat(Number(token)) };
}

/**
 * The bytes sops hashes for a decrypted value: it parses the plaintext by type and
 * re-serialises it (ints via Itoa, floats via FormatFloat 'f', bools as True/False).
 * Throws Error when the plaintext does not parse as its declared type.
 */
export function canonicalize(value: TypedText): TypedText {
  switch (value.type) {
    case "int": {
      if (!/^[+-]?\d+$/.test(value.text)) throw new Error("int value does not parse");
      return { type: "int", text: BigInt(value.text).toString() };
    }
    case "float": {
      const f = parseGoFloat(value.text);
      if (f === null) throw new Error("float value does not parse");
      return { type: "float", text: formatGoFloat(f) };
    }
    case "bool": {
      if (["1", "t", "T", "TRUE", "true", "True"].includes(value.text)) return { type: "bool", text: "True" };
      if (["0", "f", "F", "FALSE", "false", "False"].includes(value.text)) return { type: "bool", text: "False" };
      throw new Error("bool value does not parse");
    }
    default:
      return value;
  }
}

/** A plain JS value for a typed text (what get() returns). */
export type Scalar = string | number | bigint | boolean;

/** Converts a decrypted typed text into the JS value the library hands out. */
export function toJs(value: TypedText): Scalar {
  switch (value.type) {
    case "int": {
      const i = BigInt(value.text);
      return i >= BigInt(Number.MIN_SAFE_INTEGER) && i <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(i) : i;
    }
    case "float":
      return parseGoFloat(value.text) ?? Number.NaN;
    case "bool":
      return value.text === "True";
    default:
      return value.text;
  }
}

/** Converts a JS value into the typed text sops would encrypt for it. Throws TypeError for other types. */
export function fromJs(value: Scalar): TypedText {
  if (typeof value === "string") return { type: "str", text: value };
  if (typeof value === "boolean") return { type: "bool", text: value ? "True" : "False" };
  if (typeof value === "bigint") return { type: "int", text: value.toString() };
  if (typeof value === "number") {
    return Number.isSafeInteger(value) && !Object.is(value, -0)
      ? { type: "int", text: String(value) }
      : { type: "float", text: formatGoFloat(value) };
  }
  throw new TypeError(`unsupported value type ${typeof value}`);
}

const exactDecoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** `bytes` as text, exactly (a leading BOM is kept), or null when they are not valid UTF-8. */
export function utf8Exact(bytes: Uint8Array): string | null {
  try {
    return exactDecoder.decode(bytes);
  } catch {
    return null;
  }
}
