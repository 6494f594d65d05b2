// Recursive-descent parser for the whole Nix expression grammar (parser.y of Nix 2.x),
// with the same operator precedences and associativity.
import type { AttrDef, AttrName, BinaryOp, Expr, Formals, NixAst } from "./ast.ts";
import { LineMap, NixError } from "./errors.ts";
import { type Token, tokenize } from "./lexer.ts";
import { nixLimits } from "./limits.ts";

type AttrsNode = Extract<Expr, { type: "attrs" }>;

// Binary operators: precedence (higher binds tighter) and associativity, from parser.y.
const BINARY: Record<string, { prec: number; assoc: "left" | "right" | "none" }> = {
  "->": { prec: 1, assoc: "right" },
  "||": { prec: 2, assoc: "left" },
  "&&": { prec: 3, assoc: "left" },
  "==": { prec: 4, assoc: "none" },
  "!=": { prec: 4, assoc: "none" },
  "<": { prec: 5, assoc: "none" },
  ">": { prec: 5, assoc: "none" },
  "<=": { prec: 5, assoc: "none" },
  ">=": { prec: 5, assoc: "none" },
  "//": { prec: 6, assoc: "right" },
  "+": { prec: 8, assoc: "left" },
  "-": { prec: 8, assoc: "left" },
  "*": { prec: 9, assoc: "left" },
  "/": { prec: 9, assoc: "left" },
  "++": { prec: 10, assoc: "right" },
};
const NOT_PREC = 7;
const HAS_ATTR_PREC = 11;
const NEGATE_PREC = 12;

/** Tokens that can start an `expr_select` (an application argument or list element). */
const SIMPLE_START = new Set([
  "id",
  "int",
  "float",
  '"',
  "''open",
  "path",
  "hpath",
  "spath",
  "uri",
  "(",
  "{",
  "[",
  "rec",
  "let",
]);

const DESCRIBE: Record<string, string> = {
  id: "identifier",
  int: "integer",
  float: "float",
  path: "path",
  hpath: "path",
  spath: "search path",
  uri: "URI",
  str: "string text",
  indstr: "string text",
  "''open": "indented string",
  "''close": "end of indented string",
  pathend: "end of path",
  eof: "end of file",
};

function describe(t: Token): string {
  if (t.kind === "id") return `identifier '${t.value}'`;
  return DESCRIBE[t.kind] ?? `'${t.kind}'`;
}

class Parser {
  private readonly toks: Token[];
  private i = 0;
  private readonly lm: LineMap;
  /** Open nesting levels (brackets, bodies, operands), bounded so no input overflows the stack. */
  private depth = 0;

  constructor(source: string, lm: LineMap) {
    this.lm = lm;
    this.toks = tokenize(source, lm);
  }

  private get tok(): Token {
    return this.toks[this.i]!;
  }

  /** Current token kind test that does not narrow `this.tok` for later checks. */
  private at(kind: string): boolean {
    return this.toks[this.i]!.kind === kind;
  }

  private peek(n = 1): Token {
    return this.toks[Math.min(this.i + n, this.toks.length - 1)]!;
  }

  private next(): Token {
    const t = this.toks[this.i]!;
    if (this.i < this.toks.length - 1) this.i++;
    return t;
  }

  private error(expected: string, at: Token = this.tok): never {
    throw new NixError("syntax", `expected ${expected}, found ${describe(at)}`, this.lm.at(at.start));
  }

  private errorAt(pos: number, message: string): never {
    throw new NixError("syntax", message, this.lm.at(pos));
  }

  /** Parses one nesting level deeper; `extra` counts levels a loop built without recursing. */
  private nested<T>(parse: () => T, extra = 0): T {
    if (this.depth + extra >= nixLimits.nesting) {
      this.errorAt(
        this.tok.start,
        `expression nested deeper than ${nixLimits.nesting} levels (brackets, operators or function bodies); nixlab's limit for a vars.nix`,
      );
    }
    this.depth++;
    try {
      return parse();
    } finally {
      this.depth--;
    }
  }

  private expect(kind: string, what = `'${kind}'`): Token {
    if (this.tok.kind !== kind) this.error(what);
    return this.next();
  }

  parseFile(): Expr {
    const e = this.parseExpr();
    if (this.tok.kind !== "eof") this.error("end of file or an operator");
    return e;
  }

  private node<T extends Expr["type"]>(
    type: T,
    pos: number,
    fields: Omit<Extract<Expr, { type: T }>, "type" | "pos" | "lm">,
  ) {
    return { type, pos, lm: this.lm, ...fields } as unknown as Extract<Expr, { type: T }>;
  }

