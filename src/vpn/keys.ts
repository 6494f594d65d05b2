/**
 * WireGuard keys: X25519 key pairs made in-process with @noble/curves (no `wg` binary),
 * in WireGuard's text form (32 bytes, base64).
 */
import { x25519 } from "@noble/curves/ed25519.js";

export interface WireguardKeyPair {
  privateKey: string;
  publicKey: string;
}

/** 32 bytes in standard base64 with padding, the only form `wg` reads and writes. */
const keyText = /^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=$/;

/** True when `text` is a WireGuard key in base64 (exactly what `wg` accepts). */
export function isWireguardKey(text: string): boolean {
  return keyText.test(text);
}

const toBase64 = (bytes: Uint8Array): string => Buffer.from(bytes).toString("base64");

/** A new key pair; the private key is clamped like `wg genkey`'s. */
export function generateKeyPair(): WireguardKeyPair {
  const secret = x25519.utils.randomSecretKey();
  secret[0]! &= 248;
  secret[31]! &= 127;
  secret[31]! |= 64;
  return { privateKey: toBase64(secret), publicKey: toBase64(x25519.getPublicKey(secret)) };
}

/** The public key of a private key, like `wg pubkey`. Throws Error when `privateKey` is not a WireGuard key. */
export function publicKeyOf(privateKey: string): string {
  const text = privateKey.trim();
  if (!isWireguardKey(text)) throw new Error("a WireGuard private key is 32 bytes of base64");
  return toBase64(x25519.getPublicKey(Buffer.from(text, "base64")));
}
