import { describe, expect, it } from "vitest";
import {
  certificateViews,
  deriveGroups,
  type LiveGroup,
  nodeViews,
  type PlanInput,
  vpnUserViews,
} from "../../src/dashboard/model.ts";

const plan: PlanInput = {
  name: "home.example.com",
  groups: [
    { name: "core", dependsOn: [], charts: ["a"], waitFor: [{ kind: "Deployment", name: "a", namespace: "ns" }] },
    { name: "config", dependsOn: ["core"], charts: [], waitFor: [] },
    { name: "apps", dependsOn: ["config"], charts: [], waitFor: [] },
    { name: "side", dependsOn: [], charts: [], waitFor: [] },
  ],
  charts: [
    {
      key: "a",
      group: "core",
      namespace: "ns",
      kind: "helm",
      helm: { repo: "https://charts", chart: "a", version: "1.0.0" },
      objects: [{ apiVersion: "helm.cattle.io/v1", kind: "HelmChart", name: "a", namespace: "kube-system" }],
    },
  ],
};

const live = (over: Partial<LiveGroup> = {}): LiveGroup => ({
  applied: "applied",
  planChanged: false,
  drift: [],
  notReady: [],
  ...over,
});

describe("group states", () => {
  it("ready, not ready with the reason, and blocked naming the group it waits on", () => {
    const groups = deriveGroups(
      plan,
      { core: { status: "ready" }, config: { status: "applied-not-ready" } },
      new Map([
        ["core", live()],
        ["config", live({ notReady: [{ object: "Deployment/ns/x", reason: "0/1 available" }] })],
        ["apps", live({ applied: "absent" })],
        ["side", live({ applied: "absent" })],
      ]),
    );
    const by = Object.fromEntries(groups.map((g) => [g.name, g]));
    expect(by.core).toMatchObject({ state: "ready", live: true, waitsOn: [] });
    expect(by.config).toMatchObject({ state: "not-ready", reason: "Deployment/ns/x: 0/1 available" });
    expect(by.apps).toMatchObject({ state: "blocked", waitsOn: ["config"], reason: "waits on config" });
    expect(by.side).toMatchObject({ state: "never-deployed" });
    expect(by.core!.charts[0]).toEqual({
      key: "a",
      namespace: "ns",
      kind: "helm",
      helm: { repo: "https://charts", chart: "a", version: "1.0.0" },
      objects: ["HelmChart/kube-system/a"],
    });
    expect(by.core!.waitFor).toEqual(["Deployment/ns/a"]);
  });

  it("a failed group says why; an applying one is applying; a missing object makes a group not ready", () => {
    const groups = deriveGroups(
      plan,
      { core: { status: "failed", message: "apply of Deployment/ns/a failed: invalid" }, side: { status: "applying" } },
      new Map([
        ["core", live()],
        ["config", live({ drift: [{ object: "Service/ns/s", problem: "missing" }] })],
        ["apps", live({ applied: "absent" })],
        ["side", live({ applied: "applying" })],
      ]),
    );
    const by = Object.fromEntries(groups.map((g) => [g.name, g]));
    expect(by.core).toMatchObject({ state: "failed", reason: "apply of Deployment/ns/a failed: invalid" });
    // config's own problem is the missing Service, and core (its dependency) is not ready either.
    expect(by.config).toMatchObject({ state: "blocked", waitsOn: ["core"] });
    expect(by.side).toMatchObject({ state: "applying" });
  });

  it("without the cluster, states are the local record's and say so", () => {
    const groups = deriveGroups(plan, { core: { status: "ready" }, config: { status: "applied-not-ready" } }, null);
    expect(groups.map((g) => [g.name, g.state, g.live])).toEqual([
      ["core", "ready", false],
      ["config", "not-ready", false],
      ["apps", "unknown", false],
      ["side", "unknown", false],
    ]);
  });

  it("a group that is ready stays ready even when a dependency is not", () => {
    const groups = deriveGroups(
      plan,
      {},
      new Map([
        ["core", live({ notReady: [{ object: "Deployment/ns/a", reason: "0/1 available" }] })],
        ["config", live()],
        ["apps", live()],
        ["side", live()],
      ]),
    );
    expect(groups.find((g) => g.name === "config")?.state).toBe("ready");
  });
});

describe("certificates, nodes, VPN users", () => {
  const now = Date.parse("2026-11-29T12:00:00Z");
  it("certificates: days left, readiness, soonest first", () => {
    const views = certificateViews(
      [
        {
          metadata: { name: "late", namespace: "a" },
          spec: { dnsNames: ["late.example.com"] },
          status: {
            notAfter: "2027-02-27T12:00:00Z",
            conditions: [{ type: "Ready", status: "True" }],
          },
        },
        {
          metadata: { name: "soon", namespace: "b" },
          spec: { dnsNames: ["soon.example.com"] },
          status: { notAfter: "2026-12-04T12:00:00Z", renewalTime: "2026-11-30T00:00:00Z", conditions: [] },
        },
        { metadata: { name: "new", namespace: "c" }, spec: {}, status: {} },
      ],
      now,
    );
    expect(views.map((v) => [v.name, v.daysLeft, v.ready])).toEqual([
      ["b/soon", 5, false],
      ["a/late", 90, true],
      ["c/new", null, false],
    ]);
    expect(views[2]!.reason).toBe("not issued yet");
  });

  it("nodes: k3s Ready by hostname, missing nodes said, unknown when not asked", () => {
    const nodes = [
      { name: "node1", hostname: "node1", role: "server" as const, tags: ["master"] },
      { name: "node2", hostname: "node2", role: "agent" as const, tags: [] },
      { name: "node3", hostname: "node3", role: "agent" as const, tags: [] },
    ];
    const views = nodeViews(nodes, [
      {
        metadata: { name: "node1" },
        status: { conditions: [{ type: "Ready", status: "True" }], nodeInfo: { kubeletVersion: "v1.34.4+k3s1" } },
      },
      {
        metadata: { name: "node2" },
        status: { conditions: [{ type: "Ready", status: "False", message: "kubelet stopped" }] },
      },
    ]);
    expect(views.map((v) => [v.name, v.ready, v.reason ?? ""])).toEqual([
      ["node1", true, ""],
      ["node2", false, "kubelet stopped"],
      ["node3", null, "not in the cluster (not installed, or not joined yet)"],
    ]);
    expect(views[0]!.kubeletVersion).toBe("v1.34.4+k3s1");
    expect(nodeViews(nodes, null).every((v) => v.ready === null && v.reason === undefined)).toBe(true);
  });

  it("VPN users get the handshake of the peer at their address", () => {
    const users = [
      { name: "alice", ip: "10.0.100.2", group: "admin", enabled: true, expires: null, nextcloudUser: "alice" },
      { name: "bob", ip: "10.0.100.3", group: "family", enabled: true, expires: "2027-01-31", nextcloudUser: null },
    ];
    const views = vpnUserViews(users, new Map([["10.0.100.2", { latestHandshake: 1_780_000_000 }]]));
    expect(views.map((v) => v.lastHandshake)).toEqual([1_780_000_000, null]);
  });
});
