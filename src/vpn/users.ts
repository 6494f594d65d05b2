/**
 * VPN user operations behind `nixlab vpn`: the cluster file stays the one source of
 * truth (no database), the public key goes to the SOPS secrets file under the user's
 * `publicKeySecret`, and the private key to the admins-only kept-keys file
 * (key-store.ts). Every input is checked before any file is touched; the files are
 * then written in an order whose interruption leaves only leftovers the next run of
 * the same command cleans up (commit.ts).
 */
import { statSync } from "node:fs";
import { basename, dirname, relative } from "node:path";
import { parse as parseYaml } from "yaml";
import type { Cluster, VpnUser } from "../cluster/model.ts";
import { clusterFromValue, readClusterSource } from "../config/load.ts";
import { type FieldPath, formatPath } from "../config/problems.ts";
import { validateConfig } from "../config/validate.ts";
import { ExitCode, UserError } from "../errors.ts";
import { type AgeIdentity, isPlaceholder, openSecrets, type SecretsFile } from "../secrets/index.ts";
import { type ClientSecrets, clientConfig } from "./client-config.ts";
import {
  applyToValue,
  type ClusterFileKind,
  clusterFileKind,
  editClusterText,
  snippet,
  type UserEdit,
} from "./cluster-edit.ts";
import { commitWrites, type FileEffects, type PlannedWrite, readIfExists } from "./commit.ts";
import { checkRequestedAddress, nextFreeAddress } from "./ipam.ts";
import { clientKeysFileName, clientKeysPath, openClientKeys, recordClientKeysRule } from "./key-store.ts";
import { isExpired } from "./expiry.ts";
import { generateKeyPair, isWireguardKey, publicKeyOf } from "./keys.ts";

/** Where a command works: the files, the caller's age keys, and the file system effects. */
export interface VpnContext {
  clusterPath: string;
  secretsPath: string;
  identities: readonly AgeIdentity[];
  files: FileEffects;
}

/** The cluster file as read: its text (for the edit and the concurrency check), value and model. */
export interface Project {
  path: string;
  kind: ClusterFileKind;
  text: string;
  raw: Record<string, unknown>;
  cluster: Cluster;
}

/** Reads and validates the cluster file. Throws UserError (exit 2) when it is unreadable or invalid. */
export async function loadProject(path: string): Promise<Project> {
  const text = readIfExists(path);
  if (text === null) throw new UserError(`cluster file ${path} does not exist`, { exitCode: ExitCode.invalidInput });
  const source = await readClusterSource(path);
  const cluster = clusterFromValue(source.value, path, source.locate);
  return { path, kind: clusterFileKind(path), text, raw: source.value as Record<string, unknown>, cluster };
}

const usersOf = (raw: Record<string, unknown>): Record<string, Record<string, unknown>> =>
  (raw.wireguardUsers ?? {}) as Record<string, Record<string, unknown>>;

/** The user `name` of the cluster. Throws UserError (exit 2) naming the way to list users. */
export function requireUser(project: Project, name: string): VpnUser {
  const user = project.cluster.vpn.users.find((u) => u.name === name);
  if (user) return user;
  throw new UserError(`there is no VPN user ${name} in ${basename(project.path)}; \`nixlab vpn list\` shows them`, {
    exitCode: ExitCode.invalidInput,
  });
}

/** The flag each user field is given with, for error messages. */
const flagOf: Record<string, string> = {
  ip: "--ip",
  group: "--group",
  allowedIPs: "--allowed-ips",
  nextcloudUser: "--nextcloud-user",
  description: "--description",
  expires: "--expires",
};

/**
 * Validates the cluster file's value after `edit` exactly as `nixlab check` would and
 * returns the new cluster. A problem with the edited user becomes one line naming the
 * flag or name and the fix; throws UserError (exit 2).
 */
