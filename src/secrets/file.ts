// An open SOPS file: decrypted in memory, typed accessors, atomic encrypted writes.
import { readFileSync } from "node:fs";
import { extname } from "node:path";
import { UserError } from "../errors.ts";
import { type AgeIdentity, unwrapStanza, wrapForRecipient } from "./age.ts";
import { writeFileAtomic } from "../io/atomic.ts";
import { decryptValue, encryptValue, IvStash, newDataKey, ValueDecryptError } from "./cipher.ts";
import { JsonDocument } from "./json-store.ts";
import {
  type CryptRules,
  type KeyGroup,
  hasForeignKeys,
  macAdditionalData,
  type Metadata,
  nowRfc3339,
  parseMetadata,
  recipientsOf,
  SOPS_FORMAT_VERSION,
  serializeMetadata,
} from "./metadata.ts";
import { combine, split } from "./shamir.ts";
import { decryptDocument, encryptDocument, LeafDecryptError } from "./tree.ts";
import type { SecretValue } from "./value.ts";
import { DocumentError, YamlDocument } from "./yaml-store.ts";

export type SecretsFormat = "yaml" | "json";
type AnyDocument = YamlDocument | JsonDocument;

/** A key path: one top-level name, or the keys leading to a nested value. */
export type KeyPath = string | readonly string[];

/** Recipients and rules for a new file (from a .sops.yaml creation rule or given directly). */
export interface NewFileOptions extends CryptRules {
  /** One list of age recipients per key group (one group: a plain recipient list). */
  keyGroups: string[][];
  shamirThreshold?: number;
  macOnlyEncrypted?: boolean;
  format?: SecretsFormat;
}

/** The format of `path` by extension: .json is JSON, everything else YAML. */
export function formatOf(path: string): SecretsFormat {
  return extname(path).toLowerCase() === ".json" ? "json" : "yaml";
}

function toPath(key: KeyPath): readonly string[] {
  return typeof key === "string" ? [key] : key;
}

function parseDocument(text: string, format: SecretsFormat, label: string, advice: string): AnyDocument {
  try {
    return format === "json" ? JsonDocument.parse(text) : YamlDocument.parse(text);
  } catch (error) {
    if (error instanceof DocumentError) {
      const at = error.line !== undefined ? ` at line ${error.line}, column ${error.col}` : "";
      throw new UserError(`${label}: ${error.message}${at}; ${advice}`, { exitCode: 1 });
    }
    throw error;
  }
}

function recipientList(m: Metadata): string {
  const all = recipientsOf(m);
  return all.length > 0 ? all.join(", ") : "no age recipients";
}

async function recoverDataKey(m: Metadata, identities: readonly AgeIdentity[], file: string): Promise<Uint8Array> {
  if (m.keyGroups.every((g) => g.age.length === 0)) {
    throw new UserError(
      `${file} is encrypted only to key types nixlab does not support (pgp, kms, …); decrypt it with sops`,
    );
  }
  if (identities.length === 0) {
    throw new UserError(
      `no age key found to decrypt ${file}: pass --age-key-file, set SOPS_AGE_KEY_FILE or SOPS_AGE_KEY, or put your key in ~/.config/sops/age/keys.txt`,
    );
  }
  const parts: Uint8Array[] = [];
  for (const group of m.keyGroups) {
    for (const stanza of group.age) {
      let part: Uint8Array | null;
      try {
        part = await unwrapStanza(stanza.enc, identities);
      } catch (error) {
        throw new UserError(
          `${file}: the data key for ${stanza.recipient} is damaged (${(error as Error).message}); restore the file from version control`,
        );
      }
      if (part) {
        parts.push(part);
        break;
      }
    }
  }
  const needed = m.keyGroups.length === 1 ? 1 : m.shamirThreshold || m.keyGroups.length;
  if (parts.length < needed) {
    const have = [...new Set(identities.map((i) => i.recipient))].join(", ");
    const groups =
      m.keyGroups.length > 1 ? ` (${needed} of ${m.keyGroups.length} key groups needed, ${parts.length} opened)` : "";
    throw new UserError(
      `none of your age keys can decrypt ${file}${groups}: it is encrypted to ${recipientList(m)}, your keys are ${have}; use a matching key (--age-key-file) or have its owner add yours and run \`nixlab secrets updatekeys\``,
    );
  }
  let key: Uint8Array;
  try {
    key = m.keyGroups.length === 1 ? parts[0]! : combine(parts);
  } catch (error) {
    throw new UserError(
      `${file}: the key group shares do not combine (${(error as Error).message}); restore the file from version control`,
    );
  }
  if (key.length !== 32)
    throw new UserError(`${file}: the data key has the wrong length; restore the file from version control`);
  return key;
}

