// YAML files through the `yaml` package's Document API, so comments, key order
// and formatting survive. Values are typed like go-yaml types them for sops.
import {
  type Alias,
  Document,
  isAlias,
  isMap,
  isScalar,
  isSeq,
  LineCounter,
  type Node,
  Pair,
  parseAllDocuments,
  Scalar,
  YAMLMap,
  YAMLSeq,
} from "yaml";
import type { TypedText } from "./cipher.ts";
import type { CommentSlot, LeafSlot, SopsDocument } from "./tree.ts";
import type { SecretValue, ValueAccess } from "./value.ts";
import { fromJs, resolvePlainYaml, toJs, utf8Exact } from "./values.ts";

/** A syntax or structure problem; `line`/`col` locate it. The message never quotes the file. */
export class DocumentError extends Error {
  readonly line: number | undefined;
  readonly col: number | undefined;
  constructor(message: string, line?: number, col?: number) {
    super(message);
    this.name = "DocumentError";
    this.line = line;
    this.col = col;
  }
}

/** The typed value nixlab wrote into a scalar, so it reads back exactly (kept by clone()). */
const TYPED = Symbol("nixlab.typed");
type TypedScalar = Scalar & { [TYPED]?: TypedText };

const STRING_OPTIONS = { lineWidth: 0, minContentWidth: 0 } as const;

function detectIndent(text: string): number {
  const m = /^[^\s#-][^\n]*:[ \t]*\n((?:[ \t]*\n)*)( +)\S/m.exec(text);
  const width = m ? m[2]!.length : 2;
  return width >= 1 && width <= 8 ? width : 2;
}

/** The sops value of a scalar node, or null for a YAML null. */
function readScalar(node: Scalar): TypedText | null {
  const typed = (node as TypedScalar)[TYPED];
  if (typed) return typed;
  const tag = node.tag;
  const raw = node.source ?? (typeof node.value === "string" ? node.value : undefined);
  if (tag && tag !== "tag:yaml.org,2002:str" && tag !== "!") {
    if (tag === "tag:yaml.org,2002:binary" && typeof node.value !== "string") {
      // sops stores the decoded bytes as a string; nixlab holds text, so bytes that are not UTF-8 are refused.
      const text = utf8Exact(node.value as Uint8Array);
      if (text === null)
        throw new DocumentError("a !!binary value is not UTF-8 text, which nixlab cannot store exactly");
      return { type: "str", text };
    }
    if (
      ["tag:yaml.org,2002:int", "tag:yaml.org,2002:float", "tag:yaml.org,2002:bool", "tag:yaml.org,2002:null"].includes(
        tag,
      )
    ) {
      const r = resolvePlainYaml(raw ?? String(node.value));
      if (r.kind === "null") return null;
      if (r.kind === "value") return r.value;
    }
    return { type: "str", text: raw ?? String(node.value) };
  }
  if (node.type === "PLAIN" || node.type === undefined) {
    if (tag === "tag:yaml.org,2002:str" || tag === "!") return { type: "str", text: raw ?? String(node.value) };
    if (node.value === null && raw === undefined) return null;
    const r = resolvePlainYaml(raw ?? String(node.value));
    if (r.kind === "null") return null;
    if (r.kind === "unsupported") throw new DocumentError(`a value is ${r.why}`);
    return r.value;
  }
  return { type: "str", text: typeof node.value === "string" ? node.value : String(node.value) };
}

// go-yaml reads these as timestamps (time.Time) in some decoding paths, e.g. sops' metadata.
const TIMESTAMP_LIKE = /^\d{4}-\d{1,2}-\d{1,2}([Tt ]|$)/;

/** Whether go-yaml would read `s`, written plain, as something other than this string. */
function ambiguousPlain(s: string): boolean {
  if (TIMESTAMP_LIKE.test(s)) return true;
  const r = resolvePlainYaml(s);
  return r.kind !== "value" || r.value.type !== "str" || r.value.text !== s;
}

/** Whether a multi-line string can be a literal block: no line starts with a tab, no control characters but \n and \t. */
function blockSafe(s: string): boolean {
  if (/(^|\n)\t/.test(s)) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if ((c < 0x20 && c !== 0x0a && c !== 0x09) || c === 0x7f) return false;
  }
  return true;
}

