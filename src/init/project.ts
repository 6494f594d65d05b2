/**
 * Writing what `nixlab init` decided: the SSH key pair (when new), the age key, .sops.yaml,
 * secrets.yaml with every required secret, nixlab.yaml, and a .gitignore entry for a key
 * kept beside the cluster file. Everything is checked before the first byte is written;
 * an existing file is only replaced when the caller says so (the wizard asked).
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import type { Cluster } from "../cluster/model.ts";
import { clusterFileNames, clusterFromValue } from "../config/load.ts";
import { ExitCode, UserError } from "../errors.ts";
import { syncAgentSecrets } from "../nodes/node-secrets.ts";
import { hardwareConfigPath } from "../nodes/render.ts";
import { writeFileAtomic } from "../io/atomic.ts";
import { wireguardPrivateKey, wireguardPublicKey } from "../secrets/generate.ts";
import { besideKeyName } from "../secrets/identities.ts";
import { type SetUpResult, setUpSecrets } from "../secrets/setup.ts";
import { requiredSecrets } from "../services/required-secrets.ts";
import { openClientKeys, recordClientKeysRule } from "../vpn/key-store.ts";
import { clusterFileText, clusterValue, publicKeySecretOf } from "./cluster-file.ts";
import type { InitAnswers } from "./wizard.ts";

/** The cluster file init writes. */
export const initClusterFile = "nixlab.yaml";

/**
 * The cluster files already in `dir`: init replaces nixlab.yaml only when asked, and
 * refuses when another one (which commands would read first) is there. Pure but for existsSync.
 */
export function existingClusterFiles(dir: string): string[] {
  return clusterFileNames.filter((name) => existsSync(join(dir, name)));
}

/** Throws UserError when `dir` has a cluster file other than nixlab.yaml (commands would read it instead). */
export function refuseOtherClusterFiles(dir: string): void {
  const others = existingClusterFiles(dir).filter((name) => name !== initClusterFile);
  if (others.length > 0) {
    throw new UserError(`${dir} already has ${others.join(", ")}, which nixlab reads before ${initClusterFile}`, {
      exitCode: ExitCode.failure,
      details: ["  run nixlab init in a new directory (nixlab init DIR), or move that file away"],
    });
  }
}

/** The nearest nixlab package root above this module (where schema/ lives). */
function packageRoot(): string {
  let dir = import.meta.dirname;
  for (let i = 0; i < 6; i++) {
    const manifest = join(dir, "package.json");
    if (existsSync(manifest) && /"name":\s*"nixlab"/.test(readFileSync(manifest, "utf8"))) return dir;
    dir = dirname(dir);
  }
  return join(import.meta.dirname, "../..");
}

/** The schema modeline's target: the installed package's schema, relative to `dir`. */
export function schemaRef(dir: string): string {
  const absolute = join(packageRoot(), "schema", "nixlab.schema.json");
  const path = relative(dir, absolute);
  // Relative while the package is near (node_modules, a checkout beside); else absolute.
  if (path.split("/").filter((part) => part === "..").length > 2) return absolute;
  return path.startsWith(".") ? path : `./${path}`;
}

/** What init wrote, for its closing lines. */
export interface InitResult {
  clusterFile: string;
  cluster: Cluster;
  secrets: SetUpResult;
  sshKeyCreated?: string;
  /** secrets.agents.yaml, when the cluster has agents. */
  agentSecrets?: string;
  /** The file keeping the VPN users' private keys (admins only), when init made keys. */
  vpnClientKeys?: { path: string; users: string[] };
  /** Hardware configs `build` will need, relative to the project directory. */
  hardwareConfigs: string[];
  /** The age key file when it is not where sops looks by itself (SOPS_AGE_KEY_FILE must name it). */
  keyToExport?: string;
}

/**
 * Writes the project in `dir` (created when missing). `replace` allows replacing an
 * existing nixlab.yaml. Throws UserError (nothing written) when the answers do not make
 * a valid cluster or another cluster file is in the way; later failures (an existing
 * secrets.yaml your key cannot open) leave at most the new keys behind.
 */
