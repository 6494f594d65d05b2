// `nixlab vpn …`: VPN users, from a new person to a working phone. Parses flags, calls
// src/vpn, prints. Client configs (they hold the private key) go to stdout or to 0600
// files only; progress, changes and errors go to stderr and never hold a key.
import { existsSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, extname, join, resolve } from "node:path";
import { type Command, Option } from "commander";
import pc from "picocolors";
import { findClusterFile, loadCluster } from "../config/load.ts";
import { ExitCode, UserError } from "../errors.ts";
import type { Changes, IssuedConfig, Paste, UserRow, VpnContext } from "../vpn/users.ts";
import { jsonOption, type OutputOptions, outputOption, printResult, structured } from "./output.ts";
import { givenPath, type SecretsOptions, withCommon } from "./secrets.ts";
import { addVpnAccessCommand } from "./vpn-access.ts";

/** The VPN library, loaded when a subcommand runs (it pulls in age, SOPS and the QR encoder). */
const lib = () => import("../vpn/users.ts");

type CommonOptions = SecretsOptions;

interface DeliveryOptions {
  qr?: boolean;
  /** --to FILE (--out is its old name: --out means a directory everywhere else). */
  to?: string;
  out?: string;
  force?: boolean;
}

function withOutput(command: Command): Command {
  return command
    .option("--qr", "print the QR code in the terminal (the default on a terminal for add and rotate)")
    .option("--no-qr", "never print the QR code")
    .option("--to <file>", "also write the config to FILE.conf, or its QR code to FILE.png or FILE.svg (mode 0600)")
    .addOption(new Option("--out <file>").hideHelp())
    .option("--force", "overwrite the --to file if it exists");
}

async function context(options: CommonOptions, needsKeys: boolean): Promise<VpnContext> {
  const clusterPath = findClusterFile(options.config === undefined ? {} : { config: options.config });
  const secretsPath = givenPath(options) ?? join(dirname(clusterPath), "secrets.yaml");
  const { realFiles } = await import("../vpn/commit.ts");
  if (!needsKeys) return { clusterPath, secretsPath, identities: [], files: realFiles };
  const { discoverIdentities } = await import("../secrets/index.ts");
  const identities = await discoverIdentities(options.ageKeyFile ? { ageKeyFile: options.ageKeyFile } : {});
  return { clusterPath, secretsPath, identities, files: realFiles };
}

const info = (line: string) => process.stderr.write(`${line}\n`);

function reportChanges(changes: Changes, notes: readonly string[] = []): void {
  for (const c of changes) info(`  ${c.file}: ${c.change}`);
  for (const n of notes) info(`  note: ${n}`);
}

function reportPaste(paste: Paste | undefined): void {
  if (!paste) return;
  info(`${pc.yellow("paste")} this into wireguardUsers in ${paste.file} (nixlab edits only YAML and JSON files):`);
  info(paste.text);
}

/** Writes the --to file: the config, or its QR code as PNG or SVG, mode 0600. */
async function writeOut(config: string, options: DeliveryOptions): Promise<void> {
  const target = options.to ?? options.out;
  if (!target) return;
  checkOut(options);
  const ext = extname(target).toLowerCase();
  const { qrPng, qrSvg } = await import("../vpn/qr.ts");
  const content = ext === ".png" ? await qrPng(config) : ext === ".svg" ? await qrSvg(config) : config;
  const { realFiles } = await import("../vpn/commit.ts");
  realFiles.write(resolve(target), content, 0o600);
  info(`wrote ${target} (mode 0600: it holds the private key)`);
}

/** Checks --to before anything is changed, so a bad name never leaves a half-done add. */
function checkOut(options: DeliveryOptions): void {
  const target = options.to ?? options.out;
  if (!target) return;
  const flag = options.to ? "--to" : "--out";
  const ext = extname(target).toLowerCase();
  if (![".conf", ".png", ".svg"].includes(ext))
    throw new UserError(`${flag} ${target}: use a .conf, .png or .svg file name`, {
      exitCode: ExitCode.invalidInput,
    });
  if (existsSync(resolve(target)) && !options.force)
    throw new UserError(`${flag} ${target} exists; pass --force to replace it, or choose another name`, {
      exitCode: ExitCode.invalidInput,
    });
}

/** Prints a config to stdout, its QR code when asked (or by default on a terminal), and writes --to. */
async function deliver(config: string, options: DeliveryOptions, qrByDefault: boolean): Promise<void> {
  process.stdout.write(config);
  const qr = options.qr ?? (qrByDefault && process.stdout.isTTY === true);
  if (qr) {
    const { terminalQr } = await import("../vpn/qr.ts");
    process.stdout.write(`\n${await terminalQr(config)}`);
  }
  await writeOut(config, options);
}

