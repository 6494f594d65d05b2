// The project-level operations behind `nixlab secrets init|check|updatekeys`:
// the user's age key, .sops.yaml, and the secrets the cluster needs.
import { chmodSync, existsSync, mkdirSync, readFileSync } from "node:fs";
import { isIP } from "node:net";
import { dirname, join, relative, resolve, sep } from "node:path";
import { isMap, parseDocument, YAMLSeq } from "yaml";
import type { SecretFormat, SecretRequirement } from "../services/required-secrets.ts";
import { secretPlaceholder } from "../services/required-secrets.ts";
import { UserError } from "../errors.ts";
import { type AgeIdentity, generateAgeKey } from "./age.ts";
import { writeFileAtomic } from "../io/atomic.ts";
import { CONFIG_FILE_NAME, type CreationRule, creationRuleFor, findConfigFile, goRegExp } from "./config.ts";
import type { SecretsFile } from "./file.ts";
import { isWireguardKey, randomToken, wireguardPrivateKey, wireguardPublicKey } from "./generate.ts";
import { inspectEncryption } from "./inspect.ts";
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

/** Whether `rule` (of `configPath`) would also apply to `path`: it has no path_regex, or the regex matches. */
function ruleAlsoMatches(configPath: string, rule: CreationRule, path: string): boolean {
  if (rule.pathRegex === undefined || rule.pathRegex === "") return true;
  const rel = relative(dirname(resolve(configPath)), resolve(path));
  return goRegExp(rule.pathRegex).test(rel.startsWith("..") ? resolve(path) : rel.split(sep).join("/"));
}

/**
 * The rule of the nearest .sops.yaml that applies to `path`, or null when there is
 * none, or (with `exclusiveOf`) when that rule also applies to `exclusiveOf`. Throws
 * UserError when the .sops.yaml is malformed.
 */
export function existingCreationRule(
  path: string,
  exclusiveOf?: string,
): { rule: CreationRule; configPath: string } | null {
  const configPath = findConfigFile(dirname(resolve(path)));
  const rule = configPath ? creationRuleFor(configPath, path) : null;
  if (!configPath || !rule) return null;
  if (exclusiveOf !== undefined && ruleAlsoMatches(configPath, rule, exclusiveOf)) return null;
  return { rule, configPath };
}

/**
 * The creation rule for `secretsPath`: from the nearest .sops.yaml when one
 * matches (with `exclusiveOf`, only a rule that does not also match that file, so
 * files meant for different readers never share a rule); otherwise a rule for this
 * file encrypting to `recipients` is added to (or creates) .sops.yaml beside it,
 * keeping the file's comments. Returns the rule,
 * the config path and whether the config was written. Throws UserError when an
 * existing .sops.yaml is malformed.
 */
export function ensureCreationRule(
  secretsPath: string,
  recipients: readonly string[],
  options: { exclusiveOf?: string } = {},
): { rule: CreationRule; configPath: string; written: boolean } {
  const found = existingCreationRule(secretsPath, options.exclusiveOf);
  if (found) return { ...found, written: false };
  const existing = findConfigFile(dirname(resolve(secretsPath)));
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

/** What checkRequired found, one list per kind of problem. */
export interface CheckReport {
  missing: SecretRequirement[];
  placeholders: SecretRequirement[];
  /** Present but not a string (sops-nix needs text). */
  notText: SecretRequirement[];
  /** Text that is not what its format asks for; `problem` says what is wrong, never the value. */
  invalid: { req: SecretRequirement; problem: string }[];
}

const CRYPT_HASH = /^\$(?:1|2[abxy]|5|6|7|y|gy|sha1|md5)\$[./0-9A-Za-z$=,+-]+$/;
const HOST =
  /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

function validEndpoint(value: string): boolean {
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:\s]+))(?::(\d{1,5}))?$/.exec(value);
  if (!m) return false;
  if (m[3] !== undefined && (Number(m[3]) < 1 || Number(m[3]) > 65535)) return false;
  return m[1] !== undefined ? isIP(m[1]) === 6 : isIP(m[2]!) === 4 || HOST.test(m[2]!);
}

/** Why `value` does not fit `format`, or undefined when it does. Names no part of the value. */
export function formatProblem(format: SecretFormat, value: string): string | undefined {
  switch (format) {
    case "wireguard-key":
      return isWireguardKey(value)
        ? undefined
        : "is not a WireGuard key (32 bytes in base64: 44 characters ending in =, as `wg genkey` and `wg pubkey` print)";
    case "crypt-hash":
      return CRYPT_HASH.test(value)
        ? undefined
        : "is not a password hash in crypt format ($6$…, $y$…); make one with `mkpasswd -m sha-512`";
    case "token":
      return /^[^\s\p{Cc}]+$/u.test(value) ? undefined : "is blank or has whitespace or control characters in it";
    case "endpoint":
      return validEndpoint(value) ? undefined : "is not a host name or IP address (with an optional :port)";
    case "text":
      return value.trim() === "" ? "is blank" : undefined;
  }
}

/** Which required secrets are absent, still placeholders, not text, or not in their format. Pure. */
export function checkRequired(file: SecretsFile, requirements: readonly SecretRequirement[]): CheckReport {
  const report: CheckReport = { missing: [], placeholders: [], notText: [], invalid: [] };
  for (const req of requirements) {
    const v = file.get(req.name);
    if (v === undefined || v === null || v === "") report.missing.push(req);
    else if (typeof v !== "string") report.notText.push(req);
    else if (isPlaceholder(v)) report.placeholders.push(req);
    else {
      const problem = formatProblem(req.format, v) ?? pairProblem(file, req, v);
      if (problem) report.invalid.push({ req, problem });
    }
  }
  return report;
}

/** A public key that does not belong to the private key it is derived from. */
function pairProblem(file: SecretsFile, req: SecretRequirement, value: string): string | undefined {
  if (req.source.kind !== "wireguard-public-key") return undefined;
  const priv = file.get(req.source.of);
  if (typeof priv !== "string" || !isWireguardKey(priv)) return undefined;
  return wireguardPublicKey(priv) === value ? undefined : `is not the public key of ${req.source.of}`;
}

/** What secretsFileProblems found in a secrets file, without its key. */
export interface SecretsFileProblems {
  /** Parts of the file in clear text (see inspectEncryption); [] when fully encrypted. */
  unencrypted: string[];
  /** False when the file has no `sops` section at all. */
  sops: boolean;
  /** Required secrets whose names the file lacks. */
  missing: SecretRequirement[];
}

/**
 * What `check` and `build` refuse in the secrets file at `path`, found without a key
 * (names are stored in clear): parts not encrypted, and required secrets it lacks.
 * Returns null when the file does not exist. Throws UserError when it cannot be read.
 */
export function secretsFileProblems(
  path: string,
  requirements: readonly SecretRequirement[],
): SecretsFileProblems | null {
  if (!existsSync(path)) return null;
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    throw new UserError(
      `cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? "error"}); check its permissions`,
    );
  }
  const report = inspectEncryption(
    text,
    path,
    requirements.map((r) => r.name),
  );
  const names = new Set(report.names);
  return {
    unencrypted: report.problems,
    sops: report.sops,
    missing: requirements.filter((r) => !names.has(r.name)),
  };
}
