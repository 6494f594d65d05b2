// The builtins a configuration plausibly uses, with Nix's semantics; every other Nix
// builtin is present as `Unsupported` so using it is a clear error, never a wrong value.
import { createHash } from "node:crypto";
import { existsSync, readFileSync, realpathSync, statSync } from "node:fs";
import { posix } from "node:path";
import { type NixLocation, NixError } from "./errors.ts";
import {
  callFunction,
  canonPath,
  checkInt,
  checkScopes,
  coerceToString,
  deepForce,
  equals,
  evalError,
  evalExpr,
  expectAttrs,
  expectBool,
  expectFunction,
  expectInt,
  expectList,
  expectString,
  force,
  lessThan,
  arith,
} from "./eval.ts";
import { parse } from "./parser.ts";
import {
  Env,
  INT_MAX,
  INT_MIN,
  Lambda,
  type Lazy,
  NixAttrs,
  NixPath,
  OPERATOR_IMPLS,
  PrimOp,
  type PrimOpImpl,
  Thunk,
  typeOf,
  Unsupported,
  type Value,
} from "./values.ts";

const UNSUPPORTED: Record<string, string> = {
  derivation: "derivations need a Nix store",
  derivationStrict: "derivations need a Nix store",
  fetchurl: "fetchers download at evaluation time",
  fetchGit: "fetchers download at evaluation time",
  fetchTarball: "fetchers download at evaluation time",
  fetchTree: "fetchers download at evaluation time",
  fetchMercurial: "fetchers download at evaluation time",
  fetchClosure: "fetchers download at evaluation time",
  getFlake: "flakes need a Nix store",
  currentTime: "it is impure",
  currentSystem: "it is impure",
  getEnv: "it is impure",
  nixPath: "it is impure",
  findFile: "search paths depend on NIX_PATH",
  storeDir: "it needs a Nix store",
  storePath: "it needs a Nix store",
  toFile: "it writes to the Nix store",
  path: "it copies to the Nix store",
  filterSource: "it copies to the Nix store",
  placeholder: "it is for derivations",
  exec: "it runs programs",
  importNative: "it loads native code",
  scopedImport: "outside the subset nixlab evaluates",
  readDir: "outside the subset nixlab evaluates",
  hashFile: "outside the subset nixlab evaluates",
  toXML: "outside the subset nixlab evaluates",
  toPath: "it is deprecated",
  match: "regular expression semantics differ",
  split: "regular expression semantics differ",
  fromTOML: "outside the subset nixlab evaluates",
  nixVersion: "results would differ by Nix version",
  langVersion: "results would differ by Nix version",
  splitVersion: "outside the subset nixlab evaluates",
  compareVersions: "outside the subset nixlab evaluates",
  parseDrvName: "outside the subset nixlab evaluates",
  genericClosure: "outside the subset nixlab evaluates",
  getContext: "string contexts are not modelled",
  hasContext: "string contexts are not modelled",
  appendContext: "string contexts are not modelled",
  unsafeDiscardStringContext: "string contexts are not modelled",
  unsafeDiscardOutputDependency: "string contexts are not modelled",
  unsafeGetAttrPos: "outside the subset nixlab evaluates",
  addErrorContext: "outside the subset nixlab evaluates",
  traceVerbose: "outside the subset nixlab evaluates",
  break: "outside the subset nixlab evaluates",
};

// Names Nix also binds at top level (without `builtins.`).
const GLOBAL = [
  "abort",
  "baseNameOf",
  "break",
  "derivation",
  "dirOf",
  "fetchGit",
  "fetchMercurial",
  "fetchTarball",
  "fetchTree",
  "fromTOML",
  "import",
  "isNull",
  "map",
  "placeholder",
  "removeAttrs",
  "scopedImport",
  "throw",
  "toString",
];