async function wrapDataKey(key: Uint8Array, m: Metadata): Promise<void> {
  let parts: Uint8Array[];
  if (m.keyGroups.length === 1) parts = [key];
  else {
    const threshold = m.shamirThreshold || m.keyGroups.length;
    parts = split(key, m.keyGroups.length, threshold);
  }
  for (const [i, group] of m.keyGroups.entries()) {
    for (const stanza of group.age) stanza.enc = await wrapForRecipient(parts[i]!, stanza.recipient);
  }
}

function newerVersion(a: string, b: string): boolean {
  const pa = a.split(/[.-]/).map((x) => Number.parseInt(x, 10) || 0);
  const pb = b.split(/[.-]/).map((x) => Number.parseInt(x, 10) || 0);
  for (let i = 0; i < 3; i++) if ((pa[i] ?? 0) !== (pb[i] ?? 0)) return (pa[i] ?? 0) > (pb[i] ?? 0);
  return false;
}

/**
 * A decrypted SOPS file. Values live in memory only; `save()` encrypts and
 * replaces the file atomically (mode 0600). Key paths are mapping keys.
 */
export class SecretsFile {
  readonly path: string;
  readonly format: SecretsFormat;
  #doc: AnyDocument;
  #metadata: Metadata;
  #dataKey: Uint8Array;
  readonly #stash: IvStash;
  #dirty: boolean;
  #keysChanged = false;

  constructor(init: {
    path: string;
    format: SecretsFormat;
    doc: AnyDocument;
    metadata: Metadata;
    dataKey: Uint8Array;
    stash: IvStash;
    dirty: boolean;
  }) {
    this.path = init.path;
    this.format = init.format;
    this.#doc = init.doc;
    this.#metadata = init.metadata;
    this.#dataKey = init.dataKey;
    this.#stash = init.stash;
    this.#dirty = init.dirty;
  }

  /** True when there are changes that `save()` would write. */
  get dirty(): boolean {
    return this.#dirty;
  }

