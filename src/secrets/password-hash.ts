/**
 * Login password hashes for NixOS `hashedPasswordFile`: SHA-512 crypt (`$6$…`), the
 * format `mkpasswd -m sha-512` and `openssl passwd -6` print, made in-process.
 */
import { randomBytes } from "node:crypto";
import { encrypt, verify } from "unixcrypt";

/** The 64 characters crypt(3) salts are made of. */
const saltAlphabet = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/** A new 16-character crypt salt (96 bits, from the system's CSPRNG). */
function newSalt(): string {
  return [...randomBytes(16)].map((b) => saltAlphabet[b % 64]).join("");
}

/** The SHA-512 crypt hash of `password` with a fresh salt and the default 5000 rounds. */
export function sha512CryptHash(password: string): string {
  return encrypt(password, `$6$${newSalt()}`);
}

/** Whether `password` matches the crypt hash `hash` (`$5$` or `$6$`); false for anything else. */
export function verifyCryptHash(password: string, hash: string): boolean {
  try {
    return verify(password, hash);
  } catch {
    return false;
  }
}
