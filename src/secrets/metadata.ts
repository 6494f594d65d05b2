// The `sops` metadata section: parsed into a typed form and written back the way
// sops writes it (keys sorted by name, empty fields omitted).
import { UserError } from "../errors.ts";
import { isRecord } from "../guards.ts";

/** One age recipient and the data key (or its Shamir share) encrypted to it, ASCII-armored. */
export interface AgeStanza {
  recipient: string;
  enc: string;
}

/** A key group: age stanzas, plus entries of other key types (pgp, kms, …) kept verbatim. */
export interface KeyGroup {
  age: AgeStanza[];
  other: Record<string, unknown>;
}

/** The rules deciding which values are encrypted; at most one of them is set. */
export interface CryptRules {
  unencryptedSuffix?: string;
  encryptedSuffix?: string;
  unencryptedRegex?: string;
  encryptedRegex?: string;
  unencryptedCommentRegex?: string;
  encryptedCommentRegex?: string;
}

export interface Metadata extends CryptRules {
  keyGroups: KeyGroup[];
  /** 0 when the file has none (then every group is needed when there are several). */
  shamirThreshold: number;
  /** As written in the file (RFC 3339). */
  lastModified: string;
  /** The encrypted MAC, "" when missing. */
  mac: string;
  macOnlyEncrypted: boolean;
  version: string;
}

export const DEFAULT_UNENCRYPTED_SUFFIX = "_unencrypted";
/** The sops release whose file format nixlab writes (the interop tests build this version). */
export const SOPS_FORMAT_VERSION = "3.13.3";

const KEY_TYPES = ["age", "azure_kv", "gcp_kms", "hc_vault", "hckms", "kms", "pgp"] as const;
const RULE_FIELDS: ReadonlyArray<[keyof CryptRules, string]> = [
  ["unencryptedSuffix", "unencrypted_suffix"],
  ["encryptedSuffix", "encrypted_suffix"],
  ["unencryptedRegex", "unencrypted_regex"],
  ["encryptedRegex", "encrypted_regex"],
  ["unencryptedCommentRegex", "unencrypted_comment_regex"],
  ["encryptedCommentRegex", "encrypted_comment_regex"],
];

function parseGroup(raw: Record<string, unknown>, file: string): KeyGroup {
  const age: AgeStanza[] = [];
  const other: Record<string, unknown> = {};
  for (const type of KEY_TYPES) {
    const list = raw[type];
    if (list === undefined || list === null) continue;
    if (!Array.isArray(list)) throw invalid(file, `${type} is not a list`);
    if (type !== "age") {
      other[type] = list;
      continue;
    }
    for (const entry of list) {
      if (!isRecord(entry) || typeof entry.recipient !== "string" || typeof entry.enc !== "string") {
        throw invalid(file, "an age entry lacks recipient or enc");
      }
      age.push({ recipient: entry.recipient.trim(), enc: entry.enc });
    }
  }
  return { age, other };
}

function invalid(file: string, why: string): UserError {
  return new UserError(`${file}: the sops metadata is damaged (${why}); restore the file from version control`);
}

/**
 * Parses the `sops` section. Throws UserError (naming `file`) when it is not a
 * well-formed sops metadata mapping.
 */