export function validateEdit(project: Project, edit: UserEdit, value = applyToValue(project.raw, edit)): Cluster {
  const result = validateConfig(value);
  if (result.ok) return clusterFromValue(value, project.path);
  const own = (p: FieldPath) => p[0] === "wireguardUsers" && p[1] === edit.name;
  const problem = result.problems.find((p) => own(p.path)) ?? result.problems[0]!;
  const field = own(problem.path) ? problem.path[2] : undefined;
  const what =
    field === undefined && own(problem.path)
      ? `VPN user name ${JSON.stringify(edit.name)}`
      : field !== undefined && typeof field === "string" && field in flagOf
        ? flagOf[field]!
        : formatPath(problem.path);
  throw new UserError(`${what}: ${problem.message}; ${problem.fix}`, { exitCode: ExitCode.invalidInput });
}

/** Opens the secrets file; every failure is bad input here (exit 2): a missing file or key. */
async function openProjectSecrets(ctx: VpnContext): Promise<{ file: SecretsFile; before: string | null }> {
  const before = readIfExists(ctx.secretsPath);
  try {
    return { file: await openSecrets(ctx.secretsPath, ctx.identities), before };
  } catch (error) {
    if (!(error instanceof UserError)) throw error;
    throw new UserError(error.message, { exitCode: ExitCode.invalidInput, details: error.details });
  }
}

/** What the pod's setup.sh accepts too: a host name, an IPv4 address, or an IPv6 one in brackets. */
const endpointHost = /^([A-Za-z0-9.-]+|\[[0-9A-Fa-f:]+\])$/;

/** The server facts every client config needs, from the secrets file. Throws UserError (exit 2) naming the fix. */
export function serverSecrets(secrets: SecretsFile): Omit<ClientSecrets, "privateKey"> {
  const file = basename(secrets.path);
  const pub = secrets.get("wireguard_server_public_key");
  if (typeof pub !== "string" || !isWireguardKey(pub.trim()))
    throw new UserError(`${file} has no WireGuard server key pair yet; create it with \`nixlab secrets init\``, {
      exitCode: ExitCode.invalidInput,
    });
  const host = secrets.get("wireguard_server_endpoint");
  if (typeof host !== "string" || isPlaceholder(host) || !endpointHost.test(host.trim()))
    throw new UserError(
      `${file}: wireguard_server_endpoint is not a host name clients can reach; set it with \`printf %s vpn.example.com | nixlab secrets set wireguard_server_endpoint\``,
      { exitCode: ExitCode.invalidInput },
    );
  return { serverPublicKey: pub.trim(), endpointHost: host.trim() };
}

/** The planned write of an open SOPS file (new text, text as read). */
async function secretsWrite(file: SecretsFile, before: string | null): Promise<PlannedWrite> {
  return { path: file.path, content: file.dirty ? await file.encryptedText() : (before ?? ""), before, mode: 0o600 };
}

/** The planned write of the cluster file with `edit`, or null for TS/Nix files (a snippet instead). */
function clusterWrite(project: Project, edit: UserEdit): PlannedWrite | null {
  if (project.kind === "ts" || project.kind === "nix") return null;
  const content = editClusterText(project.text, project.kind, edit, basename(project.path));
  return { path: project.path, content, before: project.text, mode: statSync(project.path).mode & 0o777 };
}

/** What changed, for the command to report (file: what). */
export type Changes = Array<{ file: string; change: string }>;

/** A snippet the user must paste, for cluster files nixlab does not edit. */
export interface Paste {
  file: string;
  text: string;
}

const paste = (project: Project, edit: UserEdit): Paste | undefined =>
  project.kind === "ts" || project.kind === "nix"
    ? { file: basename(project.path), text: snippet(project.kind, edit) }
    : undefined;

// ---------------------------------------------------------------------------
// add

export interface AddOptions {
  name: string;
  ip?: string;
  group?: string;
  allowedIPs?: string;
  nextcloudUser?: string;
  description?: string;
  expires?: string;
  /** Keep the private key in the kept-keys file (default); false prints it once only. */
  keep: boolean;
}

export interface IssuedConfig {
  user: VpnUser;
  /** The client config (holds the private key). */
  config: string;
  changes: Changes;
  paste?: Paste;
  /** Notes for the user (leftovers replaced, .sops.yaml rule written). */
  notes: string[];
}

