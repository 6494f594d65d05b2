// The evaluator: lazy, call-by-need, with Nix's semantics for the pure subset of the language.
import { posix } from "node:path";
import type { AttrDef, AttrName, Expr } from "./ast.ts";
import { type NixLocation, NixError } from "./errors.ts";
import { allocate, allocateCells, allocateString, CELL_BYTES, enter, leave, SLOT_BYTES, step } from "./limits.ts";
import {
  compareStrings,
  Env,
  INT_MAX,
  INT_MIN,
  Lambda,
  type Lazy,
  NixAttrs,
  NixPath,
  OPERATOR_IMPLS,
  PrimOp,
  showType,
  Thunk,
  Unsupported,
  type Value,
} from "./values.ts";

export function locOf(e: Expr): NixLocation {
  return e.lm.at(e.pos);
}

export function evalError(message: string, loc?: NixLocation): NixError {
  return new NixError("eval", message, loc);
}

export function unsupported(u: Unsupported, loc?: NixLocation): NixError {
  return new NixError("unsupported", `${u.name} is not supported by nixlab's Nix evaluator (${u.why})`, loc);
}

// ---------------------------------------------------------------- forcing

export function force(l: Lazy): Value {
  if (!(l instanceof Thunk)) {
    if (l instanceof Unsupported) throw unsupported(l);
    return l;
  }
  if (l.done) return l.value as Value;
  if (l.forcing) throw evalError("infinite recursion encountered", l.expr ? locOf(l.expr) : undefined);
  l.forcing = true;
  let v: Value;
  try {
    v = l.compute ? l.compute() : evalExpr(l.expr!, l.env!);
  } finally {
    l.forcing = false;
  }
  l.value = v;
  l.done = true;
  l.expr = undefined;
  l.env = undefined;
  l.compute = undefined;
  return v;
}

/** Forces every element and attribute, recursively (what `--strict` and `deepSeq` do). */
export function deepForce(l: Lazy): Value {
  const v = force(l);
  if (!Array.isArray(v) && !(v instanceof NixAttrs)) return v;
  enter();
  try {
    if (Array.isArray(v)) for (const x of v) deepForce(x);
    else for (const k of v.keys()) deepForce(v.map.get(k)!);
  } finally {
    leave();
  }
  return v;
}

export function mkThunk(e: Expr, env: Env): Lazy {
  switch (e.type) {
    case "int":
    case "float":
    case "str":
      return e.value;
    case "lambda":
      return new Lambda(e, env);
    case "var": {
      // A lexically bound variable is shared as is; `with` lookups stay lazy.
      for (let s: Env | undefined = env; s; s = s.parent) {
        if (!s.vars) break;
        const v = s.vars.get(e.name);
        if (v !== undefined && !(v instanceof Unsupported)) return v;
        if (v !== undefined) break;
      }
      return new Thunk(e, env);
    }
    default:
      return new Thunk(e, env);
  }
}

// ---------------------------------------------------------------- type checks

export function expectBool(v: Value, loc?: NixLocation): boolean {
  if (typeof v !== "boolean") throw evalError(`value is ${showType(v)} while a Boolean was expected`, loc);
  return v;
}

export function expectAttrs(v: Value, loc?: NixLocation): NixAttrs {
  if (!(v instanceof NixAttrs)) throw evalError(`value is ${showType(v)} while a set was expected`, loc);
  return v;
}

export function expectList(v: Value, loc?: NixLocation): Lazy[] {
  if (!Array.isArray(v)) throw evalError(`value is ${showType(v)} while a list was expected`, loc);
  return v;
}

export function expectString(v: Value, loc?: NixLocation): string {
  if (typeof v !== "string") throw evalError(`value is ${showType(v)} while a string was expected`, loc);
  return v;
}

export function expectInt(v: Value, loc?: NixLocation): bigint {
  if (typeof v !== "bigint") throw evalError(`value is ${showType(v)} while an integer was expected`, loc);
  return v;
}

