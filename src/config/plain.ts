/**
 * The cluster file as plain data. Whatever a loader produced (YAML with aliases, JSON, a
 * TypeScript module's export, a Nix value) is copied into fresh JSON-like data before
 * validation, without recursion, so cycles, absurd nesting, getters that throw and
 * values that are not data become problems with a path instead of crashes.
 */
import type { ConfigProblem, FieldPath } from "./problems.ts";

/** Limits of a cluster file (documented in the README under "Limits"). */
export const configLimits = {
  /** Size of the file in bytes. */
  bytes: 1024 * 1024,
  /** Nesting of objects and lists (Helm values included). */
  depth: 64,
  /** Values in the whole file (every object, list, string, number …). */
  values: 1_000_000,
} as const;

/** What `toPlainData` returns. */
export interface PlainResult {
  /** The copy; parts with problems are left out. */
  value: unknown;
  problems: ConfigProblem[];
}

interface Frame {
  /** Where the copy goes: a property of `target`. */
  target: Record<string, unknown> | unknown[] | undefined;
  key: string | number;
  source: unknown;
  path: FieldPath;
  /** The objects and lists from the top down to `source`'s parent (cycle detection). */
  ancestors: ReadonlySet<object>;
}

const describeKind = (v: object): string =>
  typeof v === "function"
    ? "a function"
    : `a ${(v as { constructor?: { name?: string } }).constructor?.name ?? "non-plain"} object`;

function isPlainObject(v: object): boolean {
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/** Problem for a value that is not JSON-like data, or undefined when it is a scalar we keep. */
function scalarProblem(v: unknown, path: FieldPath): ConfigProblem | undefined {
  if (typeof v === "number" && !Number.isFinite(v)) {
    return {
      path,
      message: `${v} is not a finite number (a number too large, like 1e400, reads as infinity)`,
      fix: "write a finite number",
    };
  }
  if (typeof v === "bigint" || typeof v === "symbol" || typeof v === "function") {
    return {
      path,
      message: `is ${typeof v === "function" ? "a function" : `a ${typeof v}`}, not data`,
      fix: "write plain data",
    };
  }
  return undefined;
}

function set(frame: Frame, value: unknown, root: { value: unknown }): void {
  if (frame.target === undefined) root.value = value;
  else if (Array.isArray(frame.target)) frame.target[frame.key as number] = value;
  // defineProperty so a key named "__proto__" stays an ordinary own property.
  else Object.defineProperty(frame.target, frame.key, { value, enumerable: true, writable: true, configurable: true });
}

/** Own enumerable entries; a getter or proxy that throws becomes a problem. */
function entriesOf(v: object, path: FieldPath, problems: ConfigProblem[]): [string | number, unknown][] {
  const out: [string | number, unknown][] = [];
  let keys: string[];
  try {
    keys = Object.keys(v);
  } catch (error) {
    problems.push({ path, message: `cannot be read: ${errorText(error)}`, fix: "export plain data" });
    return out;
  }
  for (const key of keys) {
    const at = Array.isArray(v) ? Number(key) : key;
    try {
      const item = (v as Record<string, unknown>)[key];
      // An absent optional field written as `undefined` (TypeScript) is left out, as JSON would.
      if (item !== undefined || Array.isArray(v)) out.push([at, item]);
    } catch (error) {
      problems.push({
        path: [...path, at],
        message: `reading it threw: ${errorText(error)}`,
        fix: "export plain data",
      });
    }
  }
  return out;
}

/** A one-line description of anything thrown. */
export function errorText(error: unknown): string {
  if (error instanceof Error) return `${error.name === "Error" ? "" : `${error.name}: `}${error.message}`;
  try {
    return String(error);
  } catch {
    return "an unprintable value";
  }
}

/**
 * Copies `value` into plain data: objects (own enumerable keys; `undefined` members
 * dropped), arrays, strings, finite numbers, booleans and null. Never throws and never
 * recurses; returns one problem per cycle, level past `configLimits.depth`, function,
 * symbol, bigint, non-finite number, class instance (Date, Map, Buffer …), `undefined`
 * list element, or property whose getter throws, and one when there are more than
 * `configLimits.values` values.
 */
export function toPlainData(value: unknown): PlainResult {
  const problems: ConfigProblem[] = [];
  const root: { value: unknown } = { value: undefined };
  const stack: Frame[] = [{ target: undefined, key: 0, source: value, path: [], ancestors: new Set() }];
  let count = 0;
  while (stack.length > 0) {
    if (++count > configLimits.values) {
      problems.push({
        path: [],
        message: `holds more than ${configLimits.values.toLocaleString("en")} values`,
        fix: "a cluster file describes nodes, users and services; keep bulk data elsewhere",
      });
      break;
    }
    const frame = stack.pop()!;
    const v = frame.source;
    if (v === null || typeof v === "string" || typeof v === "boolean" || typeof v === "number") {
      const problem = scalarProblem(v, frame.path);
      if (problem) problems.push(problem);
      else set(frame, v, root);
      continue;
    }
    if (v === undefined) {
      problems.push({
        path: frame.path,
        message: "is undefined, not data",
        fix: "write a value or leave the entry out",
      });
      continue;
    }
    if (typeof v !== "object") {
      problems.push(scalarProblem(v, frame.path)!);
      continue;
    }
    if (frame.ancestors.has(v)) {
      problems.push({
        path: frame.path,
        message: "refers back to itself (a cycle)",
        fix: "write the value out instead",
      });
      continue;
    }
    if (frame.path.length >= configLimits.depth) {
      problems.push({
        path: frame.path.slice(0, 8),
        message: `is nested deeper than ${configLimits.depth} levels`,
        fix: "flatten the structure; nixlab's cluster files nest a few levels",
      });
      continue;
    }
    if (!Array.isArray(v) && !isPlainObject(v)) {
      problems.push({
        path: frame.path,
        message: `is ${describeKind(v)}, not plain data`,
        fix: "write plain data (objects, lists, strings, numbers, booleans)",
      });
      continue;
    }
    const copy: Record<string, unknown> | unknown[] = Array.isArray(v) ? [] : {};
    set(frame, copy, root);
    const ancestors = new Set(frame.ancestors).add(v);
    const entries = entriesOf(v, frame.path, problems);
    for (let i = entries.length - 1; i >= 0; i--) {
      const [key, source] = entries[i]!;
      stack.push({ target: copy, key, source, path: [...frame.path, key], ancestors });
    }
  }
  return { value: root.value, problems };
}
