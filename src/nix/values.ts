// Runtime values of the evaluator. Ints are bigint (exact 64-bit), floats are number,
// strings are JS strings, and everything lazy is a Thunk until forced.
import type { Expr, Formals } from "./ast.ts";
import type { NixLocation } from "./errors.ts";

export class NixPath {
  readonly path: string;
  constructor(path: string) {
    this.path = path;
  }
}

export class NixAttrs {
  readonly map: Map<string, Lazy>;
  private sorted: string[] | undefined;
  constructor(map: Map<string, Lazy> = new Map()) {
    this.map = map;
  }
  /** Attribute names in Nix order (byte order of their UTF-8 encoding). */
  keys(): string[] {
    if (!this.sorted) this.sorted = [...this.map.keys()].sort(compareStrings);
    return this.sorted;
  }
}

export class Lambda {
  readonly arg: string | undefined;
  readonly formals: Formals | undefined;
  readonly body: Expr;
  readonly env: Env;
  readonly node: Expr;
  constructor(node: Extract<Expr, { type: "lambda" }>, env: Env) {
    this.arg = node.arg;
    this.formals = node.formals;
    this.body = node.body;
    this.env = env;
    this.node = node;
  }
}

export interface PrimOpImpl {
  name: string;
  arity: number;
  fn: (args: Lazy[], loc: NixLocation | undefined) => Value;
}

/** The builtins `-`, `*`, `/` and the comparisons desugar to (`__sub` …), when not shadowed. */
export const OPERATOR_IMPLS = new WeakSet<PrimOpImpl>();

/** A builtin, possibly partially applied. */
export class PrimOp {
  readonly impl: PrimOpImpl;
  readonly applied: Lazy[];
  constructor(impl: PrimOpImpl, applied: Lazy[] = []) {
    this.impl = impl;
    this.applied = applied;
  }
}

/** A builtin nixlab deliberately does not implement; any use of it is an error. */
export class Unsupported {
  readonly name: string;
  readonly why: string;
  constructor(name: string, why: string) {
    this.name = name;
    this.why = why;
  }
}

export type Value =
  | bigint
  | number
  | string
  | boolean
  | null
  | NixPath
  | Lazy[]
  | NixAttrs
  | Lambda
  | PrimOp
  | Unsupported;

/** A delayed value: an expression in a scope, or (for builtins like `map`) a computation. */
export class Thunk {
  expr: Expr | undefined;
  env: Env | undefined;
  compute: (() => Value) | undefined;
  value: Value | undefined;
  done = false;
  forcing = false;
  constructor(expr: Expr | undefined, env: Env | undefined, compute?: () => Value) {
    this.expr = expr;
    this.env = env;
    this.compute = compute;
  }
}

export type Lazy = Value | Thunk;

/** A scope: lexical variables, or (when `withValue` is set) the attributes of a `with`. */
export class Env {
  readonly vars: Map<string, Lazy> | undefined;
  readonly withValue: Lazy | undefined;
  readonly parent: Env | undefined;
  constructor(vars: Map<string, Lazy> | undefined, parent: Env | undefined, withValue?: Lazy) {
    this.vars = vars;
    this.parent = parent;
    this.withValue = withValue;
  }
}

/** Nix compares strings by their UTF-8 bytes, which is code point order (not UTF-16 unit order). */
export function compareStrings(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x !== y) {
      // Surrogates (astral code points) sort after every BMP unit above them.
      if (x >= 0xd800 && x <= 0xdfff) x += 0x10000;
      if (y >= 0xd800 && y <= 0xdfff) y += 0x10000;
      return x - y;
    }
  }
  return a.length - b.length;
}

/** `builtins.typeOf` names. */
export function typeOf(v: Value): string {
  if (typeof v === "bigint") return "int";
  if (typeof v === "number") return "float";
  if (typeof v === "string") return "string";
  if (typeof v === "boolean") return "bool";
  if (v === null) return "null";
  if (v instanceof NixPath) return "path";
  if (Array.isArray(v)) return "list";
  if (v instanceof NixAttrs) return "set";
  return "lambda";
}

/** Type names as Nix's error messages show them. */
export function showType(v: Value): string {
  if (typeof v === "bigint") return "an integer";
  if (typeof v === "number") return "a float";
  if (typeof v === "string") return "a string";
  if (typeof v === "boolean") return "a Boolean";
  if (v === null) return "null";
  if (v instanceof NixPath) return "a path";
  if (Array.isArray(v)) return "a list";
  if (v instanceof NixAttrs) return "a set";
  if (v instanceof PrimOp) return "a built-in function";
  return "a function";
}

export const INT_MIN = -(2n ** 63n);
export const INT_MAX = 2n ** 63n - 1n;