/** The cluster-file entry of a new user, fields in the order people read them. */
function newEntry(options: AddOptions, ip: string): Record<string, unknown> {
  const entry: Record<string, unknown> = { ip };
  if (options.group !== undefined) entry.group = options.group;
  entry.publicKeySecret = `${options.name.replaceAll("-", "_")}_wg_public_key`;
  entry.allowedIPs = options.allowedIPs ?? "0.0.0.0/0";
  if (options.nextcloudUser !== undefined) entry.nextcloudUser = options.nextcloudUser;
  if (options.description !== undefined) entry.description = options.description;
  if (options.expires !== undefined) entry.expires = options.expires;
  entry.enabled = true;
  return entry;
}

/** The address for a new user: --ip after checking it, else the lowest free one. Throws UserError (exit 2). */
function addressFor(project: Project, options: AddOptions): string {
  const holders = new Map<string, string>();
  for (const [name, user] of Object.entries(usersOf(project.raw))) {
    if (typeof user?.ip === "string") holders.set(user.ip, name);
  }
  if (options.ip === undefined) return nextFreeAddress(holders.keys());
  checkRequestedAddress(options.ip, holders);
  return options.ip;
}

/**
 * Adds a VPN user: checks every input, makes a key pair, and writes the kept private
 * key, then the public key secret, then the cluster file (YAML/JSON; a snippet to
 * paste for TS/Nix). Returns the client config. Throws UserError (exit 2) for bad
 * input with no file changed; see commitWrites for write failures.
 */
export async function addUser(ctx: VpnContext, options: AddOptions): Promise<IssuedConfig> {
  const project = await loadProject(ctx.clusterPath);
  const existing = project.cluster.vpn.users.find((u) => u.name === options.name);
  if (existing) {
    throw new UserError(
      `VPN user ${options.name} already exists (${existing.ip}); \`nixlab vpn rotate ${options.name}\` gives it a new key and config, or pick another name`,
      { exitCode: ExitCode.invalidInput },
    );
  }
  const edit: UserEdit = { op: "add", name: options.name, entry: newEntry(options, addressFor(project, options)) };
  const write = clusterWrite(project, edit);
  const cluster = validateEdit(project, edit, write ? parseWritten(project, write.content) : undefined);
  const user = cluster.vpn.users.find((u) => u.name === options.name)!;
  const issued = await issueKeys(ctx, project, user, options.keep);
  const writes = [...issued.writes, ...(write ? [write] : [])];
  commitWrites(
    writes,
    ctx.files,
    `run \`nixlab vpn add ${options.name}\` again (it replaces what this run left behind)`,
  );
  recordRule(issued.kept, ctx, issued.notes);
  const changes = issued.changes;
  if (write) changes.push({ file: basename(project.path), change: `wireguardUsers.${options.name} added` });
  const result: IssuedConfig = { user, config: issued.config, changes, notes: issued.notes };
  const p = paste(project, edit);
  if (p) result.paste = p;
  return result;
}

/** The value of the cluster file text we are about to write (YAML/JSON). */
function parseWritten(project: Project, text: string): Record<string, unknown> {
  return (project.kind === "json" ? JSON.parse(text) : parseYaml(text, { maxAliasCount: 100 })) as Record<
    string,
    unknown
  >;
}

interface IssuedKeys {
  config: string;
  /** Kept keys first, then the secrets file. */
  writes: PlannedWrite[];
  changes: Changes;
  notes: string[];
  /** The kept-keys file when this change writes it. */
  kept: SecretsFile | null;
}

/**
 * A new key pair for `user`: the public key set in the secrets file, the private key
 * kept (or, without `keep`, any kept one dropped). Returns the planned writes and the
 * client config; writes nothing. Throws UserError (exit 2) for a missing secrets
 * file, key or server key pair.
 */
