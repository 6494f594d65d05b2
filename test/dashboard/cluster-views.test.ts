/**
 * The in-cluster dashboard's per-user view: identity only with the proxy's token, and a
 * non-admin's answers never contain another user's data (names, addresses, keys, configs).
 * The reader here is a double holding Secrets in memory; test/e2e/dashboard-cluster.test.ts
 * runs the same backend against a real API server with the rendered RBAC.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { clusterBackend } from "../../src/dashboard/cluster.ts";
import type { ClusterReader } from "../../src/dashboard/live.ts";
import type { DevicesView, MeView } from "../../src/dashboard/model.ts";
import { type RunningServer, serveDashboard } from "../../src/dashboard/server.ts";
import { type Site, personOf } from "../../src/dashboard/site.ts";
import type { KObject, ObjectRef } from "../../src/deploy/objects.ts";
import { wireguardPrivateKey, wireguardPublicKey } from "../../src/secrets/generate.ts";

const token = "a".repeat(64);
const keys = Object.fromEntries(
  ["alice", "bob", "bob-laptop", "carol"].map((n) => {
    const priv = wireguardPrivateKey();
    return [n, { priv, pub: wireguardPublicKey(priv) }];
  }),
);
const template = (name: string, ip: string) =>
  `[Interface]\nPrivateKey = __PASTE_${name.toUpperCase()}_PRIVATE_KEY_HERE__\nAddress = ${ip}/32\n\n[Peer]\nPublicKey = __SERVER_PUBLIC_KEY__\nEndpoint = __WG_SERVER_ENDPOINT__:51820\n`;
const user = (name: string, ip: string, group: string, nextcloudUser: string | null, shared: boolean) => ({
  name,
  ip,
  group,
  enabled: true,
  expires: null,
  nextcloudUser,
  admin: group === "admin",
  person: personOf({ name, nextcloudUser: nextcloudUser ?? undefined }),
  configTemplate: shared ? template(name, ip) : null,
});
const site: Site = {
  title: "home.example.com",
  plan: { name: "home.example.com", groups: [], charts: [] },
  inventories: {},
  nodes: [{ name: "node1", hostname: "node1", role: "server", tags: [] }],
  users: [
    user("alice", "10.0.100.2", "admin", "alice", true),
    user("bob", "10.0.100.3", "family", "bob", true),
    user("bob-laptop", "10.0.100.4", "family", "bob", true),
    // carol's own name is bob's Nextcloud user id: she is still someone else.
    user("carol", "10.0.100.5", "friends", null, true),
    user("bob2", "10.0.100.6", "guests", null, false),
  ],
};
const serverKey = wireguardPublicKey(wireguardPrivateKey());

const secrets = new Map<string, KObject>(
  Object.entries(keys).map(([n, k]) => [
    `device-${n}`,
    {
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name: `device-${n}`, namespace: "nixlab-dashboard" },
      data: {
        "private-key": Buffer.from(k.priv).toString("base64"),
        "public-key": Buffer.from(k.pub).toString("base64"),
      },
    },
  ]),
);
const requested: string[] = [];
const reader: ClusterReader = {
  server: "https://kubernetes.default.svc",
  version: async () => ({}),
  resource: async () => ({}),
  get: async (ref: ObjectRef) => {
    requested.push(`${ref.kind}/${ref.namespace}/${ref.name}`);
    return ref.kind === "Secret" ? (secrets.get(ref.name) ?? null) : null;
  },
  list: async () => ({ items: [] }),
};

let server: RunningServer;
beforeAll(async () => {
  server = await serveDashboard({
    host: "127.0.0.1",
    port: 0,
    assets: { html: "<!doctype html>", js: "", css: "" },
    backend: clusterBackend({
      site,
      token,
      server: { publicKey: serverKey, endpoint: "vpn.example.com" },
      reader,
      devicesNamespace: "nixlab-dashboard",
    }),
    allowedHosts: null,
  });
});
afterAll(() => server?.close());

const ask = (path: string, headers: Record<string, string>) => fetch(new URL(path, server.url), { headers });
const as = (name: string) => ({ "X-Nixlab-User": name, "X-Nixlab-Dashboard-Token": token });

describe("identity", () => {
  it("is believed only with the proxy's token", async () => {
    expect((await ask("/api/me", { "X-Nixlab-User": "alice" })).status).toBe(403);
    expect(
      (await ask("/api/me", { "X-Nixlab-User": "alice", "X-Nixlab-Dashboard-Token": "b".repeat(64) })).status,
    ).toBe(403);
    expect(
      (await ask("/api/me", { "X-Nixlab-User": "alice", "X-Nixlab-Dashboard-Token": token.slice(1) })).status,
    ).toBe(403);
    expect((await ask("/api/me", { "X-Nixlab-User": "mallory", "X-Nixlab-Dashboard-Token": token })).status).toBe(403);
    expect((await ask("/api/snapshot", {})).status).toBe(403);
    const me = (await (await ask("/api/me", as("alice"))).json()) as MeView;
    expect(me).toEqual({ mode: "cluster", viewer: { name: "alice", admin: true } });
  });

  it("two user headers are refused, not merged", async () => {
    const res = await fetch(new URL("/api/me", server.url), {
      headers: [
        ["X-Nixlab-User", "bob"],
        ["X-Nixlab-User", "alice"],
        ["X-Nixlab-Dashboard-Token", token],
      ],
    });
    expect(res.status).toBe(403);
  });

  it("writes are refused", async () => {
    const res = await fetch(new URL("/api/me", server.url), { method: "POST", headers: as("alice") });
    expect(res.status).toBe(405);
  });
});

describe("a non-admin sees only their own devices", () => {
  it("bob: his phone and laptop with their configs; nothing of alice, carol or bob2", async () => {
    requested.length = 0;
    const bodies: string[] = [];
    const get = async (path: string, status = 200) => {
      const res = await ask(path, as("bob"));
      expect(res.status, path).toBe(status);
      expect(res.headers.get("cache-control")).toBe("no-store");
      const text = await res.text();
      bodies.push(text);
      return text;
    };
    expect(JSON.parse(await get("/api/me"))).toEqual({ mode: "cluster", viewer: { name: "bob", admin: false } });
    await get("/api/snapshot", 403);
    const view = JSON.parse(await get("/api/me/devices")) as DevicesView;
    expect(view.devices.map((d) => d.name)).toEqual(["bob", "bob-laptop"]);
    expect(view.devices[0]!.config).toContain(`PrivateKey = ${keys.bob!.priv}`);
    expect(view.devices[0]!.config).toContain(`PublicKey = ${serverKey}`);
    expect(view.devices[0]!.config).toContain("Endpoint = vpn.example.com:51820");
    expect(view.devices[0]!.config).not.toContain("__");
    expect(await get("/api/me/devices/bob/config")).toBe(view.devices[0]!.config);
    expect(await get("/api/me/devices/bob-laptop/qr.svg")).toMatch(/^<svg/);
    for (const other of ["alice", "carol", "bob2"]) {
      await get(`/api/me/devices/${other}/config`, 404);
      await get(`/api/me/devices/${other}/qr.svg`, 404);
    }
    const all = bodies.join("\n");
    for (const other of ["alice", "carol", "bob2"]) {
      const u = site.users.find((x) => x.name === other)!;
      expect(all).not.toMatch(new RegExp(`\\b${other}\\b`));
      expect(all).not.toContain(u.ip);
      if (keys[other]) expect(all).not.toContain(keys[other]!.priv);
    }
    // The Secrets read are bob's own, and nothing else.
    expect([...new Set(requested)].sort()).toEqual([
      "Secret/nixlab-dashboard/device-bob",
      "Secret/nixlab-dashboard/device-bob-laptop",
    ]);
  });

  it("carol, whose name is bob's Nextcloud user id, sees only her own device", async () => {
    const view = (await (await ask("/api/me/devices", as("carol"))).json()) as DevicesView;
    expect(view.devices.map((d) => d.name)).toEqual(["carol"]);
  });

  it("a device whose config is not shared, or whose key changed, has no config and says why", async () => {
    const view = (await (await ask("/api/me/devices", as("bob2"))).json()) as DevicesView;
    expect(view.devices).toMatchObject([{ name: "bob2", config: null, configNote: expect.stringMatching(/admin/) }]);
    const saved = secrets.get("device-carol")!;
    secrets.set("device-carol", {
      ...saved,
      data: { ...saved.data, "public-key": Buffer.from(keys.alice!.pub).toString("base64") },
    });
    const changed = (await (await ask("/api/me/devices", as("carol"))).json()) as DevicesView;
    expect(changed.devices[0]).toMatchObject({ config: null, configNote: expect.stringMatching(/changed/) });
    expect((await ask("/api/me/devices/carol/config", as("carol"))).status).toBe(404);
    secrets.set("device-carol", saved);
  });
});