export function expectFunction(v: Value, loc?: NixLocation): Value {
  if (!(v instanceof Lambda || v instanceof PrimOp || (v instanceof NixAttrs && v.map.has("__functor")))) {
    throw evalError(`value is ${showType(v)} while a function was expected`, loc);
  }
  return v;
}

export function checkInt(r: bigint, what: string, loc?: NixLocation): bigint {
  if (r < INT_MIN || r > INT_MAX) throw evalError(`integer overflow in ${what}`, loc);
  return r;
}

// ---------------------------------------------------------------- arithmetic and comparison

export function arith(op: "+" | "-" | "*" | "/", a: Value, b: Value, loc?: NixLocation): Value {
  if (typeof a === "bigint" && typeof b === "bigint") {
    if (op === "+") return checkInt(a + b, "addition", loc);
    if (op === "-") return checkInt(a - b, "subtraction", loc);
    if (op === "*") return checkInt(a * b, "multiplication", loc);
    if (b === 0n) throw evalError("division by zero", loc);
    return checkInt(a / b, "division", loc);
  }
  if ((typeof a === "bigint" || typeof a === "number") && (typeof b === "bigint" || typeof b === "number")) {
    const x = Number(a);
    const y = Number(b);
    if (op === "+") return x + y;
    if (op === "-") return x - y;
    if (op === "*") return x * y;
    if (y === 0) throw evalError("division by zero", loc);
    return x / y;
  }
  const bad = typeof a === "bigint" || typeof a === "number" ? b : a;
  throw evalError(`value is ${showType(bad)} while an integer or a float was expected`, loc);
}

export function equals(a: Value, b: Value): boolean {
  if (!Array.isArray(a) && !(a instanceof NixAttrs)) return equalsInner(a, b);
  enter();
  try {
    return equalsInner(a, b);
  } finally {
    leave();
  }
}

function equalsInner(a: Value, b: Value): boolean {
  if (typeof a === "bigint" || typeof a === "number") {
    if (typeof b === "bigint" || typeof b === "number") {
      return typeof a === typeof b ? a === b : Number(a) === Number(b);
    }
    return false;
  }
  if (typeof a === "string" || typeof a === "boolean" || a === null) return a === b;
  if (a instanceof NixPath) return b instanceof NixPath && a.path === b.path;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    step(a.length);
    for (let i = 0; i < a.length; i++) {
      // Nix compares the same list element by identity first (so `[f] == [f]` holds for functions).
      if (a[i] === b[i]) continue;
      if (!equals(force(a[i]!), force(b[i]!))) return false;
    }
    return true;
  }
  if (a instanceof NixAttrs) {
    if (!(b instanceof NixAttrs)) return false;
    if (isDerivation(a) && isDerivation(b)) {
      const x = a.map.get("outPath");
      const y = b.map.get("outPath");
      if (x !== undefined && y !== undefined) return equals(force(x), force(y));
    }
    if (a.map.size !== b.map.size) return false;
    step(a.map.size);
    for (const [k, x] of a.map) {
      const y = b.map.get(k);
      if (y === undefined) return false;
      if (x === y) continue;
      if (!equals(force(x), force(y))) return false;
    }
    return true;
  }
  return false;
}

function isDerivation(a: NixAttrs): boolean {
  const t = a.map.get("type");
  if (t === undefined) return false;
  const v = force(t);
  return v === "derivation";
}

export function lessThan(a: Value, b: Value, loc?: NixLocation): boolean {
  if ((typeof a === "bigint" || typeof a === "number") && (typeof b === "bigint" || typeof b === "number")) {
    return typeof a === typeof b ? a < b : Number(a) < Number(b);
  }
  if (typeof a === "string" && typeof b === "string") return compareStrings(a, b) < 0;
  if (a instanceof NixPath && b instanceof NixPath) return compareStrings(a.path, b.path) < 0;
  if (Array.isArray(a) && Array.isArray(b)) {
    enter(loc);
    try {
      for (let i = 0; ; i++) {
        if (i === b.length) return false;
        if (i === a.length) return true;
        step();
        const x = force(a[i]!);
        const y = force(b[i]!);
        if (!equals(x, y)) return lessThan(x, y, loc);
      }
    } finally {
      leave();
    }
  }
  throw evalError(`cannot compare ${showType(a)} with ${showType(b)}`, loc);
}