/** Writes a typed value into a scalar node, choosing a style that reads back as the same type. */
export function writeScalar(node: Scalar, value: TypedText): void {
  const n = node as TypedScalar;
  delete n.source;
  n.tag = undefined;
  n.minFractionDigits = undefined;
  n.format = undefined;
  n[TYPED] = { ...value };
  switch (value.type) {
    case "int": {
      const i = BigInt(value.text);
      n.value = i >= BigInt(Number.MIN_SAFE_INTEGER) && i <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(i) : i;
      n.type = "PLAIN";
      return;
    }
    case "float": {
      const f = Number(value.text === "+Inf" ? "Infinity" : value.text === "-Inf" ? "-Infinity" : value.text);
      n.value = f;
      // Keep a float a float: 1 is written 1.0 (an exponent form already reads as float).
      if (Number.isFinite(f) && !String(f).includes("e")) n.minFractionDigits = 1;
      n.type = "PLAIN";
      return;
    }
    case "bool":
      n.value = value.text === "True";
      n.type = "PLAIN";
      return;
    default: {
      const s = value.text;
      n.value = s;
      // go-yaml rejects a block scalar line that starts with a tab, and block scalars cannot hold \r.
      if (s.includes("\n") && blockSafe(s)) n.type = "BLOCK_LITERAL";
      else if (s.includes("\n")) n.type = "QUOTE_DOUBLE";
      else if (s === "" || ambiguousPlain(s)) n.type = "QUOTE_DOUBLE";
      else n.type = "PLAIN";
    }
  }
}

function keyName(pair: Pair): string {
  const key = pair.key;
  if (isScalar(key)) {
    const v = readScalar(key);
    if (v !== null && v.type === "str") return v.text;
  }
  // Keys are stored in clear in a SOPS file, so naming one is safe.
  const shown = isScalar(key) ? ` ${JSON.stringify(key.source ?? String(key.value))}` : "";
  throw new DocumentError(`the mapping key${shown} is not a string; quote it`);
}

function commentLines(text: string | null | undefined): string[] {
  return text ? text.split("\n") : [];
}

/** Comment slots for one comment field of a node; each non-empty line is one sops comment. */
function commentSlots(
  owner: { commentBefore?: string | null; comment?: string | null },
  field: "commentBefore" | "comment",
  path: readonly string[],
  firstLinePath: readonly string[] = path,
): CommentSlot[] {
  const lines = commentLines(owner[field]);
  const slots: CommentSlot[] = [];
  lines.forEach((line, i) => {
    if (line.trim() === "") return;
    slots.push({
      path: slots.length === 0 ? firstLinePath : path,
      read: () => commentLines(owner[field])[i] ?? "",
      write: (text: string) => {
        const current = commentLines(owner[field]);
        current[i] = text;
        owner[field] = current.join("\n");
      },
    });
  });
  return slots;
}

/** The path of the innermost block collection that ends where `map` ends. */
function innermostTrailingPath(map: YAMLMap, path: readonly string[]): readonly string[] {
  let node: YAMLMap = map;
  let current = path;
  for (;;) {
    const last = node.items[node.items.length - 1] as Pair | undefined;
    if (!last) return current;
    const value = last.value;
    if (isMap(value) && value.items.length > 0 && !value.flow) {
      current = [...current, keyName(last)];
      node = value;
      continue;
    }
    if (isSeq(value) && value.items.length > 0 && !value.flow) {
      current = [...current, keyName(last)];
      const item = value.items[value.items.length - 1];
      if (isMap(item) && item.items.length > 0 && !item.flow) {
        node = item;
        continue;
      }
    }
    return current;
  }
}

/** Most nodes alias expansion may create in one file (a "billion laughs" file is refused, not expanded). */
const MAX_EXPANDED_NODES = 10_000;

function countNodes(node: unknown): number {
  if (isMap(node)) return 1 + (node.items as Pair[]).reduce((n, p) => n + countNodes(p.value), 0);
  if (isSeq(node)) return 1 + node.items.reduce((n: number, item) => n + countNodes(item), 0);
  return 1;
}

/**
 * Replaces aliases by copies of what they point to (as sops does), then drops every
 * anchor. Throws DocumentError (at the alias) for an alias without anchor, one inside
 * the value it names, a merge key (`<<`, which go-yaml and sops read differently), or
 * an expansion beyond MAX_EXPANDED_NODES.
 */
