/**
 * Network namespaces for packet tests: real interfaces, addresses, routes, WireGuard
 * (wireguard-go), firewalls and processes, isolated from the host and cleaned up.
 *
 *   const lab = await createLab("vpns");            // prefix: vpns + random hex
 *   try {
 *     const a = await lab.namespace("client");       // ns "vpns1a2b-client"
 *     const b = await lab.namespace("server");
 *     await lab.link(a, "10.9.0.2/24", b, "10.9.0.1/24");
 *     await a.ip("route", "add", "default", "via", "10.9.0.1");
 *     const server = await b.agent();
 *     await server.listen({ proto: "tcp", host: "10.9.0.1", port: 80 });
 *     const client = await a.agent();
 *     await client.tcp({ host: "10.9.0.1", port: 80, payload: "hello" });
 *     (await server.arrivals())[0].payload;           // "hello"
 *   } finally {
 *     await lab.close();                             // kills every process in the lab's namespaces, deletes them
 *   }
 *
 * Every namespace and interface name starts with the lab's prefix (no clash with other
 * labs running at the same time); veth pairs are created directly inside their
 * namespaces, never in the host's. Needs root and `ip`; `labUnavailable()` says why not.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { findTool } from "./peers.ts";

const agentScript = join(import.meta.dirname, "netns-agent.ts");
const repoRoot = join(import.meta.dirname, "../..");

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** A long-running process started in a namespace; its output is kept for diagnostics. */
export interface Started {
  readonly pid: number;
  readonly output: () => string;
  /** Resolves with the exit code (or signal name) when the process ends. */
  readonly exited: Promise<number | string>;
  stop(): Promise<void>;
}

export interface Netns {
  readonly name: string;
  /**
   * Runs `cmd args` inside the namespace; throws with its output when it fails (unless
   * allowFail). `privateRun`: with its own /run/wireguard (see `isolatedRun`).
   */
  run(
    cmd: string,
    args: string[],
    options?: { env?: NodeJS.ProcessEnv; input?: string; allowFail?: boolean; privateRun?: boolean },
  ): Promise<RunResult>;
  /** `ip -n NS ARGS…`: addresses, routes, links. Throws on failure. */
  ip(...args: string[]): Promise<string>;
  /** Sets a sysctl of the namespace (net.* keys are per namespace). */
  sysctl(key: string, value: string): Promise<void>;
  /** Starts a long-running process in the namespace; the lab stops it on close. */
  start(
    cmd: string,
    args: string[],
    options?: { env?: NodeJS.ProcessEnv; cwd?: string; privateRun?: boolean },
  ): Started;
  /** Adds a local address (on lo): a host the namespace answers for, reached through its links. */
  addHost(cidr: string): Promise<void>;
  /** Starts a traffic agent (listeners that record arrivals, TCP/UDP/HTTP clients). */
  agent(): Promise<Agent>;
}

export interface Arrival {
  /** `tcp 10.0.0.1:80`, `udp …`, `http …`. */
  listener: string;
  /** `address:port` the packet or connection came from. */
  source: string;
  /** Bytes received (TCP, UDP) or the request body (HTTP), as text. */
  payload: string;
  method?: string;
  path?: string;
  /** HTTP request headers as received (lower-case names). */
  headers?: Record<string, string | string[] | undefined>;
}

export interface Agent {
  /** Listens and records every arrival; `http` answers with `status`/`body` (default 200 "ok"). */
  listen(o: {
    proto: "tcp" | "udp" | "http";
    host: string;
    port: number;
    status?: number;
    body?: string;
  }): Promise<void>;
  /** Connects, sends `payload`, closes. `connected` is false on timeout, refusal or unreachability. */
  tcp(o: {
    host: string;
    port: number;
    payload?: string;
    timeoutMs?: number;
    bind?: string;
  }): Promise<{ connected: boolean; error?: string }>;
  /** Sends `payload` as `repeat` datagrams (default 3). */
  udp(o: { host: string; port: number; payload: string; bind?: string; repeat?: number }): Promise<void>;
  /** One HTTP(S) request (certificates are not verified). */
  http(o: {
    host: string;
    port: number;
    tls?: boolean;
    servername?: string;
    path?: string;
    method?: string;
    headers?: Record<string, string>;
    timeoutMs?: number;
    bind?: string;
  }): Promise<{ status?: number; body?: string; error?: string }>;
  arrivals(): Promise<Arrival[]>;
}

export interface Lab {
  /** `vpns` + 4 hex digits: the start of every name this lab creates. */
  readonly prefix: string;
  namespace(role: string): Promise<Netns>;
  /** A veth pair between two namespaces, addressed and up; returns the interface names. */
  link(a: Netns, aCidr: string, b: Netns, bCidr: string): Promise<{ a: string; b: string }>;
  /** Kills every process in the lab's namespaces (started here or forked by them) and deletes the namespaces. Idempotent. */
  close(): Promise<void>;
}