// ---------------------------------------------------------------- strings

/** `%f` formatting, which Nix uses for `toString` of floats. */
export function formatFloatF(x: number): string {
  if (Number.isNaN(x)) return x < 0 ? "-nan" : "nan";
  if (!Number.isFinite(x)) return x < 0 ? "-inf" : "inf";
  const neg = x < 0 || Object.is(x, -0);
  const a = Math.abs(x);
  let s: string;
  if (a >= 1e21) s = `${BigInt(a).toString()}.000000`;
  else {
    // printf rounds an exact tie to even; toFixed rounds it up. Doubles below 1e21
    // have exact expansions well within 40 decimals wherever a tie can occur.
    const exact = a.toFixed(40);
    const dot = exact.indexOf(".");
    const kept = exact.slice(0, dot + 7);
    const rest = exact.slice(dot + 7);
    if (/^50*$/.test(rest)) {
      const digits = BigInt(kept.replace(".", ""));
      const rounded = digits % 2n === 0n ? digits : digits + 1n;
      const t = rounded.toString().padStart(7, "0");
      s = `${t.slice(0, -6)}.${t.slice(-6)}`;
    } else s = a.toFixed(6);
  }
  return neg ? `-${s}` : s;
}

/**
 * Nix's coerceToString. `more` is toString's extra leniency (ints, floats, bools,
 * null, lists); `copyToStore` is true where Nix would copy a path into the store,
 * which nixlab cannot do.
 */
export function coerceToString(v: Value, more: boolean, copyToStore: boolean, loc?: NixLocation): string {
  if (typeof v === "string") return v;
  enter(loc);
  try {
    return coerceInner(v, more, copyToStore, loc);
  } finally {
    leave();
  }
}

function coerceInner(v: Value, more: boolean, copyToStore: boolean, loc?: NixLocation): string {
  if (v instanceof NixPath) {
    if (copyToStore) {
      throw new NixError(
        "unsupported",
        `using the path ${v.path} in a string copies it to the Nix store, which nixlab does not support (use toString)`,
        loc,
      );
    }
    return v.path;
  }
  if (v instanceof NixAttrs) {
    const f = v.map.get("__toString");
    if (f !== undefined) return coerceToString(callFunction(force(f), v, loc), more, copyToStore, loc);
    const out = v.map.get("outPath");
    if (out !== undefined) return coerceToString(force(out), more, copyToStore, loc);
  }
  if (more) {
    if (typeof v === "boolean") return v ? "1" : "";
    if (typeof v === "bigint") return v.toString();
    if (typeof v === "number") return formatFloatF(v);
    if (v === null) return "";
    if (Array.isArray(v)) {
      let out = "";
      for (let i = 0; i < v.length; i++) {
        const x = force(v[i]!);
        const s = coerceToString(x, more, copyToStore, loc);
        allocateString(s.length + 1, loc);
        out += s;
        if (i < v.length - 1 && !(Array.isArray(x) && x.length === 0)) out += " ";
      }
      return out;
    }
  }
  throw evalError(`cannot coerce ${showType(v)} to a string`, loc);
}

// ---------------------------------------------------------------- functions

