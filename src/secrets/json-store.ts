// JSON files: a small parser that keeps key order and number text (JSON.parse
// reorders integer-like keys and rounds big integers), and an emitter.
import type { TypedText } from "./cipher.ts";
import type { CommentSlot, LeafSlot, SopsDocument } from "./tree.ts";
import { DocumentError } from "./yaml-store.ts";
import type { SecretValue, ValueAccess } from "./value.ts";
import { fromJs, resolveJsonNumber, toJs } from "./values.ts";

export type JsonNode =
  | { kind: "object"; entries: Array<{ key: string; value: JsonNode }> }
  | { kind: "array"; items: JsonNode[] }
  | { kind: "scalar"; value: TypedText }
  | { kind: "null" };

class Parser {
  readonly text: string;
  pos = 0;
  constructor(text: string) {
    this.text = text;
  }
  fail(what: string): never {
    const before = this.text.slice(0, this.pos);
    const line = before.split("\n").length;
    const col = this.pos - before.lastIndexOf("\n");
    throw new DocumentError(`it is not valid JSON (${what})`, line, col);
  }
  ws(): void {
    while (this.pos < this.text.length && " \t\n\r".includes(this.text[this.pos]!)) this.pos++;
  }
  value(depth: number): JsonNode {
    if (depth > 1000) this.fail("nested too deeply");
    this.ws();
    const c = this.text[this.pos];
    if (c === "{") return this.object(depth);
    if (c === "[") return this.array(depth);
    if (c === '"') return { kind: "scalar", value: { type: "str", text: this.string() } };
    if (c === "t" && this.text.startsWith("true", this.pos)) {
      this.pos += 4;
      return { kind: "scalar", value: { type: "bool", text: "True" } };
    }
    if (c === "f" && this.text.startsWith("false", this.pos)) {
      this.pos += 5;
      return { kind: "scalar", value: { type: "bool", text: "False" } };
    }
    if (c === "n" && this.text.startsWith("null", this.pos)) {
      this.pos += 4;
      return { kind: "null" };
    }
    const m = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(this.text.slice(this.pos, this.pos + 400));
    if (m && m[0].length > 0) {
      this.pos += m[0].length;
      return { kind: "scalar", value: resolveJsonNumber(m[0]) };
    }
    return this.fail(c === undefined ? "unexpected end of input" : "unexpected character");
  }
  string(): string {
    const start = this.pos;
    this.pos++;
    for (;;) {
      const c = this.text[this.pos];
      if (c === undefined) this.fail("unterminated string");
      if (c === '"') break;
      if (c === "\\") this.pos += 2;
      else if (c < " ") this.fail("control character in string");
      else this.pos++;
    }
    this.pos++;
    try {
      return JSON.parse(this.text.slice(start, this.pos)) as string;
    } catch {
      this.pos = start;
      return this.fail("bad escape in string");
    }
  }
  object(depth: number): JsonNode {
    this.pos++;
    const entries: Array<{ key: string; value: JsonNode }> = [];
    const seen = new Set<string>();
    this.ws();
    if (this.text[this.pos] === "}") {
      this.pos++;
      return { kind: "object", entries };
    }
    for (;;) {
      this.ws();
      if (this.text[this.pos] !== '"') this.fail("expected a key");
      const key = this.string();
      if (seen.has(key)) this.fail(`duplicate key ${JSON.stringify(key)}`);
      seen.add(key);
      this.ws();
      if (this.text[this.pos] !== ":") this.fail("expected ':'");
      this.pos++;
      entries.push({ key, value: this.value(depth + 1) });
      this.ws();
      const c = this.text[this.pos];
      this.pos++;
      if (c === "}") return { kind: "object", entries };
      if (c !== ",") {
        this.pos--;
        this.fail(c === undefined ? "unexpected end of input" : "expected ',' or '}'");
      }
    }
  }
  array(depth: number): JsonNode {
    this.pos++;
    const items: JsonNode[] = [];
    this.ws();
    if (this.text[this.pos] === "]") {
      this.pos++;
      return { kind: "array", items };
    }
    for (;;) {
      items.push(this.value(depth + 1));
      this.ws();
      const c = this.text[this.pos];
      this.pos++;
      if (c === "]") return { kind: "array", items };
      if (c !== ",") {
        this.pos--;
        this.fail(c === undefined ? "unexpected end of input" : "expected ',' or ']'");
      }
    }
  }
}

