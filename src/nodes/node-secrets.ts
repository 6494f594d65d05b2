/**
 * The secrets files the nodes decrypt, next to the cluster file:
 * - secrets.yaml: every secret; recipients the admins and the master;
 * - secrets.agents.yaml: only agentSecretNames (k3s_token, user_password), copied from
 *   secrets.yaml by nixlab; recipients the admins and every agent.
 * SOPS encrypts a whole file to one data key, so a per-role file (not a key group) is
 * what keeps an agent's key from opening the Nextcloud or WireGuard secrets.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { UserError } from "../errors.ts";
import type { AgeIdentity } from "../secrets/age.ts";
import { createSecrets, openSecrets, type SecretsFile } from "../secrets/file.ts";
import { isPlaceholder } from "../secrets/project.ts";
import { ensureAgentsRule, ruleFor } from "./sops-rules.ts";
import { type NodeSpec, agentSecretNames, agentSecretsFile, masterSecretsFile } from "./spec.ts";

/** Re-encrypts the data key of `file` for the recipients .sops.yaml gives it; true when they changed. */
export function updateKeys(file: SecretsFile, configPath: string): boolean {
  const rule = ruleFor(configPath, file.path);
  return file.setRecipients(rule.keyGroups, rule.shamirThreshold);
}

export interface AgentSecretsSync {
  path: string;
  created: boolean;
  /** Names whose value was copied from secrets.yaml (or removed, when not an agent secret). */
  changed: string[];
  recipientsChanged: boolean;
  /** Whether the file was written. */
  written: boolean;
}

/**
 * Makes secrets.agents.yaml hold exactly agentSecretNames with secrets.yaml's values,
 * encrypted to the recipients .sops.yaml gives it; writes only when something differs.
 * `identities` must open secrets.yaml (and secrets.agents.yaml when it exists). Throws
 * UserError when they do not, or when .sops.yaml has no rule for the files.
 */
export async function syncAgentSecrets(
  clusterDir: string,
  identities: readonly AgeIdentity[],
): Promise<AgentSecretsSync> {
  const master = await openSecrets(join(clusterDir, masterSecretsFile), identities);
  const path = join(clusterDir, agentSecretsFile);
  const configPath = ensureAgentsRule(clusterDir);
  const created = !existsSync(path);
  const agents = created ? createSecrets(path, { ...ruleFor(configPath, path) }) : await openSecrets(path, identities);
  const changed: string[] = [];
  for (const name of agentSecretNames) {
    const value = master.get(name);
    if (value === undefined) {
      if (agents.delete(name)) changed.push(name);
    } else if (agents.get(name) !== value) {
      agents.set(name, value);
      changed.push(name);
    }
  }
  for (const name of agents.keys()) {
    if (!(agentSecretNames as readonly string[]).includes(name) && agents.delete(name)) changed.push(name);
  }
  const recipientsChanged = updateKeys(agents, configPath);
  const written = await agents.save();
  return { path, created, changed, recipientsChanged, written };
}

/**
 * Proves that `identity` (a node's own key) opens the file `spec` decrypts and yields
 * every secret the node declares, filled in; and, for an agent, that it cannot open
 * secrets.yaml. Returns the names it decrypted; throws UserError naming what is wrong.
 */
export async function verifyNodeAccess(clusterDir: string, spec: NodeSpec, identity: AgeIdentity): Promise<string[]> {
  const path = join(clusterDir, spec.sops.file);
  let file: SecretsFile;
  try {
    file = await openSecrets(path, [identity]);
  } catch (cause) {
    throw new UserError(`${spec.hostname}'s new age key does not open ${path}`, {
      cause,
      details: ["  its recipient is missing from that file; run `nixlab secrets updatekeys` and install again"],
    });
  }
  const problems = spec.sops.secrets.flatMap(({ name }) => {
    const value = file.get(name);
    if (value === undefined) return [`${name} is missing`];
    if (typeof value !== "string") return [`${name} is not text`];
    if (isPlaceholder(value)) return [`${name} is still a placeholder`];
    return [];
  });
  if (problems.length > 0) {
    throw new UserError(`${spec.hostname} would boot without the secrets it needs (${path})`, {
      details: [...problems.map((p) => `  ${p}`), "  fill them in with `nixlab secrets set NAME`, then install again"],
    });
  }
  if (spec.sops.file !== masterSecretsFile) {
    const opened = await openSecrets(join(clusterDir, masterSecretsFile), [identity]).then(
      () => true,
      () => false,
    );
    if (opened) {
      throw new UserError(`${spec.hostname} is an agent but its key opens ${masterSecretsFile} (every secret)`, {
        details: [
          `  remove node_${spec.hostname} from the ${masterSecretsFile} rule of .sops.yaml, then install again`,
        ],
      });
    }
  }
  return spec.sops.secrets.map((s) => s.name);
}
