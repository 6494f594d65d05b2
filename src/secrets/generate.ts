// Values for secrets nixlab creates itself: random tokens and WireGuard keys.
import { createPrivateKey, createPublicKey, randomBytes } from "node:crypto";

const PKCS8_X25519_PREFIX = Buffer.from("302e020100300506032b656e04220420", "hex");

/** A new WireGuard private key (clamped x25519 scalar, base64), like `wg genkey`. */
export function wireguardPrivateKey(): string {
  const k = randomBytes(32);
  k[0]! &= 248;
  k[31]! &= 127;
  k[31]! |= 64;
  return k.toString("base64");
}

/** True when `text` is a WireGuard key as `wg genkey`/`wg pubkey` print it: 32 bytes in canonical base64 (44 characters). */
export function isWireguardKey(text: string): boolean {
  return /^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=$/.test(text);
}

/** The public key of a WireGuard private key, like `wg pubkey`. Throws Error when it is not 32 bytes of base64. */
export function wireguardPublicKey(privateKey: string): string {
  const raw = Buffer.from(privateKey.trim(), "base64");
  if (raw.length !== 32) throw new Error("a WireGuard private key is 32 bytes of base64");
  const key = createPrivateKey({
    key: Buffer.concat([PKCS8_X25519_PREFIX, raw]),
    format: "der",
    type: "pkcs8",
  });
  const spki = createPublicKey(key).export({ format: "der", type: "spki" });
  return spki.subarray(spki.length - 32).toString("base64");
}

/** `bytes` random bytes as hex or base64url. */
export function randomToken(bytes: number, encoding: "hex" | "base64url"): string {
  return randomBytes(bytes).toString(encoding);
}
