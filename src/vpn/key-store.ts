/**
 * Where VPN clients' private keys are kept (defect 37: the seed kept them in the
 * cluster's secrets.yaml, which every node can decrypt, while claiming they stayed
 * local). We keep them, so a config can be issued again for a new phone, in a SOPS
 * file of their own, `vpn-clients.yaml` beside the secrets file, encrypted only to the
 * admins' age keys: its .sops.yaml rule is its own, never shared with secrets.yaml
 * (whose rule also lists the nodes' keys), and nothing deploys it. `--no-keep` keeps
 * nothing and prints the key once.
 */
import { existsSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { ExitCode, UserError } from "../errors.ts";
import {
  type AgeIdentity,
  createSecrets,
  ensureCreationRule,
  existingCreationRule,
  NODE_KEY_FILE,
  openSecrets,
  type SecretsFile,
} from "../secrets/index.ts";

export const clientKeysFileName = "vpn-clients.yaml";

/** The kept-keys file that belongs to a secrets file: beside it. */
export function clientKeysPath(secretsPath: string): string {
  return join(dirname(secretsPath), clientKeysFileName);
}

/**
 * The admins' recipients: the caller's own age keys that open the secrets file. A
 * node's key (sops-nix's key file) is never one, even when the caller runs on a node.
 */
export function adminRecipients(identities: readonly AgeIdentity[], secrets: SecretsFile): string[] {
  const recipients = new Set(secrets.recipients());
  const own = identities.filter((i) => i.source !== NODE_KEY_FILE && recipients.has(i.recipient));
  return [...new Set(own.map((i) => i.recipient))];
}

/** The kept client keys, open; `isNew` when the file does not exist yet. */
export interface ClientKeys {
  file: SecretsFile;
  isNew: boolean;
}

/**
 * Opens the kept-keys file of `secrets`, or prepares a new one (nothing written)
 * encrypted to the file's own .sops.yaml rule when there is one that secrets.yaml
 * does not share, else to `adminRecipients`. Returns null when the file does not
 * exist and `create` is false. Throws UserError when it cannot be opened or when
 * no admin key is available for a new file.
 */
export async function openClientKeys(
  secrets: SecretsFile,
  identities: readonly AgeIdentity[],
  create: boolean,
): Promise<ClientKeys | null> {
  const path = clientKeysPath(secrets.path);
  if (existsSync(path)) return { file: await openSecrets(path, identities), isNew: false };
  if (!create) return null;
  const own = existingCreationRule(path, secrets.path);
  if (own) return { file: createSecrets(path, own.rule), isNew: true };
  const recipients = adminRecipients(identities, secrets);
  if (recipients.length === 0) {
    throw new UserError(
      `none of your own age keys opens ${basename(secrets.path)}, so ${clientKeysFileName} would have no admin to encrypt to; use your admin key (--age-key-file), or pass --no-keep`,
      { exitCode: ExitCode.invalidInput },
    );
  }
  return { file: createSecrets(path, { keyGroups: [recipients] }), isNew: true };
}

/**
 * Makes sure the kept-keys file has a .sops.yaml rule of its own (first in the list,
 * for its current recipients) so `nixlab secrets updatekeys --secrets vpn-clients.yaml` finds
 * it. Returns the .sops.yaml path when it was written, else null. Throws UserError
 * when .sops.yaml is malformed.
 */
export function recordClientKeysRule(file: SecretsFile, secretsPath: string): string | null {
  const recipients = file.keyGroups().flat();
  const { configPath, written } = ensureCreationRule(file.path, recipients, { exclusiveOf: secretsPath });
  return written ? configPath : null;
}
