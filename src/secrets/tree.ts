// The format-neutral part of a SOPS document: walking its values in sops' order,
// deciding which are encrypted, encrypting/decrypting them and computing the MAC.
import { sha512 } from "@noble/hashes/sha2.js";
import { bytesToHex } from "@noble/hashes/utils.js";
import {
  decryptValue,
  encryptValue,
  type IvStash,
  isEncryptedValue,
  type TypedText,
  ValueDecryptError,
} from "./cipher.ts";
import type { CryptRules } from "./metadata.ts";
import { canonicalize } from "./values.ts";

/** One scalar of the document, visited in sops' order. */
export interface LeafSlot {
  /** The mapping keys leading to it (list indices are not part of a sops path). */
  readonly path: readonly string[];
  /** The value as stored; null for a null value (never encrypted, never hashed). */
  read(): TypedText | null;
  /** Replaces the value: a decrypted typed value, or an ENC[…] string as type "str". */
  write(value: TypedText): void;
}

/** One comment line (text after `#`), with the path of the mapping or list holding it. */
export interface CommentSlot {
  readonly path: readonly string[];
  read(): string;
  write(text: string): void;
}

/** What the crypto walk needs from a parsed file (YAML or JSON). */
export interface SopsDocument {
  leaves(): LeafSlot[];
  comments(): CommentSlot[];
  /** Every mapping/list path in the document, to find a misplaced comment's additional data. */
  containerPaths(): string[][];
}

/** Prefix hashed first when mac_only_encrypted is set (sops' MACOnlyEncryptedInitialization). */
const MAC_ONLY_ENCRYPTED_INIT = Uint8Array.from([
  0x8a, 0x3f, 0xd2, 0xad, 0x54, 0xce, 0x66, 0x52, 0x7b, 0x10, 0x34, 0xf3, 0xd1, 0x47, 0xbe, 0x0b, 0x0b, 0x97, 0x5b,
  0x3b, 0xf4, 0x4f, 0x72, 0xc6, 0xfd, 0xad, 0xec, 0x81, 0x76, 0xf2, 0x7d, 0x69,
]);

export interface WalkRules extends CryptRules {
  macOnlyEncrypted: boolean;
}

/** The additional data of a value or comment: its path joined by ":" plus a trailing ":". */
export function additionalData(path: readonly string[]): string {
  return `${path.join(":")}:`;
}

function search(pattern: string, s: string): boolean {
  return new RegExp(pattern, "u").test(s);
}

/** sops' shouldBeEncrypted for the key-based rules (comment rules are refused when a file is opened). */
export function shouldBeEncrypted(path: readonly string[], rules: CryptRules): boolean {
  let encrypted = true;
  if (rules.unencryptedSuffix && path.some((k) => k.endsWith(rules.unencryptedSuffix!))) encrypted = false;
  if (rules.encryptedSuffix) encrypted = path.some((k) => k.endsWith(rules.encryptedSuffix!));
  if (rules.unencryptedRegex && path.some((k) => search(rules.unencryptedRegex!, k))) encrypted = false;
  if (rules.encryptedRegex) encrypted = path.some((k) => search(rules.encryptedRegex!, k));
  return encrypted;
}