/** Converts a JSON text to Nix values exactly (integers stay exact 64-bit). */
export function fromJSON(text: string, loc?: NixLocation): Value {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text, function (this: unknown, _key: string, value: unknown, ctx?: { source?: string }) {
      if (typeof value === "number") {
        const src = ctx?.source ?? String(value);
        if (/^-?\d+$/.test(src)) {
          const n = BigInt(src);
          if (n < INT_MIN || n > INT_MAX) throw evalError(`integer ${src} in JSON does not fit in 64 bits`, loc);
          return n;
        }
        return value;
      }
      if (Array.isArray(value)) return value;
      if (value !== null && typeof value === "object") {
        return new NixAttrs(new Map(Object.entries(value as Record<string, Lazy>)));
      }
      return value;
    });
  } catch (err) {
    if (err instanceof NixError) throw err;
    throw evalError(`invalid JSON: ${(err as Error).message}`, loc);
  }
  return parsed as Value;
}

/** Escapes a string like Nix's JSON writer (control characters as \u00XX). */
export function jsonString(s: string): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (ch === '"' || ch === "\\") out += `\\${ch}`;
    else if (ch === "\n") out += "\\n";
    else if (ch === "\r") out += "\\r";
    else if (ch === "\t") out += "\\t";
    else if (c < 0x20) out += `\\u${c.toString(16).padStart(4, "0")}`;
    else out += ch;
  }
  return `${out}"`;
}

export function toJSON(v: Value, loc?: NixLocation): string {
  if (v === null) return "null";
  if (typeof v === "boolean") return v ? "true" : "false";
  if (typeof v === "bigint") return v.toString();
  if (typeof v === "number") {
    if (!Number.isFinite(v)) throw evalError("cannot convert a non-finite float to JSON", loc);
    return String(v);
  }
  if (typeof v === "string") return jsonString(v);
  if (v instanceof NixPath) {
    throw new NixError("unsupported", `converting the path ${v.path} to JSON copies it to the Nix store`, loc);
  }
  if (Array.isArray(v)) return `[${v.map((x) => toJSON(force(x), loc)).join(",")}]`;
  if (v instanceof NixAttrs) {
    if (v.map.has("__toString")) return jsonString(coerceToString(v, false, true, loc));
    const out = v.map.get("outPath");
    if (out !== undefined) return toJSON(force(out), loc);
    return `{${v
      .keys()
      .map((k) => `${jsonString(k)}:${toJSON(force(v.map.get(k)!), loc)}`)
      .join(",")}}`;
  }
  throw evalError("cannot convert a function to JSON", loc);
}

function byteLength(s: string): number {
  return Buffer.byteLength(s, "utf8");
}

function attrs(entries: [string, Lazy][]): NixAttrs {
  return new NixAttrs(new Map(entries));
}

/** Shared by one evaluation: the root scope, the import cache and where files may be read. */
export interface EvalState {
  root: Env;
  imports: Map<string, Value>;
  importing: Set<string>;
  /** The directory tree (real path) `import`, `readFile` and `pathExists` are confined to. */
  fileRoot: string;
}

/** Largest file `readFile`/`import` read (a cluster's files are small; this keeps a stray huge one out of memory). */
const MAX_FILE_BYTES = 16 * 1024 * 1024;
/** Kernel pseudo-filesystems: never configuration, and /proc/self/environ holds the environment. */
const PSEUDO_FS = ["/proc", "/sys", "/dev"];

const within = (path: string, dir: string) => path === dir || path.startsWith(dir === "/" ? "/" : `${dir}/`);

/** The real path of `path` (symlinks resolved); for a path that does not exist, of its nearest existing ancestor plus the rest. */
function realPath(path: string): string {
  try {
    return realpathSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== "ENOENT" && code !== "ENOTDIR") throw err;
    const parent = posix.dirname(path);
    return parent === path ? path : posix.join(realPath(parent), posix.basename(path));
  }
}

/**
 * The real path of `path` if vars.nix may access it: inside the evaluation's file root
 * after resolving symlinks and `..`, and not in a kernel pseudo-filesystem. Throws
 * NixError naming the path and the root otherwise.
 */
