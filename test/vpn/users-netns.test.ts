// Real WireGuard (wireguard-go) in network namespaces (test/support/netns.ts): clients
// built from `nixlab vpn` output handshake with and reach a server running the config and
// the firewall the cluster renders (setup.sh from the rendered ConfigMap fed the Secrets'
// values; the ruleset loaded with the real nft, as wg-quick's PreUp does). The pod's
// reconciler (reconcile.sh, time injected) removes an expired peer while another keeps
// its session, adds a new peer and replaces a rotated key without a restart (reloading
// the firewall's group sets), and a restart never brings an expired peer back.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { loadCluster } from "../../src/config/load.ts";
import { renderCluster } from "../../src/render/build.ts";
import { openSecrets, parseIdentities } from "../../src/secrets/index.ts";
import { expiryEpoch } from "../../src/vpn/expiry.ts";
import { parseWgDump } from "../../src/vpn/status.ts";
import { requireTools } from "../secrets/helpers.ts";
import {
  type Agent,
  type Lab,
  type Netns,
  createLab,
  findWireguardGo,
  labUnavailable,
  startWireguard,
} from "../support/netns.ts";
import { findTool } from "../support/peers.ts";
import { type Project, project } from "./support.ts";

const unavailable =
  labUnavailable() ??
  (findWireguardGo() ? null : "wireguard-go is not built (scripts/setup.d/45-wireguard-go.sh)") ??
  ["wg-quick", "nft"].map((t) => (findTool(t) ? null : `${t} is not installed`)).find(Boolean) ??
  null;
if (unavailable && process.env.NIXLAB_E2E === "1") throw new Error(`NIXLAB_E2E=1 but ${unavailable}`);
const suite = !unavailable && requireTools() ? describe : describe.skip;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** The server's public address (on its lo), reached by each client over its own link. */
const serverAddress = "198.51.100.1";
const guestExpiry = "2099-12-31";
const afterGuestExpiry = () => expiryEpoch(guestExpiry, "Europe/Berlin") + 1;