  parseExpr(): Expr {
    return this.nested(() => this.parseFunction());
  }

  // expr_function
  private parseFunction(): Expr {
    const t = this.tok;
    switch (t.kind) {
      case "id":
        if (this.peek().kind === ":") {
          this.next();
          this.next();
          return this.node("lambda", t.start, { arg: t.value, body: this.parseExpr() });
        }
        if (this.peek().kind === "@") {
          this.next();
          this.next();
          if (this.tok.kind !== "{") this.error("'{' of a function's argument set");
          const formals = this.parseFormals();
          this.expect(":");
          return this.node("lambda", t.start, { arg: t.value, formals, body: this.parseExpr() });
        }
        break;
      case "{":
        if (this.looksLikeFormals()) {
          const formals = this.parseFormals();
          let arg: string | undefined;
          if (this.tok.kind === "@") {
            this.next();
            arg = this.expect("id", "an identifier after '@'").value;
          }
          this.expect(":");
          return this.node("lambda", t.start, { arg, formals, body: this.parseExpr() });
        }
        break;
      case "assert": {
        this.next();
        const cond = this.parseExpr();
        this.expect(";");
        return this.node("assert", t.start, { cond, body: this.parseExpr() });
      }
      case "with": {
        this.next();
        const env = this.parseExpr();
        this.expect(";");
        return this.node("with", t.start, { env, body: this.parseExpr() });
      }
      case "let":
        if (this.peek().kind !== "{") {
          this.next();
          const attrs = this.parseBinds("in", false);
          this.expect("in", "'in' or an attribute binding");
          return this.node("let", t.start, { attrs: attrs.attrs, body: this.parseExpr() });
        }
        break;
      case "if": {
        this.next();
        const cond = this.parseExpr();
        this.expect("then");
        const then = this.parseExpr();
        this.expect("else");
        return this.node("if", t.start, { cond, then, else: this.parseExpr() });
      }
    }
    return this.parseOp(0);
  }

  /** `{` starts a function's argument set when what follows can only be formals. */
  private looksLikeFormals(): boolean {
    const a = this.peek(1);
    const b = this.peek(2);
    if (a.kind === "}") return b.kind === ":" || b.kind === "@";
    if (a.kind === "...") return true;
    if (a.kind === "id")
      return b.kind === "," || b.kind === "?" || (b.kind === "}" && [":", "@"].includes(this.peek(3).kind));
    return false;
  }

  private parseFormals(): Formals {
    this.expect("{");
    const formals: Formals = { entries: [], ellipsis: false };
    const seen = new Set<string>();
    while (this.tok.kind !== "}") {
      if (this.tok.kind === "...") {
        this.next();
        formals.ellipsis = true;
        if (!this.at("}")) this.error("'}' after '...'");
        break;
      }
      const name = this.expect("id", "a formal argument name, '...' or '}'");
      if (seen.has(name.value)) this.errorAt(name.start, `duplicate formal function argument '${name.value}'`);
      seen.add(name.value);
      let def: Expr | undefined;
      if (this.tok.kind === "?") {
        this.next();
        def = this.parseExpr();
      }
      formals.entries.push({ name: name.value, def, pos: name.start });
      if (this.tok.kind === ",") this.next();
      else if (this.tok.kind !== "}") this.error("',' or '}' in a function's argument set");
    }
    this.next();
    return formals;
  }

  // expr_op: precedence climbing that reproduces yacc's %left/%right/%nonassoc and %prec.
  private parseOp(minPrec: number): Expr {
    const t = this.tok;
    let left: Expr;
    if (t.kind === "!") {
      this.next();
      left = this.node("not", t.start, { expr: this.nested(() => this.parseOp(NOT_PREC + 1)) });
    } else if (t.kind === "-") {
      this.next();
      left = this.node("neg", t.start, { expr: this.nested(() => this.parseOp(NEGATE_PREC + 1)) });
    } else left = this.parseApp();
    let lastNonAssoc = -1;
    // A left-associative chain nests its left operands without recursing.
    let chain = 0;
    while (true) {
      const op = this.tok;
      if (op.kind === "?") {
        if (HAS_ATTR_PREC < minPrec) break;
        // `?` is declared %nonassoc, but its right side is an attribute path, not an
        // operand, so yacc never sees a conflict: `a ? b ? c` is `(a ? b) ? c`.
        this.next();
        const path = this.nested(() => this.parseAttrPath(), chain++);
        left = this.node("hasAttr", op.start, { expr: left, path });
        lastNonAssoc = -1;
        continue;
      }
      const info = BINARY[op.kind];
      if (!info || info.prec < minPrec) break;
      if (info.assoc === "none" && lastNonAssoc === info.prec)
        this.error(`a parenthesised operand before ${describe(op)}`);
      this.next();
      const right = this.nested(() => this.parseOp(info.assoc === "right" ? info.prec : info.prec + 1), chain++);
      left = this.node("op", op.start, { op: op.kind as BinaryOp, left, right });
      lastNonAssoc = info.assoc === "none" ? info.prec : -1;
    }
    return left;
  }