function reportIssued(verb: string, issued: IssuedConfig, keep: boolean): void {
  const u = issued.user;
  const group = u.groupDefaulted ? `group ${u.group} (the default; --group picks another)` : `group ${u.group}`;
  info(`${pc.green(verb)} VPN user ${u.name}: ${u.ip}, ${group}`);
  reportChanges(issued.changes, issued.notes);
  reportPaste(issued.paste);
  if (!keep) info(`${pc.yellow("not kept:")} the private key below is shown this once; save the config or scan it now`);
  info(
    `${issued.paste ? "then " : ""}run \`nixlab deploy\` to make it live (the running server takes it without a restart)`,
  );
}

export function registerVpn(program: Command): void {
  const vpn = program
    .command("vpn")
    .description(
      "VPN users (a person to a working phone in one command) and the access groups the WireGuard pod enforces",
    );
  registerUserCommands(vpn);
  addVpnAccessCommand(vpn);
}

function registerUserCommands(vpn: Command): void {
  withOutput(withCommon(vpn.command("add")))
    .argument("<name>", "the user's name: lowercase letters, digits and -, e.g. grandma or dave-phone")
    .option("--group <group>", "access group: admin, family, friends or guests")
    .option("--nextcloud-user <user>", "Nextcloud user the VPN's single sign-on logs this peer in as")
    .option("--allowed-ips <cidrs>", "what the phone routes through the VPN (default 0.0.0.0/0: everything)")
    .option("--expires <date>", "last day the peer works, YYYY-MM-DD; the server drops it by itself afterwards")
    .option("--description <text>", "free text, for people")
    .option("--ip <address>", "VPN address (default: the lowest free one in 10.0.100.2–254)")
    .option("--no-keep", "do not keep the private key (the config is shown this once; `vpn show` cannot repeat it)")
    .description("Add a VPN user: key pair, address, secret and cluster file entry; prints the config and QR code")
    .action(async (name: string, options: CommonOptions & DeliveryOptions & Record<string, string | boolean>) => {
      checkOut(options);
      const keep = options.keep !== false;
      const { addUser } = await lib();
      const str = (key: string) => (typeof options[key] === "string" ? (options[key] as string) : undefined);
      const issued = await addUser(await context(options, true), {
        name,
        keep,
        ...defined({
          ip: str("ip"),
          group: str("group"),
          allowedIPs: str("allowedIps"),
          nextcloudUser: str("nextcloudUser"),
          description: str("description"),
          expires: str("expires"),
        }),
      });
      reportIssued("added", issued, keep);
      await deliver(issued.config, options, true);
    });

  vpn
    .command("list")
    .option("-c, --config <file>", "cluster file (default: the one in the working directory)")
    .addOption(outputOption())
    .addOption(jsonOption())
    .option("--kubeconfig <file>", "kubeconfig for the latest handshakes (default: $KUBECONFIG or ~/.kube/config)")
    .option("--context <name>", "kubeconfig context")
    .option("--offline", "do not ask the cluster for the latest handshakes")
    .description("List VPN users: address, group, enabled, expiry, Nextcloud user and latest handshake")
    .action(async (options: ListOptions) => listCommand(options));

  withOutput(withCommon(vpn.command("show")))
    .argument("<name>", "the user")
    .description("Print a user's client config again (from the kept private key); --qr for the QR code")
    .action(async (name: string, options: CommonOptions & DeliveryOptions) => {
      checkOut(options);
      const { showUser } = await lib();
      const shown = await showUser(await context(options, true), name);
      if (!shown.user.enabled) info(`${pc.yellow("warning:")} ${name} is disabled; \`nixlab vpn enable ${name}\``);
      await deliver(shown.config, options, false);
    });

  withOutput(withCommon(vpn.command("rotate")))
    .argument("<name>", "the user")
    .option("--no-keep", "do not keep the new private key (the config is shown this once)")
    .description("Give a user a new key pair (a new phone, a lost one); the old key stops working at the next deploy")
    .action(async (name: string, options: CommonOptions & DeliveryOptions & { keep?: boolean }) => {
      checkOut(options);
      const keep = options.keep !== false;
      const { rotateUser } = await lib();
      const issued = await rotateUser(await context(options, true), name, keep);
      reportIssued("new key for", issued, keep);
      await deliver(issued.config, options, true);
    });

  for (const [verb, enabled] of [
    ["enable", true],
    ["disable", false],
  ] as const) {
    withCommon(vpn.command(verb))
      .argument("<name>", "the user")
      .description(
        enabled
          ? "Enable a user again (its keys were kept)"
          : "Disable a user: kept in the file with its keys, but no longer a peer after the next deploy",
      )
      .action(async (name: string, options: CommonOptions) => {
        const { setEnabled } = await lib();
        const result = await setEnabled(await context(options, false), name, enabled);
        if (!result.changed) {
          info(`${name} is already ${verb}d; nothing changed`);
          return;
        }
        info(`${pc.green(`${verb}d`)} VPN user ${name}`);
        reportChanges(result.changes);
        reportPaste(result.paste);
        info(`${result.paste ? "then " : ""}run \`nixlab deploy\` to apply it`);
      });
  }

  withCommon(vpn.command("remove"))
    .argument("<name>", "the user")
    .option("-y, --yes", "do not ask")
    .description("Remove a user, its public key secret and its kept private key")
    .action(async (name: string, options: CommonOptions & { yes?: boolean }) => {
      if (!options.yes) await confirm(`Remove VPN user ${name} and its keys?`);
      const { removeUser } = await lib();
      const result = await removeUser(await context(options, true), name);
      info(`${pc.green("removed")} VPN user ${name}:`);
      reportChanges(result.changes);
      info("run `nixlab deploy` to drop it from the server");
    });
}