function expandAliases(doc: Document, at: (offset: number | undefined) => [number?, number?]): void {
  let created = 0;
  const fail = (why: string, node: { range?: [number, number, number] | null }): never => {
    throw new DocumentError(why, ...at(node.range?.[0]));
  };
  // The containers being visited (an alias to one of them would contain itself).
  const inside = new Set<unknown>();
  // Anchors seen so far in document order (a later one of the same name wins, as in YAML).
  const anchors = new Map<string, Node>();
  const visit = (node: unknown): unknown => {
    if (isAlias(node)) {
      const alias = node as Alias;
      const target = anchors.get(alias.source);
      if (!target) return fail(`the alias *${alias.source} has no anchor before it`, alias);
      if (inside.has(target)) return fail(`the alias *${alias.source} is inside the value it refers to`, alias);
      // The target comes earlier in the file, so its own aliases are already expanded.
      created += countNodes(target);
      if (created > MAX_EXPANDED_NODES)
        fail(`its aliases expand to more than ${MAX_EXPANDED_NODES} values; write the values out`, alias);
      return (target as Node & { clone(): Node }).clone();
    }
    const anchor = (node as { anchor?: string } | null)?.anchor;
    if (anchor) anchors.set(anchor, node as Node);
    if (!isMap(node) && !isSeq(node)) return node;
    inside.add(node);
    if (isMap(node)) {
      for (const pair of node.items as Pair[]) {
        if (isScalar(pair.key) && pair.key.value === "<<" && pair.key.type === "PLAIN")
          fail("merge keys (<<) are not supported in a secrets file; write the keys out", pair.key);
        pair.value = visit(pair.value) as Node | null;
      }
    } else node.items = node.items.map((item) => visit(item));
    inside.delete(node);
    return node;
  };
  const dropAnchors = (node: unknown): void => {
    if (isMap(node) || isSeq(node) || isScalar(node)) (node as { anchor?: string }).anchor = undefined;
    if (isMap(node)) for (const pair of node.items as Pair[]) dropAnchors(pair.value);
    else if (isSeq(node)) for (const item of node.items) dropAnchors(item);
  };
  if (doc.contents) doc.contents = visit(doc.contents) as Node;
  dropAnchors(doc.contents);
}

