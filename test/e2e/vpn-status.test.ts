/**
 * `nixlab vpn list` asks the running WireGuard pod for the latest handshakes through the
 * API (pod list, then exec). Against the testbed's real apiserver: no pod, a pod whose
 * exec fails (kwok's pods run nothing), and an unreachable cluster each give a reason,
 * never an exception, and quickly. (The dump it parses is checked against real
 * wireguard-go in test/vpn/users-netns.test.ts.)
 */
import { randomBytes } from "node:crypto";
import { writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { HttpKube } from "../../src/deploy/http-kube.ts";
import { fetchPeerStatus } from "../../src/vpn/status.ts";
import { exampleCluster } from "../support/example.ts";
import { kubeconfig, testbedKube } from "./testbed.ts";

const ns = `vpnu-status-${randomBytes(3).toString("hex")}`;
const cluster = exampleCluster((v) => {
  v.namespaces = { wireguard: ns };
});

describe.skipIf(!kubeconfig)("vpn list's handshakes from the testbed", () => {
  let kube: HttpKube;
  beforeAll(async () => {
    kube = await testbedKube();
    await kube.request("POST", "/api/v1/namespaces", {
      body: { apiVersion: "v1", kind: "Namespace", metadata: { name: ns } },
    });
  });
  afterAll(async () => {
    await kube?.request("DELETE", `/api/v1/namespaces/${ns}`).catch(() => {});
    kube?.close();
  });

  it("says when there is no running WireGuard pod", async () => {
    expect(await fetchPeerStatus(cluster, { kubeconfig: kubeconfig!, timeoutMs: 10_000 })).toEqual({
      error: `no running WireGuard pod in ${ns}`,
    });
  });

  it("says why, when the pod's exec fails", async () => {
    const nodes = await kube.request<{ items: Array<{ metadata: { name: string } }> }>("GET", "/api/v1/nodes");
    await kube.request("POST", `/api/v1/namespaces/${ns}/pods`, {
      body: {
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name: "wireguard-0", labels: { app: "wireguard" } },
        spec: {
          nodeName: nodes.items[0]!.metadata.name,
          containers: [{ name: "wireguard", image: "lscr.io/linuxserver/wireguard:1.0.20250521" }],
          tolerations: [{ operator: "Exists" }],
        },
      },
    });
    for (let i = 0; i < 100; i++) {
      const pod = await kube.request<{ status?: { phase?: string } }>(
        "GET",
        `/api/v1/namespaces/${ns}/pods/wireguard-0`,
      );
      if (pod.status?.phase === "Running") break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const started = Date.now();
    const status = await fetchPeerStatus(cluster, { kubeconfig: kubeconfig!, timeoutMs: 10_000 });
    expect(status).toHaveProperty("error");
    // The testbed runs exec'd commands on the host, where there is no wg0: wg's own words.
    expect((status as { error: string }).error).toMatch(/^wg show failed in wireguard-0: [^\n]+$/);
    expect(Date.now() - started).toBeLessThan(11_000);
  });

  it("says so when the cluster does not answer", async () => {
    const dead = join(tmpdir(), `vpnu-dead-${randomBytes(3).toString("hex")}.kubeconfig`);
    writeFileSync(
      dead,
      JSON.stringify({
        apiVersion: "v1",
        kind: "Config",
        clusters: [{ name: "c", cluster: { server: "https://127.0.0.1:1" } }],
        users: [{ name: "u", user: { token: "t" } }],
        contexts: [{ name: "x", context: { cluster: "c", user: "u" } }],
        "current-context": "x",
      }),
    );
    const status = await fetchPeerStatus(cluster, { kubeconfig: dead, timeoutMs: 3000 });
    expect((status as { error: string }).error).toMatch(/ECONNREFUSED|connect/);
  });
});