function confined(state: EvalState, path: string, what: string, loc?: NixLocation): string {
  let real: string;
  try {
    real = realPath(path);
  } catch (err) {
    throw evalError(`cannot ${what} ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, loc);
  }
  if (!within(real, state.fileRoot) || PSEUDO_FS.some((d) => within(real, d))) {
    const via = real === path ? "" : ` (it resolves to ${real})`;
    throw evalError(
      `cannot ${what} ${path}${via}: a cluster file may only read files in its own directory tree, ${state.fileRoot}`,
      loc,
    );
  }
  return real;
}

/** The text of regular file `real` (already confined), or NixError. */
function readConfined(real: string, shown: string, loc?: NixLocation): string {
  try {
    const st = statSync(real);
    if (!st.isFile()) throw evalError(`cannot read ${shown}: it is not a regular file`, loc);
    if (st.size > MAX_FILE_BYTES)
      throw evalError(`cannot read ${shown}: it is larger than ${MAX_FILE_BYTES} bytes`, loc);
    return readFileSync(real, "utf8");
  } catch (err) {
    if (err instanceof NixError) throw err;
    throw evalError(`cannot read ${shown}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, loc);
  }
}

/** Parses, scope-checks and evaluates one file in the root scope (cached, like Nix's import). */
export function evalFile(state: EvalState, file: string, loc?: NixLocation): Value {
  let path = file;
  let real = confined(state, path, "import", loc);
  if (existsSync(real) && statSync(real).isDirectory()) {
    path = posix.join(path, "default.nix");
    real = confined(state, path, "import", loc);
  }
  const cached = state.imports.get(path);
  if (cached !== undefined) return cached;
  if (state.importing.has(path)) throw evalError(`infinite recursion: ${path} imports itself`, loc);
  const source = readConfined(real, path, loc);
  state.importing.add(path);
  try {
    const ast = parse(source, path, posix.dirname(path));
    checkScopes(ast.root, { names: state.root.vars!, parent: undefined });
    const v = evalExpr(ast.root, state.root);
    state.imports.set(path, v);
    return v;
  } finally {
    state.importing.delete(path);
  }
}

function pathArg(v: Value, what: string, loc?: NixLocation): string {
  if (v instanceof NixPath) return v.path;
  const s = coerceToString(v, false, false, loc);
  if (!s.startsWith("/")) throw evalError(`string '${s}' passed to ${what} is not an absolute path`, loc);
  return canonPath(s);
}

/**
 * Creates the root scope (`builtins`, the top-level builtins, `true`, `false`, `null`)
 * of an evaluation whose file access is confined to `fileRoot` (see `confined`).
 */
