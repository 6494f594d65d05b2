// The smallest lab the VPN user tests need: network namespaces joined by a bridge, and
// WireGuard interfaces from wireguard-go (built by scripts/setup.d/45-wireguard-go.sh).
// Every namespace and interface name starts with "vpnu" plus a random tag; close()
// stops what the lab started and deletes its namespaces, also after a failed test.
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { findTool } from "../support/peers.ts";

const wireguardGo =
  [join(import.meta.dirname, "../../.testbed/bin/wireguard-go")].find(existsSync) ?? findTool("wireguard-go");

/** Why the lab cannot run here (not root, no `ip`, no wireguard-go, no /dev/net/tun), or null. */
export function labUnavailable(): string | null {
  if (process.getuid?.() !== 0) return "network namespaces need root";
  if (!findTool("ip")) return "ip (iproute2) is not installed";
  if (!wireguardGo) return "wireguard-go is not built (scripts/setup.d/45-wireguard-go.sh)";
  if (!existsSync("/dev/net/tun")) return "/dev/net/tun is missing";
  return null;
}

export interface Ran {
  status: number;
  stdout: string;
  stderr: string;
}

export class Lab {
  /** "vpnu" and 4 hex digits: short enough for 15-character interface names. */
  readonly tag = `vpnu${randomBytes(2).toString("hex")}`;
  private readonly namespaces: string[] = [];
  private readonly daemons: ChildProcess[] = [];

  /** Runs `cmd args` in namespace `ns` (env replaces nothing: it is added). */
  run(ns: string, cmd: string, args: string[], env: Record<string, string> = {}): Ran {
    const r = spawnSync("ip", ["netns", "exec", ns, cmd, ...args], {
      encoding: "utf8",
      env: { ...process.env, ...env },
      timeout: 60_000,
    });
    return { status: r.status ?? -1, stdout: r.stdout ?? "", stderr: r.stderr ?? String(r.error ?? "") };
  }

  /** Like run, but throws with the output when the command fails. */
  must(ns: string, cmd: string, args: string[], env: Record<string, string> = {}): string {
    const r = this.run(ns, cmd, args, env);
    if (r.status !== 0) throw new Error(`${ns}: ${cmd} ${args.join(" ")} failed (${r.status}): ${r.stderr}${r.stdout}`);
    return r.stdout;
  }

  /** A new namespace `<tag>-<name>` with lo up. */
  namespace(name: string): string {
    const ns = `${this.tag}-${name}`;
    const r = spawnSync("ip", ["netns", "add", ns], { encoding: "utf8" });
    if (r.status !== 0) throw new Error(`ip netns add ${ns}: ${r.stderr}`);
    this.namespaces.push(ns);
    this.must(ns, "ip", ["link", "set", "lo", "up"]);
    return ns;
  }

  /** A bridge in `hub` with `address`; returns a function that plugs another namespace in with its own address. */
  bridge(hub: string, address: string): (ns: string, address: string) => void {
    const br = `${this.tag}br`;
    this.must(hub, "ip", ["link", "add", br, "type", "bridge"]);
    this.must(hub, "ip", ["addr", "add", address, "dev", br]);
    this.must(hub, "ip", ["link", "set", br, "up"]);
    let n = 0;
    return (ns, addr) => {
      n++;
      const hubEnd = `${this.tag}h${n}`;
      const nsEnd = `${this.tag}e${n}`;
      this.must(hub, "ip", ["link", "add", hubEnd, "type", "veth", "peer", "name", nsEnd, "netns", ns]);
      this.must(hub, "ip", ["link", "set", hubEnd, "master", br, "up"]);
      this.must(ns, "ip", ["addr", "add", addr, "dev", nsEnd]);
      this.must(ns, "ip", ["link", "set", nsEnd, "up"]);
    };
  }

  /** Starts wireguard-go for interface `ifname` in `ns`; resolves once `wg show` sees it. Returns a stop function. */
  async wireguard(ns: string, ifname: string): Promise<() => Promise<void>> {
    const daemon = spawn("ip", ["netns", "exec", ns, wireguardGo!, "-f", ifname], {
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, LOG_LEVEL: "error" },
    });
    let output = "";
    daemon.stdout!.on("data", (c) => (output += c));
    daemon.stderr!.on("data", (c) => (output += c));
    this.daemons.push(daemon);
    for (let i = 0; this.run(ns, "wg", ["show", ifname]).status !== 0; i++) {
      if (i > 100 || daemon.exitCode !== null) throw new Error(`wireguard-go did not create ${ifname}: ${output}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    return () => stop(daemon);
  }

  /** Stops every daemon and deletes every namespace the lab made. Never throws. */
  async close(): Promise<void> {
    await Promise.all(this.daemons.map(stop));
    for (const ns of this.namespaces) spawnSync("ip", ["netns", "del", ns]);
  }
}

function stop(daemon: ChildProcess): Promise<void> {
  if (daemon.exitCode !== null || daemon.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => daemon.kill("SIGKILL"), 3000);
    daemon.once("exit", () => {
      clearTimeout(timer);
      resolve();
    });
    daemon.kill("SIGTERM");
  });
}