export function callFunction(f: Value, arg: Lazy, loc?: NixLocation): Value {
  if (f instanceof PrimOp) {
    const applied = [...f.applied, arg];
    if (applied.length < f.impl.arity) return new PrimOp(f.impl, applied);
    try {
      return f.impl.fn(applied, loc);
    } catch (err) {
      if (err instanceof NixError) err.locate(loc);
      throw err;
    }
  }
  if (f instanceof Lambda) {
    allocate(CELL_BYTES * (1 + (f.formals?.entries.length ?? 0)), loc);
    const vars = new Map<string, Lazy>();
    const env = new Env(vars, f.env);
    if (f.arg !== undefined) vars.set(f.arg, arg);
    const formals = f.formals;
    if (formals) {
      const attrs = force(arg);
      if (!(attrs instanceof NixAttrs)) {
        throw evalError(`value is ${showType(attrs)} while a set was expected (function argument)`, loc);
      }
      for (const { name, def } of formals.entries) {
        const given = attrs.map.get(name);
        if (given !== undefined) vars.set(name, given);
        else if (def) vars.set(name, mkThunk(def, env));
        else throw evalError(`function at ${fmt(locOf(f.node))} called without required argument '${name}'`, loc);
      }
      if (!formals.ellipsis && attrs.map.size > formals.entries.length) {
        const known = new Set(formals.entries.map((x) => x.name));
        for (const k of attrs.keys()) {
          if (!known.has(k))
            throw evalError(`function at ${fmt(locOf(f.node))} called with unexpected argument '${k}'`, loc);
        }
      }
    }
    return evalExpr(f.body, env);
  }
  if (f instanceof NixAttrs) {
    const functor = f.map.get("__functor");
    if (functor !== undefined) {
      // A functor can return itself, so this recursion need not pass through evalExpr.
      enter(loc);
      try {
        return callFunction(callFunction(force(functor), f, loc), arg, loc);
      } finally {
        leave();
      }
    }
  }
  throw evalError(`attempt to call something which is not a function but ${showType(f)}`, loc);
}

function fmt(l: NixLocation): string {
  return `${l.file}:${l.line}:${l.column}`;
}

// ---------------------------------------------------------------- the evaluator proper

function lookup(name: string, env: Env, e: Expr): Value {
  let withs: Env[] | undefined;
  for (let s: Env | undefined = env; s; s = s.parent) {
    if (s.vars) {
      const v = s.vars.get(name);
      if (v !== undefined) {
        if (v instanceof Unsupported) throw unsupported(v, locOf(e));
        return force(v);
      }
    } else {
      withs ??= [];
      withs.push(s);
    }
  }
  if (withs) {
    for (const w of withs) {
      const attrs = expectAttrs(force(w.withValue!), locOf(e));
      const v = attrs.map.get(name);
      if (v !== undefined) {
        if (v instanceof Unsupported) throw unsupported(v, locOf(e));
        return force(v);
      }
    }
  }
  throw evalError(`undefined variable '${name}'`, locOf(e));
}

function attrName(n: AttrName, env: Env): string | null {
  if (n.name !== undefined) return n.name;
  const v = evalExpr(n.dyn, env);
  if (v === null) return null;
  return expectString(v, locOf(n.dyn));
}

function resolvePathLiteral(raw: string, baseDir: string, loc: NixLocation): string {
  if (raw.startsWith("~")) {
    throw new NixError("unsupported", `home-relative path '${raw}' is not supported (it depends on $HOME)`, loc);
  }
  const resolved = posix.resolve(baseDir, raw);
  // Nix keeps the slash of `./dir/${x}` so the interpolated part starts a new component.
  return raw.endsWith("/") && raw.length > 1 && resolved !== "/" ? `${resolved}/` : resolved;
}

/** Canonical form of a path value: absolute, no `.`/`..`/`//`, no trailing slash. */
export function canonPath(p: string): string {
  const n = posix.normalize(p);
  return n.length > 1 && n.endsWith("/") ? n.slice(0, -1) : n;
}

