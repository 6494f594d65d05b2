/** The packet-test harness itself: namespaces, links, agents, WireGuard, and that close() leaves nothing behind. */
import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { createLab, requireLab, startWireguard } from "../support/netns.ts";
import { requireTool, run } from "../support/peers.ts";

const namespaces = () => execFileSync("ip", ["netns", "list"], { encoding: "utf8" });

describe("the netns harness", () => {
  it("links namespaces, records TCP/UDP/HTTP arrivals, runs wireguard-go, and cleans up", async (ctx) => {
    const { wireguardGo } = requireLab(ctx);
    const wg = requireTool("wg", ctx);
    requireTool("wg-quick", ctx);
    const lab = await createLab("vpns");
    try {
      const a = await lab.namespace("a");
      const b = await lab.namespace("b");
      await lab.link(a, "10.99.0.2/24", b, "10.99.0.1/24");
      await b.addHost("10.98.0.1/32");
      await a.ip("route", "add", "10.98.0.0/24", "via", "10.99.0.1");
      const server = await b.agent();
      await server.listen({ proto: "tcp", host: "10.98.0.1", port: 80 });
      await server.listen({ proto: "udp", host: "10.98.0.1", port: 53 });
      await server.listen({ proto: "http", host: "10.99.0.1", port: 8080, body: "hi" });
      const client = await a.agent();
      expect(await client.tcp({ host: "10.98.0.1", port: 80, payload: "tcp-token" })).toEqual({ connected: true });
      await client.udp({ host: "10.98.0.1", port: 53, payload: "udp-token" });
      expect(await client.http({ host: "10.99.0.1", port: 8080, headers: { "x-test": "1" } })).toMatchObject({
        status: 200,
        body: "hi",
      });
      expect((await client.tcp({ host: "10.98.0.1", port: 81, timeoutMs: 500 })).connected).toBe(false);
      const got = await server.arrivals();
      expect(got.find((x) => x.listener === "tcp 10.98.0.1:80")).toMatchObject({ payload: "tcp-token" });
      expect(got.find((x) => x.listener === "udp 10.98.0.1:53")).toMatchObject({ payload: "udp-token" });
      expect(got.find((x) => x.listener === "http 10.99.0.1:8080")?.headers?.["x-test"]).toBe("1");
      expect(got[0]!.source).toMatch(/^10\.99\.0\.2:/);

      // A WireGuard tunnel between them, both ends with wireguard-go.
      const key = () => run(wg, ["genkey"]).stdout.trim();
      const pub = (k: string) => run(wg, ["pubkey"], { input: `${k}\n` }).stdout.trim();
      const [ka, kb] = [key(), key()];
      const conf = (own: string, addr: string, peer: string, allowed: string, endpoint = "") =>
        `[Interface]\nPrivateKey = ${own}\nAddress = ${addr}\nListenPort = ${endpoint ? 51821 : 51820}\n\n[Peer]\nPublicKey = ${pub(peer)}\nAllowedIPs = ${allowed}\n${endpoint ? `Endpoint = ${endpoint}\n` : ""}`;
      await startWireguard(b, {
        ifname: `${lab.prefix}wb`,
        config: conf(kb, "10.97.0.1/24", ka, "10.97.0.2/32"),
        wireguardGo,
      });
      await startWireguard(a, {
        ifname: `${lab.prefix}wa`,
        config: conf(ka, "10.97.0.2/24", kb, "10.97.0.0/24", "10.99.0.1:51820"),
        wireguardGo,
      });
      await server.listen({ proto: "tcp", host: "10.97.0.1", port: 7 });
      expect(await client.tcp({ host: "10.97.0.1", port: 7, payload: "through-wg" })).toEqual({ connected: true });
      expect((await server.arrivals()).find((x) => x.payload === "through-wg")?.source).toMatch(/^10\.97\.0\.2:/);
    } finally {
      await lab.close();
    }
    expect(namespaces()).not.toContain(lab.prefix);
  });
});