  /** The age recipients of every key group, in file order. */
  recipients(): string[] {
    return recipientsOf(this.#metadata);
  }

  /** The recipients per key group. */
  keyGroups(): string[][] {
    return this.#metadata.keyGroups.map((g) => g.age.map((s) => s.recipient));
  }

  /** How many key groups open the file (0: all of them, or there is one). */
  shamirThreshold(): number {
    return this.#metadata.shamirThreshold;
  }

  /** Top-level names (or the names under `path`), in file order; [] when `path` is not a mapping. */
  keys(path: readonly string[] = []): string[] {
    return this.#doc.keysAt(path) ?? [];
  }

  /** True when a value (possibly null) exists at `key`. */
  has(key: KeyPath): boolean {
    return this.#doc.getAt(toPath(key)) !== undefined;
  }

  /** The value at `key`, or undefined when absent. Never throws. */
  get(key: KeyPath): SecretValue | undefined {
    return this.#doc.getAt(toPath(key));
  }

  /** The string at `key`. Throws UserError when it is absent or not a string (the message names the key, never a value). */
  getString(key: KeyPath): string {
    const value = this.get(key);
    const name = toPath(key).join(".");
    if (value === undefined)
      throw new UserError(`${this.path} has no secret ${name}; add it with \`nixlab secrets set ${name}\``);
    if (typeof value !== "string") throw new UserError(`${this.path}: secret ${name} is not a string`);
    return value;
  }

  /** Creates or replaces the value at `key` (creating parent mappings). Throws UserError when a parent is not a mapping. */
  set(key: KeyPath, value: SecretValue): void {
    try {
      this.#doc.setAt(toPath(key), value);
    } catch (error) {
      if (error instanceof TypeError)
        throw new UserError(`${this.path}: cannot set ${toPath(key).join(".")}: ${error.message}`);
      throw error;
    }
    this.#dirty = true;
  }

  /** Removes `key`; returns false (and changes nothing) when it was absent. */
  delete(key: KeyPath): boolean {
    const removed = this.#doc.deleteAt(toPath(key));
    if (removed) this.#dirty = true;
    return removed;
  }

  /** The decrypted document as text (YAML keeps comments), without the `sops` section. Contains secrets: handle with care. */
  toPlaintext(): string {
    return this.#doc.toString();
  }

  /**
   * Replaces all values with those of `text` (the edited plaintext, same format).
   * Throws UserError with a position (never content) on a syntax error or a `sops` key.
   */
  replacePlaintext(text: string): void {
    const doc = parseDocument(text, this.format, "the edited file", "fix it and save again");
    if (doc.hasMetadataKey())
      throw new UserError("the edited file has a top-level `sops` key, which is reserved; rename it");
    this.#doc = doc;
    this.#dirty = true;
  }

  /**
   * Changes the recipients (one list per key group) and re-wraps the data key for
   * them; values are unchanged. Returns false when they already are the recipients.
   * Throws UserError when the file also has pgp/kms/… keys nixlab cannot re-wrap.
   */
  setRecipients(keyGroups: string[][], shamirThreshold = 0): boolean {
    const current = this.keyGroups();
    const same =
      JSON.stringify(current.map((g) => [...g].sort())) === JSON.stringify(keyGroups.map((g) => [...g].sort())) &&
      (keyGroups.length === 1 || (this.#metadata.shamirThreshold || 0) === (shamirThreshold || 0));
    if (same) return false;
    if (hasForeignKeys(this.#metadata)) {
      throw new UserError(
        `${this.path} also has pgp/kms/… keys that nixlab cannot re-encrypt; change its keys with sops updatekeys`,
      );
    }
    this.#metadata.keyGroups = keyGroups.map(
      (g): KeyGroup => ({ age: g.map((recipient) => ({ recipient, enc: "" })), other: {} }),
    );
    this.#metadata.shamirThreshold = keyGroups.length > 1 ? shamirThreshold : 0;
    this.#keysChanged = true;
    this.#dirty = true;
    return true;
  }

  /** Switches to a new data key: on save every value is re-encrypted with fresh IVs and the key re-wrapped. */
  rotateDataKey(): void {
    if (hasForeignKeys(this.#metadata)) {
      throw new UserError(
        `${this.path} also has pgp/kms/… keys that nixlab cannot re-encrypt to; rotate it with sops rotate`,
      );
    }
    this.#dataKey = newDataKey();
    this.#stash.clear();
    this.#keysChanged = true;
    this.#dirty = true;
  }

  /** The encrypted file text for the current values (does not write). */
  async encryptedText(): Promise<string> {
    if (this.#keysChanged) {
      await wrapDataKey(this.#dataKey, this.#metadata);
      this.#keysChanged = false;
    }
    const doc = this.#doc.clone();
    const stash = this.#stash;
    const mac = encryptDocument(doc, this.#dataKey, this.#metadata, stash);
    const lastModified = nowRfc3339();
    this.#metadata.lastModified = lastModified;
    this.#metadata.mac = encryptValue({ type: "str", text: mac }, this.#dataKey, macAdditionalData(lastModified));
    if (!this.#metadata.version || newerVersion(SOPS_FORMAT_VERSION, this.#metadata.version))
      this.#metadata.version = SOPS_FORMAT_VERSION;
    doc.putMetadata(serializeMetadata(this.#metadata));
    return doc.toString();
  }

  /**
   * Encrypts and writes the file atomically (temp file + rename, mode 0600) when
   * there are changes (or `force`). Returns whether it wrote. Throws the fs error
   * when the write fails; the old file is then untouched.
   */
  async save(options: { force?: boolean } = {}): Promise<boolean> {
    if (!this.#dirty && !options.force) return false;
    writeFileAtomic(this.path, await this.encryptedText());
    this.#dirty = false;
    return true;
  }
}

/**
 * Opens and decrypts a SOPS file (YAML, or JSON by extension) with the given age
 * identities, verifying every value and the MAC. Never returns a partly decrypted
 * file: throws UserError (one line, saying what to do, naming no secret) when the
 * file is missing, unreadable, not valid YAML/JSON (e.g. truncated), not a SOPS
 * file, encrypted to none of the identities, tampered with (a value or the MAC),
 * or uses features nixlab does not support (comment regex rules).
 */
export async function openSecrets(path: string, identities: readonly AgeIdentity[]): Promise<SecretsFile> {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT")
      throw new UserError(`${path} does not exist; create it with \`nixlab secrets init\` or pass --file`);
    throw new UserError(`cannot read ${path} (${code ?? "error"}); check its permissions`);
  }
  const format = formatOf(path);
  const restore = "the file may be truncated or damaged; restore it from version control";
  if (text.trim() === "")
    throw new UserError(`${path} is empty; restore it from version control or create it with \`nixlab secrets init\``);
  const doc = parseDocument(text, format, path, restore);
  const raw = doc.takeMetadata();
  if (raw === undefined) {
    if (text.includes("ENC[AES256_GCM,"))
      throw new UserError(`${path} has encrypted values but no \`sops\` section; ${restore}`);
    throw new UserError(
      `${path} is not a SOPS file (it has no \`sops\` section); encrypt it with \`sops encrypt -i ${path}\` or create one with \`nixlab secrets init\``,
    );
  }
  const metadata = parseMetadata(raw, path);
  if (metadata.encryptedCommentRegex || metadata.unencryptedCommentRegex) {
    throw new UserError(
      `${path} uses encrypted_comment_regex/unencrypted_comment_regex, which nixlab does not support; use sops for this file`,
    );
  }
  if (!metadata.mac) throw new UserError(`${path} has no MAC in its sops section; ${restore}`);
  const dataKey = await recoverDataKey(metadata, identities, path);
  const stash = new IvStash();
  let computed: string;
  try {
    computed = decryptDocument(doc, dataKey, metadata, stash);
  } catch (error) {
    if (error instanceof LeafDecryptError) {
      const where = error.path.join(".") || "(top level)";
      if (error.reason === "binary")
        throw new UserError(
          `${path}: the value of ${where} is not UTF-8 text (sops can store raw bytes, nixlab only text); change it with sops, e.g. to base64`,
        );
      const why = error.reason === "auth" ? "fails authentication" : "is not a valid encrypted value";
      throw new UserError(
        `${path}: the value of ${where} ${why}, so the file was changed outside sops/nixlab or is damaged; restore it from version control`,
      );
    }
    throw error;
  }
  let stored: string;
  try {
    stored = decryptValue(metadata.mac, dataKey, macAdditionalData(metadata.lastModified)).text;
  } catch (error) {
    if (!(error instanceof ValueDecryptError)) throw error;
    throw new UserError(
      `${path} failed its integrity check (the MAC does not decrypt); restore it from version control`,
    );
  }
  if (stored !== computed) {
    throw new UserError(
      `${path} failed its integrity check (MAC mismatch: values were changed outside sops/nixlab); restore it from version control`,
    );
  }
  return new SecretsFile({ path, format, doc, metadata, dataKey, stash, dirty: false });
}

/**
 * A new, empty secrets file for `path` encrypted to `options.keyGroups`; nothing
 * is written until `save()`. Throws UserError when there is no recipient.
 */
export function createSecrets(path: string, options: NewFileOptions): SecretsFile {
  if (options.keyGroups.length === 0 || options.keyGroups.some((g) => g.length === 0)) {
    throw new UserError(`no age recipient for ${path}; add one to .sops.yaml`);
  }
  const format = options.format ?? formatOf(path);
  const rules: CryptRules = {};
  for (const k of ["unencryptedSuffix", "encryptedSuffix", "unencryptedRegex", "encryptedRegex"] as const) {
    if (options[k]) rules[k] = options[k];
  }
  if (Object.keys(rules).length === 0) rules.unencryptedSuffix = "_unencrypted";
  const metadata: Metadata = {
    ...rules,
    keyGroups: options.keyGroups.map((g) => ({
      age: g.map((recipient) => ({ recipient, enc: "" })),
      other: {},
    })),
    shamirThreshold: options.keyGroups.length > 1 ? (options.shamirThreshold ?? 0) : 0,
    lastModified: nowRfc3339(),
    mac: "",
    macOnlyEncrypted: options.macOnlyEncrypted ?? false,
    version: SOPS_FORMAT_VERSION,
  };
  const file = new SecretsFile({
    path,
    format,
    doc: format === "json" ? JsonDocument.empty() : YamlDocument.empty(),
    metadata,
    dataKey: newDataKey(),
    stash: new IvStash(),
    dirty: true,
  });
  file.rotateDataKey();
  return file;
}

/**
 * Encrypts plaintext `text` (YAML or JSON) into a SecretsFile for `path` (not
 * written until save()). Throws UserError on a syntax error (position only).
 */
export function encryptPlaintext(path: string, text: string, options: NewFileOptions): SecretsFile {
  const file = createSecrets(path, options);
  file.replacePlaintext(text);
  return file;
}