function nodeToValue(node: unknown): SecretValue {
  if (isScalar(node)) {
    const v = readScalar(node);
    return v === null ? null : v.type === "comment" ? null : toJs(v);
  }
  if (isMap(node)) {
    const out: { [key: string]: SecretValue } = {};
    // defineProperty, so a key named __proto__ is data, not the object's prototype.
    for (const pair of node.items as Pair[]) {
      Object.defineProperty(out, keyName(pair), {
        value: nodeToValue(pair.value),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    return out;
  }
  if (isSeq(node)) return node.items.map(nodeToValue);
  return null;
}

function valueToNode(value: SecretValue): Node {
  if (Array.isArray(value)) {
    const seq = new YAMLSeq();
    for (const item of value) seq.items.push(valueToNode(item));
    return seq;
  }
  if (value !== null && typeof value === "object") {
    const map = new YAMLMap();
    for (const [k, v] of Object.entries(value)) map.items.push(new Pair(keyNode(k), valueToNode(v)));
    return map;
  }
  const scalar = new Scalar(null);
  if (value !== null) writeScalar(scalar, fromJs(value));
  return scalar;
}

function keyNode(name: string): Scalar {
  const key = new Scalar(name);
  writeScalar(key, { type: "str", text: name });
  return key;
}

export class YamlDocument implements SopsDocument, ValueAccess {
  readonly docs: Document[];
  readonly indent: number;

  private constructor(docs: Document[], indent: number) {
    this.docs = docs;
    this.indent = indent;
  }

  /** Parses YAML text. Throws DocumentError (position only, no content) on a syntax error or a non-mapping document. */
  static parse(text: string): YamlDocument {
    const lineCounter = new LineCounter();
    const at = (offset: number | undefined): [number?, number?] => {
      if (offset === undefined) return [];
      const pos = lineCounter.linePos(offset);
      return [pos.line, pos.col];
    };
    const list = [...parseAllDocuments(text, { uniqueKeys: true, lineCounter })];
    for (const d of list) {
      const err = d.errors[0];
      if (err) {
        const pos = err.linePos?.[0];
        throw new DocumentError(`it is not valid YAML (${err.code})`, pos?.line, pos?.col);
      }
      if (d.contents !== null && !isMap(d.contents)) {
        throw new DocumentError("its top level is not a mapping of names to values");
      }
      expandAliases(d, at);
    }
    const result = new YamlDocument(list, detectIndent(text));
    // Validate keys and scalar types once up front so later walks cannot fail.
    result.leaves();
    return result;
  }

  /** An empty document (one empty mapping). */
  static empty(): YamlDocument {
    const d = new Document(new YAMLMap());
    return new YamlDocument([d], 2);
  }

  clone(): YamlDocument {
    return new YamlDocument(
      this.docs.map((d) => d.clone()),
      this.indent,
    );
  }

  /** The top mapping of the first document (created when the document is empty). */
  root(): YAMLMap {
    if (this.docs.length === 0) this.docs.push(new Document(new YAMLMap()));
    const d = this.docs[0]!;
    if (!isMap(d.contents)) d.contents = new YAMLMap() as unknown as typeof d.contents;
    return d.contents as YAMLMap;
  }

  leaves(): LeafSlot[] {
    const out: LeafSlot[] = [];
    const onValue = (node: unknown, path: string[], parent: YAMLSeq | Pair): void => {
      if (isScalar(node)) {
        readScalar(node);
        out.push({
          path,
          read: () => readScalar(node),
          write: (v) => {
            if (v.type === "comment" && isSeq(parent)) commentToSeqComment(parent, node, v.text);
            else writeScalar(node, v);
          },
        });
      } else if (isMap(node)) walkMap(node, path);
      else if (isSeq(node)) walkSeq(node, path);
    };
    const walkMap = (map: YAMLMap, path: string[]): void => {
      for (const pair of map.items as Pair[]) onValue(pair.value, [...path, keyName(pair)], pair);
    };
    const walkSeq = (seq: YAMLSeq, path: string[]): void => {
      for (const item of [...seq.items]) onValue(item, path, seq);
    };
    for (const d of this.docs) if (isMap(d.contents)) walkMap(d.contents, []);
    return out;
  }

  comments(): CommentSlot[] {
    const out: CommentSlot[] = [];
    const own = (node: { commentBefore?: string | null; comment?: string | null }, path: readonly string[]) => {
      out.push(...commentSlots(node, "commentBefore", path), ...commentSlots(node, "comment", path));
    };
    const onValue = (node: unknown, path: string[], holder: string[]): void => {
      if (isScalar(node)) own(node, holder);
      else if (isMap(node)) walkMap(node, path);
      else if (isSeq(node)) walkSeq(node, path);
    };
    const walkMap = (map: YAMLMap, path: string[]): void => {
      out.push(...commentSlots(map, "commentBefore", path));
      // A mapping's closing comment is printed after its last value. go-yaml (so sops)
      // files the first such line under the innermost block that ends there, and the
      // following lines, printed at this mapping's indentation, under this mapping.
      out.push(...commentSlots(map, "comment", path, innermostTrailingPath(map, path)));
      for (const pair of map.items as Pair[]) {
        if (isScalar(pair.key)) own(pair.key, path);
        onValue(pair.value, [...path, keyName(pair)], path);
      }
    };
    const walkSeq = (seq: YAMLSeq, path: string[]): void => {
      own(seq, path);
      for (const item of seq.items) onValue(item, path, path);
    };
    for (const d of this.docs) {
      own(d, []);
      if (isMap(d.contents)) walkMap(d.contents, []);
    }
    return out;
  }

  containerPaths(): string[][] {
    const out: string[][] = [[]];
    const walk = (node: unknown, path: string[]): void => {
      if (isMap(node)) {
        out.push(path);
        for (const pair of node.items as Pair[]) walk(pair.value, [...path, keyName(pair)]);
      } else if (isSeq(node)) for (const item of node.items) walk(item, path);
    };
    for (const d of this.docs) walk(d.contents, []);
    return out;
  }

  #find(path: readonly string[]): { parent: YAMLMap; pair: Pair } | undefined {
    let map: unknown = this.root();
    let found: { parent: YAMLMap; pair: Pair } | undefined;
    for (const segment of path) {
      if (!isMap(map)) return undefined;
      const pair = (map.items as Pair[]).find((p) => keyName(p) === segment);
      if (!pair) return undefined;
      found = { parent: map, pair };
      map = pair.value;
    }
    return found;
  }

  keysAt(path: readonly string[]): string[] | undefined {
    const node = path.length === 0 ? this.root() : this.#find(path)?.pair.value;
    return isMap(node) ? (node.items as Pair[]).map(keyName) : undefined;
  }

  getAt(path: readonly string[]): SecretValue | undefined {
    if (path.length === 0) return nodeToValue(this.root());
    const hit = this.#find(path);
    return hit ? nodeToValue(hit.pair.value) : undefined;
  }

  setAt(path: readonly string[], value: SecretValue): void {
    if (path.length === 0) throw new TypeError("empty path");
    let map = this.root();
    for (const segment of path.slice(0, -1)) {
      let pair = (map.items as Pair[]).find((p) => keyName(p) === segment);
      if (!pair) {
        pair = new Pair(keyNode(segment), new YAMLMap());
        map.items.push(pair);
      }
      if (!isMap(pair.value)) throw new TypeError(`${segment} is not a mapping`);
      map = pair.value;
    }
    const last = path[path.length - 1]!;
    const pair = (map.items as Pair[]).find((p) => keyName(p) === last);
    const scalarValue = value === null || typeof value !== "object";
    if (pair && isScalar(pair.value) && scalarValue && value !== null) {
      // Keep the node (and the comments attached to it); only its value changes.
      writeScalar(pair.value, fromJs(value));
    } else if (pair) pair.value = valueToNode(value);
    else map.items.push(new Pair(keyNode(last), valueToNode(value)));
  }

  deleteAt(path: readonly string[]): boolean {
    const hit = this.#find(path);
    if (!hit) return false;
    const index = hit.parent.items.indexOf(hit.pair);
    const [removed] = hit.parent.items.splice(index, 1) as Pair[];
    // Comments above the removed key belong to the next entry now, not to the void.
    const before = isScalar(removed?.key) ? removed.key.commentBefore : undefined;
    const next = hit.parent.items[index] as Pair | undefined;
    if (before && next && isScalar(next.key))
      next.key.commentBefore = next.key.commentBefore ? `${before}\n${next.key.commentBefore}` : before;
    return true;
  }

  /** Removes the top-level `sops` entry of every document; returns the first one's value as plain data, or undefined. */
  takeMetadata(): unknown {
    let found: unknown;
    this.docs.forEach((d, i) => {
      if (!isMap(d.contents)) return;
      const map = d.contents;
      const index = (map.items as Pair[]).findIndex((p) => isScalar(p.key) && p.key.value === "sops");
      if (index < 0) return;
      const [pair] = map.items.splice(index, 1) as Pair[];
      // sops writes the file's closing comments just above `sops:`; keep them at the end.
      const before = isScalar(pair!.key) ? pair!.key.commentBefore : undefined;
      if (before) map.comment = map.comment ? `${map.comment}\n${before}` : before;
      if (i === 0) found = (pair!.value as Node | null)?.toJSON?.() ?? pair!.value;
    });
    return found;
  }

  /** Appends the `sops` entry to every document, as sops does. */
  putMetadata(metadata: Record<string, unknown>): void {
    if (this.docs.length === 0) this.root();
    for (const d of this.docs) {
      if (!isMap(d.contents)) d.contents = new YAMLMap() as unknown as typeof d.contents;
      (d.contents as YAMLMap).items.push(new Pair(keyNode("sops"), valueToNode(metadata as SecretValue)));
    }
  }

  /** True when any document has a top-level `sops` key. */
  hasMetadataKey(): boolean {
    return this.docs.some((d) => isMap(d.contents) && d.contents.has("sops"));
  }

  toString(): string {
    return this.docs
      .map((d, i) => {
        const s = d.toString({ ...STRING_OPTIONS, indent: this.indent });
        return i > 0 && !s.startsWith("---") ? `---\n${s}` : s;
      })
      .join("");
  }
}

/** A list item that held a comment (sops' encoding of comments inside lists) becomes a real comment again. */
function commentToSeqComment(seq: YAMLSeq, node: Scalar, text: string): void {
  const index = seq.items.indexOf(node);
  if (index < 0) return;
  seq.items.splice(index, 1);
  const next = seq.items[index] as { commentBefore?: string | null } | undefined;
  if (next && typeof next === "object")
    next.commentBefore = next.commentBefore ? `${text}\n${next.commentBefore}` : text;
  else seq.comment = seq.comment ? `${seq.comment}\n${text}` : text;
}