function emitScalar(v: TypedText): string {
  switch (v.type) {
    case "int":
      return v.text;
    case "float": {
      const f = Number(v.text);
      if (!Number.isFinite(f)) throw new DocumentError("JSON cannot hold NaN or infinite numbers");
      const s = String(f);
      // Keep a float a float when read back (1 → 1.0).
      return /[.e]/.test(s) ? s : `${s}.0`;
    }
    case "bool":
      return v.text === "True" ? "true" : "false";
    default:
      return JSON.stringify(v.text);
  }
}

function emit(node: JsonNode, indent: string, level: number): string {
  const pad = indent.repeat(level + 1);
  const close = indent.repeat(level);
  switch (node.kind) {
    case "null":
      return "null";
    case "scalar":
      return emitScalar(node.value);
    case "array":
      if (node.items.length === 0) return "[]";
      return `[\n${node.items.map((i) => pad + emit(i, indent, level + 1)).join(",\n")}\n${close}]`;
    case "object":
      if (node.entries.length === 0) return "{}";
      return `{\n${node.entries.map((e) => `${pad}${JSON.stringify(e.key)}: ${emit(e.value, indent, level + 1)}`).join(",\n")}\n${close}}`;
  }
}

/** Converts plain data (the metadata) to a node tree. */
export function jsonNodeFrom(value: unknown): JsonNode {
  if (value === null || value === undefined) return { kind: "null" };
  if (Array.isArray(value)) return { kind: "array", items: value.map(jsonNodeFrom) };
  if (typeof value === "object") {
    return {
      kind: "object",
      entries: Object.entries(value).map(([key, v]) => ({ key, value: jsonNodeFrom(v) })),
    };
  }
  if (typeof value === "boolean") return { kind: "scalar", value: { type: "bool", text: value ? "True" : "False" } };
  if (typeof value === "number" || typeof value === "bigint")
    return { kind: "scalar", value: resolveJsonNumber(String(value)) };
  return { kind: "scalar", value: { type: "str", text: String(value) } };
}

/** Converts a node tree to plain data (numbers as JS numbers). */
export function jsonNodeToPlain(node: JsonNode): unknown {
  switch (node.kind) {
    case "null":
      return null;
    case "array":
      return node.items.map(jsonNodeToPlain);
    case "object":
      return Object.fromEntries(node.entries.map((e) => [e.key, jsonNodeToPlain(e.value)]));
    case "scalar":
      if (node.value.type === "bool") return node.value.text === "True";
      if (node.value.type === "int" || node.value.type === "float") return Number(node.value.text);
      return node.value.text;
  }
}

function nodeToValue(node: JsonNode): SecretValue {
  switch (node.kind) {
    case "null":
      return null;
    case "scalar":
      return toJs(node.value);
    case "array":
      return node.items.map(nodeToValue);
    case "object":
      return Object.fromEntries(node.entries.map((e) => [e.key, nodeToValue(e.value)]));
  }
}

function valueToNode(value: SecretValue): JsonNode {
  if (value === null) return { kind: "null" };
  if (Array.isArray(value)) return { kind: "array", items: value.map(valueToNode) };
  if (typeof value === "object") {
    return {
      kind: "object",
      entries: Object.entries(value).map(([key, v]) => ({ key, value: valueToNode(v) })),
    };
  }
  return { kind: "scalar", value: fromJs(value) };
}

type JsonObject = Extract<JsonNode, { kind: "object" }>;

export class JsonDocument implements SopsDocument, ValueAccess {
  root: Extract<JsonNode, { kind: "object" }>;
  readonly indent: string;

  constructor(root: Extract<JsonNode, { kind: "object" }>, indent: string) {
    this.root = root;
    this.indent = indent;
  }