function buildAttrs(e: Extract<Expr, { type: "attrs" }>, env: Env): NixAttrs {
  allocateCells(e.attrs.size + e.dynamic.length, CELL_BYTES);
  const map = new Map<string, Lazy>();
  let inner = env;
  if (e.rec) inner = new Env(map, env);
  for (const [name, def] of e.attrs) map.set(name, mkThunk(def.value, def.inherited ? env : inner));
  if (e.dynamic.length === 0) return new NixAttrs(map);
  // Dynamic names are not in scope of `rec`; they go into a copy of the map.
  const all = e.rec ? new Map(map) : map;
  for (const d of e.dynamic) {
    const name = attrName({ dyn: d.name }, inner);
    if (name === null) continue;
    if (all.has(name)) throw evalError(`dynamic attribute '${name}' already defined`, e.lm.at(d.pos));
    all.set(name, mkThunk(d.value, inner));
  }
  return new NixAttrs(all);
}

function letEnv(attrs: Map<string, AttrDef>, env: Env): Env {
  allocateCells(attrs.size, CELL_BYTES);
  const vars = new Map<string, Lazy>();
  const inner = new Env(vars, env);
  for (const [name, def] of attrs) vars.set(name, mkThunk(def.value, def.inherited ? env : inner));
  return inner;
}

export function evalExpr(e: Expr, env: Env): Value {
  try {
    enter();
    try {
      step();
      return evalInner(e, env);
    } finally {
      leave();
    }
  } catch (err) {
    if (err instanceof NixError) err.locate(locOf(e));
    throw err;
  }
}

function evalInner(e: Expr, env: Env): Value {
  switch (e.type) {
    case "int":
    case "float":
    case "str":
      return e.value;
    case "var":
      if (e.name === "__curPos") return curPos(e);
      return lookup(e.name, env, e);
    case "interp": {
      let s = "";
      for (const p of e.parts) {
        const part = p.type === "str" ? p.value : coerceToString(evalExpr(p, env), false, true, locOf(p));
        allocateString(part.length);
        s += part;
      }
      return s;
    }
    case "path": {
      const first = e.parts[0]!;
      let s = resolvePathLiteral((first as { value: string }).value, e.lm.baseDir, locOf(e));
      for (let i = 1; i < e.parts.length; i++) {
        const p = e.parts[i]!;
        const part = p.type === "str" ? p.value : coerceToString(evalExpr(p, env), false, false, locOf(p));
        allocateString(part.length);
        s += part;
      }
      return new NixPath(canonPath(s));
    }
    case "spath":
      throw new NixError(
        "unsupported",
        `search path <${e.name}> is not supported (it depends on NIX_PATH; use a relative path instead)`,
        locOf(e),
      );
    case "select": {
      let v = evalExpr(e.expr, env);
      for (const part of e.path) {
        if (!(v instanceof NixAttrs)) {
          if (e.def) return evalExpr(e.def, env);
          throw evalError(`value is ${showType(v)} while a set was expected`, locOf(e));
        }
        const name = attrName(part, env);
        const next = name === null ? undefined : v.map.get(name);
        if (next === undefined) {
          if (e.def) return evalExpr(e.def, env);
          throw evalError(`attribute '${name}' missing`, locOf(e));
        }
        if (next instanceof Unsupported) throw unsupported(next, locOf(e));
        v = force(next);
      }
      return v;
    }
    case "hasAttr": {
      let v = evalExpr(e.expr, env);
      for (const part of e.path) {
        if (!(v instanceof NixAttrs)) return false;
        const name = attrName(part, env);
        const next = name === null ? undefined : v.map.get(name);
        if (next === undefined) return false;
        v = force(next);
      }
      return true;
    }
    case "attrs":
      return buildAttrs(e, env);
    case "list":
      allocateCells(e.items.length, CELL_BYTES);
      return e.items.map((i) => mkThunk(i, env));
    case "let":
      return evalExpr(e.body, letEnv(e.attrs, env));
    case "with":
      return evalExpr(e.body, new Env(undefined, env, mkThunk(e.env, env)));
    case "if":
      return expectBool(evalExpr(e.cond, env), locOf(e.cond)) ? evalExpr(e.then, env) : evalExpr(e.else, env);
    case "assert":
      if (!expectBool(evalExpr(e.cond, env), locOf(e.cond))) throw new NixError("assert", "assertion failed", locOf(e));
      return evalExpr(e.body, env);
    case "lambda":
      return new Lambda(e, env);
    case "call": {
      let f = evalExpr(e.fn, env);
      for (const a of e.args) f = callFunction(f, mkThunk(a, env), locOf(e));
      return f;
    }
    case "not":
      return !expectBool(evalExpr(e.expr, env), locOf(e));
    case "neg":
      return desugared("__sub", 0n, e.expr, env, locOf(e));
    case "op":
      return evalOp(e, env);
  }
}

