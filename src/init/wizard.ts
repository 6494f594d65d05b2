/**
 * The questions of `nixlab init`, answered by flags, by the person at the terminal, or
 * (with --yes) by the suggestions. Every answer is checked by the validation `nixlab
 * check` runs, at the field it lands in; the terminal asks again, flags fail with the
 * flag's name. The environment (LAN, files, keys) is passed in, so this is testable
 * without a terminal.
 */
import type { NetworkInterfaceInfo } from "node:os";
import { join } from "node:path";
import { ExitCode, UserError } from "../errors.ts";
import { newSshKeyPair } from "../nodes/node-keys.ts";
import { besideKeyName } from "../secrets/identities.ts";
import { sha512CryptHash } from "../secrets/password-hash.ts";
import { builtinVpnGroupNames, builtinVpnGroups } from "../vpn/groups.ts";
import { type ClusterAnswers, clusterValue, firstProblemAt, type InitNode, type InitVpnUser } from "./cluster-file.ts";
import { poolAddresses, seenLans, suggestAddresses } from "./network.ts";

/** What the terminal can ask. Each question returns the answer (validated: `validate` returns a problem or undefined). */
export interface Prompter {
  text(
    message: string,
    options?: { default?: string; validate?: (value: string) => string | undefined },
  ): Promise<string>;
  /** Hidden input. */
  secret(message: string, options?: { validate?: (value: string) => string | undefined }): Promise<string>;
  confirm(message: string, defaultValue: boolean): Promise<boolean>;
  choose<T extends string>(
    message: string,
    choices: ReadonlyArray<{ value: T; name: string }>,
    defaultValue?: T,
  ): Promise<T>;
  /** A line of information between questions. */
  say(line: string): void;
}

/** `nixlab init`'s flags. */
export interface InitFlags {
  yes?: boolean;
  force?: boolean;
  domain?: string;
  acmeEmail?: string;
  lan?: string;
  metallbPool?: string;
  upstreamDns?: string;
  username?: string;
  timezone?: string;
  sshKey?: string;
  node?: string[];
  vpnUser?: string[];
  ageKeyFile?: string;
  passwordFile?: string;
  cloudflareTokenFile?: string;
}

/** What init may look at on this machine. */
export interface InitEnvironment {
  /** The project directory (absolute). */
  dir: string;
  home: string;
  /** The login name here ($USER), a suggestion for the nodes' user. */
  user?: string;
  /** This machine's time zone, a suggestion for the nodes'. */
  timezone: string;
  interfaces: NodeJS.Dict<NetworkInterfaceInfo[]>;
  exists(path: string): boolean;
  readText(path: string): string;
  /** Reads a secret from a file, or stdin for "-"; one trailing newline is dropped. */
  readSecret(path: string): Promise<string>;
  /** An age key sops would already find (SOPS_AGE_KEY_FILE, ~/.config/sops/age/keys.txt …). */
  existingAgeKey?: { path: string; recipient: string };
  /** Where sops looks for the user's key (~/.config/sops/age/keys.txt). */
  defaultAgeKeyPath: string;
}

/** Everything init writes, decided. */
export interface InitAnswers {
  cluster: ClusterAnswers;
  /** A new SSH key pair to write (when none existed and one was wanted). */
  newSshKey?: { path: string; privateKey: string; publicKey: string };
  /** SHA-512 crypt hash of the login password. */
  passwordHash: string;
  /** The Cloudflare API token; undefined leaves the placeholder for later. */
  cloudflareToken?: string;
  /** The age key to use, created when missing; undefined: the one sops already finds. */
  ageKeyFile?: string;
}

const usage = (message: string, fix: string) =>
  new UserError(message, { exitCode: ExitCode.invalidInput, details: [`  ${fix}`] });

/** A flag whose value `check` rejects: the flag, its value and the problem with its fix, on one line. */
const badFlag = (flag: string, problem: string) =>
  new UserError(`${flag}: ${problem}`, { exitCode: ExitCode.invalidInput });