  /** Parses JSON text whose top level is an object. Throws DocumentError with a position (no content) otherwise. */
  static parse(text: string): JsonDocument {
    const p = new Parser(text);
    const root = p.value(0);
    p.ws();
    if (p.pos < text.length) p.fail("unexpected text after the end");
    if (root.kind !== "object") throw new DocumentError("its top level is not an object");
    const m = /\n([ \t]+)"/.exec(text);
    return new JsonDocument(root, m ? m[1]! : "\t");
  }

  static empty(): JsonDocument {
    return new JsonDocument({ kind: "object", entries: [] }, "\t");
  }

  clone(): JsonDocument {
    return new JsonDocument(structuredClone(this.root), this.indent);
  }

  leaves(): LeafSlot[] {
    const out: LeafSlot[] = [];
    const walk = (holder: { value: JsonNode } | { items: JsonNode[]; index: number }, path: string[]): void => {
      const node = "value" in holder ? holder.value : holder.items[holder.index]!;
      if (node.kind === "scalar") {
        out.push({
          path,
          read: () => (node.kind === "scalar" ? node.value : null),
          write: (v) => {
            node.value = { ...v };
          },
        });
      } else if (node.kind === "object") for (const e of node.entries) walk(e, [...path, e.key]);
      else if (node.kind === "array")
        for (let index = 0; index < node.items.length; index++) walk({ items: node.items, index }, path);
    };
    for (const e of this.root.entries) walk(e, [e.key]);
    return out;
  }

  comments(): CommentSlot[] {
    return [];
  }

  containerPaths(): string[][] {
    return [[]];
  }

  #object(path: readonly string[]): JsonObject | undefined {
    let node: JsonNode = this.root;
    for (const segment of path) {
      if (node.kind !== "object") return undefined;
      const entry: { key: string; value: JsonNode } | undefined = node.entries.find((e) => e.key === segment);
      if (!entry) return undefined;
      node = entry.value;
    }
    return node.kind === "object" ? node : undefined;
  }

  keysAt(path: readonly string[]): string[] | undefined {
    return this.#object(path)?.entries.map((e) => e.key);
  }

  getAt(path: readonly string[]): SecretValue | undefined {
    if (path.length === 0) return nodeToValue(this.root);
    const entry = this.#object(path.slice(0, -1))?.entries.find((e) => e.key === path[path.length - 1]);
    return entry ? nodeToValue(entry.value) : undefined;
  }

  setAt(path: readonly string[], value: SecretValue): void {
    if (path.length === 0) throw new TypeError("empty path");
    let object: JsonObject = this.root;
    for (const segment of path.slice(0, -1)) {
      let entry = object.entries.find((e) => e.key === segment);
      if (!entry) {
        entry = { key: segment, value: { kind: "object", entries: [] } };
        object.entries.push(entry);
      }
      if (entry.value.kind !== "object") throw new TypeError(`${segment} is not a mapping`);
      object = entry.value;
    }
    const last = path[path.length - 1]!;
    const entry = object.entries.find((e) => e.key === last);
    if (entry) entry.value = valueToNode(value);
    else object.entries.push({ key: last, value: valueToNode(value) });
  }

  deleteAt(path: readonly string[]): boolean {
    const object = this.#object(path.slice(0, -1));
    const index = object ? object.entries.findIndex((e) => e.key === path[path.length - 1]) : -1;
    if (!object || index < 0) return false;
    object.entries.splice(index, 1);
    return true;
  }

  takeMetadata(): unknown {
    const index = this.root.entries.findIndex((e) => e.key === "sops");
    if (index < 0) return undefined;
    const [entry] = this.root.entries.splice(index, 1);
    return jsonNodeToPlain(entry!.value);
  }

  putMetadata(metadata: Record<string, unknown>): void {
    this.root.entries.push({ key: "sops", value: jsonNodeFrom(metadata) });
  }

  hasMetadataKey(): boolean {
    return this.root.entries.some((e) => e.key === "sops");
  }

  toString(): string {
    return `${emit(this.root, this.indent, 0)}\n`;
  }
}