class MacHasher {
  readonly #chunks: Uint8Array[] = [];
  readonly #encoder = new TextEncoder();
  constructor(macOnlyEncrypted: boolean) {
    if (macOnlyEncrypted) this.#chunks.push(MAC_ONLY_ENCRYPTED_INIT);
  }
  add(text: string): void {
    this.#chunks.push(this.#encoder.encode(text));
  }
  hex(): string {
    let length = 0;
    for (const c of this.#chunks) length += c.length;
    const all = new Uint8Array(length);
    let offset = 0;
    for (const c of this.#chunks) {
      all.set(c, offset);
      offset += c.length;
    }
    return bytesToHex(sha512(all)).toUpperCase();
  }
}

/**
 * Encrypts every value and comment of a plaintext document in place and returns
 * the MAC (uppercase hex SHA-512) to be stored encrypted. Never throws for a
 * well-formed document.
 */
export function encryptDocument(doc: SopsDocument, key: Uint8Array, rules: WalkRules, stash?: IvStash): string {
  const mac = new MacHasher(rules.macOnlyEncrypted);
  for (const leaf of doc.leaves()) {
    const value = leaf.read();
    if (value === null) continue;
    const encrypted = shouldBeEncrypted(leaf.path, rules);
    if (value.type === "comment") {
      // A comment stored as a list item (how sops writes comments inside lists).
      if (encrypted) leaf.write({ type: "str", text: encryptValue(value, key, additionalData(leaf.path), stash) });
      continue;
    }
    if (!rules.macOnlyEncrypted || encrypted) mac.add(value.text);
    if (encrypted) leaf.write({ type: "str", text: encryptValue(value, key, additionalData(leaf.path), stash) });
  }
  for (const comment of doc.comments()) {
    if (!shouldBeEncrypted(comment.path, rules)) continue;
    const text = comment.read();
    if (text === "" || isEncryptedValue(text)) continue;
    comment.write(encryptValue({ type: "comment", text }, key, additionalData(comment.path), stash));
  }
  return mac.hex();
}

/** A value that failed to decrypt, with its path (keys only, never the value). */
export class LeafDecryptError extends Error {
  readonly path: readonly string[];
  readonly reason: "format" | "auth" | "type" | "binary";
  constructor(path: readonly string[], reason: "format" | "auth" | "type" | "binary") {
    super(`the value at ${path.join(".") || "(top)"} does not decrypt (${reason})`);
    this.name = "LeafDecryptError";
    this.path = path;
    this.reason = reason;
  }
}

/**
 * Decrypts every value and comment of an encrypted document in place and returns
 * the MAC computed over the plaintext (compare it with the stored one). Throws
 * LeafDecryptError when a value that should be encrypted is not, or fails to
 * decrypt. A comment that does not decrypt under any path is left as it is (sops
 * does the same, for comments written by older versions).
 */
export function decryptDocument(doc: SopsDocument, key: Uint8Array, rules: WalkRules, stash?: IvStash): string {
  const mac = new MacHasher(rules.macOnlyEncrypted);
  for (const leaf of doc.leaves()) {
    const stored = leaf.read();
    if (stored === null) continue;
    const encrypted = shouldBeEncrypted(leaf.path, rules);
    let value = stored;
    if (encrypted) {
      if (stored.type !== "str") throw new LeafDecryptError(leaf.path, "format");
      let decrypted: TypedText;
      try {
        decrypted = decryptValue(stored.text, key, additionalData(leaf.path), stash);
      } catch (error) {
        if (error instanceof ValueDecryptError) throw new LeafDecryptError(leaf.path, error.reason);
        throw error;
      }
      try {
        value = canonicalize(decrypted);
      } catch {
        throw new LeafDecryptError(leaf.path, "type");
      }
      // Hash the canonical form (what sops hashes) but keep the stored text as it was.
      leaf.write(decrypted);
    }
    if (value.type === "comment") continue;
    if (!rules.macOnlyEncrypted || encrypted) mac.add(value.text);
  }
  const paths = doc.containerPaths();
  for (const comment of doc.comments()) {
    const text = comment.read();
    if (!isEncryptedValue(text)) continue;
    const plain = decryptComment(text, key, comment.path, paths, stash);
    if (plain !== null) comment.write(plain);
  }
  return mac.hex();
}

function decryptComment(
  text: string,
  key: Uint8Array,
  path: readonly string[],
  all: readonly string[][],
  stash?: IvStash,
): string | null {
  // The YAML libraries of sops and nixlab attach some comments (e.g. one closing a
  // nested block) to different levels; try the expected path first, then the others.
  const tried = new Set<string>();
  for (const candidate of [path, ...all]) {
    const aad = additionalData(candidate);
    if (tried.has(aad)) continue;
    tried.add(aad);
    try {
      return decryptValue(text, key, aad, stash).text;
    } catch {}
  }
  return null;
}