export function createState(fileRoot: string): EvalState {
  const vars = new Map<string, Lazy>();
  const state: EvalState = {
    root: new Env(vars, undefined),
    imports: new Map(),
    importing: new Set(),
    fileRoot: realPath(posix.resolve(fileRoot)),
  };
  const table = new Map<string, Lazy>();
  const def = (name: string, arity: number, fn: PrimOpImpl["fn"]) => {
    table.set(name, new PrimOp({ name, arity, fn }));
  };
  const F = force;

  def("abort", 1, ([m], loc) => {
    throw new NixError(
      "eval",
      `evaluation aborted with the following error message: '${coerceToString(F(m!), true, false, loc)}'`,
      loc,
    );
  });
  def("throw", 1, ([m], loc) => {
    throw new NixError("thrown", coerceToString(F(m!), true, false, loc), loc);
  });
  def("tryEval", 1, ([e]) => {
    try {
      return attrs([
        ["success", true],
        ["value", F(e!)],
      ]);
    } catch (err) {
      if (err instanceof NixError && (err.kind === "thrown" || err.kind === "assert")) {
        return attrs([
          ["success", false],
          ["value", false],
        ]);
      }
      throw err;
    }
  });
  def("seq", 2, ([a, b]) => {
    F(a!);
    return F(b!);
  });
  def("deepSeq", 2, ([a, b]) => {
    deepForce(a!);
    return F(b!);
  });
  def("trace", 2, ([a, b], loc) => {
    const v = F(a!);
    process.stderr.write(`trace: ${typeof v === "string" ? v : toJSON(deepForce(v), loc)}\n`);
    return F(b!);
  });
  def("import", 1, ([p], loc) => evalFile(state, pathArg(F(p!), "import", loc), loc));
  def("readFile", 1, ([p], loc) => {
    const path = pathArg(F(p!), "readFile", loc);
    return readConfined(confined(state, path, "read", loc), path, loc);
  });
  def("pathExists", 1, ([p], loc) => {
    const path = pathArg(F(p!), "pathExists", loc);
    return existsSync(confined(state, path, "look for", loc));
  });
  def("baseNameOf", 1, ([p], loc) => {
    const s = coerceToString(F(p!), false, false, loc);
    const t = s.endsWith("/") ? s.slice(0, -1) : s;
    return t.slice(t.lastIndexOf("/") + 1);
  });
  def("dirOf", 1, ([p], loc) => {
    const v = F(p!);
    const s = coerceToString(v, false, false, loc);
    const i = s.lastIndexOf("/");
    const d = i === -1 ? "." : i === 0 ? "/" : s.slice(0, i);
    return v instanceof NixPath ? new NixPath(d) : d;
  });
  def("toString", 1, ([v], loc) => coerceToString(F(v!), true, false, loc));
  def("typeOf", 1, ([v]) => typeOf(F(v!)));
  def("isNull", 1, ([v]) => F(v!) === null);
  def("isInt", 1, ([v]) => typeof F(v!) === "bigint");
  def("isFloat", 1, ([v]) => typeof F(v!) === "number");
  def("isString", 1, ([v]) => typeof F(v!) === "string");
  def("isBool", 1, ([v]) => typeof F(v!) === "boolean");
  def("isPath", 1, ([v]) => F(v!) instanceof NixPath);
  def("isList", 1, ([v]) => Array.isArray(F(v!)));
  def("isAttrs", 1, ([v]) => F(v!) instanceof NixAttrs);
  def("isFunction", 1, ([v]) => {
    const x = F(v!);
    return x instanceof Lambda || x instanceof PrimOp;
  });
  def("add", 2, ([a, b], loc) => arith("+", F(a!), F(b!), loc));
  def("sub", 2, ([a, b], loc) => arith("-", F(a!), F(b!), loc));
  def("mul", 2, ([a, b], loc) => arith("*", F(a!), F(b!), loc));
  def("div", 2, ([a, b], loc) => arith("/", F(a!), F(b!), loc));
  def("lessThan", 2, ([a, b], loc) => lessThan(F(a!), F(b!), loc));
  for (const name of ["sub", "mul", "div", "lessThan"]) OPERATOR_IMPLS.add((table.get(name) as PrimOp).impl);
  def("bitAnd", 2, ([a, b], loc) => expectInt(F(a!), loc) & expectInt(F(b!), loc));
  def("bitOr", 2, ([a, b], loc) => expectInt(F(a!), loc) | expectInt(F(b!), loc));
  def("bitXor", 2, ([a, b], loc) => expectInt(F(a!), loc) ^ expectInt(F(b!), loc));
  def("floor", 1, ([a], loc) => {
    const v = F(a!);
    return typeof v === "bigint" ? v : checkInt(BigInt(Math.floor(Number(arith("+", v, 0n, loc)))), "floor", loc);
  });
  def("ceil", 1, ([a], loc) => {
    const v = F(a!);
    return typeof v === "bigint" ? v : checkInt(BigInt(Math.ceil(Number(arith("+", v, 0n, loc)))), "ceil", loc);
  });

  // Lists
  def("length", 1, ([l], loc) => BigInt(expectList(F(l!), loc).length));
  def("head", 1, ([l], loc) => {
    const list = expectList(F(l!), loc);
    if (list.length === 0) throw evalError("list index 0 is out of bounds", loc);
    return F(list[0]!);
  });
  def("tail", 1, ([l], loc) => {
    const list = expectList(F(l!), loc);
    if (list.length === 0) throw evalError("'tail' called on an empty list", loc);
    return list.slice(1);
  });
  def("elemAt", 2, ([l, n], loc) => {
    const list = expectList(F(l!), loc);
    const i = expectInt(F(n!), loc);
    if (i < 0n || i >= BigInt(list.length)) throw evalError(`list index ${i} is out of bounds`, loc);
    return F(list[Number(i)]!);
  });
  def("elem", 2, ([x, l], loc) => {
    // `x` is forced only when there is something to compare it with, as in Nix.
    return expectList(F(l!), loc).some((y) => equals(F(x!), F(y)));
  });
  def("map", 2, ([f, l], loc) => {
    const fn = F(f!);
    return expectList(F(l!), loc).map((x) => lazyCall(fn, [x], loc));
  });
  def("filter", 2, ([f, l], loc) => {
    const fn = expectFunction(F(f!), loc);
    return expectList(F(l!), loc).filter((x) => expectBool(callFunction(fn, x, loc), loc));
  });
  def("concatLists", 1, ([l], loc) => expectList(F(l!), loc).flatMap((x) => expectList(F(x), loc)));
  def("concatMap", 2, ([f, l], loc) => {
    const fn = expectFunction(F(f!), loc);
    return expectList(F(l!), loc).flatMap((x) => expectList(callFunction(fn, x, loc), loc));
  });
  def("any", 2, ([f, l], loc) => {
    const fn = expectFunction(F(f!), loc);
    return expectList(F(l!), loc).some((x) => expectBool(callFunction(fn, x, loc), loc));
  });
  def("all", 2, ([f, l], loc) => {
    const fn = expectFunction(F(f!), loc);
    return expectList(F(l!), loc).every((x) => expectBool(callFunction(fn, x, loc), loc));
  });
  def("foldl'", 3, ([f, z, l], loc) => {
    const fn = expectFunction(F(f!), loc);
    const list = expectList(F(l!), loc);
    // The start value is forced only if the function uses it (or the list is empty).
    let acc: Lazy = z!;
    for (const x of list) acc = callFunction(callFunction(fn, acc, loc), x, loc);
    return F(acc);
  });
  def("genList", 2, ([f, n], loc) => {
    const fn = expectFunction(F(f!), loc);
    const count = expectInt(F(n!), loc);
    if (count < 0n) throw evalError(`cannot create list of size ${count}`, loc);
    return Array.from({ length: Number(count) }, (_, i) => lazyCall(fn, [BigInt(i)], loc));
  });
  def("sort", 2, ([f, l], loc) => {
    const fn = expectFunction(F(f!), loc);
    const list = [...expectList(F(l!), loc)];
    // Nix forces every element before sorting, even a single one.
    for (const x of list) F(x);
    const lt = (a: Lazy, b: Lazy) => expectBool(callFunction(callFunction(fn, a, loc), b, loc), loc);
    // A stable merge sort, as Nix uses std::stable_sort with the user's "less than".
    const sortRange = (xs: Lazy[]): Lazy[] => {
      if (xs.length <= 1) return xs;
      const mid = xs.length >> 1;
      const a = sortRange(xs.slice(0, mid));
      const b = sortRange(xs.slice(mid));
      const out: Lazy[] = [];
      let i = 0;
      let j = 0;
      while (i < a.length && j < b.length) out.push(lt(b[j]!, a[i]!) ? b[j++]! : a[i++]!);
      return out.concat(a.slice(i), b.slice(j));
    };
    return sortRange(list);
  });
  def("partition", 2, ([f, l], loc) => {
    const fn = expectFunction(F(f!), loc);
    const right: Lazy[] = [];
    const wrong: Lazy[] = [];
    for (const x of expectList(F(l!), loc)) (expectBool(callFunction(fn, x, loc), loc) ? right : wrong).push(x);
    return attrs([
      ["right", right],
      ["wrong", wrong],
    ]);
  });
  def("groupBy", 2, ([f, l], loc) => {
    const fn = expectFunction(F(f!), loc);
    const groups = new Map<string, Lazy[]>();
    for (const x of expectList(F(l!), loc)) {
      const k = expectString(callFunction(fn, x, loc), loc);
      const g = groups.get(k);
      if (g) g.push(x);
      else groups.set(k, [x]);
    }
    return new NixAttrs(new Map(groups));
  });

  // Attribute sets
  def("attrNames", 1, ([a], loc) => expectAttrs(F(a!), loc).keys());
  def("attrValues", 1, ([a], loc) => {
    const s = expectAttrs(F(a!), loc);
    return s.keys().map((k) => s.map.get(k)!);
  });
  def("hasAttr", 2, ([n, a], loc) => expectAttrs(F(a!), loc).map.has(expectString(F(n!), loc)));
  def("getAttr", 2, ([n, a], loc) => {
    const name = expectString(F(n!), loc);
    const v = expectAttrs(F(a!), loc).map.get(name);
    if (v === undefined) throw evalError(`attribute '${name}' missing`, loc);
    return F(v);
  });
  def("removeAttrs", 2, ([a, names], loc) => {
    const map = new Map(expectAttrs(F(a!), loc).map);
    for (const n of expectList(F(names!), loc)) map.delete(expectString(F(n), loc));
    return new NixAttrs(map);
  });
  def("intersectAttrs", 2, ([a, b], loc) => {
    const x = expectAttrs(F(a!), loc);
    const y = expectAttrs(F(b!), loc);
    return new NixAttrs(new Map([...y.map].filter(([k]) => x.map.has(k))));
  });
  def("catAttrs", 2, ([n, l], loc) => {
    const name = expectString(F(n!), loc);
    const out: Lazy[] = [];
    for (const x of expectList(F(l!), loc)) {
      const v = expectAttrs(F(x), loc).map.get(name);
      if (v !== undefined) out.push(v);
    }
    return out;
  });
  def("listToAttrs", 1, ([l], loc) => {
    const map = new Map<string, Lazy>();
    for (const x of expectList(F(l!), loc)) {
      const e = expectAttrs(F(x), loc);
      const name = e.map.get("name");
      const value = e.map.get("value");
      if (name === undefined) throw evalError("attribute 'name' missing in a call to 'listToAttrs'", loc);
      if (value === undefined) throw evalError("attribute 'value' missing in a call to 'listToAttrs'", loc);
      const k = expectString(F(name), loc);
      // The first occurrence of a name wins.
      if (!map.has(k)) map.set(k, value);
    }
    return new NixAttrs(map);
  });
  def("mapAttrs", 2, ([f, a], loc) => {
    const fn = F(f!);
    const s = expectAttrs(F(a!), loc);
    return new NixAttrs(new Map([...s.map].map(([k, v]) => [k, lazyCall(fn, [k, v], loc)])));
  });
  def("zipAttrsWith", 2, ([f, l], loc) => {
    const fn = F(f!);
    const groups = new Map<string, Lazy[]>();
    for (const x of expectList(F(l!), loc)) {
      for (const [k, v] of expectAttrs(F(x), loc).map) {
        const g = groups.get(k);
        if (g) g.push(v);
        else groups.set(k, [v]);
      }
    }
    return new NixAttrs(new Map([...groups].map(([k, vs]) => [k, lazyCall(fn, [k, vs], loc)])));
  });
  def("functionArgs", 1, ([f], loc) => {
    const v = expectFunction(F(f!), loc);
    if (!(v instanceof Lambda) || !v.formals) return new NixAttrs();
    return new NixAttrs(new Map(v.formals.entries.map((e) => [e.name, e.def !== undefined])));
  });

  // Strings
  def("stringLength", 1, ([s], loc) => BigInt(byteLength(coerceToString(F(s!), false, false, loc))));
  def("substring", 3, ([st, len, s], loc) => {
    const start = expectInt(F(st!), loc);
    const n = expectInt(F(len!), loc);
    const str = coerceToString(F(s!), false, false, loc);
    if (start < 0n) throw evalError("negative start position in 'substring'", loc);
    // Nix counts bytes; work on the UTF-8 encoding.
    const bytes = Buffer.from(str, "utf8");
    const from = Number(start > BigInt(bytes.length) ? BigInt(bytes.length) : start);
    const to = n < 0n ? bytes.length : Math.min(bytes.length, from + Number(n > 2n ** 52n ? 2n ** 52n : n));
    const out = bytes.subarray(from, to);
    const text = out.toString("utf8");
    if (Buffer.byteLength(text) !== out.length) {
      throw new NixError("unsupported", "substring would split a multi-byte UTF-8 character", loc);
    }
    return text;
  });
  def("concatStringsSep", 2, ([sep, l], loc) => {
    const s = expectString(F(sep!), loc);
    return expectList(F(l!), loc)
      .map((x) => coerceToString(F(x), false, true, loc))
      .join(s);
  });
  def("replaceStrings", 3, ([from, to, s], loc) => {
    const froms = expectList(F(from!), loc).map((x) => expectString(F(x), loc));
    const tos = expectList(F(to!), loc);
    if (froms.length !== tos.length) {
      throw evalError("'from' and 'to' arguments passed to builtins.replaceStrings have different lengths", loc);
    }
    const toStr: (string | undefined)[] = tos.map(() => undefined);
    const str = expectString(F(s!), loc);
    if (froms.includes("") && /[^\p{ASCII}]/u.test(str)) {
      // Nix inserts between bytes, splitting UTF-8 characters into invalid text.
      throw new NixError(
        "unsupported",
        "replaceStrings with an empty pattern on non-ASCII text splits characters",
        loc,
      );
    }
    let out = "";
    let i = 0;
    while (i <= str.length) {
      let found = false;
      for (let k = 0; k < froms.length; k++) {
        const f = froms[k]!;
        if (str.startsWith(f, i)) {
          toStr[k] ??= expectString(F(tos[k]!), loc);
          out += toStr[k];
          found = true;
          if (f.length === 0) {
            if (i < str.length) out += str[i];
            i++;
          } else i += f.length;
          break;
        }
      }
      if (!found) {
        if (i < str.length) out += str[i];
        i++;
      }
    }
    return out;
  });
  def("hashString", 2, ([t, s], loc) => {
    const type = expectString(F(t!), loc);
    if (!["md5", "sha1", "sha256", "sha512"].includes(type)) throw evalError(`unknown hash algorithm '${type}'`, loc);
    return createHash(type)
      .update(expectString(F(s!), loc), "utf8")
      .digest("hex");
  });
  def("fromJSON", 1, ([s], loc) => fromJSON(expectString(F(s!), loc), loc));
  def("toJSON", 1, ([v], loc) => toJSON(deepForce(v!), loc));

  for (const [name, why] of Object.entries(UNSUPPORTED)) table.set(name, new Unsupported(`builtins.${name}`, why));
  table.set("true", true);
  table.set("false", false);
  table.set("null", null);
  const builtins = new NixAttrs(table);
  table.set("builtins", builtins);

  vars.set("builtins", builtins);
  vars.set("true", true);
  vars.set("false", false);
  vars.set("null", null);
  for (const name of GLOBAL) {
    const v = table.get(name);
    if (v instanceof Unsupported) vars.set(name, new Unsupported(name, v.why));
    else if (v !== undefined) vars.set(name, v);
  }
  for (const [name, v] of table) {
    if (!["true", "false", "null", "builtins"].includes(name)) {
      vars.set(`__${name}`, v instanceof Unsupported ? new Unsupported(`__${name}`, v.why) : v);
    }
  }
  return state;
}

/** `f a b` as a thunk: map/mapAttrs/genList results stay lazy like in Nix. */
function lazyCall(fn: Value, args: Lazy[], loc?: NixLocation): Lazy {
  return new Thunk(undefined, undefined, () => {
    let v = fn;
    for (const a of args) v = callFunction(v, a, loc);
    return v;
  });
}