/** The answers so far over complete placeholders, so one field can be validated alone. */
function draft(partial: Partial<ClusterAnswers>): Record<string, unknown> {
  return clusterValue({
    username: "alice",
    timezone: "UTC",
    clusterSshKey: "",
    domain: "example.com",
    metallbPool: "192.168.1.192/26",
    nginxIp: "192.168.1.193",
    wireguardIp: "192.168.1.194",
    piholeIp: "192.168.1.250",
    upstreamDns: "192.168.1.1",
    nodes: [{ name: "node1", disk: "/dev/sda", master: true }],
    vpnUsers: [],
    ...partial,
  });
}

class Questions {
  readonly answers: Partial<ClusterAnswers> = {};
  readonly flags: InitFlags;
  readonly ask: Prompter | null;
  constructor(flags: InitFlags, ask: Prompter | null) {
    this.flags = flags;
    this.ask = ask;
  }

  /**
   * One field: the flag when given (checked), else the terminal (asked until valid),
   * else the suggestion when --yes, else an error naming the flag.
   */
  async field(
    key: keyof ClusterAnswers & keyof InitFlags,
    opts: {
      flag: string;
      message: string;
      suggestion?: string | undefined;
      optional?: boolean;
      /** The answers a value sets (default: just this field), all checked. */
      expand?: (value: string) => Partial<ClusterAnswers>;
    },
  ): Promise<string | undefined> {
    const expand = opts.expand ?? ((value: string) => ({ [key]: value }));
    const problem = (value: string) => {
      if (value === "" && opts.optional) return undefined;
      const set = expand(value);
      const candidate = draft({ ...this.answers, ...set });
      for (const field of Object.keys(set)) {
        const p = firstProblemAt(candidate, [field]);
        if (p) return p;
      }
      return undefined;
    };
    const given = this.flags[key] as string | undefined;
    if (given !== undefined) {
      const p = problem(given);
      if (p) throw badFlag(`--${opts.flag} ${JSON.stringify(given)}`, p);
      return given;
    }
    if (this.ask) {
      const value = await this.ask.text(opts.message, {
        ...(opts.suggestion !== undefined ? { default: opts.suggestion } : {}),
        validate: problem,
      });
      return value === "" && opts.optional ? undefined : value;
    }
    if (opts.suggestion !== undefined && (this.flags.yes || opts.optional)) return opts.suggestion || undefined;
    if (opts.optional) return undefined;
    throw usage(
      `nixlab init needs --${opts.flag}${opts.suggestion !== undefined ? ` (or --yes to take ${opts.suggestion})` : ""}`,
      "on a terminal it asks instead; see nixlab init --help",
    );
  }
}

/** Parses `--node NAME:DISK[:master]` (a disk path may itself hold colons). */
export function parseNodeFlag(text: string): InitNode {
  const first = text.indexOf(":");
  if (first <= 0)
    throw usage(`--node ${JSON.stringify(text)} is not NAME:DISK[:master]`, "e.g. --node node1:/dev/nvme0n1:master");
  let disk = text.slice(first + 1);
  const master = disk.endsWith(":master");
  if (master) disk = disk.slice(0, -":master".length);
  return { name: text.slice(0, first), disk, master };
}

/** Parses `--vpn-user NAME[:GROUP]`. */
export function parseVpnUserFlag(text: string): InitVpnUser {
  const [name = "", group, ...rest] = text.split(":");
  if (name === "" || rest.length > 0)
    throw usage(`--vpn-user ${JSON.stringify(text)} is not NAME:GROUP`, "e.g. --vpn-user alice:admin");
  return group ? { name, group } : { name };
}

const defaultUser = (env: InitEnvironment): string | undefined => {
  const user = env.user?.toLowerCase();
  return user && user !== "root" && /^[a-z_][a-z0-9_-]{0,31}$/.test(user) ? user : undefined;
};

