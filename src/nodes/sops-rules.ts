/**
 * The nodes' age recipients in .sops.yaml, kept the way sops-nix documents it: each
 * node's recipient once under `keys:` with the anchor `&node_<hostname>`, and an alias
 * of it in the creation rule of the file the node decrypts (the master: secrets.yaml;
 * agents: secrets.agents.yaml, whose rule nixlab adds when it is missing). A reinstall
 * replaces the anchored value, so every alias follows. Comments and other rules are kept.
 */
import { readFileSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import { type Document, isAlias, isMap, isScalar, isSeq, parseDocument, Scalar, type YAMLMap, YAMLSeq } from "yaml";
import { UserError } from "../errors.ts";
import { writeFileAtomic } from "../io/atomic.ts";
import { type CreationRule, creationRuleFor, findConfigFile } from "../secrets/config.ts";
import { agentSecretsFile, masterSecretsFile } from "./spec.ts";

/** The anchor of a node's recipient under `keys:`. */
export const nodeAnchor = (hostname: string): string => `node_${hostname}`;

/** The .sops.yaml that governs the secrets files next to the cluster file; throws UserError when there is none. */
export function sopsConfigFor(clusterDir: string): string {
  const path = findConfigFile(clusterDir);
  if (!path) {
    throw new UserError(`no .sops.yaml at or above ${clusterDir}`, {
      details: ["  `nixlab secrets init` writes one with your age key"],
    });
  }
  return path;
}

/** The rule of `configPath` for `file`; throws UserError when none matches. */
export function ruleFor(configPath: string, file: string): CreationRule {
  const rule = creationRuleFor(configPath, file);
  if (!rule) {
    throw new UserError(`no creation rule in ${configPath} matches ${file}`, {
      details: ["  add a rule with your age key for it (`nixlab secrets init` writes one)"],
    });
  }
  return rule;
}

/** The recipients anchored as nodes (`&node_*` under keys:), by anchor. */
function nodeRecipients(doc: Document): Map<string, string> {
  const out = new Map<string, string>();
  const keys = doc.get("keys");
  if (!isSeq(keys)) return out;
  for (const item of keys.items) {
    if (isScalar(item) && item.anchor?.startsWith("node_")) out.set(item.anchor, String(item.value));
  }
  return out;
}

function load(configPath: string): Document {
  const doc = parseDocument(readFileSync(configPath, "utf8"));
  if (doc.errors.length > 0) throw new UserError(`cannot read ${configPath}: ${doc.errors[0]!.message.split("\n")[0]}`);
  return doc;
}

function rulesSeq(doc: Document, configPath: string): YAMLSeq {
  const rules = doc.get("creation_rules");
  if (!isSeq(rules)) throw new UserError(`${configPath}: creation_rules must be a list`);
  return rules;
}

/** The age list of a rule's first key group, made a block list (converting `age: "a,b"`). */
function ageList(doc: Document, rule: YAMLMap): YAMLSeq {
  let groups = rule.get("key_groups");
  if (!isSeq(groups) || groups.items.length === 0) {
    const plain = rule.get("age");
    const recipients = (
      isSeq(plain) ? plain.items.map((i) => (isScalar(i) ? String(i.value) : "")) : String(plain ?? "").split(",")
    )
      .map((r) => r.trim())
      .filter((r) => r !== "");
    rule.delete("age");
    groups = doc.createNode([{ age: recipients }]) as YAMLSeq;
    rule.set("key_groups", groups);
  }
  const group = (groups as YAMLSeq).items[0];
  if (!isMap(group)) throw new UserError("a key group in .sops.yaml is not a mapping");
  const current: unknown = group.get("age", true);
  if (isSeq(current)) {
    current.flow = false;
    return current;
  }
  const text = isScalar(current) ? String(current.value ?? "") : "";
  const age = doc.createNode(
    text
      .split(",")
      .map((r) => r.trim())
      .filter((r) => r !== ""),
  ) as YAMLSeq;
  age.flow = false;
  group.set("age", age);
  return age;
}

function adminsOf(doc: Document, master: CreationRule): string[] {
  const nodes = new Set(nodeRecipients(doc).values());
  return master.keyGroups.flat().filter((r) => !nodes.has(r));
}

/** The admins: recipients of secrets.yaml's rule that are not nodes (what a new agents rule gets). */
export function adminRecipients(configPath: string): string[] {
  return adminsOf(load(configPath), ruleFor(configPath, join(dirname(configPath), masterSecretsFile)));
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/**
 * Makes sure secrets.agents.yaml has a creation rule of its own (not the one of
 * secrets.yaml, which would let agents read every secret): when it has none, one is
 * added first, for the admins (secrets.yaml's recipients that are not nodes).
 */
function ensureAgentRule(doc: Document, configPath: string, clusterDir: string): number {
  const agentsPath = join(clusterDir, agentSecretsFile);
  const master = ruleFor(configPath, join(clusterDir, masterSecretsFile));
  const agents = creationRuleFor(configPath, agentsPath);
  if (agents && agents.index !== master.index) return agents.index;
  const admins = adminsOf(doc, master);
  const rel = relative(dirname(configPath), resolve(agentsPath)).split(sep).join("/");
  const rule = doc.createNode({ path_regex: `(^|/)${escapeRegExp(rel)}$`, key_groups: [{ age: admins }] });
  rulesSeq(doc, configPath).items.unshift(rule);
  return 0;
}

/**
 * Gives secrets.agents.yaml a creation rule of its own when it has none (written to
 * .sops.yaml); returns the config path. Throws UserError like addNodeRecipient.
 */
export function ensureAgentsRule(clusterDir: string): string {
  const configPath = sopsConfigFor(clusterDir);
  const doc = load(configPath);
  const before = rulesSeq(doc, configPath).items.length;
  ensureAgentRule(doc, configPath, clusterDir);
  if (rulesSeq(doc, configPath).items.length !== before) {
    writeFileAtomic(configPath, doc.toString({ lineWidth: 0 }), 0o644);
  }
  return configPath;
}

export interface RecipientChange {
  configPath: string;
  /** The secrets file (next to the cluster file) the node decrypts. */
  file: string;
  /** True when an earlier install's recipient of this node is replaced. */
  replaced: boolean;
}

/**
 * Records `recipient` as the age key of node `hostname` and gives it the creation rule
 * of `file` (secrets.yaml for the master, secrets.agents.yaml for agents). Writes
 * .sops.yaml (atomically); throws UserError when it is malformed or has no rule.
 */
export function addNodeRecipient(
  clusterDir: string,
  hostname: string,
  file: typeof masterSecretsFile | typeof agentSecretsFile,
  recipient: string,
): RecipientChange {
  const configPath = sopsConfigFor(clusterDir);
  const doc = load(configPath);
  const ruleIndex =
    file === agentSecretsFile
      ? ensureAgentRule(doc, configPath, clusterDir)
      : ruleFor(configPath, join(clusterDir, file)).index;
  const anchor = nodeAnchor(hostname);
  let keys = doc.get("keys");
  if (!isSeq(keys)) {
    keys = new YAMLSeq();
    // keys: goes first, as in sops-nix's documentation.
    (doc.contents as YAMLMap).items.unshift(doc.createPair("keys", keys));
  }
  const seq = keys as YAMLSeq;
  let entry = seq.items.find((i): i is Scalar => isScalar(i) && i.anchor === anchor);
  const replaced = entry !== undefined;
  if (entry) entry.value = recipient;
  else {
    entry = new Scalar(recipient);
    entry.anchor = anchor;
    seq.items.push(entry);
  }
  const rule = rulesSeq(doc, configPath).items[ruleIndex];
  if (!isMap(rule)) throw new UserError(`${configPath}: creation_rules[${ruleIndex}] must be a mapping`);
  const age = ageList(doc, rule);
  if (!age.items.some((i) => isAlias(i) && i.source === anchor)) age.items.push(doc.createAlias(entry, anchor));
  writeFileAtomic(configPath, doc.toString({ lineWidth: 0 }), 0o644);
  return { configPath, file: join(clusterDir, file), replaced };
}

/** Whether node `hostname` already has a recipient in .sops.yaml (an earlier install). */
export function hasNodeRecipient(clusterDir: string, hostname: string): boolean {
  return nodeRecipients(load(sopsConfigFor(clusterDir))).has(nodeAnchor(hostname));
}