suite("VPN users on real WireGuard, with the server config the cluster renders", { timeout: 180_000 }, () => {
  let lab: Lab;
  let p: Project;
  let pod: string; // the WireGuard pod's files: ConfigMap, Secrets, PVC
  let srv: Netns;
  let wgIf: string;
  const clients: Record<string, { ns: Netns; ifname: string; agent: Agent }> = {};

  /** What the kubelet mounts into the pod: the ConfigMap's files, the server and peer Secrets. */
  async function mountPodFiles(): Promise<void> {
    const cluster = await loadCluster({ config: join(p.dir, "nixlab.yaml") });
    const cm = renderCluster(cluster).files.find((f) => f.path === "manifests/wireguard-config.yaml")!;
    const data: Record<string, string> = parse(cm.content).data;
    const secrets = await openSecrets(
      join(p.dir, "secrets.yaml"),
      await parseIdentities(readFileSync(join(p.dir, "age-key.txt"), "utf8"), "age-key.txt"),
    );
    for (const d of ["tpl", "secrets", "peers", "config", "state"]) mkdirSync(join(pod, d), { recursive: true });
    for (const [k, v] of Object.entries(data)) writeFileSync(join(pod, "tpl", k), v);
    for (const [file, secret] of [
      ["server-private-key", "wireguard_server_private_key"],
      ["server-public-key", "wireguard_server_public_key"],
      ["wg-server-endpoint", "wireguard_server_endpoint"],
    ])
      writeFileSync(join(pod, "secrets", file!), secrets.getString(secret!));
    for (const u of cluster.vpn.enabledUsers)
      writeFileSync(join(pod, "peers", u.publicKeySecret), secrets.getString(u.publicKeySecret));
  }

  const podEnv = (now?: number): NodeJS.ProcessEnv => ({
    ...process.env,
    TEMPLATE_DIR: join(pod, "tpl"),
    SECRETS_DIR: join(pod, "secrets"),
    PEERS_DIR: join(pod, "peers"),
    CONFIG_DIR: join(pod, "config"),
    STATE_DIR: join(pod, "state"),
    WG_INTERFACE: wgIf,
    NIXLAB_FIREWALL: join(pod, "firewall.nft"),
    ...(now === undefined ? {} : { NIXLAB_NOW: String(now) }),
  });

  /** The mounted firewall as this server sees it: the rendered ruleset names the pod's wg0; this interface is named for the lab. */
  function mountFirewall(): string {
    const firewall = readFileSync(join(pod, "tpl/firewall.nft"), "utf8").replaceAll('"wg0"', `"${wgIf}"`);
    writeFileSync(join(pod, "firewall.nft"), firewall);
    return join(pod, "firewall.nft");
  }

  /**
   * The pod starting: the init container's setup.sh, then what the image's wg-quick does
   * with the wg0.conf it wrote: PreUp loads the firewall, then the interface comes up.
   */
  async function startServer(ifname: string, now?: number): Promise<string> {
    wgIf = ifname;
    const init = await srv.run("sh", [join(pod, "tpl/setup.sh")], { env: podEnv(now) });
    await srv.run("nft", ["-f", mountFirewall()]);
    const config = readFileSync(join(pod, "config/wg_confs/wg0.conf"), "utf8");
    await startWireguard(srv, { ifname, config, wireguardGo: findWireguardGo()! });
    return init.stdout;
  }

  /** A client from `vpn show` output as printed: wg-quick strip, wg setconf, its Address. */
  async function connect(name: string, slot: string): Promise<void> {
    const shown = p.run(["vpn", "show", name]);
    expect(shown.status, shown.stderr).toBe(0);
    const c = clients[slot]!;
    const file = join(pod, `${slot}.conf`);
    writeFileSync(file, shown.stdout, { mode: 0o600 });
    const stripped = join(pod, `${slot}.stripped.conf`);
    writeFileSync(stripped, (await c.ns.run("wg-quick", ["strip", file])).stdout);
    await c.ns.run("wg", ["setconf", c.ifname, stripped]);
    await c.ns.ip("address", "flush", "dev", c.ifname);
    await c.ns.ip("address", "add", /^Address = (.+)$/m.exec(shown.stdout)![1]!, "dev", c.ifname);
    await c.ns.ip("route", "replace", "10.0.100.0/24", "dev", c.ifname);
  }

  /**
   * Whether `slot` reaches the server through the tunnel within about `tries` seconds: a
   * TCP connection to the VPN's DNS port, which the access-group firewall allows every
   * peer (it drops ICMP to the pod itself).
   */
  async function reaches(slot: string, tries = 8): Promise<boolean> {
    for (let i = 0; i < tries; i++) {
      const r = await clients[slot]!.agent.tcp({ host: "10.0.100.1", port: 53, payload: slot, timeoutMs: 1000 });
      if (r.connected) return true;
      await sleep(100);
    }
    return false;
  }

  const handshakes = async () => parseWgDump((await srv.run("wg", ["show", wgIf, "dump"])).stdout);
  /** One reconciler pass over what is mounted now. */
  const reconcile = (now: number) => {
    mountFirewall();
    return srv.run("sh", [join(pod, "tpl/reconcile.sh")], { env: podEnv(now), allowFail: true });
  };

  beforeAll(async () => {
    p = project();
    pod = mkdtempSync(join(tmpdir(), "nixlab-vpn-pod-"));
    // Clients reach the server at its public address, so the endpoint secret says so.
    const secrets = await openSecrets(
      join(p.dir, "secrets.yaml"),
      await parseIdentities(readFileSync(join(p.dir, "age-key.txt"), "utf8"), "age-key.txt"),
    );
    secrets.set("wireguard_server_endpoint", serverAddress);
    await secrets.save();
    for (const [name, extra] of [
      ["dave", []],
      ["erin", ["--expires", guestExpiry]],
    ] as const) {
      const r = p.run(["vpn", "add", name, "--group", "admin", "--allowed-ips", "10.0.100.0/24", ...extra]);
      expect(r.status, r.stderr).toBe(0);
    }
    await mountPodFiles();
    lab = await createLab("vpnu");
    srv = await lab.namespace("srv");
    await srv.addHost(`${serverAddress}/32`);
    for (const [slot, n] of [
      ["c1", 0],
      ["c2", 4],
    ] as const) {
      const ns = await lab.namespace(slot);
      await lab.link(srv, `192.0.2.${n + 1}/30`, ns, `192.0.2.${n + 2}/30`);
      await ns.ip("route", "add", `${serverAddress}/32`, "via", `192.0.2.${n + 1}`);
      const ifname = `${lab.prefix}${slot}`;
      // Any valid config brings the interface up; `connect` loads the user's.
      const placeholder = "[Interface]\nPrivateKey = YNqHbfBQKaGvzefSSmlJ8aSB5yzGz0FIrpCpXWm5hE8=\n";
      await startWireguard(ns, { ifname, config: placeholder, wireguardGo: findWireguardGo()! });
      clients[slot] = { ns, ifname, agent: await ns.agent() };
    }
    // The VPN's DNS port on the pod (the listener outlives the interface across the restart).
    await (await srv.agent()).listen({ proto: "tcp", host: "0.0.0.0", port: 53 });
  });

  afterAll(async () => {
    await lab?.close();
    p?.remove();
    if (pod) rmSync(pod, { recursive: true, force: true });
  });

  it("clients built from `vpn show` handshake with and reach the rendered server", async () => {
    expect(await startServer(`${lab.prefix}s`)).toBe("WireGuard config ready with 5 users (0 expired)\n");
    await connect("dave", "c1");
    await connect("erin", "c2");
    expect(await reaches("c1")).toBe(true);
    expect(await reaches("c2")).toBe(true);
    // `vpn list` reads the same dump format from the pod.
    const live = await handshakes();
    expect(live.get("10.0.100.5")!.latestHandshake).toBeGreaterThan(0);
    expect(live.get("10.0.100.6")!.latestHandshake).toBeGreaterThan(0);
    expect(live.get("10.0.100.2")!.latestHandshake).toBeNull(); // alice never connected
  });

  it("the reconciler removes the expired peer (time injected) while the other keeps its session", async () => {
    const before = (await handshakes()).get("10.0.100.5")!.latestHandshake;
    const first = await reconcile(Math.floor(Date.now() / 1000));
    expect(first.stderr).toBe("");
    expect(first.code).toBe(0);
    // The reconciler's first pass loads the firewall once more (it has no record of it); the peers already match.
    expect(first.stdout).toBe("firewall reloaded\n");
    const admins = (await srv.run("nft", ["list", "set", "inet", "nixlab_vpn", "group_admin"])).stdout;
    for (const ip of ["10.0.100.5", "10.0.100.6"]) expect(admins).toContain(ip);
    expect((await reconcile(Math.floor(Date.now() / 1000))).stdout).toBe("");
    const r = await reconcile(afterGuestExpiry());
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("removed expired peer erin (10.0.100.6)");
    const live = await handshakes();
    expect(live.has("10.0.100.6")).toBe(false);
    // dave's session is the same one: its handshake was not reset (a removed and re-added peer starts at none).
    expect(live.get("10.0.100.5")!.latestHandshake).toBe(before);
    expect(await reaches("c1", 2)).toBe(true);
    expect(await reaches("c2", 3)).toBe(false);
    expect((await reconcile(afterGuestExpiry())).stdout).toBe("");
  });

  it("a new user reaches the running server without a restart, and nobody's session drops", async () => {
    const added = p.run(["vpn", "add", "frank", "--group", "admin", "--allowed-ips", "10.0.100.0/24"]);
    expect(added.status, added.stderr).toBe(0);
    await mountPodFiles(); // the kubelet updates the mounted ConfigMap and Secrets
    const before = (await handshakes()).get("10.0.100.5")!.latestHandshake;
    const r = await reconcile(afterGuestExpiry());
    expect(r.stderr).toBe("");
    // frank joins the admin group's address set in the firewall, and the interface.
    expect(r.stdout).toBe("firewall reloaded\npeers now: 5\n");
    expect((await srv.run("nft", ["list", "set", "inet", "nixlab_vpn", "group_admin"])).stdout).toContain("10.0.100.7");
    expect((await handshakes()).get("10.0.100.5")!.latestHandshake).toBe(before);
    await connect("frank", "c2");
    expect(await reaches("c2")).toBe(true);
    expect(await reaches("c1", 2)).toBe(true);
  });

  it("a rotated key replaces the old one on the running server: the old config stops, the new one connects", async () => {
    const rotated = p.run(["vpn", "rotate", "frank"]);
    expect(rotated.status, rotated.stderr).toBe(0);
    await mountPodFiles();
    const before = (await handshakes()).get("10.0.100.5")!.latestHandshake;
    const r = await reconcile(afterGuestExpiry());
    expect(r.stderr).toBe("");
    expect(r.stdout).toContain("removed peer 10.0.100.7/32");
    expect((await handshakes()).get("10.0.100.5")!.latestHandshake).toBe(before);
    // The phone still holding the old key gets nowhere ...
    expect(readFileSync(join(pod, "c2.conf"), "utf8")).not.toBe(rotated.stdout);
    expect(await reaches("c2", 3)).toBe(false);
    // ... the new config works.
    await connect("frank", "c2");
    expect(await reaches("c2")).toBe(true);
  });

  it("after a restart the server has every current peer and never the expired one", async () => {
    await srv.ip("link", "delete", wgIf); // wireguard-go exits with its interface, freeing the port
    for (let i = 0; existsSync(`/var/run/wireguard/${wgIf}.sock`) && i < 50; i++) await sleep(100);
    // The same interface name, as the pod's wg0, so the loaded firewall applies to it again.
    expect(await startServer(wgIf, afterGuestExpiry())).toBe("WireGuard config ready with 5 users (1 expired)\n");
    const conf = readFileSync(join(pod, "config/wg_confs/wg0.conf"), "utf8");
    expect(conf).toContain("# frank\n");
    expect(conf).not.toContain("# erin\n");
    // Clients notice the restart by themselves and handshake again (within about 15 s).
    expect(await reaches("c1", 40)).toBe(true);
    expect(await reaches("c2", 40)).toBe(true);
    expect((await handshakes()).has("10.0.100.6")).toBe(false);
  });
});
