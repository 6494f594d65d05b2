/**
 * Changes to `wireguardUsers` in the cluster file, made the way a person would: YAML
 * and JSON files are edited in place by splicing text at the positions the parsers
 * report, so every other byte (comments, order, quoting, indentation) stays as it was;
 * the result is parsed again and must equal the intended value. TypeScript and Nix
 * files are code, so for them we print the exact snippet to paste instead.
 */
import { isDeepStrictEqual } from "node:util";
import { type Node as JsonNode, findNodeAtLocation, parseTree } from "jsonc-parser";
import { Document, isMap, isScalar, LineCounter, type Pair, parseDocument, stringify, type YAMLMap } from "yaml";
import { tsLiteral } from "../config/import.ts";
import { ExitCode, UserError } from "../errors.ts";
import { nixAttrName, printNix } from "../nix/printer.ts";

/** How a cluster file can be changed: edited in place, or by a snippet the user pastes. */
export type ClusterFileKind = "yaml" | "json" | "ts" | "nix";

/** One change to `wireguardUsers`. */
export type UserEdit =
  | { op: "add"; name: string; entry: Record<string, unknown> }
  | { op: "remove"; name: string }
  | { op: "set"; name: string; field: string; value: unknown };

/** The kind of a cluster file by its extension (the loader accepts nothing else). */
export function clusterFileKind(path: string): ClusterFileKind {
  if (/\.ya?ml$/.test(path)) return "yaml";
  if (path.endsWith(".json")) return "json";
  if (path.endsWith(".nix")) return "nix";
  return "ts";
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/**
 * `raw` (a cluster file's value) with `edit` applied; the input is not changed. Throws
 * Error when the edit does not fit (a bug: callers check the user exists first).
 */
export function applyToValue(raw: Record<string, unknown>, edit: UserEdit): Record<string, unknown> {
  const out = structuredClone(raw);
  const users = isRecord(out.wireguardUsers) ? out.wireguardUsers : {};
  out.wireguardUsers = users;
  if (edit.op === "add") users[edit.name] = structuredClone(edit.entry);
  else if (!isRecord(users[edit.name])) throw new Error(`applyToValue: no user ${edit.name}`);
  else if (edit.op === "remove") delete users[edit.name];
  else (users[edit.name] as Record<string, unknown>)[edit.field] = edit.value;
  return out;
}

/**
 * The new text of a YAML or JSON cluster file with `edit` applied, every other byte
 * unchanged. Throws UserError (exit 2) when the file's layout cannot be edited in
 * place (e.g. wireguardUsers written as a one-line `{…}` mapping), naming what to
 * paste instead; throws Error when the edited text does not read back as intended.
 */
export function editClusterText(text: string, kind: "yaml" | "json", edit: UserEdit, file: string): string {
  const before = kind === "yaml" ? parseDocument(text).toJS() : JSON.parse(text);
  const out = kind === "yaml" ? editYaml(text, edit, file) : editJson(text, edit);
  const after = kind === "yaml" ? parseDocument(out).toJS() : JSON.parse(out);
  if (!isDeepStrictEqual(after, applyToValue(before, edit))) {
    throw new Error(`editing ${file} gave a different value than intended (nothing was written)`);
  }
  return out;
}

/** What to paste into a TypeScript or Nix cluster file for `edit`, with where it goes. */
export function snippet(kind: "ts" | "nix", edit: UserEdit): string {
  const where = `wireguardUsers.${edit.name}`;
  if (kind === "ts") {
    if (edit.op === "add") return `    ${tsKey(edit.name)}: ${tsLiteral(edit.entry, "    ")},`;
    if (edit.op === "set") return `${edit.field}: ${tsLiteral(edit.value)}, // in ${where}`;
    return `// delete ${where} (the whole \`${tsKey(edit.name)}: { … },\` entry)`;
  }
  if (edit.op === "add") return `    ${nixAttrName(edit.name)} = ${printNix(edit.entry).replaceAll("\n", "\n    ")};`;
  if (edit.op === "set") return `${nixAttrName(edit.field)} = ${printNix(edit.value)}; # in ${where}`;
  return `# delete ${where} (the whole \`${nixAttrName(edit.name)} = { … };\` entry)`;
}

const tsKey = (name: string): string => (/^[A-Za-z_$][A-Za-z0-9_$]*$/.test(name) ? name : JSON.stringify(name));

// ---------------------------------------------------------------------------
// Text positions

const lineStart = (text: string, pos: number): number => text.lastIndexOf("\n", pos - 1) + 1;
const column = (text: string, pos: number): number => pos - lineStart(text, pos);

/** The position just after the end of the line `pos` is on (past its newline), or the text's end. */
function nextLine(text: string, pos: number): number {
  if (pos > 0 && text[pos - 1] === "\n") return pos;
  const nl = text.indexOf("\n", pos);
  return nl < 0 ? text.length : nl + 1;
}

const splice = (text: string, from: number, to: number, insert: string): string =>
  text.slice(0, from) + insert + text.slice(to);

/** Inserts `block` (whole lines) at `pos`, adding the newline a last line without one lacks. */
function insertLines(text: string, pos: number, block: string): string {
  const sep = pos === text.length && text.length > 0 && !text.endsWith("\n") ? "\n" : "";
  return splice(text, pos, pos, sep + block);
}

const cannotEdit = (file: string, what: string): UserError =>
  new UserError(`${file}: ${what}, which nixlab cannot edit in place; change it by hand or write it in block style`, {
    exitCode: ExitCode.invalidInput,
  });

// ---------------------------------------------------------------------------
// YAML

const range = (node: unknown): [number, number, number] => {
  const r = (node as { range?: [number, number, number] } | null)?.range;
  if (!r) throw new Error("yaml node without a source range");
  return r;
};

function pairNamed(map: YAMLMap, name: string): Pair | undefined {
  return map.items.find((p) => isScalar(p.key) && String(p.key.value) === name);
}

/** Where a pair's text ends: after its value (or its key when the value is empty). */
const pairEnd = (pair: Pair): number => (pair.value ? range(pair.value)[1] : range(pair.key)[1]);

/** The indentation step of the document: the first nested block mapping's, else 2. */
function indentStep(text: string, root: YAMLMap): number {
  for (const pair of root.items) {
    if (isMap(pair.value) && !pair.value.flow && pair.value.items.length > 0) {
      const step = column(text, range(pair.value.items[0]!.key)[0]) - column(text, range(pair.key)[0]);
      if (step > 0) return step;
    }
  }
  return 2;
}

/** `name:` and its fields as YAML lines, the name at `indent` spaces and fields `step` deeper. */
function yamlEntry(name: string, entry: Record<string, unknown>, indent: number, step: number): string {
  const doc = new Document({ [name]: entry });
  // YAML 1.1 readers would take an unquoted 2026-12-31 for a date, not the string it is.
  const expires = doc.getIn([name, "expires"], true);
  if (isScalar(expires)) expires.type = "QUOTE_DOUBLE";
  const body = doc.toString({ indent: step, lineWidth: 0 });
  const pad = " ".repeat(indent);
  return body
    .split("\n")
    .map((line) => (line === "" ? line : pad + line))
    .join("\n");
}

function editYaml(text: string, edit: UserEdit, file: string): string {
  const doc = parseDocument(text, { lineCounter: new LineCounter() });
  const root = doc.contents;
  if (!isMap(root) || root.flow) throw cannotEdit(file, "the file is not a block mapping at the top");
  const step = indentStep(text, root);
  const usersPair = pairNamed(root, "wireguardUsers");
  const users = usersPair?.value;
  if (edit.op === "add") {
    if (!usersPair) {
      const indent = root.items.length > 0 ? column(text, range(root.items[0]!.key)[0]) : 0;
      return insertLines(
        text,
        text.length,
        `${" ".repeat(indent)}wireguardUsers:\n${yamlEntry(edit.name, edit.entry, indent + step, step)}`,
      );
    }
    if (!isMap(users)) throw cannotEdit(file, "wireguardUsers is not a mapping");
    const keyIndent = column(text, range(usersPair.key)[0]);
    if (users.flow) {
      if (users.items.length > 0) throw cannotEdit(file, "wireguardUsers is written as a one-line {…} mapping");
      // `wireguardUsers: {}` becomes `wireguardUsers:` followed by the entry.
      const to = range(users)[1];
      const colon = text.lastIndexOf(":", range(users)[0]);
      const block = yamlEntry(edit.name, edit.entry, keyIndent + step, step);
      return splice(insertLines(text, nextLine(text, to), block), colon + 1, to, "");
    }
    const first = users.items[0]!;
    const indent = column(text, range(first.key)[0]);
    const inner = isMap(first.value) && !first.value.flow && first.value.items.length > 0;
    const fieldStep = inner ? column(text, range((first.value as YAMLMap).items[0]!.key)[0]) - indent : step;
    return insertLines(
      text,
      nextLine(text, pairEnd(users.items.at(-1)!)),
      yamlEntry(edit.name, edit.entry, indent, fieldStep),
    );
  }
  const userPair = isMap(users) ? pairNamed(users, edit.name) : undefined;
  if (!usersPair || !isMap(users) || !userPair) throw new Error(`editYaml: no user ${edit.name}`);
  if (edit.op === "remove") {
    if (users.flow) throw cannotEdit(file, "wireguardUsers is written as a one-line {…} mapping");
    const from = lineStart(text, range(userPair.key)[0]);
    const to = nextLine(text, pairEnd(userPair));
    if (users.items.length > 1) return splice(text, from, to, "");
    // The last user: leave `wireguardUsers: {}` (an empty value would be null, which is invalid).
    const colon = text.indexOf(":", range(usersPair.key)[1]);
    return splice(splice(text, from, to, ""), colon + 1, colon + 1, " {}");
  }
  const user = userPair.value;
  if (!isMap(user)) throw cannotEdit(file, `wireguardUsers.${edit.name} is not a mapping`);
  const scalar = stringify(edit.value, { lineWidth: 0 }).trimEnd();
  const field = pairNamed(user, edit.field);
  if (field && isScalar(field.value)) {
    const [from, to] = range(field.value);
    return splice(text, from, to, scalar);
  }
  if (field) throw cannotEdit(file, `wireguardUsers.${edit.name}.${edit.field} is not a plain value`);
  if (user.flow) {
    const last = user.items.at(-1);
    if (!last) throw cannotEdit(file, `wireguardUsers.${edit.name} is an empty {} mapping`);
    const at = pairEnd(last);
    return splice(text, at, at, `, ${edit.field}: ${scalar}`);
  }
  const indent = column(text, range(user.items[0]!.key)[0]);
  return insertLines(
    text,
    nextLine(text, pairEnd(user.items.at(-1)!)),
    `${" ".repeat(indent)}${edit.field}: ${scalar}\n`,
  );
}

// ---------------------------------------------------------------------------
// JSON

/** The indentation of the line `pos` is on. */
const lineIndent = (text: string, pos: number): string => /^[ \t]*/.exec(text.slice(lineStart(text, pos)))![0];

/** One indentation step of a JSON file: its first indented line's, else two spaces. */
const jsonStep = (text: string): string => /\n([ \t]+)\S/.exec(text)?.[1] ?? "  ";

/** A JSON value laid out with `step`, continuation lines starting at `indent`. */
const jsonValue = (value: unknown, step: string, indent: string): string =>
  JSON.stringify(value, null, step).replaceAll("\n", `\n${indent}`);

/** Adds `"key": value` as the last member of object `obj`. */
function jsonAddMember(text: string, obj: JsonNode, key: string, value: unknown, step: string): string {
  const members = obj.children ?? [];
  const eol = text.includes("\r\n") ? "\r\n" : "\n";
  if (members.length === 0) {
    const outer = lineIndent(text, obj.offset);
    const inner = outer + step;
    const body = `{${eol}${inner}${JSON.stringify(key)}: ${jsonValue(value, step, inner)}${eol}${outer}}`;
    return splice(text, obj.offset, obj.offset + obj.length, body);
  }
  const last = members.at(-1)!;
  const at = last.offset + last.length;
  // An object written on one line gets the member on that line too.
  if (!text.slice(obj.offset, obj.offset + obj.length).includes("\n"))
    return splice(text, at, at, `, ${JSON.stringify(key)}: ${JSON.stringify(value)}`);
  const indent = lineIndent(text, members[0]!.offset);
  return splice(text, at, at, `,${eol}${indent}${JSON.stringify(key)}: ${jsonValue(value, step, indent)}`);
}

function editJson(text: string, edit: UserEdit): string {
  const root = parseTree(text);
  if (root?.type !== "object") throw new Error("editJson: the file is not a JSON object");
  const step = jsonStep(text);
  const users = findNodeAtLocation(root, ["wireguardUsers"]);
  if (edit.op === "add") {
    if (!users) return jsonAddMember(text, root, "wireguardUsers", { [edit.name]: edit.entry }, step);
    return jsonAddMember(text, users, edit.name, edit.entry, step);
  }
  const user = findNodeAtLocation(root, ["wireguardUsers", edit.name]);
  const member = user?.parent;
  if (!users || !user || !member) throw new Error(`editJson: no user ${edit.name}`);
  if (edit.op === "set") {
    const field = findNodeAtLocation(user, [edit.field]);
    if (!field) return jsonAddMember(text, user, edit.field, edit.value, step);
    return splice(text, field.offset, field.offset + field.length, JSON.stringify(edit.value));
  }
  const members = users.children!;
  const i = members.indexOf(member);
  if (members.length === 1) return splice(text, users.offset, users.offset + users.length, "{}");
  // Remove the member with the separator before it (or, for the first, the one after it).
  if (i === 0) return splice(text, member.offset, members[1]!.offset, "");
  const prev = members[i - 1]!;
  return splice(text, prev.offset + prev.length, member.offset + member.length, "");
}