export async function writeProject(
  dir: string,
  answers: InitAnswers,
  options: { replace: boolean; defaultAgeKeyPath: string },
): Promise<InitResult> {
  const clusterFile = join(dir, initClusterFile);
  refuseOtherClusterFiles(dir);
  if (existsSync(clusterFile) && !options.replace) {
    throw new UserError(`${clusterFile} already exists; nothing was written`, {
      exitCode: ExitCode.failure,
      details: ["  answer yes when init asks, or pass --force to replace it"],
    });
  }
  const value = clusterValue(answers.cluster);
  const cluster = clusterFromValue(value, clusterFile);
  const text = clusterFileText(value, schemaRef(dir));
  mkdirSync(dir, { recursive: true });

  let sshKeyCreated: string | undefined;
  if (answers.newSshKey && !existsSync(answers.newSshKey.path)) {
    mkdirSync(dirname(answers.newSshKey.path), { recursive: true, mode: 0o700 });
    writeFileSync(answers.newSshKey.path, answers.newSshKey.privateKey, { flag: "wx", mode: 0o600 });
    writeFileSync(`${answers.newSshKey.path}.pub`, answers.newSshKey.publicKey, { flag: "wx", mode: 0o644 });
    sshKeyCreated = answers.newSshKey.path;
  }
  const vpnClients = cluster.vpn.enabledUsers.map((u) => ({ name: u.name, privateKey: wireguardPrivateKey() }));
  const values: Record<string, string> = { user_password: answers.passwordHash };
  if (answers.cloudflareToken) values.cloudflare_token = answers.cloudflareToken;
  for (const client of vpnClients) values[publicKeySecretOf(client.name)] = wireguardPublicKey(client.privateKey);
  const secrets = await setUpSecrets({
    secretsPath: join(dir, "secrets.yaml"),
    requirements: requiredSecrets(cluster),
    ...(answers.ageKeyFile ? { ageKeyFile: answers.ageKeyFile } : {}),
    newKeyPath: options.defaultAgeKeyPath,
    values,
  });
  const issued = vpnClients.filter((c) => secrets.filled.includes(publicKeySecretOf(c.name)));
  const vpnClientKeys = issued.length > 0 ? await keepClientKeys(issued, secrets) : undefined;
  writeFileAtomic(clusterFile, text, 0o644);
  // Agents decrypt only their own file; `build` would derive it too, but doctor and check look for it now.
  const agentSecrets = cluster.agents.length > 0 ? (await syncAgentSecrets(dir, secrets.identities)).path : undefined;
  const keyPath = secrets.createdKey?.path ?? answers.ageKeyFile;
  if (keyPath && dirname(keyPath) === dir) ignoreInGit(dir, besideKeyName);
  return {
    clusterFile,
    cluster,
    secrets,
    ...(sshKeyCreated ? { sshKeyCreated } : {}),
    ...(vpnClientKeys ? { vpnClientKeys } : {}),
    ...(agentSecrets ? { agentSecrets } : {}),
    hardwareConfigs: cluster.nodes.map((n) => hardwareConfigPath(n.hostname)),
    ...(keyPath && keyPath !== options.defaultAgeKeyPath ? { keyToExport: keyPath } : {}),
  };
}

/** Keeps the issued clients' private keys where `nixlab vpn` keeps them (src/vpn/key-store.ts), so a config can be issued again. */
async function keepClientKeys(
  clients: ReadonlyArray<{ name: string; privateKey: string }>,
  secrets: SetUpResult,
): Promise<{ path: string; users: string[] }> {
  const { file } = (await openClientKeys(secrets.file, secrets.identities, true))!;
  for (const client of clients) file.set(client.name, client.privateKey);
  await file.save();
  recordClientKeysRule(file, secrets.file.path);
  return { path: file.path, users: clients.map((c) => c.name) };
}

/** Adds `name` to dir/.gitignore (created when missing) unless it is listed already. */
function ignoreInGit(dir: string, name: string): void {
  const path = join(dir, ".gitignore");
  const current = existsSync(path) ? readFileSync(path, "utf8") : "";
  if (current.split("\n").some((line) => line.trim() === name || line.trim() === `/${name}`)) return;
  const separator = current === "" || current.endsWith("\n") ? "" : "\n";
  writeFileAtomic(
    path,
    `${current}${separator}# the age key decrypts secrets.yaml: never commit it\n/${name}\n`,
    0o644,
  );
}