async function issueKeys(ctx: VpnContext, project: Project, user: VpnUser, keep: boolean): Promise<IssuedKeys> {
  const secrets = await openProjectSecrets(ctx);
  const server = serverSecrets(secrets.file);
  const notes: string[] = [];
  const isNewUser = !project.cluster.vpn.users.some((u) => u.name === user.name);
  if (isNewUser && secrets.file.has(user.publicKeySecret))
    notes.push(`replaced ${user.publicKeySecret}, which no user referenced (left by an interrupted add)`);
  const keysPath = clientKeysPath(ctx.secretsPath);
  const keysBefore = readIfExists(keysPath);
  const kept = await openClientKeys(secrets.file, ctx.identities, keep);
  const pair = generateKeyPair();
  secrets.file.set(user.publicKeySecret, pair.publicKey);
  const changes: Changes = [{ file: basename(ctx.secretsPath), change: `${user.publicKeySecret} set` }];
  const writes: PlannedWrite[] = [];
  if (kept && keep) kept.file.set(user.name, pair.privateKey);
  else if (kept) kept.file.delete(user.name);
  if (kept?.file.dirty) {
    writes.push(await secretsWrite(kept.file, keysBefore));
    const change = keep ? `${user.name}'s private key kept (admins only)` : `${user.name}'s old private key dropped`;
    changes.push({ file: clientKeysFileName, change });
  }
  writes.push(await secretsWrite(secrets.file, secrets.before));
  const config = clientConfig(project.cluster, user, { ...server, privateKey: pair.privateKey });
  return { config, writes, changes, notes, kept: kept?.file.dirty ? kept.file : null };
}

/** After a commit: makes sure a kept-keys file has its own .sops.yaml rule; a failure is only a note. */
function recordRule(kept: SecretsFile | null, ctx: VpnContext, notes: string[]): void {
  if (!kept) return;
  try {
    const written = recordClientKeysRule(kept, ctx.secretsPath);
    if (written)
      notes.push(
        `added a rule for ${clientKeysFileName} to ${relative(dirname(ctx.secretsPath), written)} (admins' age keys only)`,
      );
  } catch (error) {
    notes.push(
      `could not add a rule for ${clientKeysFileName} to .sops.yaml (${(error as Error).message}); add one by hand with your age key so \`nixlab secrets updatekeys\` can re-encrypt it`,
    );
  }
}

// ---------------------------------------------------------------------------
// rotate, show

/**
 * Gives an existing user a new key pair (the old one stops working at the next
 * deploy) and returns the new config; the cluster file is unchanged. Throws
 * UserError (exit 2) for an unknown user.
 */
export async function rotateUser(ctx: VpnContext, name: string, keep: boolean): Promise<IssuedConfig> {
  const project = await loadProject(ctx.clusterPath);
  const user = requireUser(project, name);
  const issued = await issueKeys(ctx, project, user, keep);
  commitWrites(issued.writes, ctx.files, `run \`nixlab vpn rotate ${name}\` again`);
  recordRule(issued.kept, ctx, issued.notes);
  return { user, config: issued.config, changes: issued.changes, notes: issued.notes };
}

/**
 * The current client config of a user from the kept private key. Throws UserError
 * (exit 2) when the user is unknown, its key was not kept, or the kept key does not
 * match the public key in the secrets file (then `vpn rotate` issues a new one).
 */
export async function showUser(ctx: VpnContext, name: string): Promise<{ user: VpnUser; config: string }> {
  const project = await loadProject(ctx.clusterPath);
  const user = requireUser(project, name);
  const secrets = await openProjectSecrets(ctx);
  const server = serverSecrets(secrets.file);
  const kept = await openClientKeys(secrets.file, ctx.identities, false);
  const privateKey = kept?.file.get(name);
  const rotate = `\`nixlab vpn rotate ${name}\` issues a new config`;
  if (typeof privateKey !== "string")
    throw new UserError(`${name}'s private key was not kept (added with --no-keep, or by hand); ${rotate}`, {
      exitCode: ExitCode.invalidInput,
    });
  const publicKey = secrets.file.get(user.publicKeySecret);
  if (typeof publicKey !== "string" || publicKeyOf(privateKey) !== publicKey.trim())
    throw new UserError(
      `${name}'s kept private key does not match ${user.publicKeySecret} in ${basename(ctx.secretsPath)} (its key was changed elsewhere); ${rotate}`,
      { exitCode: ExitCode.invalidInput },
    );
  return { user, config: clientConfig(project.cluster, user, { ...server, privateKey }) };
}

// ---------------------------------------------------------------------------
// enable, disable, remove

export interface Edited {
  /** False when the user already was in the asked state: nothing was written. */
  changed: boolean;
  changes: Changes;
  paste?: Paste;
}

/**
 * Enables or disables a user in the cluster file (YAML/JSON edited in place; TS/Nix:
 * the line to change). Enabling is validated like `check` (e.g. its address must not
 * be another enabled user's). Throws UserError (exit 2) for an unknown user.
 */