/** The answers for nixlab init. Throws UserError (exit 2) for a bad flag or a missing answer without a terminal. */
export async function collectAnswers(
  flags: InitFlags,
  env: InitEnvironment,
  ask: Prompter | null,
): Promise<InitAnswers> {
  const q = new Questions(flags, ask);
  const a = q.answers;
  a.domain = await q.field("domain", { flag: "domain", message: "Your domain (services live at <name>.<domain>)" });
  a.acmeEmail = await q.field("acmeEmail", {
    flag: "acme-email",
    message: "Email for Let's Encrypt expiry warnings (empty: none)",
    suggestion: "",
    optional: true,
  });
  a.username = await q.field("username", {
    flag: "username",
    message: "Your login name on the nodes",
    suggestion: defaultUser(env) ?? "admin",
  });
  const ssh = await sshKey(q, env);
  a.clusterSshKey = ssh.line;
  await network(q, env);
  a.nodes = await nodes(q);
  a.vpnUsers = await vpnUsers(q);
  a.timezone = await q.field("timezone", {
    flag: "timezone",
    message: "Time zone of the nodes",
    suggestion: env.timezone,
  });
  const passwordHash = await password(q, env);
  const cloudflareToken = await cloudflare(q, env);
  const ageKeyFile = await ageKey(q, env);
  return {
    cluster: a as ClusterAnswers,
    ...(ssh.created ? { newSshKey: ssh.created } : {}),
    passwordHash,
    ...(cloudflareToken ? { cloudflareToken } : {}),
    ...(ageKeyFile ? { ageKeyFile } : {}),
  };
}

const sshKeyFiles = ["id_ed25519.pub", "id_ecdsa.pub", "id_rsa.pub"];
const looksLikeKey = (text: string) => /^(ssh-|ecdsa-|sk-)/.test(text.trim());

/** The SSH public key: a flag (file or key line), a file in ~/.ssh, or a new key pair. */
async function sshKey(
  q: Questions,
  env: InitEnvironment,
): Promise<{ line: string; created?: NonNullable<InitAnswers["newSshKey"]> }> {
  const found = sshKeyFiles.map((f) => join(env.home, ".ssh", f)).find((p) => env.exists(p));
  const resolveKey = (text: string): string =>
    looksLikeKey(text) ? text.trim() : env.exists(text) ? env.readText(text).trim() : "";
  const problem = (text: string) => {
    const line = resolveKey(text);
    if (line === "") return `${text} is neither an SSH public key nor a file; paste the key or give its .pub file`;
    return firstProblemAt(draft({ ...q.answers, clusterSshKey: line }), ["clusterSshKey"]);
  };
  if (q.flags.sshKey !== undefined) {
    const p = problem(q.flags.sshKey);
    if (p) throw badFlag("--ssh-key", p);
    return { line: resolveKey(q.flags.sshKey) };
  }
  if (q.ask && found) {
    return {
      line: resolveKey(
        await q.ask.text("SSH public key for logging in to the nodes (a .pub file or the key)", {
          default: found,
          validate: problem,
        }),
      ),
    };
  }
  if (
    q.ask &&
    !(await q.ask.confirm(`No SSH key in ${join(env.home, ".ssh")}. Create ~/.ssh/id_ed25519 for the cluster?`, true))
  ) {
    return {
      line: resolveKey(
        await q.ask.text("SSH public key for logging in to the nodes (a .pub file or the key)", { validate: problem }),
      ),
    };
  }
  if (found) return { line: resolveKey(found) };
  if (!q.ask && !q.flags.yes)
    throw usage("nixlab init needs --ssh-key (or --yes to create ~/.ssh/id_ed25519)", "pass a .pub file or a key line");
  const path = join(env.home, ".ssh", "id_ed25519");
  const pair = newSshKeyPair(`${q.answers.username}@nixlab`);
  return { line: pair.publicKey.trim(), created: { path, privateKey: pair.privateKey, publicKey: pair.publicKey } };
}

