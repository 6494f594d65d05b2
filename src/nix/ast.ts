import type { LineMap } from "./errors.ts";

/** Every node carries its start offset and the line map of its file (for error locations). */
interface Node {
  pos: number;
  lm: LineMap;
}

/** One component of an attribute path: a static name or an expression evaluated to a name. */
export type AttrName = { name: string; dyn?: undefined } | { name?: undefined; dyn: Expr };

export interface AttrDef {
  value: Expr;
  /** `inherit x;` is evaluated in the scope around the set, even in `rec { }` and `let`. */
  inherited: boolean;
  pos: number;
}

export interface DynamicAttrDef {
  name: Expr;
  value: Expr;
  pos: number;
}

export interface Formals {
  entries: { name: string; def?: Expr | undefined; pos: number }[];
  ellipsis: boolean;
}

export type Expr =
  | (Node & { type: "int"; value: bigint })
  | (Node & { type: "float"; value: number })
  | (Node & { type: "str"; value: string })
  /** A string with `${}` parts; every part must evaluate to something coercible to a string. */
  | (Node & { type: "interp"; parts: Expr[] })
  /** `./a`, `/a`, `~/a`, optionally with `${}` parts; `parts[0]` is the literal start. */
  | (Node & { type: "path"; parts: Expr[] })
  | (Node & { type: "spath"; name: string })
  | (Node & { type: "var"; name: string })
  | (Node & { type: "select"; expr: Expr; path: AttrName[]; def?: Expr | undefined })
  | (Node & { type: "hasAttr"; expr: Expr; path: AttrName[] })
  | (Node & {
      type: "attrs";
      rec: boolean;
      attrs: Map<string, AttrDef>;
      dynamic: DynamicAttrDef[];
    })
  | (Node & { type: "list"; items: Expr[] })
  | (Node & {
      type: "let";
      attrs: Map<string, AttrDef>;
      body: Expr;
    })
  | (Node & { type: "with"; env: Expr; body: Expr })
  | (Node & { type: "if"; cond: Expr; then: Expr; else: Expr })
  | (Node & { type: "assert"; cond: Expr; body: Expr })
  | (Node & { type: "lambda"; arg?: string | undefined; formals?: Formals | undefined; body: Expr })
  | (Node & { type: "call"; fn: Expr; args: Expr[] })
  | (Node & { type: "op"; op: BinaryOp; left: Expr; right: Expr })
  | (Node & { type: "not"; expr: Expr })
  | (Node & { type: "neg"; expr: Expr });

export type BinaryOp = "->" | "||" | "&&" | "==" | "!=" | "<" | "<=" | ">" | ">=" | "//" | "+" | "-" | "*" | "/" | "++";

/** The result of `parseNix`: the root expression plus the text it came from. */
export interface NixAst {
  file: string;
  source: string;
  root: Expr;
}
