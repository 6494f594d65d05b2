// age keys and the wrapping of the sops data key (raw 32 bytes, age-encrypted and
// ASCII-armored, exactly what sops stores in each stanza's `enc`).
// age-encryption loads on first use: commands that only check key syntax (isAgeRecipient) or
// read key paths never pay for it or for the web streams it decrypts through.
const ageEncryption = () => import("age-encryption");

/** An age identity (secret key) and where it came from, for messages. */
export interface AgeIdentity {
  /** AGE-SECRET-KEY-1… (never printed). */
  readonly secret: string;
  /** The matching age1… recipient. */
  readonly recipient: string;
  /** Where it was found, e.g. "SOPS_AGE_KEY_FILE (/path/keys.txt)". */
  readonly source: string;
}

const IDENTITY_RE = /^AGE-SECRET-KEY-(PQ-)?1[0-9A-Z]+$/;
const RECIPIENT_RE = /^age1[0-9a-z]+$/;

/** True when `s` is the text form of an age X25519 or hybrid identity. */
export function isAgeIdentity(s: string): boolean {
  return IDENTITY_RE.test(s);
}

/** True when `s` looks like an age recipient (age1…). */
export function isAgeRecipient(s: string): boolean {
  return RECIPIENT_RE.test(s);
}

/**
 * Parses the text of an age identity file (age-keygen's format: `#` comments,
 * blank lines, one AGE-SECRET-KEY per line; `multiplePerLine` also splits on
 * whitespace, as sops does for SOPS_AGE_KEY). Returns the identities; throws
 * Error naming the line (never its content) when a line is not an identity.
 */
export async function parseIdentities(text: string, source: string, multiplePerLine = false): Promise<AgeIdentity[]> {
  const out: AgeIdentity[] = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === "" || line.startsWith("#")) continue;
    for (const token of multiplePerLine ? line.split(/\s+/) : [line]) {
      if (!isAgeIdentity(token)) throw new Error(`line ${i + 1} of ${source} is not an age secret key`);
      let recipient: string;
      try {
        recipient = await (await ageEncryption()).identityToRecipient(token);
      } catch {
        throw new Error(`line ${i + 1} of ${source} is not a valid age secret key`);
      }
      out.push({ secret: token, recipient, source });
    }
  }
  return out;
}

/** A new X25519 identity in age-keygen's file format, and its recipient. */
export async function generateAgeKey(): Promise<{ fileText: string; recipient: string; secret: string }> {
  const { generateX25519Identity, identityToRecipient } = await ageEncryption();
  const secret = await generateX25519Identity();
  const recipient = await identityToRecipient(secret);
  const created = new Date().toISOString().replace(/\.\d+Z$/, "Z");
  return { fileText: `# created: ${created}\n# public key: ${recipient}\n${secret}\n`, recipient, secret };
}

/** Encrypts `payload` to one recipient; returns the armored text sops stores in `enc`. Throws on a bad recipient. */
export async function wrapForRecipient(payload: Uint8Array, recipient: string): Promise<string> {
  const { Encrypter, armor } = await ageEncryption();
  const e = new Encrypter();
  e.addRecipient(recipient);
  const armored = armor.encode(await e.encrypt(payload));
  return armored.endsWith("\n") ? armored : `${armored}\n`;
}

/**
 * Decrypts one stanza's armored `enc` with any of `identities`. Returns null when
 * none of them matches this stanza; throws Error when the stanza is malformed.
 */
export async function unwrapStanza(enc: string, identities: readonly AgeIdentity[]): Promise<Uint8Array | null> {
  const { Decrypter, armor } = await ageEncryption();
  let binary: Uint8Array;
  try {
    binary = armor.decode(enc.trim());
  } catch {
    throw new Error("the age stanza is not valid armored age data");
  }
  const d = new Decrypter();
  for (const id of identities) d.addIdentity(id.secret);
  try {
    return await d.decrypt(binary);
  } catch (error) {
    // age-encryption's messages can quote key material, so only the "no match" case is told apart.
    const message = error instanceof Error ? error.message : "";
    if (/no identity matched/i.test(message)) return null;
    throw new Error("the age stanza is damaged and does not decrypt");
  }
}
