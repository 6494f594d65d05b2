// The SOPS value cipher: AES-256-GCM with a 32-byte IV, the value's path as
// additional data, and the text form ENC[AES256_GCM,data:…,iv:…,tag:…,type:…].
import { gcm } from "@noble/ciphers/aes.js";
import { randomBytes } from "@noble/hashes/utils.js";
import { utf8Exact } from "./values.ts";

/** The type names sops writes after `type:`. */
export type ValueType = "str" | "int" | "float" | "bool" | "bytes" | "time" | "comment";

/** A value in the byte form sops encrypts and hashes (see values.ts for the conversions). */
export interface TypedText {
  type: ValueType;
  text: string;
}

const IV_BYTES = 32;
const TAG_BYTES = 16;
const TYPES = new Set<string>(["str", "int", "float", "bool", "bytes", "time", "comment"]);
const ENC_RE = /^ENC\[AES256_GCM,data:(.+),iv:(.+),tag:(.+),type:(.+)\]/;
const encoder = new TextEncoder();

/** Thrown when a value is not in the ENC[…] format or fails authentication. Carries no plaintext. */
export class ValueDecryptError extends Error {
  /** "binary": it decrypts, but to bytes that are not UTF-8 (sops can store those; nixlab holds text). */
  readonly reason: "format" | "auth" | "binary";
  constructor(reason: "format" | "auth" | "binary", message: string) {
    super(message);
    this.name = "ValueDecryptError";
    this.reason = reason;
  }
}

/** True when `s` looks like a sops-encrypted value (the same prefix test sops makes). */
export function isEncryptedValue(s: string): boolean {
  return ENC_RE.test(s);
}

/** A fresh random 32-byte data key. */
export function newDataKey(): Uint8Array {
  return randomBytes(32);
}

function b64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64");
}

function unb64(s: string, what: string): Uint8Array {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(s) || s.length % 4 !== 0) {
    throw new ValueDecryptError("format", `${what} is not valid base64`);
  }
  return new Uint8Array(Buffer.from(s, "base64"));
}

/**
 * Remembers the IV each decrypted value had, so re-encrypting an unchanged value
 * with the same key yields the same ciphertext (like sops; keeps diffs small).
 * Keyed by additional data + type + plaintext, so an IV is only ever reused for
 * the identical message.
 */
export class IvStash {
  readonly #map = new Map<string, Uint8Array>();
  remember(aad: string, value: TypedText, iv: Uint8Array): void {
    this.#map.set(`${aad}\u0000${value.type}\u0000${value.text}`, iv);
  }
  /** Forgets every IV (after a key rotation every value gets a fresh one). */
  clear(): void {
    this.#map.clear();
  }
  lookup(aad: string, value: TypedText): Uint8Array | undefined {
    return this.#map.get(`${aad}\u0000${value.type}\u0000${value.text}`);
  }
}

/**
 * Encrypts one value. Returns "" for an empty str/bytes/comment (sops leaves empty
 * strings unencrypted). Never throws for valid keys.
 */
export function encryptValue(value: TypedText, key: Uint8Array, aad: string, stash?: IvStash): string {
  if (value.text === "" && (value.type === "str" || value.type === "bytes" || value.type === "comment")) return "";
  const iv = stash?.lookup(aad, value) ?? randomBytes(IV_BYTES);
  const sealed = gcm(key, iv, encoder.encode(aad)).encrypt(encoder.encode(value.text));
  const data = sealed.subarray(0, sealed.length - TAG_BYTES);
  const tag = sealed.subarray(sealed.length - TAG_BYTES);
  return `ENC[AES256_GCM,data:${b64(data)},iv:${b64(iv)},tag:${b64(tag)},type:${value.type}]`;
}

/**
 * Decrypts one ENC[…] value. "" decrypts to an empty str. Throws ValueDecryptError
 * ("format") when the text is not an encrypted value, ("auth") when the key, the
 * additional data or the ciphertext is wrong, ("binary") when the plaintext is not
 * UTF-8 (decoded exactly otherwise, a BOM included). The message never contains plaintext.
 */
export function decryptValue(ciphertext: string, key: Uint8Array, aad: string, stash?: IvStash): TypedText {
  if (ciphertext === "") return { type: "str", text: "" };
  const m = ENC_RE.exec(ciphertext);
  if (!m) throw new ValueDecryptError("format", "value is not in sops' ENC[AES256_GCM,…] format");
  const data = unb64(m[1]!, "data");
  const iv = unb64(m[2]!, "iv");
  const tag = unb64(m[3]!, "tag");
  const type = m[4]!;
  if (!TYPES.has(type)) throw new ValueDecryptError("format", `unknown value type ${JSON.stringify(type)}`);
  if (iv.length < 8 || tag.length !== TAG_BYTES) throw new ValueDecryptError("format", "bad iv or tag length");
  const sealed = new Uint8Array(data.length + TAG_BYTES);
  sealed.set(data);
  sealed.set(tag, data.length);
  let plain: Uint8Array;
  try {
    plain = gcm(key, iv, encoder.encode(aad)).decrypt(sealed);
  } catch {
    throw new ValueDecryptError("auth", "authentication failed");
  }
  const text = utf8Exact(plain);
  if (text === null) throw new ValueDecryptError("binary", "the value is not UTF-8 text");
  const result: TypedText = { type: type as ValueType, text };
  stash?.remember(aad, result, iv);
  return result;
}
