/**
 * Secrets: SOPS files (YAML and JSON, age recipients) read and written natively,
 * format-compatible with the `sops` tool in both directions.
 *
 * Typical use (deploy engine, VPN commands):
 *   const identities = await discoverIdentities({ ageKeyFile });
 *   const secrets = await openSecrets("secrets.yaml", identities);
 *   const token = secrets.getString("k3s_token");
 *   secrets.set("alice_wg_public_key", key);
 *   await secrets.save();
 */
export { type AgeIdentity, generateAgeKey, isAgeIdentity, isAgeRecipient, parseIdentities } from "./age.ts";
export { writeFileAtomic } from "../io/atomic.ts";
export { CONFIG_FILE_NAME, type CreationRule, creationRuleFor, findConfigFile } from "./config.ts";
export { type EditOptions, type EditResult, editSecrets, editTempRoot, removeStaleEditDirs } from "./edit.ts";
export {
  createSecrets,
  encryptPlaintext,
  formatOf,
  type KeyPath,
  type NewFileOptions,
  openSecrets,
  SecretsFile,
  type SecretsFormat,
} from "./file.ts";
export { isWireguardKey, randomToken, wireguardPrivateKey, wireguardPublicKey } from "./generate.ts";
export { compareRecipients, describeDifferences, type GroupDifference } from "./recipients.ts";
export {
  defaultKeyFile,
  discoverIdentities,
  type IdentityOptions,
  NODE_KEY_FILE,
} from "./identities.ts";
export { SOPS_FORMAT_VERSION } from "./metadata.ts";
export {
  addMissing,
  type CheckReport,
  checkRequired,
  createAgeKeyFile,
  ensureCreationRule,
  existingCreationRule,
  formatProblem,
  isPlaceholder,
  newKeyLocation,
} from "./project.ts";
export type { SecretValue } from "./value.ts";
export { utf8Exact } from "./values.ts";