export function parseMetadata(raw: unknown, file: string): Metadata {
  if (!isRecord(raw)) throw invalid(file, "`sops` is not a mapping");
  const str = (k: string): string | undefined => {
    const v = raw[k];
    if (v === undefined || v === null || v === "") return undefined;
    if (typeof v !== "string") throw invalid(file, `${k} is not a string`);
    return v;
  };
  let keyGroups: KeyGroup[];
  if (Array.isArray(raw.key_groups) && raw.key_groups.length > 0) {
    keyGroups = raw.key_groups.map((g) => {
      if (!isRecord(g)) throw invalid(file, "a key group is not a mapping");
      return parseGroup(g, file);
    });
  } else {
    const group = parseGroup(raw, file);
    if (group.age.length === 0 && Object.keys(group.other).length === 0) throw invalid(file, "no keys found");
    keyGroups = [group];
  }
  const lastModified = str("lastmodified");
  if (lastModified === undefined) throw invalid(file, "lastmodified is missing");
  if (Number.isNaN(Date.parse(lastModified))) throw invalid(file, "lastmodified is not a timestamp");
  const threshold = raw.shamir_threshold;
  if (threshold !== undefined && threshold !== null && !Number.isInteger(threshold)) {
    throw invalid(file, "shamir_threshold is not an integer");
  }
  const rules: CryptRules = {};
  for (const [field, key] of RULE_FIELDS) {
    const v = str(key);
    if (v !== undefined) rules[field] = v;
  }
  const ruleCount = Object.keys(rules).length;
  if (ruleCount > 1) throw invalid(file, "more than one of the *_suffix / *_regex rules is set");
  if (ruleCount === 0) rules.unencryptedSuffix = DEFAULT_UNENCRYPTED_SUFFIX;
  return {
    ...rules,
    keyGroups,
    shamirThreshold: typeof threshold === "number" ? threshold : 0,
    lastModified,
    mac: str("mac") ?? "",
    macOnlyEncrypted: raw.mac_only_encrypted === true,
    version: str("version") ?? "",
  };
}

function groupToRecord(group: KeyGroup, inKeyGroups: boolean): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const age = group.age.map((s) => ({ enc: s.enc, recipient: s.recipient }));
  for (const type of KEY_TYPES) {
    if (type === "age") {
      // Inside key_groups sops always writes `age` and `hc_vault` (no omitempty there).
      if (age.length > 0 || inKeyGroups) out.age = age;
    } else if (group.other[type] !== undefined) out[type] = group.other[type];
    else if (type === "hc_vault" && inKeyGroups) out.hc_vault = [];
  }
  return out;
}

/** The `sops` section as a plain object with sops' key order. */
export function serializeMetadata(m: Metadata): Record<string, unknown> {
  const fields: Record<string, unknown> = {};
  if (m.keyGroups.length === 1) Object.assign(fields, groupToRecord(m.keyGroups[0]!, false));
  else fields.key_groups = m.keyGroups.map((g) => groupToRecord(g, true));
  fields.lastmodified = m.lastModified;
  fields.mac = m.mac;
  if (m.macOnlyEncrypted) fields.mac_only_encrypted = true;
  if (m.shamirThreshold > 0) fields.shamir_threshold = m.shamirThreshold;
  for (const [field, key] of RULE_FIELDS) if (m[field]) fields[key] = m[field];
  fields.version = m.version;
  const sorted: Record<string, unknown> = {};
  for (const k of Object.keys(fields).sort()) sorted[k] = fields[k];
  return sorted;
}

/** Now, formatted like Go's time.Now().UTC().Format(time.RFC3339). */
export function nowRfc3339(): string {
  return new Date().toISOString().replace(/\.\d+Z$/, "Z");
}

/**
 * The additional data sops uses for the MAC: lastmodified parsed and re-formatted
 * with Go's RFC 3339 layout (no fractional seconds, "Z" for a zero offset).
 */
export function macAdditionalData(lastModified: string): string {
  const m = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.\d+)?(Z|[+-]\d{2}:\d{2})$/i.exec(lastModified.trim());
  if (!m) return lastModified;
  const zone = m[2]!.toUpperCase() === "Z" || m[2] === "+00:00" || m[2] === "-00:00" ? "Z" : m[2]!;
  return `${m[1]!.replace("t", "T")}${zone}`;
}

/** Every recipient of every group, in file order. */
export function recipientsOf(m: Metadata): string[] {
  return m.keyGroups.flatMap((g) => g.age.map((s) => s.recipient));
}

/** True when the file also has keys of types nixlab cannot encrypt to (pgp, kms, …). */
export function hasForeignKeys(m: Metadata): boolean {
  return m.keyGroups.some((g) => Object.values(g.other).some((v) => Array.isArray(v) && v.length > 0));
}
