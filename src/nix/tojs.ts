import { NixError } from "./errors.ts";
import { force, locOf } from "./eval.ts";
import { enter, leave } from "./limits.ts";
import { Lambda, NixAttrs, NixPath, PrimOp, type Value } from "./values.ts";

/** Converts a deeply forced Nix value to plain JS data (see `evaluateNix`). */
export function toJS(v: Value, path = ""): unknown {
  if (typeof v === "bigint") {
    if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER)) {
      throw new NixError("eval", `integer ${v}${where(path)} is outside ±(2^53-1) and cannot be represented exactly`);
    }
    return Number(v);
  }
  if (typeof v === "number" || typeof v === "string" || typeof v === "boolean" || v === null) return v;
  if (v instanceof NixPath) return v.path;
  if (!Array.isArray(v) && !(v instanceof NixAttrs)) return other(v, path);
  enter();
  try {
    return Array.isArray(v) ? v.map((x, i) => toJS(force(x), `${path}[${i}]`)) : attrsToJS(v, path);
  } finally {
    leave();
  }
}

function attrsToJS(v: NixAttrs, path: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of v.keys()) {
    // defineProperty so a key named "__proto__" stays an ordinary own property.
    Object.defineProperty(out, k, {
      value: toJS(force(v.map.get(k)!), path ? `${path}.${k}` : k),
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return out;
}

function other(v: Value, path: string): never {
  if (v instanceof Lambda || v instanceof PrimOp) {
    const loc = v instanceof Lambda ? locOf(v.node) : undefined;
    throw new NixError("eval", `the value${where(path)} is a function; a configuration must be plain data`, loc);
  }
  throw new NixError("eval", `the value${where(path)} cannot be converted to data`);
}

function where(path: string): string {
  return path ? ` at '${path}'` : " (top level)";
}
