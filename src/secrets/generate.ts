// Values for secrets nixlab creates itself: random tokens and WireGuard keys.
import { randomBytes } from "node:crypto";
import { generateKeyPair, publicKeyOf } from "../vpn/keys.ts";

/** A new WireGuard private key (clamped x25519 scalar, base64), like `wg genkey`. */
export function wireguardPrivateKey(): string {
  return generateKeyPair().privateKey;
}

/** True when `text` is a WireGuard key as `wg genkey`/`wg pubkey` print it: 32 bytes in canonical base64 (44 characters). */
export function isWireguardKey(text: string): boolean {
  return /^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=$/.test(text);
}

/** The public key of a WireGuard private key, like `wg pubkey`. Throws Error when it is not 32 bytes of base64. */
export function wireguardPublicKey(privateKey: string): string {
  return publicKeyOf(privateKey);
}

/** `bytes` random bytes as hex or base64url. */
export function randomToken(bytes: number, encoding: "hex" | "base64url"): string {
  return randomBytes(bytes).toString(encoding);
}
