/**
 * `nixlab nodes install <host>`: the first install of a node booted from the NixOS
 * installer, driven from the admin's machine (or run on the installer itself).
 *
 * Before anything touches the disk, nixlab makes the node's own age identity and SSH
 * host key, records the node's recipient in .sops.yaml, re-encrypts the file the node
 * decrypts (secrets.yaml for the master, secrets.agents.yaml for agents) and proves the
 * new identity opens exactly what the node needs. Then one script on the target unpacks
 * an archive streamed over SSH's stdin (the build directory and the keys: no key is ever
 * in argv or in a file on the admin's disk), runs the flake's disko, puts the keys under
 * /persist and runs nixos-install.
 */
import { spawn } from "node:child_process";
import { copyFileSync, lstatSync, readFileSync, readdirSync } from "node:fs";
import { join, relative } from "node:path";
import type { Readable } from "node:stream";
import { pack } from "tar-stream";
import type { AgeIdentity } from "../secrets/age.ts";
import { openSecrets } from "../secrets/file.ts";
import { type NodeKeys, generateNodeKeys } from "./node-keys.ts";
import { syncAgentSecrets, updateKeys, verifyNodeAccess } from "./node-secrets.ts";
import { creationRuleFor } from "../secrets/config.ts";
import {
  addNodeRecipient,
  adminRecipients,
  hasNodeRecipient,
  nodeAnchor,
  ruleFor,
  sopsConfigFor,
} from "./sops-rules.ts";
import { type NodeSpec, agentSecretsFile, masterSecretsFile, sshHostKeyFile } from "./spec.ts";

/** POSIX shell single-quoting. */
export function shellQuote(text: string): string {
  return /^[A-Za-z0-9_./:@=+-]+$/.test(text) ? text : `'${text.replaceAll("'", "'\\''")}'`;
}

const dirOf = (path: string): string => path.slice(0, path.lastIndexOf("/"));

/** The script run on the target (as root): reads the archive on stdin, then disko, keys, nixos-install. */
export function installScript(spec: NodeSpec, mount: string): string {
  const q = shellQuote;
  const flake = (out: string) => `"path:$d/build#${out}"`;
  const age = `${mount}${spec.sops.ageKeyFile}`;
  const ssh = `${mount}${sshHostKeyFile}`;
  return [
    "set -eu",
    "umask 077",
    "d=$(mktemp -d /tmp/nixlab-install.XXXXXX)",
    `trap 'rm -rf "$d"' EXIT`,
    'tar -x -C "$d"',
    `echo ${q(`==> 1/3 erase ${spec.disk.device}, partition it (GPT, BIOS boot, ESP, LVM with btrfs) and mount it on ${mount}`)}`,
    `nix --extra-experimental-features 'nix-command flakes' run ${flake("disko")} -- --mode destroy,format,mount --yes-wipe-all-disks --root-mountpoint ${q(mount)} --flake ${flake(spec.hostname)}`,
    `echo ${q(`==> 2/3 put ${spec.hostname}'s age key and SSH host key on /persist`)}`,
    `install -d -m 0755 ${q(`${mount}/persist/etc`)} ${q(dirOf(ssh))}`,
    `install -d -m 0700 ${q(dirOf(age))}`,
    `install -m 0400 "$d/keys/age.txt" ${q(age)}`,
    `install -m 0600 "$d/keys/ssh_host_ed25519_key" ${q(ssh)}`,
    `install -m 0644 "$d/keys/ssh_host_ed25519_key.pub" ${q(`${ssh}.pub`)}`,
    `echo ${q(`==> 3/3 install ${spec.hostname}'s NixOS configuration`)}`,
    `nixos-install --root ${q(mount)} --flake ${flake(spec.hostname)} --no-root-passwd`,
  ].join("\n");
}