/** The LAN and the addresses in it: MetalLB pool (suggested from the LAN), upstream DNS; the service IPs follow from the pool. */
async function network(q: Questions, env: InitEnvironment): Promise<void> {
  const [seen] = seenLans(env.interfaces);
  const lanProblem = (value: string) =>
    suggestAddresses(value)
      ? undefined
      : `${value} is not an IPv4 network between /8 and /28; write it like 192.168.1.0/24`;
  let lan = q.flags.lan;
  if (lan !== undefined) {
    const p = lanProblem(lan);
    if (p) throw badFlag("--lan", p);
  } else if (q.ask) {
    if (seen) q.ask.say(`This machine is on ${seen.cidr} (${seen.iface}, ${seen.address}).`);
    lan = await q.ask.text("Your LAN (CIDR)", { ...(seen ? { default: seen.cidr } : {}), validate: lanProblem });
  } else if (seen && q.flags.yes) lan = seen.cidr;
  else if (q.flags.metallbPool === undefined || q.flags.upstreamDns === undefined) {
    throw usage(
      `nixlab init needs --lan${seen ? ` (or --yes to take ${seen.cidr})` : ""}`,
      "e.g. --lan 192.168.1.0/24",
    );
  }
  const suggested = lan ? suggestAddresses(lan, seen?.address) : null;
  if (q.ask && suggested)
    q.ask.say("MetalLB gives LoadBalancer services addresses from a range your router's DHCP must not hand out.");
  const withAddresses = (pool: string): Partial<ClusterAnswers> => ({ metallbPool: pool, ...poolAddresses(pool) });
  const pool = await q.field("metallbPool", {
    flag: "metallb-pool",
    message: "MetalLB address range (CIDR, outside your DHCP range)",
    suggestion: suggested?.metallbPool,
    expand: withAddresses,
  });
  Object.assign(q.answers, withAddresses(pool!));
  q.answers.upstreamDns = await q.field("upstreamDns", {
    flag: "upstream-dns",
    message: "DNS server Pi-hole forwards to (usually your router)",
    suggestion: suggested?.upstreamDns,
  });
  q.ask?.say(
    `Ingress ${q.answers.nginxIp}, WireGuard ${q.answers.wireguardIp}, Pi-hole ${q.answers.piholeIp} (change them in nixlab.yaml).`,
  );
}

/** The nodes: --node flags, or asked one by one (the first is the master). */
async function nodes(q: Questions): Promise<InitNode[]> {
  const list: InitNode[] = [];
  const nodeProblem = (node: InitNode, index: number) =>
    firstProblemAt(draft({ ...q.answers, nodes: [...list.slice(0, index), node] }), ["nodes", node.name]) ??
    firstProblemAt(draft({ ...q.answers, nodes: [...list.slice(0, index), node] }), ["nodes"]);
  if (q.flags.node && q.flags.node.length > 0) {
    for (const [i, text] of q.flags.node.entries()) {
      const node = parseNodeFlag(text);
      list.push(node);
      const p = nodeProblem(node, i);
      if (p) throw badFlag(`--node ${JSON.stringify(text)}`, p);
    }
    if (list.filter((n) => n.master).length > 1)
      throw usage(
        "more than one --node is :master",
        "mark exactly one node :master (or none: the first is the master)",
      );
    return list;
  }
  if (!q.ask)
    throw usage(
      "nixlab init needs at least one --node NAME:DISK[:master]",
      "e.g. --node node1:/dev/nvme0n1:master --node node2:/dev/sda",
    );
  q.ask.say(
    "Nodes: the first one is the master (k3s server, runs every workload). Disks are erased on install; /dev/disk/by-id/… names never change.",
  );
  for (;;) {
    const first = list.length === 0;
    const name = await q.ask.text(first ? "Name of the master node" : "Name of another node (empty: done)", {
      ...(first ? { default: "node1" } : {}),
      validate: (value) =>
        value === "" && !first ? undefined : nodeProblem({ name: value, disk: "/dev/sda", master: first }, list.length),
    });
    if (name === "") return list;
    const disk = await q.ask.text(`Disk of ${name} (erased on install)`, {
      default: "/dev/sda",
      validate: (value) => nodeProblem({ name, disk: value, master: first }, list.length),
    });
    list.push({ name, disk, master: first });
  }
}

