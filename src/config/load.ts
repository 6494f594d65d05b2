/**
 * Finding, reading and validating the cluster file: nixlab.config.ts, nixlab.yaml,
 * nixlab.json or vars.nix. The only part of config/ that touches the file system.
 */
import { readFileSync, statSync } from "node:fs";
import { basename, dirname, extname } from "node:path";
import {
  type Document,
  isAlias,
  isMap,
  isScalar,
  isSeq,
  LineCounter,
  parseDocument,
  visit,
  type YAMLError,
} from "yaml";
import { type Cluster, buildCluster } from "../cluster/model.ts";
import { ExitCode, UserError } from "../errors.ts";
import { jsonTooDeepAt, yamlTooDeepAt } from "../nesting.ts";
import { loadModule } from "./module.ts";
import { configLimits, errorText } from "./plain.ts";
import { type ConfigProblem, type FieldPath, formatPath } from "./problems.ts";
import { validateConfig } from "./validate.ts";
import { type LoadOptions, clusterFileNames, findClusterFile } from "./find.ts";

export { type LoadOptions, clusterFileNames, findClusterFile } from "./find.ts";

/** Raised for an invalid cluster file; `problems` are also in `details`, one per line. */
export class ConfigError extends UserError {
  readonly problems: ConfigProblem[];
  readonly file: string;

  constructor(file: string, problems: ConfigProblem[], locate: (path: FieldPath) => string | undefined) {
    const count = problems.length === 1 ? "1 problem" : `${problems.length} problems`;
    super(`${file}: ${count}`, {
      exitCode: ExitCode.invalidInput,
      details: problems.flatMap((p) => {
        const where = locate(p.path);
        return [`  ${formatPath(p.path)}${where ? ` (${where})` : ""}: ${p.message}`, `      fix: ${p.fix}`];
      }),
    });
    this.problems = problems;
    this.file = file;
  }
}

interface RawSource {
  value: unknown;
  /** file:line:column of a field, where the format allows it. */
  locate: (path: FieldPath) => string | undefined;
}

const invalid = (message: string, details: string[] = []) =>
  new UserError(message, { exitCode: ExitCode.invalidInput, details });

const nowhere = () => undefined;

/**
 * Reads a cluster file to a raw value without validating it. Throws UserError (exit
 * code 2, naming the file and, where it has one, the position) when the file is not a
 * regular file, larger than `configLimits.bytes`, not UTF-8, empty, or not valid in its
 * format; for TypeScript, when the module fails to load (see `loadModule`).
 */
export async function readClusterSource(path: string): Promise<RawSource> {
  const name = basename(path);
  const ext = extname(path);
  if (ext === ".ts" || ext === ".mts" || ext === ".js" || ext === ".mjs") {
    checkClusterFile(path, name);
    refuseOldNodeForTypeScript(name, ext);
    const { value, problems } = await loadModule(path, name);
    if (problems.length > 0) throw new ConfigError(name, problems, nowhere);
    return { value, locate: nowhere };
  }
  if (ext !== ".nix" && ext !== ".json" && ext !== ".yaml" && ext !== ".yml") {
    throw invalid(`${name}: unknown cluster file type "${ext}"`, [`  use one of ${clusterFileNames.join(", ")}`]);
  }
  const text = readClusterText(path, name);
  if (ext === ".nix") {
    const nix = (await import("../nix/index.ts")) as {
      evaluateNix: (s: string, o: { file: string; baseDir: string }) => unknown;
    };
    return { value: nix.evaluateNix(text, { file: path, baseDir: dirname(path) }), locate: nowhere };
  }
  return parseClusterText(text, name);
}

/** Throws UserError with one line saying which Node loads TypeScript when this one cannot. */
function refuseOldNodeForTypeScript(name: string, ext: string): void {
  if ((ext === ".ts" || ext === ".mts") && !process.features.typescript) {
    throw invalid(
      `${name} needs Node.js 22.18 or newer to load TypeScript (this is ${process.version}): install Node 24 from https://nodejs.org, or use nixlab.yaml`,
    );
  }
}

/**
 * Parses the text of a YAML (`.yaml`, `.yml`) or JSON (`.json`, by `name`'s extension)
 * cluster file. Throws UserError naming `name` and the position when the text is empty,
 * nested deeper than `configLimits.depth`, has duplicate keys, several documents, custom
 * tags, aliases that expand too far, or is not valid in its format.
 */
export function parseClusterText(text: string, name: string): RawSource {
  refuseEmpty(text, name);
  return extname(name) === ".json" ? readJson(text, name) : readYaml(text, name);
}

/**
 * Throws UserError (exit code 2) unless `path` is a regular file within
 * `configLimits.bytes`: reading a FIFO or a device would never end.
 */
export function checkClusterFile(path: string, name: string): void {
  const stat = statSync(path);
  if (!stat.isFile())
    throw invalid(`${name} is not a regular file`, ["  name the file itself, not a directory, pipe or device"]);
  if (stat.size > configLimits.bytes) {
    throw invalid(
      `${name} is ${megabytes(stat.size)}; nixlab reads cluster files of up to ${megabytes(configLimits.bytes)}`,
    );
  }
}