export async function setEnabled(ctx: VpnContext, name: string, enabled: boolean): Promise<Edited> {
  const project = await loadProject(ctx.clusterPath);
  const user = requireUser(project, name);
  if (user.enabled === enabled) return { changed: false, changes: [] };
  const edit: UserEdit = { op: "set", name, field: "enabled", value: enabled };
  const write = clusterWrite(project, edit);
  validateEdit(project, edit, write ? parseWritten(project, write.content) : undefined);
  const result: Edited = { changed: true, changes: [] };
  if (write) {
    commitWrites([write], ctx.files, `run \`nixlab vpn ${enabled ? "enable" : "disable"} ${name}\` again`);
    result.changes.push({ file: basename(project.path), change: `wireguardUsers.${name}.enabled set to ${enabled}` });
  }
  const p = paste(project, edit);
  if (p) result.paste = p;
  return result;
}

/**
 * Removes a user: its entry in the cluster file (first, so the server stops trusting
 * it at the next deploy), then its public key secret and its kept private key. A user
 * no longer in the cluster file whose keys remain (an interrupted remove or add) has
 * just its keys removed. For TS/Nix files the entry must be deleted by hand first:
 * throws UserError saying so. Throws UserError (exit 2) when there is nothing to remove.
 */
export async function removeUser(ctx: VpnContext, name: string): Promise<Edited> {
  const project = await loadProject(ctx.clusterPath);
  const user = project.cluster.vpn.users.find((u) => u.name === name);
  const edit: UserEdit = { op: "remove", name };
  if (user && (project.kind === "ts" || project.kind === "nix")) {
    throw new UserError(
      `${basename(project.path)} is code nixlab does not edit: delete wireguardUsers.${name} there, then run \`nixlab vpn remove ${name}\` again to delete its keys`,
      { exitCode: ExitCode.failure, details: [`  ${snippet(project.kind, edit)}`] },
    );
  }
  const secretName = user?.publicKeySecret ?? `${name.replaceAll("-", "_")}_wg_public_key`;
  const write = user ? clusterWrite(project, edit) : null;
  if (write) validateEdit(project, edit, parseWritten(project, write.content));
  const secrets = await openProjectSecrets(ctx);
  const kept = await openClientKeys(secrets.file, ctx.identities, false);
  const keysBefore = kept ? readIfExists(kept.file.path) : null;
  const changes: Changes = [];
  if (write) changes.push({ file: basename(project.path), change: `wireguardUsers.${name} removed` });
  if (secrets.file.delete(secretName))
    changes.push({ file: basename(ctx.secretsPath), change: `${secretName} removed` });
  if (kept?.file.delete(name)) changes.push({ file: clientKeysFileName, change: `${name}'s private key removed` });
  if (changes.length === 0)
    throw new UserError(`there is no VPN user ${name} and no key of one; \`nixlab vpn list\` shows the users`, {
      exitCode: ExitCode.invalidInput,
    });
  const writes: PlannedWrite[] = [...(write ? [write] : []), await secretsWrite(secrets.file, secrets.before)];
  if (kept?.file.dirty) writes.push(await secretsWrite(kept.file, keysBefore));
  commitWrites(writes, ctx.files, `run \`nixlab vpn remove ${name}\` again (it removes what is left)`);
  return { changed: true, changes };
}

// ---------------------------------------------------------------------------
// list

/** One row of `vpn list`. */
export interface UserRow {
  name: string;
  address: string;
  group: string;
  enabled: boolean;
  expires: string | null;
  expired: boolean;
  nextcloudUser: string | null;
  description: string;
}

/** The users of a cluster as list rows, sorted by name; `expired` judged at `nowMs`. Pure. */
export function userRows(cluster: Cluster, nowMs: number): UserRow[] {
  return cluster.vpn.users.map((u) => ({
    name: u.name,
    address: u.ip,
    group: u.group,
    enabled: u.enabled,
    expires: u.expires ?? null,
    expired: isExpired(u, cluster.config.timezone, nowMs),
    nextcloudUser: u.nextcloudUser ?? null,
    description: u.description,
  }));
}
