/** `nixlab init [DIR]`: a new cluster directory, from questions on a terminal or from flags. */
import { existsSync, readFileSync } from "node:fs";
import { homedir, networkInterfaces } from "node:os";
import { join, relative, resolve } from "node:path";
import type { Command } from "commander";
import pc from "picocolors";
import { ExitCode, UserError } from "../errors.ts";
import {
  existingClusterFiles,
  type InitResult,
  initClusterFile,
  refuseOtherClusterFiles,
  writeProject,
} from "../init/project.ts";
import { collectAnswers, type InitEnvironment, type InitFlags, type Prompter } from "../init/wizard.ts";
import { discoverIdentities } from "../secrets/identities.ts";
import { newKeyLocation } from "../secrets/project.ts";
import { canPrompt, terminalPrompter } from "./prompt.ts";

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

async function readSecret(path: string): Promise<string> {
  let text: string;
  try {
    text = path === "-" ? await readStdin() : readFileSync(path, "utf8");
  } catch (error) {
    throw new UserError(`cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? "error"})`, {
      exitCode: ExitCode.invalidInput,
    });
  }
  return text.replace(/\r?\n$/, "");
}

async function environment(dir: string): Promise<InitEnvironment> {
  let existingAgeKey: InitEnvironment["existingAgeKey"];
  try {
    const [found] = await discoverIdentities();
    if (found) existingAgeKey = { path: found.source, recipient: found.recipient };
  } catch {
    // A key source that cannot be read (e.g. SOPS_AGE_KEY_FILE naming a missing file): init makes the key there.
  }
  return {
    dir,
    home: process.env.HOME || homedir(),
    ...(process.env.USER ? { user: process.env.USER } : {}),
    timezone: Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC",
    interfaces: networkInterfaces(),
    exists: existsSync,
    readText: (path) => readFileSync(path, "utf8"),
    readSecret,
    ...(existingAgeKey ? { existingAgeKey } : {}),
    defaultAgeKeyPath: newKeyLocation(undefined),
  };
}

/** Whether an existing nixlab.yaml may be replaced: --force, or a yes on the terminal; refuses otherwise. */
async function mayReplace(dir: string, force: boolean, ask: Prompter | null): Promise<boolean> {
  refuseOtherClusterFiles(dir);
  const found = existingClusterFiles(dir);
  if (found.length === 0 || force) return force;
  if (ask && (await ask.confirm(`${join(dir, initClusterFile)} exists. Replace it?`, false))) return true;
  throw new UserError(`${join(dir, initClusterFile)} already exists; nothing was written`, {
    details: ["  pass --force to replace it, or run nixlab init in a new directory (nixlab init DIR)"],
  });
}

function report(result: InitResult, dir: string): void {
  const rel = (path: string) => relative(process.cwd(), path) || ".";
  const say = (line: string) => process.stdout.write(`${line}\n`);
  const { secrets } = result;
  if (result.sshKeyCreated) say(`${pc.green("created")} SSH key ${result.sshKeyCreated} (and .pub)`);
  if (secrets.createdKey) {
    say(`${pc.green("created")} age key ${secrets.createdKey.path} (${secrets.createdKey.recipient})`);
    say("        back it up: it is the only way to decrypt your secrets");
  }
  if (secrets.configWritten) say(`${pc.green("wrote")}   ${rel(secrets.configWritten)}`);
  say(
    `${pc.green("wrote")}   ${rel(secrets.file.path)}: ${secrets.file.keys().length} secrets ` +
      `(${secrets.added.length + secrets.filled.length} new, encrypted to ${secrets.file.recipients().join(", ")})`,
  );
  if (result.vpnClientKeys) {
    say(
      `${pc.green("wrote")}   ${rel(result.vpnClientKeys.path)}: the private keys of ${result.vpnClientKeys.users.join(", ")} (admins only, for their client configs)`,
    );
  }
  if (result.agentSecrets)
    say(`${pc.green("wrote")}   ${rel(result.agentSecrets)}: the agents' secrets (k3s token, login password)`);
  say(
    `${pc.green("wrote")}   ${rel(result.clusterFile)}: ${result.cluster.nodes.length} node(s), ${result.cluster.vpn.users.length} VPN user(s)`,
  );
  say("");
  say("Before `nixlab build`, on each node booted from the NixOS installer:");
  say("  nixos-generate-config --show-hardware-config --no-filesystems");
  say(`  saved as ${result.hardwareConfigs.join(", ")}`);
  const steps: string[] = [];
  if (result.keyToExport && process.env.SOPS_AGE_KEY_FILE !== result.keyToExport) {
    steps.push(`export SOPS_AGE_KEY_FILE=${result.keyToExport}`);
  }
  for (const req of secrets.placeholders)
    steps.push(`nixlab secrets set ${req.name}   # ${req.source.kind === "user" ? req.source.hint : req.usedBy}`);
  if (resolve(dir) !== process.cwd()) steps.push(`cd ${rel(dir)}`);
  steps.push("nixlab doctor");
  say("");
  say("next:");
  for (const step of steps) say(`  ${step}`);
}

export function registerInit(program: Command): void {
  program
    .command("init")
    .description("Start a cluster: nixlab.yaml, an age key, .sops.yaml and secrets.yaml with every secret generated")
    .argument("[dir]", "the project directory (created when missing)", ".")
    .option("-y, --yes", "ask nothing: take the suggestions for what no flag gives")
    .option("--force", "replace an existing nixlab.yaml")
    .option("--domain <name>", "your DNS domain (services live at <name>.<domain>)")
    .option("--acme-email <address>", "contact address for Let's Encrypt")
    .option("--username <name>", "your login name on the nodes (default: $USER)")
    .option(
      "--ssh-key <file|key>",
      "SSH public key (or its .pub file) for logging in (default: ~/.ssh/id_ed25519.pub, else a new key)",
    )
    .option("--lan <cidr>", "your LAN, e.g. 192.168.1.0/24 (default: the one this machine is on)")
    .option("--metallb-pool <cidr>", "addresses MetalLB hands out (default: the top /26 of the LAN)")
    .option("--upstream-dns <ip>", "DNS server Pi-hole forwards to (default: the LAN's .1)")
    .option("--timezone <tz>", "IANA time zone of the nodes (default: this machine's)")
    .option(
      "--node <name:disk[:master]>",
      "a node (repeat; the first, or the one marked :master, is the master)",
      collect,
    )
    .option("--vpn-user <name:group>", "a VPN user (repeat): admin, family, friends or guests", collect)
    .option("--age-key-file <file>", "the age key to use, created when missing (default: ~/.config/sops/age/keys.txt)")
    .option("--password-file <file>", "file (or - for stdin) with the nodes' login password; stored only hashed")
    .option(
      "--cloudflare-token-file <file>",
      "file (or - for stdin) with the Cloudflare API token (default: set it later)",
    )
    .action(async (dirArg: string, flags: InitFlags) => {
      const dir = resolve(dirArg);
      const ask = canPrompt() && !flags.yes ? terminalPrompter("init") : null;
      const replace = await mayReplace(dir, !!flags.force, ask);
      const env = await environment(dir);
      const answers = await collectAnswers(flags, env, ask);
      const result = await writeProject(dir, answers, { replace, defaultAgeKeyPath: env.defaultAgeKeyPath });
      report(result, dir);
    });
}
