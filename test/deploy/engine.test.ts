/**
 * The engine's decisions against an in-memory API (test/deploy/fake-kube.ts): what a
 * no-op, a drift, --only and a fresh state dir read, write and report. The same
 * behaviours are proven on the real testbed in test/e2e/.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { deploy } from "../../src/deploy/engine.ts";
import { emptyState, type DeployState, type StateStore } from "../../src/deploy/state.ts";
import { loadPlan } from "../../src/plan/load.ts";
import { configMap, deployment, writePlan } from "./fixture.ts";
import { FakeKube } from "./fake-kube.ts";

function memoryStore(): StateStore & { state: DeployState } {
  const store = {
    where: "memory",
    state: emptyState(),
    async load() {
      return structuredClone(store.state);
    },
    async save(s: DeployState) {
      store.state = structuredClone(s);
    },
    async lock() {
      return { release: async () => {} };
    },
  };
  return store;
}

async function twoGroups() {
  const dir = mkdtempSync(join(tmpdir(), "nixlab-engine-unit-"));
  const path = writePlan(dir, [
    { name: "base", charts: { base: [configMap("ns", "settings", { a: "1" })] } },
    {
      name: "app",
      dependsOn: ["base"],
      charts: { app: [configMap("ns", "app", { b: "2" }), deployment("ns", "web")] },
    },
  ]);
  return await loadPlan(path);
}

describe("deploy decisions", () => {
  test("a second deploy reads, writes nothing and calls every object unchanged", async () => {
    const kube = new FakeKube();
    const plan = await twoGroups();
    const store = memoryStore();
    const first = await deploy({ plan, kube, store });
    expect(first.result).toBe("ok");
    kube.writes.length = 0;
    const again = await deploy({ plan, kube, store });
    expect(kube.writes).toEqual([]);
    expect(again.requests.writes).toBe(0);
    expect(again.groups.map((g) => g.phase)).toEqual(["unchanged", "unchanged"]);
    expect(again.changes.filter((c) => c.action !== "unchanged")).toEqual([]);
  });

  test("the last apply's change set is kept per group until the group is applied again", async () => {
    const kube = new FakeKube();
    const plan = await twoGroups();
    const store = memoryStore();
    await deploy({ plan, kube, store });
    const first = store.state.groups.app?.lastChanges;
    expect(first?.entries).toEqual([
      { object: "ConfigMap/ns/app", action: "created" },
      { object: "Deployment/ns/web", action: "created" },
    ]);
    expect(first?.at).toBe(store.state.groups.app?.appliedAt);
    // A no-op run applies nothing: the record still says what the last apply did.
    await deploy({ plan, kube, store });
    expect(store.state.groups.app?.lastChanges).toEqual(first);
    expect(store.state.groups.base?.lastChanges?.entries).toEqual([
      { object: "ConfigMap/ns/settings", action: "created" },
    ]);
  });

  test("a field changed by another manager is drift: reported, and taken back by our apply", async () => {
    const kube = new FakeKube();
    const plan = await twoGroups();
    const store = memoryStore();
    await deploy({ plan, kube, store });
    kube.patch({ apiVersion: "v1", kind: "ConfigMap", namespace: "ns", name: "app" }, { data: { b: "by hand" } });
    const events: string[] = [];
    const report = await deploy({
      plan,
      kube,
      store,
      sink: (e) => e.type === "group" && e.detail && events.push(e.detail),
    });
    expect(events.join("\n")).toMatch(/drift: ConfigMap\/ns\/app fields nixlab sets were changed by kubectl-patch/);
    expect(report.changes.find((c) => c.object === "ConfigMap/ns/app")?.action).toBe("configured");
    expect(report.groups.map((g) => [g.name, g.phase, g.applied])).toEqual([
      ["base", "unchanged", false],
      ["app", "ready", true],
    ]);
    expect((await kube.get({ apiVersion: "v1", kind: "ConfigMap", namespace: "ns", name: "app" }))?.data).toEqual({
      b: "2",
    });
    kube.writes.length = 0;
    await deploy({ plan, kube, store });
    expect(kube.writes).toEqual([]);
  });

  test("--only: the selected group decides the result; the others are 'not selected'", async () => {
    const kube = new FakeKube();
    const plan = await twoGroups();
    const store = memoryStore();
    await deploy({ plan, kube, store });
    const report = await deploy({ plan, kube, store, only: ["app"] });
    expect(report.result).toBe("ok");
    expect(report.exitCode).toBe(0);
    const base = report.groups.find((g) => g.name === "base")!;
    expect(base.phase).toBe("not-selected");
    expect(base.message).toMatch(/^not selected \(ready since /);
  });

  test("a hook that failed is tried again by the next run, although its group is unchanged", async () => {
    const kube = new FakeKube();
    const dir = mkdtempSync(join(tmpdir(), "nixlab-engine-unit-"));
    const hook = {
      name: "setup",
      after: "app",
      target: { namespace: "ns", deployment: "web", container: "main" },
      runAs: "www-data",
      occ: { apps: [], settings: [] },
    };
    const plan = await loadPlan(
      writePlan(dir, [{ name: "app", charts: { app: [deployment("ns", "web")] } }], [], [hook]),
    );
    const store = memoryStore();
    const first = await deploy({ plan, kube, store });
    // The fake has no pods: the hook cannot run.
    expect(first.hooks.map((h) => [h.name, h.status, h.message])).toEqual([
      ["setup", "failed", "no ready pod of deployment ns/web"],
    ]);
    const again = await deploy({ plan, kube, store });
    expect(again.groups[0]?.phase).toBe("ready");
    expect(again.hooks.map((h) => h.name)).toEqual(["setup"]);
    expect(again.requests.writes).toBe(0);
  });

  test("a fresh state dir: the cluster's inventory says what was applied, so nothing is written", async () => {
    const kube = new FakeKube();
    const plan = await twoGroups();
    await deploy({ plan, kube, store: memoryStore() });
    kube.writes.length = 0;
    const report = await deploy({ plan, kube, store: memoryStore() });
    expect(kube.writes).toEqual([]);
    expect(report.result).toBe("ok");
    expect(report.groups.map((g) => g.phase)).toEqual(["ready", "ready"]);
  });
});