/**
 * A command prefix giving a process (and what it starts) a private /run/wireguard in its
 * own mount namespace. WireGuard's control sockets live there, named after the interface,
 * on the host's file system: two labs that both name an interface wg0 (as a rendered
 * config must) would otherwise talk to each other's daemon. Interfaces a test names itself
 * should just carry the lab's prefix.
 */
export const isolatedRun = [
  "unshare",
  "--mount",
  "--propagation",
  "private",
  "sh",
  "-c",
  'mkdir -p /run/wireguard && mount -t tmpfs -o mode=0700 nixlab-wg /run/wireguard && exec "$@"',
  "sh",
];

/** Why packet tests cannot run here (not root, no `ip`, no netns support), or null when they can. */
export function labUnavailable(): string | null {
  if (process.getuid?.() !== 0) return "network namespaces need root";
  if (!findTool("ip")) return "ip (iproute2) is not installed";
  if (!existsSync("/proc/self/ns/net")) return "this kernel has no network namespaces";
  return null;
}

/**
 * The wireguard-go binary when packet tests can run here. Otherwise skips the calling
 * test, or with NIXLAB_E2E=1 (CI) fails it: a missing peer never passes silently.
 */
export function requireLab(ctx: { skip: (note?: string) => void }): { wireguardGo: string } {
  const reason =
    labUnavailable() ?? (findWireguardGo() ? null : "wireguard-go is not built (scripts/setup.d/45-wireguard-go.sh)");
  if (reason === null) return { wireguardGo: findWireguardGo()! };
  if (process.env.NIXLAB_E2E === "1") throw new Error(`packet tests cannot run: ${reason}`);
  ctx.skip(reason);
  throw new Error("unreachable");
}

/** The wireguard-go binary (.testbed/bin, built by scripts/setup.d/45-wireguard-go.sh, or PATH), or null. */
export function findWireguardGo(): string | null {
  const built = join(repoRoot, ".testbed/bin/wireguard-go");
  return existsSync(built) ? built : findTool("wireguard-go");
}

