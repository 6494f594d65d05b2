// Shamir secret sharing over GF(2^8) with the AES polynomial, as in HashiCorp
// Vault's implementation that sops vendors: each share is the polynomial values
// for every secret byte followed by one byte holding its x coordinate.
import { randomBytes } from "@noble/hashes/utils.js";

function mult(a: number, b: number): number {
  let acc = 0;
  for (let i = 7; i >= 0; i--) {
    const bit = (b >> i) & 1;
    acc = ((acc << 1) ^ (acc & 0x80 ? 0x1b : 0)) & 0xff;
    if (bit) acc ^= a;
  }
  return acc;
}

function inverse(a: number): number {
  // a^254 = a^-1 in GF(2^8).
  let result = 1;
  let base = a;
  let e = 254;
  while (e > 0) {
    if (e & 1) result = mult(result, base);
    base = mult(base, base);
    e >>= 1;
  }
  return result;
}

/** Splits `secret` into `parts` shares, any `threshold` of which recover it. Throws Error on bad arguments. */
export function split(secret: Uint8Array, parts: number, threshold: number): Uint8Array[] {
  if (parts < threshold) throw new Error("parts cannot be less than threshold");
  if (parts > 255) throw new Error("parts cannot exceed 255");
  if (threshold < 2) throw new Error("threshold must be at least 2");
  if (secret.length === 0) throw new Error("cannot split an empty secret");
  const out = Array.from({ length: parts }, (_, i) => {
    const share = new Uint8Array(secret.length + 1);
    share[secret.length] = i + 1;
    return share;
  });
  for (let idx = 0; idx < secret.length; idx++) {
    const coefficients = [secret[idx]!, ...randomBytes(threshold - 1)];
    for (let i = 0; i < parts; i++) {
      const x = i + 1;
      let y = coefficients[threshold - 1]!;
      for (let c = threshold - 2; c >= 0; c--) y = mult(y, x) ^ coefficients[c]!;
      out[i]![idx] = y;
    }
  }
  return out;
}

/** Recombines shares into the secret. Throws Error when shares are malformed or duplicated. */
export function combine(parts: readonly Uint8Array[]): Uint8Array {
  if (parts.length < 2) throw new Error("less than two parts cannot be used to reconstruct the secret");
  const len = parts[0]!.length;
  if (len < 2) throw new Error("parts must be at least two bytes");
  if (parts.some((p) => p.length !== len)) throw new Error("all parts must be the same length");
  const xs = parts.map((p) => p[len - 1]!);
  if (new Set(xs).size !== xs.length) throw new Error("duplicate part detected");
  const secret = new Uint8Array(len - 1);
  for (let idx = 0; idx < len - 1; idx++) {
    let result = 0;
    for (let i = 0; i < parts.length; i++) {
      let basis = 1;
      for (let j = 0; j < parts.length; j++) {
        if (i === j) continue;
        // Lagrange basis at x = 0: x_j / (x_i + x_j) in GF(2^8), where + is xor.
        basis = mult(basis, mult(xs[j]!, inverse(xs[i]! ^ xs[j]!)));
      }
      result ^= mult(parts[i]![idx]!, basis);
    }
    secret[idx] = result;
  }
  return secret;
}
