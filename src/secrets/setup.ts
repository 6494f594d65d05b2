/**
 * Setting up a cluster's secrets, as `nixlab secrets init` and `nixlab init` do: an age
 * key when there is none, a .sops.yaml rule for the secrets file, and the file itself
 * with every required secret (generated, defaulted, or given). Values already in the
 * file are never changed; given values only replace missing ones and placeholders.
 */
import { existsSync } from "node:fs";
import type { SecretRequirement } from "../services/required-secrets.ts";
import type { AgeIdentity } from "./age.ts";
import { createSecrets, openSecrets, type SecretsFile } from "./file.ts";
import { discoverIdentities } from "./identities.ts";
import { addMissing, checkRequired, createAgeKeyFile, ensureCreationRule, isPlaceholder } from "./project.ts";

export interface SetUpOptions {
  /** The secrets file (created when missing). */
  secretsPath: string;
  requirements: readonly SecretRequirement[];
  /** Use only this key file; it is created when it does not exist. Default: the keys sops finds, else a new one at `newKeyPath`. */
  ageKeyFile?: string;
  /** Where a new key goes when none is found and `ageKeyFile` is not given. */
  newKeyPath: string;
  /** Values for required secrets that are missing or still placeholders (the login password hash, a token). */
  values?: Readonly<Record<string, string>>;
  /** Identities to look in (default: discoverIdentities()). */
  discover?: () => Promise<AgeIdentity[]>;
}

export interface SetUpResult {
  file: SecretsFile;
  /** The keys used: they open `file`. */
  identities: AgeIdentity[];
  /** The key file made, with its public key, when there was none. */
  createdKey?: { path: string; recipient: string };
  /** The .sops.yaml written (a rule added or the file created), when it was. */
  configWritten?: string;
  added: string[];
  /** Names set from `values`. */
  filled: string[];
  /** Required secrets still placeholders after setup (for the user to fill in). */
  placeholders: SecretRequirement[];
  /** Whether the secrets file was written. */
  saved: boolean;
}

/** The identities to use: `ageKeyFile`'s (created if absent), else those found, else a new key. */
async function identitiesFor(options: SetUpOptions): Promise<{ identities: AgeIdentity[]; created?: AgeIdentity }> {
  if (options.ageKeyFile) {
    if (existsSync(options.ageKeyFile))
      return { identities: await discoverIdentities({ ageKeyFile: options.ageKeyFile }) };
    const created = await createAgeKeyFile(options.ageKeyFile);
    return { identities: [created], created };
  }
  const found = await (options.discover ?? (() => discoverIdentities()))();
  if (found.length > 0) return { identities: found };
  const created = await createAgeKeyFile(options.newKeyPath);
  return { identities: [created], created };
}

/**
 * Makes the secrets file hold every requirement (see the module comment). Throws
 * UserError when an existing file cannot be opened with the keys, or .sops.yaml is
 * malformed; the key file may then already exist (it is needed either way).
 */
export async function setUpSecrets(options: SetUpOptions): Promise<SetUpResult> {
  const { identities, created } = await identitiesFor(options);
  let file: SecretsFile;
  let configWritten: string | undefined;
  if (existsSync(options.secretsPath)) {
    file = await openSecrets(options.secretsPath, identities);
    // updatekeys needs a rule for the file; write one for its current recipients if there is none.
    const groups = file.keyGroups();
    if (groups.length === 1) {
      const { configPath, written } = ensureCreationRule(options.secretsPath, groups[0]!);
      if (written) configWritten = configPath;
    }
  } else {
    const { rule, configPath, written } = ensureCreationRule(options.secretsPath, [identities[0]!.recipient]);
    if (written) configWritten = configPath;
    file = createSecrets(options.secretsPath, rule);
  }
  const filled: string[] = [];
  for (const [name, value] of Object.entries(options.values ?? {})) {
    const current = file.get(name);
    if (current === undefined || current === "" || isPlaceholder(current)) {
      file.set(name, value);
      filled.push(name);
    }
  }
  const added = addMissing(file, options.requirements);
  const saved = await file.save();
  return {
    file,
    identities,
    ...(created ? { createdKey: { path: created.source, recipient: created.recipient } } : {}),
    ...(configWritten ? { configWritten } : {}),
    added,
    filled,
    placeholders: checkRequired(file, options.requirements).placeholders,
    saved,
  };
}