  private parseApp(): Expr {
    const fn = this.parseSelect();
    const args: Expr[] = [];
    while (SIMPLE_START.has(this.tok.kind) && !(this.tok.kind === "let" && this.peek().kind !== "{")) {
      args.push(this.parseSelect());
    }
    return args.length === 0 ? fn : this.node("call", fn.pos, { fn, args });
  }

  private parseSelect(): Expr {
    const e = this.parseSimple();
    if (this.tok.kind === ".") {
      this.next();
      const path = this.parseAttrPath();
      let def: Expr | undefined;
      if (this.at("or")) {
        this.next();
        def = this.nested(() => this.parseSelect());
      }
      return this.node("select", e.pos, { expr: e, path, def });
    }
    if (this.tok.kind === "or") {
      // Legacy grammar: `e or` applies `e` to a variable named `or`.
      const t = this.next();
      return this.node("call", e.pos, { fn: e, args: [this.node("var", t.start, { name: "or" })] });
    }
    return e;
  }

  private parseAttrPath(): AttrName[] {
    const path = [this.parseAttrName()];
    while (this.tok.kind === ".") {
      this.next();
      path.push(this.parseAttrName());
    }
    return path;
  }

  private parseAttrName(): AttrName {
    const t = this.tok;
    if (t.kind === "id" || t.kind === "or") {
      this.next();
      return { name: t.value };
    }
    if (t.kind === '"') {
      const s = this.parseString();
      return s.type === "str" ? { name: s.value } : { dyn: s };
    }
    if (t.kind === "${") {
      this.next();
      const e = this.parseExpr();
      this.expect("}", "'}' closing '${'");
      // Like Nix, `${"name"}` with a plain string literal is a static name.
      return e.type === "str" ? { name: e.value } : { dyn: e };
    }
    return this.error("an attribute name");
  }

  private parseString(): Expr {
    const open = this.expect('"');
    const parts: Expr[] = [];
    while (this.tok.kind !== '"') {
      const t = this.tok;
      if (t.kind === "str") {
        this.next();
        parts.push(this.node("str", t.start, { value: t.value }));
      } else if (t.kind === "${") {
        this.next();
        parts.push(this.parseExpr());
        this.expect("}", "'}' closing '${'");
      } else this.error("'\"' closing the string");
    }
    this.next();
    if (parts.length === 0) return this.node("str", open.start, { value: "" });
    if (parts.length === 1 && parts[0]!.type === "str") return this.node("str", open.start, { value: parts[0]!.value });
    return this.node("interp", open.start, { parts });
  }

  private parseIndString(): Expr {
    const open = this.expect("''open");
    const raw: ({ text: string; literal: boolean } | Expr)[] = [];
    while (this.tok.kind !== "''close") {
      const t = this.tok;
      if (t.kind === "indstr") {
        this.next();
        raw.push({ text: t.value, literal: t.literal === true });
      } else if (t.kind === "${") {
        this.next();
        raw.push(this.parseExpr());
        this.expect("}", "'}' closing '${'");
      } else this.error("\"''\" closing the indented string");
    }
    this.next();
    const parts = stripIndentation(raw).map((p) =>
      typeof p === "string" ? this.node("str", open.start, { value: p }) : p,
    );
    if (parts.length === 0) return this.node("str", open.start, { value: "" });
    if (parts.length === 1 && parts[0]!.type === "str") return parts[0]!;
    return this.node("interp", open.start, { parts });
  }

  private parsePath(): Expr {
    const t = this.next();
    const parts: Expr[] = [this.node("str", t.start, { value: t.value })];
    while (this.tok.kind !== "pathend") {
      const p = this.tok;
      if (p.kind === "str") {
        this.next();
        parts.push(this.node("str", p.start, { value: p.value }));
      } else if (p.kind === "${") {
        this.next();
        parts.push(this.parseExpr());
        this.expect("}", "'}' closing '${'");
      } else this.error("the rest of the path");
    }
    this.next();
    return this.node("path", t.start, { parts });
  }

