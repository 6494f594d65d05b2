// .sops.yaml: found like sops finds it (from the file's directory upwards), and its
// first creation rule whose path_regex matches picks the recipients of a new file.
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import { parse } from "yaml";
import { UserError } from "../errors.ts";
import { isAgeRecipient } from "./age.ts";
import type { CryptRules } from "./metadata.ts";

export const CONFIG_FILE_NAME = ".sops.yaml";

/** The recipients and rules a creation rule gives a new file. */
export interface CreationRule extends CryptRules {
  /** One list of age recipients per key group. */
  keyGroups: string[][];
  shamirThreshold: number;
  macOnlyEncrypted: boolean;
  pathRegex?: string;
  /** Position of the rule in creation_rules. */
  index: number;
}

/** The nearest .sops.yaml at or above `dir` (at most 100 levels, like sops), or null. */
export function findConfigFile(dir: string): string | null {
  let current = resolve(dir);
  for (let i = 0; i < 100; i++) {
    const candidate = join(current, CONFIG_FILE_NAME);
    if (existsSync(candidate)) return candidate;
    const parent = dirname(current);
    if (parent === current) return null;
    current = parent;
  }
  return null;
}

/** Go regexp syntax to a JS RegExp: a leading (?flags) group becomes JS flags. */
export function goRegExp(pattern: string): RegExp {
  const m = /^\(\?([imsU]+)\)/.exec(pattern);
  if (!m) return new RegExp(pattern, "u");
  const flags = [...new Set(m[1]!.replaceAll("U", ""))].join("");
  return new RegExp(pattern.slice(m[0].length), `${flags}u`);
}

function ageList(value: unknown, where: string): string[] {
  if (value === undefined || value === null || value === "") return [];
  const items = typeof value === "string" ? value.split(",") : Array.isArray(value) ? value : null;
  if (!items) throw new UserError(`${where}: age must be a string or a list of strings`);
  const out: string[] = [];
  for (const item of items) {
    if (typeof item !== "string") throw new UserError(`${where}: age must be a string or a list of strings`);
    for (const r of item.split(",")) {
      const t = r.trim();
      if (t === "") continue;
      if (!isAgeRecipient(t)) throw new UserError(`${where}: ${JSON.stringify(t)} is not an age recipient (age1…)`);
      if (!out.includes(t)) out.push(t);
    }
  }
  return out;
}

function groupRecipients(group: unknown, where: string): string[] {
  if (typeof group !== "object" || group === null) throw new UserError(`${where}: a key group must be a mapping`);
  const g = group as Record<string, unknown>;
  const out = ageList(g.age, where);
  if (Array.isArray(g.merge))
    for (const sub of g.merge) for (const r of groupRecipients(sub, where)) if (!out.includes(r)) out.push(r);
  return out;
}

/**
 * The creation rule of `configPath` that applies to `filePath`: the first whose
 * path_regex matches the file's path relative to the config's directory (or that
 * has no path_regex). Returns null when no rule matches; throws UserError when the
 * config cannot be read or a rule is malformed.
 */
export function creationRuleFor(configPath: string, filePath: string): CreationRule | null {
  let raw: unknown;
  try {
    raw = parse(readFileSync(configPath, "utf8"));
  } catch (error) {
    throw new UserError(`cannot read ${configPath}: ${(error as Error).message.split("\n")[0]}; fix its YAML`);
  }
  const rules = (raw as { creation_rules?: unknown } | null)?.creation_rules;
  if (rules === undefined || rules === null) return null;
  if (!Array.isArray(rules)) throw new UserError(`${configPath}: creation_rules must be a list`);
  const abs = resolve(filePath);
  const rel = relative(dirname(resolve(configPath)), abs);
  const target = rel.startsWith("..") ? abs : rel.split(sep).join("/");
  for (const [i, rule] of rules.entries()) {
    const where = `${configPath}: creation_rules[${i}]`;
    if (typeof rule !== "object" || rule === null) throw new UserError(`${where} must be a mapping`);
    const r = rule as Record<string, unknown>;
    if (typeof r.path_regex === "string" && r.path_regex !== "") {
      let re: RegExp;
      try {
        re = goRegExp(r.path_regex);
      } catch {
        throw new UserError(`${where}: path_regex ${JSON.stringify(r.path_regex)} is not a valid regular expression`);
      }
      if (!re.test(target)) continue;
    }
    const keyGroups =
      Array.isArray(r.key_groups) && r.key_groups.length > 0
        ? r.key_groups.map((g) => groupRecipients(g, where))
        : [ageList(r.age, where)];
    if (keyGroups.some((g) => g.length === 0)) {
      throw new UserError(`${where} matches ${target} but gives it no age recipients; add an age key to the rule`);
    }
    const out: CreationRule = {
      keyGroups,
      shamirThreshold: typeof r.shamir_threshold === "number" ? r.shamir_threshold : 0,
      macOnlyEncrypted: r.mac_only_encrypted === true,
      index: i,
    };
    if (typeof r.path_regex === "string") out.pathRegex = r.path_regex;
    const ruleKeys: Array<[keyof CryptRules, string]> = [
      ["unencryptedSuffix", "unencrypted_suffix"],
      ["encryptedSuffix", "encrypted_suffix"],
      ["unencryptedRegex", "unencrypted_regex"],
      ["encryptedRegex", "encrypted_regex"],
      ["unencryptedCommentRegex", "unencrypted_comment_regex"],
      ["encryptedCommentRegex", "encrypted_comment_regex"],
    ];
    for (const [field, key] of ruleKeys) if (typeof r[key] === "string" && r[key] !== "") out[field] = r[key] as string;
    if (Object.keys(out).filter((k) => ruleKeys.some(([f]) => f === k)).length > 1) {
      throw new UserError(`${where} sets more than one of the *_suffix / *_regex rules; keep one`);
    }
    return out;
  }
  return null;
}
