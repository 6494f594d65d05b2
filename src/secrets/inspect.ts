// What can be known about a SOPS file without its key: whether everything in it that
// should be encrypted is, and which names it holds (names are stored in clear).
import { UserError } from "../errors.ts";
import { isEncryptedValue } from "./cipher.ts";
import { formatOf } from "./file.ts";
import { JsonDocument } from "./json-store.ts";
import { type Metadata, parseMetadata } from "./metadata.ts";
import { shouldBeEncrypted } from "./tree.ts";
import { DocumentError, YamlDocument } from "./yaml-store.ts";

/** What inspectEncryption found out about a secrets file. */
export interface EncryptionReport {
  /** Why the file may not be copied or deployed as it is; [] when it is fully encrypted. */
  problems: string[];
  /** Its top-level names ([] when it cannot be parsed). */
  names: string[];
  /** False when it has no `sops` section at all (a plaintext file). */
  sops: boolean;
}

const where = (path: readonly string[]) => path.join(".") || "(top level)";

/**
 * Checks, without a key, that `text` (the secrets file `file`) is fully SOPS-encrypted:
 * it has a `sops` section with recipients and a MAC, every value and comment is an
 * `ENC[…]` value except those the file's own rules (`unencrypted_suffix`, …) leave in
 * clear on purpose, and none of `mustEncrypt` (the secrets the cluster uses) is among
 * those. Problems name keys, never values. Pure; never throws for any text.
 */
export function inspectEncryption(text: string, file: string, mustEncrypt: readonly string[] = []): EncryptionReport {
  let doc: YamlDocument | JsonDocument;
  try {
    doc = formatOf(file) === "json" ? JsonDocument.parse(text) : YamlDocument.parse(text);
  } catch (error) {
    if (!(error instanceof DocumentError)) throw error;
    const at = error.line !== undefined ? ` at line ${error.line}, column ${error.col}` : "";
    return { problems: [`${error.message}${at}, so it cannot be checked for plaintext`], names: [], sops: false };
  }
  const raw = doc.takeMetadata();
  const names = doc.keysAt([]) ?? [];
  if (raw === undefined) return { problems: ["it is not encrypted (it has no `sops` section)"], names, sops: false };
  let metadata: Metadata;
  try {
    metadata = parseMetadata(raw, file);
  } catch (error) {
    if (!(error instanceof UserError)) throw error;
    return { problems: [error.message.replace(`${file}: `, "")], names, sops: true };
  }
  try {
    return { problems: plaintextParts(doc, metadata, new Set(mustEncrypt)), names, sops: true };
  } catch (error) {
    if (!(error instanceof SyntaxError)) throw error;
    return {
      problems: [`a rule in its \`sops\` section is not a valid regular expression (${error.message})`],
      names,
      sops: true,
    };
  }
}

function plaintextParts(doc: YamlDocument | JsonDocument, metadata: Metadata, must: ReadonlySet<string>): string[] {
  const problems: string[] = [];
  if (!metadata.mac) problems.push("its `sops` section has no MAC");
  for (const leaf of doc.leaves()) {
    const value = leaf.read();
    if (value === null) continue;
    if (shouldBeEncrypted(leaf.path, metadata)) {
      if (value.type !== "str" || !isEncryptedValue(value.text))
        problems.push(`the ${value.type === "comment" ? "comment" : "value"} at ${where(leaf.path)} is in clear text`);
    } else if (leaf.path.length > 0 && must.has(leaf.path[0]!) && value.type !== "comment") {
      problems.push(
        `${where(leaf.path)} is left in clear text by the file's own rules, but the cluster uses it as a secret`,
      );
    }
  }
  const plainComment = (body: string) =>
    (metadata.unencryptedCommentRegex !== undefined && new RegExp(metadata.unencryptedCommentRegex, "u").test(body)) ||
    (metadata.encryptedCommentRegex !== undefined && !new RegExp(metadata.encryptedCommentRegex, "u").test(body));
  for (const comment of doc.comments()) {
    const body = comment.read().trim();
    if (body === "" || isEncryptedValue(body) || plainComment(body)) continue;
    if (shouldBeEncrypted(comment.path, metadata))
      problems.push(
        `a comment ${comment.path.length > 0 ? `under ${where(comment.path)}` : "at the top level"} is in clear text`,
      );
  }
  return [...new Set(problems)];
}
