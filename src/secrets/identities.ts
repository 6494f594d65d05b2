// Where age identities come from, in sops' order plus the node location used by sops-nix.
import { existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { UserError } from "../errors.ts";
import { type AgeIdentity, parseIdentities } from "./age.ts";

/** sops-nix's key on a NixOS node (services.md §4: sops.age.keyFile). */
export const NODE_KEY_FILE = "/persist/etc/sops-nix/keys.txt";

export interface IdentityOptions {
  /** --age-key-file: when given, only this file is used. */
  ageKeyFile?: string;
  /** Environment to read SOPS_AGE_KEY / SOPS_AGE_KEY_FILE / XDG_CONFIG_HOME / HOME from (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** Override of the node key path (tests). */
  nodeKeyFile?: string;
}

/** A key kept beside the cluster file (like examples/homelab/age-key.txt), found only through SOPS_AGE_KEY_FILE. */
export const besideKeyName = "age-key.txt";

/** The user's default key file: $XDG_CONFIG_HOME/sops/age/keys.txt, else ~/.config/sops/age/keys.txt. */
export function defaultKeyFile(env: NodeJS.ProcessEnv = process.env): string {
  const config = env.XDG_CONFIG_HOME || join(env.HOME || homedir(), ".config");
  return join(config, "sops", "age", "keys.txt");
}

async function fromFile(path: string, label: string): Promise<AgeIdentity[]> {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new UserError(
      `cannot read the age key file ${path} (${code ?? "error"}); check the path and its permissions`,
    );
  }
  try {
    return await parseIdentities(text, label);
  } catch (error) {
    throw new UserError(`${(error as Error).message}; fix the key file or point --age-key-file at another`);
  }
}

/**
 * Collects age identities. With `ageKeyFile`, only that file (missing → UserError).
 * Otherwise, like sops, every source that exists: SOPS_AGE_KEY (keys separated by
 * newlines or spaces), SOPS_AGE_KEY_FILE (missing → UserError), the user key file,
 * and the node key file. Returns [] when none exists; throws UserError when a
 * source exists but cannot be read or holds something other than age keys.
 */
export async function discoverIdentities(options: IdentityOptions = {}): Promise<AgeIdentity[]> {
  const env = options.env ?? process.env;
  if (options.ageKeyFile) return fromFile(options.ageKeyFile, options.ageKeyFile);
  const out: AgeIdentity[] = [];
  if (env.SOPS_AGE_KEY) {
    try {
      out.push(...(await parseIdentities(env.SOPS_AGE_KEY, "SOPS_AGE_KEY", true)));
    } catch (error) {
      throw new UserError(`${(error as Error).message}; set it to one or more AGE-SECRET-KEY-1… values`);
    }
  }
  if (env.SOPS_AGE_KEY_FILE) out.push(...(await fromFile(env.SOPS_AGE_KEY_FILE, env.SOPS_AGE_KEY_FILE)));
  for (const path of [defaultKeyFile(env), options.nodeKeyFile ?? NODE_KEY_FILE]) {
    if (existsSync(path)) out.push(...(await fromFile(path, path)));
  }
  return out;
}
