// The project-level operations behind `nixlab secrets init|check|updatekeys`:
// the user's age key, .sops.yaml, and the secrets the cluster needs.
import { chmodSync, existsSync, mkdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import { isMap, parseDocument, YAMLSeq } from "yaml";
import type { SecretRequirement } from "../services/required-secrets.ts";
import { secretPlaceholder } from "../services/required-secrets.ts";
import { type AgeIdentity, generateAgeKey } from "./age.ts";
import { writeFileAtomic } from "./atomic.ts";
import { CONFIG_FILE_NAME, type CreationRule, creationRuleFor, findConfigFile } from "./config.ts";
import type { SecretsFile } from "./file.ts";
import { randomToken, wireguardPrivateKey, wireguardPublicKey } from "./generate.ts";
import { defaultKeyFile } from "./identities.ts";

/** Creates an age key file (mode 0600, directory 0700) at `path`; returns the new identity. Throws if it exists. */
export async function createAgeKeyFile(path: string): Promise<AgeIdentity> {
  if (existsSync(path)) throw new Error(`${path} already exists`);
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const key = await generateAgeKey();
  writeFileAtomic(path, key.fileText, 0o600);
  chmodSync(path, 0o600);
  return { secret: key.secret, recipient: key.recipient, source: path };
}

/** Where `init` puts a new key when none exists: --age-key-file, else SOPS_AGE_KEY_FILE, else the user default. */
export function newKeyLocation(ageKeyFile: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  return ageKeyFile || env.SOPS_AGE_KEY_FILE || defaultKeyFile(env);
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/**
 * The creation rule for `secretsPath`: from the nearest .sops.yaml when one
 * matches; otherwise a rule for this file encrypting to `recipients` is added to
 * (or creates) .sops.yaml beside it, keeping the file's comments. Returns the rule,
 * the config path and whether the config was written. Throws UserError when an
 * existing .sops.yaml is malformed.
 */
export function ensureCreationRule(
  secretsPath: string,
  recipients: readonly string[],
): { rule: CreationRule; configPath: string; written: boolean } {
  const existing = findConfigFile(dirname(resolve(secretsPath)));
  if (existing) {
    const rule = creationRuleFor(existing, secretsPath);
    if (rule) return { rule, configPath: existing, written: false };
  }
  const configPath = existing ?? join(dirname(resolve(secretsPath)), CONFIG_FILE_NAME);
  const rel = relative(dirname(configPath), resolve(secretsPath)).split(sep).join("/");
  const pathRegex = `(^|/)${escapeRegExp(rel)}$`;
  const doc = existing ? parseDocument(readFileSync(existing, "utf8")) : parseDocument("creation_rules: []\n");
  if (!isMap(doc.contents)) doc.contents = doc.createNode({ creation_rules: [] }) as unknown as typeof doc.contents;
  let rules = doc.get("creation_rules");
  if (!(rules instanceof YAMLSeq)) {
    rules = new YAMLSeq();
    doc.set("creation_rules", rules);
  }
  // A rule without path_regex matches everything, so the new rule goes first.
  (rules as YAMLSeq).items.unshift(doc.createNode({ path_regex: pathRegex, age: recipients.join(",") }));
  (rules as YAMLSeq).flow = false;
  writeFileAtomic(configPath, doc.toString({ lineWidth: 0 }), 0o644);
  const rule = creationRuleFor(configPath, secretsPath);
  if (!rule) throw new Error("the rule just written does not match");
  return { rule, configPath, written: true };
}

/** The value `init` stores for a requirement, given the values already in the file. */
export function initialValue(req: SecretRequirement, file: SecretsFile): string {
  const s = req.source;
  switch (s.kind) {
    case "random":
      return randomToken(s.bytes, s.encoding);
    case "wireguard-private-key":
      return wireguardPrivateKey();
    case "wireguard-public-key": {
      const priv = file.get(s.of);
      if (typeof priv !== "string" || isPlaceholder(priv)) return secretPlaceholder;
      try {
        return wireguardPublicKey(priv);
      } catch {
        return secretPlaceholder;
      }
    }
    case "default":
      return s.value;
    case "user":
      return secretPlaceholder;
  }
}

/** True for the must-fill placeholder `init` writes for user-provided secrets. */
export function isPlaceholder(value: unknown): boolean {
  return typeof value === "string" && value.trim().startsWith(secretPlaceholder);
}

/** Adds every required secret missing from `file` (in order); returns the names added. */
export function addMissing(file: SecretsFile, requirements: readonly SecretRequirement[]): string[] {
  const added: string[] = [];
  for (const req of requirements) {
    if (file.has(req.name)) continue;
    file.set(req.name, initialValue(req, file));
    added.push(req.name);
  }
  return added;
}

export interface CheckReport {
  missing: SecretRequirement[];
  placeholders: SecretRequirement[];
  /** Present but not a string (sops-nix needs text). */
  notText: SecretRequirement[];
}

/** Which required secrets are absent, still placeholders, or not text. Pure. */
export function checkRequired(file: SecretsFile, requirements: readonly SecretRequirement[]): CheckReport {
  const report: CheckReport = { missing: [], placeholders: [], notText: [] };
  for (const req of requirements) {
    const v = file.get(req.name);
    if (v === undefined || v === null || v === "") report.missing.push(req);
    else if (typeof v !== "string") report.notText.push(req);
    else if (isPlaceholder(v)) report.placeholders.push(req);
  }
  return report;
}

/**
 * The required secrets a SOPS file (YAML or JSON text) has no key for, read from its
 * cleartext key names without decrypting anything. Null when the text is not a SOPS
 * file's mapping. Pure.
 */
export function missingFromText(text: string, requirements: readonly SecretRequirement[]): SecretRequirement[] | null {
  let doc: ReturnType<typeof parseDocument>;
  try {
    doc = parseDocument(text);
  } catch {
    return null;
  }
  if (doc.errors.length > 0 || !isMap(doc.contents)) return null;
  const names = new Set(doc.contents.items.map((pair) => String((pair.key as { value?: unknown })?.value ?? pair.key)));
  return names.has("sops") ? requirements.filter((r) => !names.has(r.name)) : null;
}