async function exec(cmd: string, args: string[], input?: string, env?: NodeJS.ProcessEnv): Promise<RunResult> {
  return new Promise((resolve) => {
    const child = execFile(cmd, args, { encoding: "utf8", env: env ?? process.env }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === "number" ? error.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
    if (input !== undefined) child.stdin!.end(input);
  });
}

/** Creates a lab whose names start with `tag` (4 letters, e.g. the worktree's) and 4 random hex digits. */
export async function createLab(tag: string): Promise<Lab> {
  const prefix = `${tag.slice(0, 4)}${randomBytes(2).toString("hex")}`;
  const namespaces: string[] = [];
  const processes: Started[] = [];
  let links = 0;
  let closed = false;

  const makeNetns = (name: string): Netns => {
    const ns: Netns = {
      name,
      async run(cmd, args, options = {}) {
        const argv = ["netns", "exec", name, ...(options.privateRun ? isolatedRun : []), cmd, ...args];
        const r = await exec("ip", argv, options.input, options.env);
        if (r.code !== 0 && !options.allowFail)
          throw new Error(`in ${name}: ${cmd} ${args.join(" ")} failed (${r.code}): ${r.stderr || r.stdout}`);
        return r;
      },
      async ip(...args) {
        const r = await exec("ip", ["-n", name, ...args]);
        if (r.code !== 0) throw new Error(`ip -n ${name} ${args.join(" ")}: ${r.stderr}`);
        return r.stdout;
      },
      async sysctl(key, value) {
        await ns.run("sysctl", ["-q", "-w", `${key}=${value}`]);
      },
      start(cmd, args, options = {}) {
        const child = spawn("ip", ["netns", "exec", name, ...(options.privateRun ? isolatedRun : []), cmd, ...args], {
          env: options.env ?? process.env,
          cwd: options.cwd,
          stdio: ["ignore", "pipe", "pipe"],
        });
        const started = track(child);
        processes.push(started);
        return started;
      },
      async addHost(cidr) {
        // On lo: the namespace answers for the address on every interface (no dummy module needed).
        await ns.ip("address", "add", cidr, "dev", "lo");
      },
      async agent() {
        const child = spawn("ip", ["netns", "exec", name, process.execPath, agentScript], {
          stdio: ["pipe", "pipe", "pipe"],
        });
        processes.push(track(child, false));
        return connectAgent(child, name);
      },
    };
    return ns;
  };

  return {
    prefix,
    async namespace(role) {
      if (closed) throw new Error("lab is closed");
      const name = `${prefix}-${role}`;
      const r = await exec("ip", ["netns", "add", name]);
      if (r.code !== 0) throw new Error(`ip netns add ${name}: ${r.stderr}`);
      namespaces.push(name);
      const ns = makeNetns(name);
      await ns.ip("link", "set", "lo", "up");
      return ns;
    },
    async link(a, aCidr, b, bCidr) {
      links++;
      const an = `${prefix}l${links}a`;
      const bn = `${prefix}l${links}b`;
      await a.ip("link", "add", an, "type", "veth", "peer", "name", bn, "netns", b.name);
      await a.ip("address", "add", aCidr, "dev", an);
      await b.ip("address", "add", bCidr, "dev", bn);
      await a.ip("link", "set", an, "up");
      await b.ip("link", "set", bn, "up");
      return { a: an, b: bn };
    },
    async close() {
      if (closed) return;
      closed = true;
      await Promise.all(processes.map((p) => p.stop()));
      // Processes forked by what we started (wireguard-go daemons, caddy under a script).
      for (const name of namespaces) {
        const r = await exec("ip", ["netns", "pids", name]);
        for (const pid of r.stdout.split(/\s+/).filter(Boolean)) {
          try {
            process.kill(Number(pid), "SIGKILL");
          } catch {
            // already gone
          }
        }
      }
      for (const name of namespaces) await exec("ip", ["netns", "delete", name]);
    },
  };
}

function track(child: ChildProcess, keepOutput = true): Started {
  let output = "";
  if (keepOutput) {
    child.stdout?.on("data", (c) => {
      output += c;
    });
    child.stderr?.on("data", (c) => {
      output += c;
    });
  }
  const exited = new Promise<number | string>((resolve) =>
    child.on("exit", (code, signal) => resolve(code ?? signal ?? "unknown")),
  );
  let done = false;
  void exited.then(() => {
    done = true;
  });
  return {
    pid: child.pid!,
    output: () => output,
    exited,
    async stop() {
      if (done) return;
      child.kill("SIGTERM");
      const timeout = new Promise((resolve) => setTimeout(resolve, 2000));
      await Promise.race([exited, timeout]);
      if (!done) child.kill("SIGKILL");
      await exited;
    },
  };
}

function connectAgent(child: ChildProcess, ns: string): Promise<Agent> {
  let next = 1;
  const pending = new Map<number, { resolve: (v: any) => void; reject: (e: Error) => void }>();
  let stderr = "";
  child.stderr!.on("data", (c) => {
    stderr += c;
  });
  let ready!: () => void;
  let failed!: (e: Error) => void;
  const started = new Promise<void>((resolve, reject) => {
    ready = resolve;
    failed = reject;
  });
  child.on("exit", () => {
    const error = new Error(`agent in ${ns} exited: ${stderr}`);
    failed(error);
    for (const p of pending.values()) p.reject(error);
  });
  createInterface({ input: child.stdout! }).on("line", (line) => {
    const msg = JSON.parse(line) as { id: number; ok: boolean; result?: unknown; error?: string };
    if (msg.id === 0) return ready();
    const p = pending.get(msg.id);
    pending.delete(msg.id);
    if (msg.ok) p?.resolve(msg.result);
    else p?.reject(new Error(`agent in ${ns}: ${msg.error}`));
  });
  const call = (op: string, args: object = {}): Promise<any> =>
    new Promise((resolve, reject) => {
      const id = next++;
      pending.set(id, { resolve, reject });
      child.stdin!.write(`${JSON.stringify({ id, op, ...args })}\n`);
    });
  const agent: Agent = {
    listen: (o) => call("listen", o),
    tcp: (o) => call("tcp", o),
    udp: (o) => call("udp", o),
    http: (o) => call("http", o),
    arrivals: () => call("arrivals"),
  };
  return started.then(() => agent);
}

/**
 * Brings up a WireGuard interface the way a client does, with wireguard-go: the config
 * (wg-quick format, e.g. a client config nixlab produced) is stripped by the real
 * `wg-quick strip`, loaded with `wg setconf`, and its Address lines are assigned.
 * Routes are the caller's (AllowedIPs 0.0.0.0/0 needs the endpoint routed outside).
 */
export async function startWireguard(
  ns: Netns,
  o: { ifname: string; config: string; wireguardGo: string },
): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), `${o.ifname}-`));
  try {
    const file = join(dir, `${o.ifname}.conf`);
    writeFileSync(file, o.config, { mode: 0o600 });
    const stripped = await exec("wg-quick", ["strip", file]);
    if (stripped.code !== 0) throw new Error(`wg-quick strip: ${stripped.stderr}`);
    writeFileSync(file, stripped.stdout, { mode: 0o600 });
    const daemon = ns.start(o.wireguardGo, ["-f", o.ifname], { env: { ...process.env, LOG_LEVEL: "error" } });
    for (let i = 0; ; i++) {
      const r = await exec("ip", ["-n", ns.name, "link", "show", o.ifname]);
      if (r.code === 0) break;
      if (i > 50) throw new Error(`wireguard-go did not create ${o.ifname} in ${ns.name}: ${daemon.output()}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await ns.run("wg", ["setconf", o.ifname, file]);
    for (const line of o.config.split("\n")) {
      const m = /^\s*Address\s*=\s*(.+)$/.exec(line);
      if (m) for (const a of m[1]!.split(",")) await ns.ip("address", "add", a.trim(), "dev", o.ifname);
    }
    await ns.ip("link", "set", o.ifname, "up");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