/** What `nodes install` will create and change, for the dry run and the log. */
export function describeKeyChanges(clusterDir: string, spec: NodeSpec): string[] {
  const configPath = sopsConfigFor(clusterDir);
  const master = ruleFor(configPath, join(clusterDir, masterSecretsFile));
  const own = creationRuleFor(configPath, join(clusterDir, spec.sops.file));
  const newRule = spec.sops.file === agentSecretsFile && (own === null || own.index === master.index);
  const readers = newRule ? adminRecipients(configPath) : own!.keyGroups.flat();
  const again = hasNodeRecipient(clusterDir, spec.hostname);
  return [
    `keys it creates for ${spec.hostname} (in memory, streamed to the node):`,
    `  an age identity -> ${spec.sops.ageKeyFile} (0400)`,
    `  an ed25519 SSH host key -> ${sshHostKeyFile} (0600, .pub 0644)`,
    `recipient it adds to ${configPath}:`,
    `  ${spec.hostname}'s new age recipient as &${nodeAnchor(spec.hostname)}${again ? " (replacing the one of its earlier install)" : ""}, ` +
      `in the rule for ${spec.sops.file}${newRule ? " (added: agents get a file and rule of their own)" : ""}`,
    `  then ${spec.sops.file} is re-encrypted for: ${[...readers, `${spec.hostname}'s new key`].join(", ")}`,
    `  and ${spec.hostname}'s key must open it and read ${spec.sops.secrets.map((s) => s.name).join(", ")}` +
      (spec.master ? "" : ` (and not open ${masterSecretsFile})`),
  ];
}

export interface PrepareResult {
  keys: NodeKeys;
  /** The secrets the node's own key decrypted. */
  verified: string[];
  configPath: string;
}

/**
 * The local half of an install: new keys, the node's recipient in .sops.yaml, the
 * node's secrets file re-encrypted (and copied into the build directory, as `build`
 * would), and the proof that the new key opens what the node needs. `admin` must open
 * secrets.yaml. Throws UserError on any failure; nothing on the node is touched yet.
 */
export async function prepareNodeKeys(
  clusterDir: string,
  buildDir: string,
  spec: NodeSpec,
  admin: readonly AgeIdentity[],
): Promise<PrepareResult> {
  const keys = await generateNodeKeys(spec.hostname);
  const { configPath } = addNodeRecipient(clusterDir, spec.hostname, spec.sops.file, keys.age.recipient);
  if (spec.sops.file === masterSecretsFile) {
    const master = await openSecrets(join(clusterDir, masterSecretsFile), admin);
    if (updateKeys(master, configPath)) await master.save();
  } else {
    await syncAgentSecrets(clusterDir, admin);
  }
  for (const name of [masterSecretsFile, agentSecretsFile]) {
    const from = join(clusterDir, name);
    if (name === masterSecretsFile || name === spec.sops.file) copyFileSync(from, join(buildDir, name));
  }
  const verified = await verifyNodeAccess(clusterDir, spec, keys.age);
  return { keys, verified, configPath };
}

/** The tar stream the install script reads: build/** (regular files) and keys/*. */
export function installArchive(buildDir: string, keys: NodeKeys): Readable {
  const archive = pack();
  const add = (name: string, content: string | Buffer, mode: number) =>
    archive.entry({ name, mode, mtime: new Date(0) }, content);
  for (const entry of readdirSync(buildDir, { recursive: true, withFileTypes: true })) {
    const path = join(entry.parentPath, entry.name);
    if (!entry.isFile() || lstatSync(path).isSymbolicLink()) continue;
    add(`build/${relative(buildDir, path)}`, readFileSync(path), lstatSync(path).mode & 0o777);
  }
  add("keys/age.txt", keys.age.fileText, 0o400);
  add("keys/ssh_host_ed25519_key", keys.ssh.privateKey, 0o600);
  add("keys/ssh_host_ed25519_key.pub", keys.ssh.publicKey, 0o644);
  archive.finalize();
  return archive as unknown as Readable;
}

export interface TargetOptions {
  /** user@host of the installer over SSH, or null to run here (as root). */
  target: string | null;
  /** Extra ssh options (NIX_SSHOPTS, split at whitespace). */
  sshOptions?: string[];
}

/** The argv that runs `script` as root on the target. */
export function targetArgv(options: TargetOptions, script: string): string[] {
  if (options.target === null) return ["sh", "-c", script];
  const user = options.target.includes("@") ? options.target.slice(0, options.target.indexOf("@")) : "";
  const asRoot = user === "root" ? "" : "sudo ";
  return ["ssh", ...(options.sshOptions ?? []), options.target, `${asRoot}sh -c ${shellQuote(script)}`];
}

/** Runs `script` on the target with `stdin` piped in; resolves its exit code (null: could not start). */
export function runOnTarget(options: TargetOptions, script: string, stdin: Readable): Promise<number | null> {
  const [command, ...args] = targetArgv(options, script);
  return new Promise((done) => {
    const child = spawn(command!, args, { stdio: ["pipe", "inherit", "inherit"] });
    child.on("error", () => done(null));
    child.on("close", (code) => done(code));
    // The target may stop reading (a failed step); its exit code tells why.
    child.stdin.on("error", () => {});
    stdin.pipe(child.stdin);
  });
}
