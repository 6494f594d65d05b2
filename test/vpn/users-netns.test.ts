// Real WireGuard (wireguard-go) in network namespaces: clients built from `nixlab vpn`
// output handshake with and ping a server running the config the cluster renders
// (setup.sh from the rendered ConfigMap, fed the Secrets' values); the pod's reconciler
// (reconcile.sh, time injected) removes an expired peer while another keeps its
// session, adds a new peer without a restart, and a restart never brings an expired
// peer back.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
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
import { findTool } from "../support/peers.ts";
import { Lab, labUnavailable } from "./netns-lab.ts";
import { type Project, project } from "./support.ts";

const unavailable =
  labUnavailable() ??
  ["wg-quick", "ping"].map((t) => (findTool(t) ? null : `${t} is not installed`)).find(Boolean) ??
  null;
if (unavailable && process.env.NIXLAB_E2E === "1") throw new Error(`NIXLAB_E2E=1 but ${unavailable}`);
const suite = !unavailable && requireTools() ? describe : describe.skip;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const serverAddress = "198.51.100.1";
const guestExpiry = "2099-12-31";

suite("VPN users on real WireGuard, with the server config the cluster renders", () => {
  const lab = new Lab();
  let p: Project;
  let pod: string; // the WireGuard pod's files: ConfigMap, Secrets, PVC
  let srv: string;
  const wgIf = `${lab.tag}s`;
  const clients: Record<string, { ns: string; ifname: string; ip: string }> = {};
  let stopServer: () => Promise<void>;

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
    writeFileSync(join(pod, "secrets/server-private-key"), secrets.getString("wireguard_server_private_key"));
    writeFileSync(join(pod, "secrets/server-public-key"), secrets.getString("wireguard_server_public_key"));
    writeFileSync(join(pod, "secrets/wg-server-endpoint"), secrets.getString("wireguard_server_endpoint"));
    for (const u of cluster.vpn.enabledUsers)
      writeFileSync(join(pod, "peers", u.publicKeySecret), secrets.getString(u.publicKeySecret));
  }

  const podEnv = (now?: number): Record<string, string> => ({
    TEMPLATE_DIR: join(pod, "tpl"),
    SECRETS_DIR: join(pod, "secrets"),
    PEERS_DIR: join(pod, "peers"),
    CONFIG_DIR: join(pod, "config"),
    STATE_DIR: join(pod, "state"),
    WG_INTERFACE: wgIf,
    NIXLAB_FIREWALL: join(pod, "no-firewall-here.nft"),
    ...(now === undefined ? {} : { NIXLAB_NOW: String(now) }),
  });

  /** The pod starting: the init container's setup.sh, then the interface from wg0.conf. */
  async function startServer(now?: number): Promise<string> {
    const init = lab.must(srv, "sh", [join(pod, "tpl/setup.sh")], podEnv(now));
    stopServer = await lab.wireguard(srv, wgIf);
    const stripped = join(pod, "state/server.conf");
    writeFileSync(stripped, lab.must(srv, "wg-quick", ["strip", join(pod, "config/wg_confs/wg0.conf")]));
    lab.must(srv, "wg", ["setconf", wgIf, stripped]);
    lab.must(srv, "ip", ["addr", "add", "10.0.100.1/24", "dev", wgIf]);
    lab.must(srv, "ip", ["link", "set", wgIf, "up"]);
    return init;
  }

  /** A client from `vpn show` output exactly: wg-quick strip, wg setconf, its Address. */
  function connect(name: string, slot: string): void {
    const shown = p.run(["vpn", "show", name]);
    expect(shown.status, shown.stderr).toBe(0);
    const c = clients[slot]!;
    const file = join(pod, `${slot}.conf`);
    writeFileSync(file, shown.stdout, { mode: 0o600 });
    const stripped = join(pod, `${slot}.stripped.conf`);
    writeFileSync(stripped, lab.must(c.ns, "wg-quick", ["strip", file]));
    lab.must(c.ns, "wg", ["setconf", c.ifname, stripped]);
    const address = /^Address = (.+)$/m.exec(shown.stdout)![1]!;
    lab.must(c.ns, "ip", ["addr", "flush", "dev", c.ifname]);
    lab.must(c.ns, "ip", ["addr", "add", address, "dev", c.ifname]);
    lab.must(c.ns, "ip", ["link", "set", c.ifname, "up"]);
    lab.run(c.ns, "ip", ["route", "replace", "10.0.100.0/24", "dev", c.ifname]);
    c.ip = address.replace("/32", "");
  }

  /** Whether `slot` pings the server through the tunnel within `seconds`. */
  async function pings(slot: string, seconds = 8): Promise<boolean> {
    for (let i = 0; i < seconds; i++) {
      if (lab.run(clients[slot]!.ns, "ping", ["-c", "1", "-W", "1", "10.0.100.1"]).status === 0) return true;
      await sleep(100);
    }
    return false;
  }

  const handshakes = () => parseWgDump(lab.must(srv, "wg", ["show", wgIf, "dump"]));
  const reconcile = (now: number) => lab.run(srv, "sh", [join(pod, "tpl/reconcile.sh")], podEnv(now));

  beforeAll(async () => {
    p = project();
    pod = mkdtempSync(join(tmpdir(), "nixlab-vpn-pod-"));
    // Clients reach the server at its underlay address, so the endpoint secret says so.
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
      const r = p.run(["vpn", "add", name, "--allowed-ips", "10.0.100.0/24", ...extra]);
      expect(r.status, r.stderr).toBe(0);
    }
    await mountPodFiles();
    srv = lab.namespace("srv");
    const plug = lab.bridge(srv, `${serverAddress}/24`);
    for (const [slot, n] of [
      ["c1", 11],
      ["c2", 12],
    ] as const) {
      const ns = lab.namespace(slot);
      plug(ns, `198.51.100.${n}/24`);
      const ifname = `${lab.tag}${slot}`;
      await lab.wireguard(ns, ifname);
      clients[slot] = { ns, ifname, ip: "" };
    }
  });

  afterAll(async () => {
    await lab.close();
    p?.remove();
    if (pod) rmSync(pod, { recursive: true, force: true });
  });

  it("clients built from `vpn show` handshake with and ping the rendered server", async () => {
    const init = await startServer();
    expect(init).toBe("WireGuard config ready with 5 users (0 expired)\n");
    connect("dave", "c1");
    connect("erin", "c2");
    expect(await pings("c1")).toBe(true);
    expect(await pings("c2")).toBe(true);
    // `vpn list` reads the same dump format from the pod.
    const live = handshakes();
    expect(live.get("10.0.100.5")!.latestHandshake).toBeGreaterThan(0);
    expect(live.get("10.0.100.6")!.latestHandshake).toBeGreaterThan(0);
    expect(live.get("10.0.100.2")!.latestHandshake).toBeNull(); // alice never connected
  });

  it("the reconciler removes the expired peer (time injected) while the other keeps its session", async () => {
    const before = handshakes().get("10.0.100.5")!.latestHandshake;
    const now = Math.floor(Date.now() / 1000);
    const early = reconcile(now);
    expect(early.stderr).toBe("");
    expect(early.status).toBe(0);
    expect(early.stdout).toBe(""); // nothing to change
    const afterExpiry = expiryEpoch(guestExpiry, "Europe/Berlin") + 1;
    const r = reconcile(afterExpiry);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(r.stdout).toContain("removed expired peer erin (10.0.100.6)");
    const live = handshakes();
    expect(live.has("10.0.100.6")).toBe(false);
    // dave's session is the same one: its handshake was not reset (a removed and re-added peer starts at 0).
    expect(live.get("10.0.100.5")!.latestHandshake).toBe(before);
    expect(await pings("c1", 2)).toBe(true);
    expect(await pings("c2", 3)).toBe(false);
    // Later passes leave it out too.
    expect(reconcile(afterExpiry).stdout).toBe("");
  });

  it("a new user reaches the running server without a restart, and nobody's session drops", async () => {
    const added = p.run(["vpn", "add", "frank", "--allowed-ips", "10.0.100.0/24"]);
    expect(added.status, added.stderr).toBe(0);
    await mountPodFiles(); // the kubelet updates the mounted ConfigMap and Secrets
    const before = handshakes().get("10.0.100.5")!.latestHandshake;
    const r = reconcile(expiryEpoch(guestExpiry, "Europe/Berlin") + 1);
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe("peers now: 5\n");
    expect(handshakes().get("10.0.100.5")!.latestHandshake).toBe(before);
    connect("frank", "c2");
    expect(await pings("c2")).toBe(true);
    expect(await pings("c1", 2)).toBe(true);
  });

  it("a rotated key replaces the old one on the running server: the old config stops, the new one connects", async () => {
    const oldConfig = join(pod, "c2.conf");
    const rotated = p.run(["vpn", "rotate", "frank"]);
    expect(rotated.status, rotated.stderr).toBe(0);
    await mountPodFiles();
    const before = handshakes().get("10.0.100.5")!.latestHandshake;
    const r = reconcile(expiryEpoch(guestExpiry, "Europe/Berlin") + 1);
    expect(r.stderr).toBe("");
    expect(r.stdout).toContain("removed peer 10.0.100.7/32");
    expect(handshakes().get("10.0.100.5")!.latestHandshake).toBe(before);
    // The phone still holding the old key gets nowhere ...
    expect(readFileSync(oldConfig, "utf8")).not.toBe(rotated.stdout);
    expect(await pings("c2", 3)).toBe(false);
    // ... the new config works.
    connect("frank", "c2");
    expect(await pings("c2")).toBe(true);
  });

  it("after a restart the server has every current peer and never the expired one", async () => {
    await stopServer();
    const init = await startServer(expiryEpoch(guestExpiry, "Europe/Berlin") + 1);
    expect(init).toBe("WireGuard config ready with 5 users (1 expired)\n");
    const conf = readFileSync(join(pod, "config/wg_confs/wg0.conf"), "utf8");
    expect(conf).toContain("# frank\n");
    expect(conf).not.toContain("# erin\n");
    // Clients notice the restart by themselves and handshake again (within about 15 s).
    expect(await pings("c1", 40)).toBe(true);
    expect(await pings("c2", 40)).toBe(true);
    expect(handshakes().has("10.0.100.6")).toBe(false);
  });
});