/** The first VPN users: --vpn-user flags, or asked (empty name: done). */
async function vpnUsers(q: Questions): Promise<InitVpnUser[]> {
  const list: InitVpnUser[] = [];
  const userProblem = (user: InitVpnUser) =>
    firstProblemAt(draft({ ...q.answers, vpnUsers: [...list, user] }), ["wireguardUsers", user.name]);
  if (q.flags.vpnUser && q.flags.vpnUser.length > 0) {
    for (const text of q.flags.vpnUser) {
      const user = parseVpnUserFlag(text);
      const p = userProblem(user);
      if (p) throw badFlag(`--vpn-user ${JSON.stringify(text)}`, p);
      list.push(user);
    }
    return list;
  }
  if (!q.ask) return list;
  q.ask.say(
    "VPN users: people whose phones and laptops reach home over WireGuard (add more later with nixlab vpn add).",
  );
  for (;;) {
    const name = await q.ask.text(
      list.length === 0 ? "Name of the first VPN user (empty: none)" : "Another VPN user (empty: done)",
      {
        validate: (value) => (value === "" ? undefined : userProblem({ name: value })),
      },
    );
    if (name === "") return list;
    const group = await q.ask.choose(
      `Access group of ${name}`,
      builtinVpnGroupNames.map((g) => ({ value: g, name: `${g}: ${builtinVpnGroups[g].description}` })),
      list.length === 0 ? "admin" : "family",
    );
    list.push({ name, group });
  }
}

/** The login password of the nodes' user (console and root), hashed at once. */
async function password(q: Questions, env: InitEnvironment): Promise<string> {
  const weak = (value: string) => (value.length < 8 ? "use at least 8 characters" : undefined);
  if (q.flags.passwordFile !== undefined) {
    const value = await env.readSecret(q.flags.passwordFile);
    const p = weak(value);
    if (p) throw usage(`the password in --password-file is too short`, p);
    return sha512CryptHash(value);
  }
  if (!q.ask)
    throw usage(
      "nixlab init needs --password-file FILE (or - for stdin)",
      "the password of your user and root on the nodes' console; it is stored only as a SHA-512 crypt hash",
    );
  for (;;) {
    const first = await q.ask.secret("Login password for the nodes' console (you and root; stored hashed)", {
      validate: weak,
    });
    const again = await q.ask.secret("The same password again");
    if (first === again) return sha512CryptHash(first);
    q.ask.say("The two passwords differ; try again.");
  }
}

/** The Cloudflare API token (DNS-01 certificates, public DNS, DDNS); may be left for later. */
async function cloudflare(q: Questions, env: InitEnvironment): Promise<string | undefined> {
  if (q.flags.cloudflareTokenFile !== undefined) {
    const token = (await env.readSecret(q.flags.cloudflareTokenFile)).trim();
    if (token === "")
      throw usage("--cloudflare-token-file is empty", "put the token in it, or leave the flag out to set it later");
    return token;
  }
  if (!q.ask) return undefined;
  const token = await q.ask.secret(
    `Cloudflare API token with Zone:DNS:Edit on ${q.answers.domain} (empty: set it later)`,
  );
  return token.trim() || undefined;
}

/** Where the age key is: --age-key-file, the key sops already finds, or a new one (the usual place or beside). */
async function ageKey(q: Questions, env: InitEnvironment): Promise<string | undefined> {
  if (q.flags.ageKeyFile !== undefined) return q.flags.ageKeyFile;
  const beside = join(env.dir, besideKeyName);
  if (env.existingAgeKey) {
    if (
      !q.ask ||
      (await q.ask.confirm(`Use your age key ${env.existingAgeKey.path} (${env.existingAgeKey.recipient})?`, true))
    )
      return undefined;
  } else if (!q.ask) return env.defaultAgeKeyPath;
  return q.ask.choose(
    "Where should the new age key (it decrypts your secrets) live?",
    [
      { value: env.defaultAgeKeyPath, name: `${env.defaultAgeKeyPath} (where sops and nixlab look)` },
      { value: beside, name: `${beside} (beside the cluster; export SOPS_AGE_KEY_FILE)` },
    ],
    env.defaultAgeKeyPath,
  );
}