  private parseSimple(): Expr {
    const t = this.tok;
    switch (t.kind) {
      case "id":
        this.next();
        return this.node("var", t.start, { name: t.value });
      case "int": {
        this.next();
        const v = BigInt(t.value);
        if (v > 9223372036854775807n) this.errorAt(t.start, `invalid integer '${t.value}' (larger than 64 bits)`);
        return this.node("int", t.start, { value: v });
      }
      case "float": {
        this.next();
        const v = Number(t.value);
        // Nix reads floats with strtod and rejects what overflows or underflows (ERANGE).
        const tiny = v !== 0 && Math.abs(v) < 2.2250738585072014e-308;
        if (!Number.isFinite(v) || tiny || (v === 0 && /[1-9]/.test(t.value.split(/[eE]/)[0]!))) {
          this.errorAt(t.start, `invalid float '${t.value}'`);
        }
        return this.node("float", t.start, { value: v });
      }
      case '"':
        return this.parseString();
      case "''open":
        return this.parseIndString();
      case "path":
      case "hpath":
        return this.parsePath();
      case "spath":
        this.next();
        return this.node("spath", t.start, { name: t.value.slice(1, -1) });
      case "uri":
        this.next();
        return this.node("str", t.start, { value: t.value });
      case "(": {
        this.next();
        const e = this.parseExpr();
        this.expect(")", "')'");
        return e;
      }
      case "[":
        return this.nested(() => {
          this.next();
          const items: Expr[] = [];
          while (this.tok.kind !== "]") {
            if (!SIMPLE_START.has(this.tok.kind)) this.error("a list element or ']'");
            items.push(this.parseSelect());
          }
          this.next();
          return this.node("list", t.start, { items });
        });
      case "rec":
      case "{": {
        const rec = t.kind === "rec";
        this.next();
        if (rec) this.expect("{");
        const attrs = this.parseBinds("}", rec);
        attrs.pos = t.start;
        this.expect("}", "'}' or an attribute binding");
        return attrs;
      }
      case "let": {
        // Legacy `let { ...; body = e; }`: a recursive set whose `body` is the value.
        this.next();
        this.expect("{");
        const attrs = this.parseBinds("}", true);
        this.expect("}", "'}' or an attribute binding");
        return this.node("select", t.start, { expr: attrs, path: [{ name: "body" }] });
      }
    }
    return this.error("an expression");
  }

  private parseBinds(end: string, rec: boolean): AttrsNode {
    const node = this.node("attrs", this.tok.start, { rec, attrs: new Map(), dynamic: [] });
    const isLet = end === "in";
    while (this.tok.kind !== end) {
      const t = this.tok;
      if (t.kind === "inherit") {
        this.next();
        let from: Expr | undefined;
        if (this.tok.kind === "(") {
          this.next();
          from = this.parseExpr();
          this.expect(")", "')'");
        }
        while (this.tok.kind !== ";") {
          const nt = this.tok;
          const name = this.parseAttrName();
          if (name.dyn) this.errorAt(nt.start, "dynamic attributes are not allowed in inherit");
          const key = name.name!;
          const existing = node.attrs.get(key);
          if (existing) this.duplicate(key, nt.start, existing.pos);
          const value: Expr = from
            ? this.node("select", nt.start, { expr: from, path: [{ name: key }] })
            : this.node("var", nt.start, { name: key });
          node.attrs.set(key, { value, inherited: !from, pos: nt.start });
        }
        this.next();
        continue;
      }
      if (t.kind !== "id" && t.kind !== "or" && t.kind !== '"' && t.kind !== "${") {
        this.error(isLet ? "an attribute binding or 'in'" : "an attribute binding or '}'");
      }
      const path = this.parseAttrPath();
      this.expect("=", "'=' after the attribute name");
      const value = this.parseExpr();
      this.expect(";", "';' after the attribute value");
      if (isLet && path[0]!.dyn) this.errorAt(t.start, "dynamic attributes are not allowed in let");
      this.addAttr(node, path, value, t.start);
    }
    return node;
  }

  private duplicate(name: string, pos: number, prev: number): never {
    const p = this.lm.at(prev);
    return this.errorAt(pos, `attribute '${name}' already defined at ${p.file}:${p.line}:${p.column}`);
  }