/** The file's text: a regular, non-empty UTF-8 file within the size limit. */
function readClusterText(path: string, name: string): string {
  checkClusterFile(path, name);
  const bytes = readFileSync(path);
  const bad = invalidUtf8At(bytes);
  if (bad !== -1) {
    const line = bytes.subarray(0, bad).filter((b) => b === 10).length + 1;
    throw invalid(`${name}:${line}: the file is not UTF-8 text (byte ${bad + 1} is not valid UTF-8)`, [
      "  save it as UTF-8 in your editor",
    ]);
  }
  // TextDecoder drops a leading byte-order mark, which JSON.parse would reject.
  const text = new TextDecoder().decode(bytes);
  refuseEmpty(text, name);
  return text;
}

function refuseEmpty(text: string, name: string): void {
  if (text.trim() === "") {
    throw invalid(`${name} is empty`, ["  describe your cluster in it; examples/homelab/ has one in every format"]);
  }
}

const megabytes = (n: number) => `${(n / 1024 / 1024).toFixed(1)} MB`;

/** The offset of the first byte that is not part of well-formed UTF-8, or -1. */
export function invalidUtf8At(b: Uint8Array): number {
  let i = 0;
  while (i < b.length) {
    const c = b[i]!;
    const n = c < 0x80 ? 0 : c >= 0xc2 && c <= 0xdf ? 1 : c >= 0xe0 && c <= 0xef ? 2 : c >= 0xf0 && c <= 0xf4 ? 3 : -1;
    if (n === -1) return i;
    // Second-byte ranges exclude overlong forms, surrogates and code points past U+10FFFF.
    const lo = c === 0xe0 ? 0xa0 : c === 0xf0 ? 0x90 : 0x80;
    const hi = c === 0xed ? 0x9f : c === 0xf4 ? 0x8f : 0xbf;
    for (let k = 1; k <= n; k++) {
      const d = b[i + k];
      if (d === undefined || d < (k === 1 ? lo : 0x80) || d > (k === 1 ? hi : 0xbf)) return i;
    }
    i += n + 1;
  }
  return -1;
}

function readJson(text: string, name: string): RawSource {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw invalid(`${name} is not valid JSON: ${(error as Error).message}`);
  }
  refuseDeepText(text, name, jsonTooDeepAt(text, configLimits.depth));
  // YAML's parser reads JSON too and knows every value's position; its own syntax
  // errors do not apply to a text JSON.parse accepted.
  const { doc, at } = parseYamlDocument(text, name);
  refuseBadKeys(doc, at, name);
  return { value, locate: locator(doc, at) };
}

function readYaml(text: string, name: string): RawSource {
  refuseDeepText(text, name, yamlTooDeepAt(text, configLimits.depth));
  const { doc, at } = parseYamlDocument(text, name);
  const errors = [...doc.errors, ...doc.warnings];
  if (errors.length > 0) {
    throw invalid(
      `${name} is not valid YAML`,
      errors.map((e) => `  ${at(e.pos[0])}: ${yamlMessage(e)}`),
    );
  }
  refuseBadKeys(doc, at, name);
  if (doc.contents === null) {
    throw invalid(`${name} is empty (it holds only comments)`, [
      "  describe your cluster in it; examples/homelab/nixlab.yaml is one",
    ]);
  }
  let value: unknown;
  try {
    // Counted first: the library's own alias limit is reached only after much work.
    // (A cycle counts as Infinity and is left to toPlainData, which names its field.)
    const size = expandedSize(doc);
    if (Number.isFinite(size) && size > configLimits.values) {
      throw new Error(`they stand for more than ${configLimits.values.toLocaleString("en")} values`);
    }
    value = doc.toJS({ maxAliasCount: 100 });
  } catch (error) {
    let first: number | undefined;
    visit(doc, {
      Alias: (_, node) => {
        first = node.range?.[0];
        return visit.BREAK;
      },
    });
    // The yaml library refuses more than maxAliasCount copies (a "billion laughs").
    throw invalid(`${first === undefined ? name : at(first)}: aliases (*name) expand to too many copies`, [
      `  ${errorText(error)}; write the values out or use fewer aliases`,
    ]);
  }
  return { value, locate: locator(doc, at) };
}

/**
 * How many nodes the document stands for with every alias expanded, counting each node
 * once (memo) so the count is linear in the document (Alias.resolve would search the
 * whole document per alias); Infinity for an alias inside the node it names. Recursion
 * is bounded by the nesting limit checked before.
 */