function curPos(e: Expr): Value {
  const l = locOf(e);
  return new NixAttrs(
    new Map<string, Lazy>([
      ["file", l.file],
      ["line", BigInt(l.line)],
      ["column", BigInt(l.column)],
    ]),
  );
}

function evalOp(e: Extract<Expr, { type: "op" }>, env: Env): Value {
  const loc = locOf(e);
  switch (e.op) {
    case "&&":
      return expectBool(evalExpr(e.left, env), loc) && expectBool(evalExpr(e.right, env), loc);
    case "||":
      return expectBool(evalExpr(e.left, env), loc) || expectBool(evalExpr(e.right, env), loc);
    case "->":
      return !expectBool(evalExpr(e.left, env), loc) || expectBool(evalExpr(e.right, env), loc);
    case "==":
      return equals(evalExpr(e.left, env), evalExpr(e.right, env));
    case "!=":
      return !equals(evalExpr(e.left, env), evalExpr(e.right, env));
    case "<":
      return expectBool(desugared("__lessThan", e.left, e.right, env, loc), loc);
    case ">":
      return expectBool(desugared("__lessThan", e.right, e.left, env, loc), loc);
    case "<=":
      return !expectBool(desugared("__lessThan", e.right, e.left, env, loc), loc);
    case ">=":
      return !expectBool(desugared("__lessThan", e.left, e.right, env, loc), loc);
    case "//": {
      const a = expectAttrs(evalExpr(e.left, env), loc);
      const b = expectAttrs(evalExpr(e.right, env), loc);
      if (a.map.size === 0) return b;
      if (b.map.size === 0) return a;
      allocateCells(a.map.size + b.map.size, SLOT_BYTES, loc);
      return new NixAttrs(new Map([...a.map, ...b.map]));
    }
    case "++": {
      const a = expectList(evalExpr(e.left, env), loc);
      const b = expectList(evalExpr(e.right, env), loc);
      allocateCells(a.length + b.length, SLOT_BYTES, loc);
      return [...a, ...b];
    }
    case "+": {
      const a = evalExpr(e.left, env);
      const b = evalExpr(e.right, env);
      if (typeof a === "bigint" || typeof a === "number") {
        if (typeof b !== "bigint" && typeof b !== "number")
          throw evalError(`cannot add ${showType(b)} to ${showType(a)}`, loc);
        return arith("+", a, b, loc);
      }
      const left = a instanceof NixPath ? a.path : coerceToString(a, false, true, loc);
      const right = coerceToString(b, false, !(a instanceof NixPath), loc);
      allocateString(left.length + right.length, loc);
      if (a instanceof NixPath) return new NixPath(canonPath(left + right));
      return left + right;
    }
    case "-":
      return desugared("__sub", e.left, e.right, env, loc);
    case "*":
      return desugared("__mul", e.left, e.right, env, loc);
    case "/":
      return desugared("__div", e.left, e.right, env, loc);
  }
}

const OPS: Record<string, (a: Value, b: Value, loc: NixLocation) => Value> = {
  __sub: (a, b, loc) => arith("-", a, b, loc),
  __mul: (a, b, loc) => arith("*", a, b, loc),
  __div: (a, b, loc) => arith("/", a, b, loc),
  __lessThan: (a, b, loc) => lessThan(a, b, loc),
};