  // Nested paths (`a.b.c = 1;`) build nested sets, merging with sets written literally.
  private addAttr(root: AttrsNode, path: AttrName[], value: Expr, pos: number): void {
    let attrs = root;
    const shown = () => path.map((p) => p.name ?? "${...}").join(".");
    for (let k = 0; k < path.length - 1; k++) {
      const part = path[k]!;
      if (part.dyn) {
        const nested = this.node("attrs", pos, { rec: false, attrs: new Map(), dynamic: [] });
        attrs.dynamic.push({ name: part.dyn, value: nested, pos });
        attrs = nested;
        continue;
      }
      const existing = attrs.attrs.get(part.name);
      if (existing) {
        if (existing.inherited || existing.value.type !== "attrs") this.duplicate(shown(), pos, existing.pos);
        attrs = existing.value as AttrsNode;
      } else {
        const nested = this.node("attrs", pos, { rec: false, attrs: new Map(), dynamic: [] });
        attrs.attrs.set(part.name, { value: nested, inherited: false, pos });
        attrs = nested;
      }
    }
    const last = path[path.length - 1]!;
    if (last.dyn) {
      attrs.dynamic.push({ name: last.dyn, value, pos });
      return;
    }
    const existing = attrs.attrs.get(last.name);
    if (!existing) {
      attrs.attrs.set(last.name, { value, inherited: false, pos } satisfies AttrDef);
      return;
    }
    if (!existing.inherited && existing.value.type === "attrs" && value.type === "attrs") {
      const target = existing.value;
      for (const [name, def] of value.attrs) {
        const clash = target.attrs.get(name);
        if (clash) this.duplicate(`${shown()}.${name}`, def.pos, clash.pos);
        target.attrs.set(name, def);
      }
      target.dynamic.push(...value.dynamic);
      return;
    }
    this.duplicate(shown(), pos, existing.pos);
  }
}

/**
 * Nix's indentation stripping for `''` strings: the smallest indentation of the
 * lines (ignoring whitespace-only lines; escapes and `${}` end a line's indentation)
 * is removed from every line, and a final whitespace-only line is dropped.
 */
function stripIndentation(parts: ({ text: string; literal: boolean } | Expr)[]): (string | Expr)[] {
  if (parts.length === 0) return [];
  let atStart = true;
  let minIndent = 1000000;
  let cur = 0;
  for (const p of parts) {
    if (!("text" in p) || !p.literal) {
      if (atStart) {
        atStart = false;
        if (cur < minIndent) minIndent = cur;
      }
      continue;
    }
    for (const ch of p.text) {
      if (atStart) {
        if (ch === " ") cur++;
        else if (ch === "\n") cur = 0;
        else {
          atStart = false;
          if (cur < minIndent) minIndent = cur;
        }
      } else if (ch === "\n") {
        atStart = true;
        cur = 0;
      }
    }
  }
  const out: (string | Expr)[] = [];
  atStart = true;
  let dropped = 0;
  for (let k = 0; k < parts.length; k++) {
    const p = parts[k]!;
    if (!("text" in p)) {
      atStart = false;
      dropped = 0;
      out.push(p);
      continue;
    }
    let s = "";
    for (const ch of p.text) {
      if (atStart) {
        if (ch === " ") {
          if (dropped++ >= minIndent) s += ch;
        } else if (ch === "\n") {
          dropped = 0;
          s += ch;
        } else {
          atStart = false;
          dropped = 0;
          s += ch;
        }
      } else {
        s += ch;
        if (ch === "\n") atStart = true;
      }
    }
    if (k === parts.length - 1) {
      const nl = s.lastIndexOf("\n");
      if (nl !== -1 && /^ *$/.test(s.slice(nl + 1))) s = s.slice(0, nl + 1);
    }
    out.push(s);
  }
  // Adjacent literal pieces are joined so a string without `${}` stays a constant.
  const merged: (string | Expr)[] = [];
  for (const p of out) {
    const prev = merged[merged.length - 1];
    if (typeof p === "string" && typeof prev === "string") merged[merged.length - 1] = prev + p;
    else merged.push(p);
  }
  return merged;
}

/**
 * Parses Nix source text into an AST. Throws `NixError` (kind "syntax") whose message
 * is `file:line:column: expected …, found …` for any text that is not a Nix expression,
 * and names the limit for a text longer or nested deeper than `nixLimits` allow.
 */
export function parse(source: string, file = "<string>", baseDir?: string): NixAst {
  if (source.length > nixLimits.sourceChars) {
    throw new NixError(
      "syntax",
      `the file has ${source.length.toLocaleString("en")} characters; nixlab reads Nix files of up to ${nixLimits.sourceChars.toLocaleString("en")}`,
      { file, line: 1, column: 1 },
    );
  }
  const lm = new LineMap(source, file, baseDir);
  const root = new Parser(source, lm).parseFile();
  return { file, source, root };
}
