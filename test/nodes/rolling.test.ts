/**
 * rollNodes' own logic with a recorded cluster and machine (the real apiserver, kwok
 * nodes and stand-in nixos-rebuild are in test/e2e/rollout.test.ts): order (agents
 * bounded, master last and alone), stop at the first failure, going back only when the
 * running system changed, and label selectors as PodDisruptionBudgets use them.
 */
import { describe, expect, it } from "vitest";
import { type ClusterNodes, selects } from "../../src/nodes/node-health.ts";
import { type NodeMachine, rollNodes } from "../../src/nodes/rollout.ts";
import type { NodeSpec } from "../../src/nodes/spec.ts";
import { exampleCluster } from "./support.ts";
import { nodeSpecs } from "../../src/nodes/spec.ts";

const specs = nodeSpecs(await exampleCluster());

function fakes(opts: { unhealthyAfterSwitch?: string; failBuild?: string; failActivate?: string } = {}) {
  const log: string[] = [];
  const running = new Map<string, string>(specs.map((s) => [s.hostname, `/nix/store/${"0".repeat(32)}-old`]));
  const broken = new Set<string>();
  let active = 0;
  let maxActive = 0;
  const cluster: ClusterNodes = {
    async setUnschedulable(node, on) {
      log.push(`${on ? "cordon" : "uncordon"} ${node}`);
    },
    async drain(node) {
      log.push(`drain ${node}`);
    },
    async unhealthy(node) {
      return broken.has(node) ? `node ${node} is not Ready` : null;
    },
  };
  const machine: NodeMachine = {
    async currentSystem(spec) {
      return running.get(spec.hostname)!;
    },
    async rebuild(spec, goal) {
      active++;
      maxActive = Math.max(maxActive, active);
      await new Promise((r) => setTimeout(r, 20));
      active--;
      log.push(`${goal} ${spec.hostname}`);
      if (opts.failBuild === spec.hostname) {
        return {
          hostname: spec.hostname,
          ok: false,
          exitCode: 1,
          seconds: 0,
          logFile: "x.log",
          reason: "build failed",
        };
      }
      running.set(spec.hostname, `/nix/store/${"1".repeat(32)}-new`);
      if (opts.unhealthyAfterSwitch === spec.hostname) broken.add(spec.hostname);
      return { hostname: spec.hostname, ok: true, exitCode: 0, seconds: 0, logFile: "x.log" };
    },
    async activate(spec, system) {
      log.push(`back ${spec.hostname} ${system.slice(-3)}`);
      if (opts.failActivate === spec.hostname) return "ssh: connection refused";
      running.set(spec.hostname, system);
      broken.delete(spec.hostname);
      return null;
    },
  };
  return { log, cluster, machine, maxActive: () => maxActive };
}

const roll = (f: ReturnType<typeof fakes>, nodes: readonly NodeSpec[] = specs, limit = 4) =>
  rollNodes({
    nodes,
    goal: "switch",
    limit,
    print: () => {},
    cluster: f.cluster,
    machine: f.machine,
    healthTimeoutMs: 50,
    drainTimeoutMs: 50,
    pollMs: 10,
  });

describe("rollNodes", () => {
  it("rolls agents (bounded) before the master, alone, each cordoned, drained, switched, uncordoned", async () => {
    const f = fakes();
    const outcomes = await roll(f, specs, 2);
    expect(outcomes.every((o) => o.ok)).toBe(true);
    expect(outcomes.at(-1)!.hostname).toBe("node1");
    expect(f.maxActive()).toBe(2);
    const node1 = f.log.filter((l) => l.endsWith("node1"));
    expect(node1).toEqual(["cordon node1", "drain node1", "switch node1", "uncordon node1"]);
    expect(f.log.indexOf("cordon node1")).toBeGreaterThan(f.log.lastIndexOf("uncordon node3"));
  });

  it("switches an unhealthy node back, uncordons it once healthy, and stops the rollout", async () => {
    const f = fakes({ unhealthyAfterSwitch: "node2" });
    const outcomes = await roll(f, specs, 1);
    expect(outcomes).toHaveLength(1);
    expect(outcomes[0]).toMatchObject({
      hostname: "node2",
      ok: false,
      stage: "health",
      rolledBack: true,
      leftCordoned: false,
    });
    expect(f.log).toEqual(["cordon node2", "drain node2", "switch node2", "back node2 old", "uncordon node2"]);
  });

  it("does not switch back when a failed rebuild activated nothing", async () => {
    const f = fakes({ failBuild: "node3" });
    const outcomes = await roll(
      f,
      specs.filter((s) => s.hostname === "node3"),
    );
    expect(outcomes[0]).toMatchObject({ ok: false, stage: "switch", rolledBack: false });
    expect(outcomes[0]!.reason).toContain("nothing was activated");
    expect(f.log.some((l) => l.startsWith("back"))).toBe(false);
    expect(f.log.at(-1)).toBe("uncordon node3");
  });

  it("leaves a node cordoned when going back fails, and says so", async () => {
    const f = fakes({ unhealthyAfterSwitch: "node2", failActivate: "node2" });
    const [o] = await roll(
      f,
      specs.filter((s) => s.hostname === "node2"),
    );
    expect(o).toMatchObject({ ok: false, rolledBack: false, leftCordoned: true });
    expect(o!.reason).toContain("switching back to /nix/store/");
    expect(o!.reason).toContain("FAILED: ssh: connection refused; node2 stays cordoned");
    expect(f.log).not.toContain("uncordon node2");
  });
});

describe("selects (PodDisruptionBudget selectors)", () => {
  it("follows matchLabels and matchExpressions", () => {
    expect(selects({ matchLabels: { app: "a" } }, { app: "a", x: "1" })).toBe(true);
    expect(selects({ matchLabels: { app: "a" } }, { app: "b" })).toBe(false);
    expect(selects({ matchExpressions: [{ key: "tier", operator: "In", values: ["db"] }] }, { tier: "db" })).toBe(true);
    expect(selects({ matchExpressions: [{ key: "tier", operator: "NotIn", values: ["db"] }] }, {})).toBe(true);
    expect(selects({ matchExpressions: [{ key: "tier", operator: "Exists" }] }, {})).toBe(false);
    expect(selects(undefined, { app: "a" })).toBe(false);
  });
});