/**
 * Nix parses `a - b` as `__sub a b` (likewise `*`, `/`, and the comparisons via
 * `__lessThan`), so a binding of that name in scope changes the operator.
 */
function desugared(name: string, left: Expr | bigint, right: Expr, env: Env, loc: NixLocation): Value {
  let f: Lazy | undefined;
  for (let s: Env | undefined = env; s && f === undefined; s = s.parent) f = s.vars?.get(name);
  const fv = f === undefined ? undefined : force(f);
  if (fv instanceof PrimOp && fv.applied.length === 0 && OPERATOR_IMPLS.has(fv.impl)) {
    const a = typeof left === "bigint" ? left : evalExpr(left, env);
    return OPS[name]!(a, evalExpr(right, env), loc);
  }
  if (fv === undefined) throw evalError(`undefined variable '${name}'`, loc);
  const a = typeof left === "bigint" ? left : mkThunk(left, env);
  return callFunction(callFunction(fv, a, loc), mkThunk(right, env), loc);
}

// ---------------------------------------------------------------- static scope check

interface Scope {
  names: ReadonlySet<string> | ReadonlyMap<string, unknown> | undefined;
  parent: Scope | undefined;
}

/**
 * Nix rejects an unbound variable before evaluating anything, unless a `with`
 * could provide it. Throws `NixError` ("undefined variable 'x'") like Nix does.
 */
export function checkScopes(e: Expr, scope: Scope): void {
  const sub = (x: Expr, s: Scope = scope) => checkScopes(x, s);
  const names = (n: AttrName[]) => {
    for (const p of n) if (p.dyn) sub(p.dyn);
  };
  switch (e.type) {
    case "var": {
      if (e.name === "__curPos") return;
      for (let s: Scope | undefined = scope; s; s = s.parent) {
        if (!s.names || s.names.has(e.name)) return;
      }
      throw evalError(`undefined variable '${e.name}'`, locOf(e));
    }
    case "interp":
    case "path":
      for (const p of e.parts) sub(p);
      return;
    case "select":
      sub(e.expr);
      names(e.path);
      if (e.def) sub(e.def);
      return;
    case "hasAttr":
      sub(e.expr);
      names(e.path);
      return;
    case "attrs": {
      const inner: Scope = e.rec ? { names: e.attrs, parent: scope } : scope;
      for (const def of e.attrs.values()) sub(def.value, def.inherited ? scope : inner);
      for (const d of e.dynamic) {
        sub(d.name, inner);
        sub(d.value, inner);
      }
      return;
    }
    case "list":
      for (const i of e.items) sub(i);
      return;
    case "let": {
      const inner: Scope = { names: e.attrs, parent: scope };
      for (const def of e.attrs.values()) sub(def.value, def.inherited ? scope : inner);
      sub(e.body, inner);
      return;
    }
    case "with":
      sub(e.env);
      sub(e.body, { names: undefined, parent: scope });
      return;
    case "if":
      sub(e.cond);
      sub(e.then);
      sub(e.else);
      return;
    case "assert":
      sub(e.cond);
      sub(e.body);
      return;
    case "lambda": {
      const set = new Set<string>();
      if (e.arg !== undefined) set.add(e.arg);
      for (const f of e.formals?.entries ?? []) set.add(f.name);
      const inner: Scope = { names: set, parent: scope };
      for (const f of e.formals?.entries ?? []) if (f.def) sub(f.def, inner);
      sub(e.body, inner);
      return;
    }
    case "call":
      sub(e.fn);
      for (const a of e.args) sub(a);
      return;
    case "op":
      sub(e.left);
      sub(e.right);
      return;
    case "not":
    case "neg":
      sub(e.expr);
      return;
    default:
      return;
  }
}