function defined<T extends Record<string, unknown>>(o: T): { [K in keyof T]?: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as never;
}

/** Asks on the terminal; without one, --yes is required. Throws UserError when the answer is not yes. */
async function confirm(question: string): Promise<void> {
  if (!process.stdin.isTTY || !process.stderr.isTTY)
    throw new UserError("not asking without a terminal; pass --yes to confirm", { exitCode: ExitCode.invalidInput });
  const { createInterface } = await import("node:readline/promises");
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = await rl.question(`${question} [y/N] `);
    if (!/^y(es)?$/i.test(answer.trim())) throw new UserError("cancelled; nothing was changed");
  } finally {
    rl.close();
  }
}

// ---------------------------------------------------------------------------
// list

interface ListOptions extends OutputOptions {
  config?: string;
  kubeconfig?: string;
  context?: string;
  offline?: boolean;
}

/** The kubeconfig `list` may use, or null when there is none to try. */
function kubeconfigFor(options: ListOptions): string | null {
  if (options.kubeconfig) return options.kubeconfig;
  const fromEnv = process.env.KUBECONFIG?.split(":").find((p) => p !== "" && existsSync(p));
  if (fromEnv) return fromEnv;
  const home = join(homedir(), ".kube", "config");
  return existsSync(home) ? home : null;
}

function ago(seconds: number): string {
  if (seconds < 120) return `${Math.max(0, Math.round(seconds))}s ago`;
  if (seconds < 7200) return `${Math.round(seconds / 60)}m ago`;
  if (seconds < 172_800) return `${Math.round(seconds / 3600)}h ago`;
  return `${Math.round(seconds / 86_400)}d ago`;
}

async function listCommand(options: ListOptions): Promise<void> {
  const cluster = await loadCluster(options.config === undefined ? {} : { config: options.config });
  const { userRows } = await lib();
  const now = Date.now();
  const rows = userRows(cluster, now);
  let handshakes: Map<string, { latestHandshake: number | null }> | null = null;
  let unavailable: string | undefined;
  const kubeconfig = options.offline ? null : kubeconfigFor(options);
  if (options.offline) unavailable = "not asked (--offline)";
  else if (!kubeconfig) unavailable = "no kubeconfig (pass --kubeconfig)";
  else if (rows.length > 0) {
    const { fetchPeerStatus } = await import("../vpn/status.ts");
    const status = await fetchPeerStatus(cluster, {
      kubeconfig,
      ...(options.context ? { context: options.context } : {}),
      timeoutMs: 5000,
    });
    if ("peers" in status) handshakes = status.peers;
    else unavailable = status.error;
  }
  const handshakeOf = (row: UserRow) =>
    handshakes ? (handshakes.get(row.address)?.latestHandshake ?? null) : undefined;
  if (structured(options)) {
    printResult(
      {
        users: rows.map((row) => {
          const h = handshakeOf(row);
          return h === undefined
            ? row
            : { ...row, latestHandshake: h === null ? null : new Date(h * 1000).toISOString() };
        }),
        ...(unavailable ? { handshakesUnavailable: unavailable } : {}),
      },
      options,
    );
    return;
  }
  const table = rows.map((row) => {
    const h = handshakeOf(row);
    return [
      row.name,
      row.address,
      row.group,
      row.enabled ? "yes" : "no",
      row.expires ? `${row.expires}${row.expired ? " (expired)" : ""}` : "-",
      row.nextcloudUser ?? "-",
      h === undefined ? "?" : h === null ? "never" : ago(now / 1000 - h),
    ];
  });
  printTable(["NAME", "ADDRESS", "GROUP", "ENABLED", "EXPIRES", "NEXTCLOUD", "HANDSHAKE"], table);
  if (rows.length === 0) info("no VPN users yet; add one with `nixlab vpn add NAME`");
  if (unavailable && rows.length > 0) info(`handshakes unknown (?): ${unavailable}`);
}

function printTable(header: string[], rows: string[][]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i]!))
      .join("  ")
      .trimEnd();
  process.stdout.write(`${[line(header), ...rows.map(line)].join("\n")}\n`);
}