function expandedSize(doc: Document): number {
  // An alias names the closest anchor before it, in document order (the order of visit).
  const anchors = new Map<string, unknown>();
  const targets = new Map<unknown, unknown>();
  visit(doc, {
    Node: (_, node) => {
      if (isAlias(node)) targets.set(node, anchors.get(node.source));
      else if (node.anchor) anchors.set(node.anchor, node);
    },
  });
  const memo = new Map<unknown, number>();
  const size = (node: unknown): number => {
    const known = memo.get(node);
    if (known !== undefined) return known;
    memo.set(node, Number.POSITIVE_INFINITY);
    let n = 1;
    if (isAlias(node)) n = size(targets.get(node));
    else if (isMap(node)) for (const pair of node.items) n += size(pair.key) + size(pair.value);
    else if (isSeq(node)) for (const item of node.items) n += size(item);
    memo.set(node, n);
    return n;
  };
  return size(doc.contents);
}

/** Throws when a nesting scan found a level past the limit at `offset`. */
function refuseDeepText(text: string, name: string, offset: number): void {
  if (offset === -1) return;
  const lineStart = text.lastIndexOf("\n", offset) + 1;
  const line = text.slice(0, lineStart).split("\n").length;
  throw invalid(`${name}:${line}:${offset - lineStart + 1}: nested deeper than ${configLimits.depth} levels`, [
    "  flatten the structure; nixlab's cluster files nest a few levels",
  ]);
}

function parseYamlDocument(text: string, name: string) {
  const lineCounter = new LineCounter();
  const at = (offset: number) => {
    const pos = lineCounter.linePos(offset);
    return `${name}:${pos.line}:${pos.col}`;
  };
  // The library's own duplicate check compares every key with every other (quadratic in
  // a map's size); refuseBadKeys does it in linear time. YAML 1.2 has no merge keys, and
  // expanding `<<: *a` copies the whole anchored map each time (seconds and hundreds of
  // MB before the alias limit stops it): refuseBadKeys refuses them.
  const doc = parseDocument(text, { lineCounter, uniqueKeys: false, prettyErrors: false });
  return { doc, at };
}

/**
 * Two equal keys in one mapping (JSON.parse and toJS keep the last without a word; keys
 * are compared as the strings they become, so `1:` and `"1":` clash too), keys that are
 * lists, mappings or bytes (toJS would turn them into text with a warning), and merge keys.
 */
function refuseBadKeys(doc: Document, at: (offset: number) => string, name: string): void {
  const found: string[] = [];
  visit(doc, {
    Map: (_, map) => {
      const seen = new Set<string>();
      for (const pair of map.items) {
        const key = pair.key;
        // A tagged scalar may hold bytes (`!!binary`) or a date: not text either.
        if (key !== null && (!isScalar(key) || (typeof key.value === "object" && key.value !== null))) {
          found.push(
            `  ${at((key as { range?: number[] }).range?.[0] ?? 0)}: a key must be plain text, not ${isScalar(key) ? "tagged bytes or a date" : "a list or a mapping"}`,
          );
          continue;
        }
        const text = key === null ? "" : String(key.value);
        if (text === "<<") {
          found.push(`  ${at(key?.range?.[0] ?? 0)}: merge keys (<<) are not supported; write the keys out`);
          continue;
        }
        if (seen.has(text))
          found.push(`  ${at(key?.range?.[0] ?? 0)}: key "${text}" appears twice in this object; keep one`);
        seen.add(text);
      }
    },
  });
  if (found.length > 0) {
    const more = found.length > 20 ? [`  … and ${found.length - 20} more`] : [];
    throw invalid(`${name} has keys nixlab cannot read`, [...found.slice(0, 20), ...more]);
  }
}

/** A YAML error in words a user can act on (the library's wording names its own API). */
function yamlMessage(e: YAMLError): string {
  switch (e.code) {
    case "MULTIPLE_DOCS":
      return "a second document starts here (after ---); a cluster file is one document";
    case "RESOURCE_EXHAUSTION":
      return "the document is nested too deeply or too large to read";
    case "TAG_RESOLVE_FAILED":
      return `${e.message.split("\n")[0]} (cluster files use no custom tags)`;
    default:
      return e.message.split("\n")[0]!;
  }
}

/** file:line:column of the value at a path, or of its nearest ancestor that has one. */
function locator(doc: Document, at: (offset: number) => string): RawSource["locate"] {
  return (fieldPath) => {
    for (let n = fieldPath.length; n >= 0; n--) {
      const node = doc.getIn(fieldPath.slice(0, n), true) as { range?: [number, number, number] } | undefined;
      const range = node && typeof node === "object" ? node.range : undefined;
      if (range) return at(range[0]);
    }
    return undefined;
  };
}

/** Validates a raw value into a Cluster. Throws ConfigError listing every problem. */
export function clusterFromValue(value: unknown, file: string, locate: RawSource["locate"] = () => undefined): Cluster {
  const result = validateConfig(value);
  if (!result.ok) throw new ConfigError(basename(file), result.problems, locate);
  return buildCluster(result.config, file);
}

/** Finds, reads and validates the cluster file. Throws UserError (exit code 2) on any problem. */
export async function loadCluster(options: LoadOptions = {}): Promise<Cluster> {
  const path = findClusterFile(options);
  const source = await readClusterSource(path);
  return clusterFromValue(source.value, path, source.locate);
}
