import { describe, expect, test } from "vitest";
import { runDag } from "../../src/deploy/scheduler.ts";
import { topoOrder } from "../../src/plan/dag.ts";
import { UserError } from "../../src/errors.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("DAG scheduler", () => {
  test("a group starts as soon as its own dependencies succeeded, independent ones run concurrently", async () => {
    const nodes = [
      { name: "core", dependsOn: [] },
      { name: "config", dependsOn: ["core"] },
      { name: "slow", dependsOn: ["config"] },
      { name: "fast", dependsOn: ["config"] },
      { name: "after-fast", dependsOn: ["fast"] },
    ];
    const events: string[] = [];
    const delays: Record<string, number> = { slow: 60, fast: 5, core: 5, config: 5, "after-fast": 5 };
    await runDag(nodes, 8, async (name) => {
      events.push(`start ${name}`);
      await sleep(delays[name]!);
      events.push(`end ${name}`);
      return true;
    });
    // after-fast does not wait for slow (no strict list order as in the original).
    expect(events.indexOf("end after-fast")).toBeLessThan(events.indexOf("end slow"));
    expect(events.indexOf("start config")).toBeGreaterThan(events.indexOf("end core"));
  });

  test("dependents of a failed or not-ready group never start; unrelated groups still run", async () => {
    const started: string[] = [];
    const blocked: Array<[string, string[]]> = [];
    const results = await runDag(
      [
        { name: "a", dependsOn: [] },
        { name: "b", dependsOn: ["a"] },
        { name: "c", dependsOn: ["b"] },
        { name: "d", dependsOn: [] },
      ],
      2,
      async (name) => {
        started.push(name);
        return name !== "a";
      },
      (name, by) => blocked.push([name, by]),
    );
    expect(started.sort()).toEqual(["a", "d"]);
    expect(results.get("b")).toEqual({ status: "blocked", by: ["a"] });
    expect(results.get("c")).toEqual({ status: "blocked", by: ["b"] });
    expect(blocked.map(([n]) => n)).toEqual(["b", "c"]);
  });

  test("concurrency is bounded", async () => {
    let running = 0;
    let peak = 0;
    await runDag(
      Array.from({ length: 6 }, (_, i) => ({ name: `g${i}`, dependsOn: [] })),
      2,
      async () => {
        running++;
        peak = Math.max(peak, running);
        await sleep(5);
        running--;
        return true;
      },
    );
    expect(peak).toBe(2);
  });

  test("names are matched exactly, never as substrings (defect 4), and cycles are refused", () => {
    expect(
      topoOrder([
        { name: "dns-services", dependsOn: ["dns"] },
        { name: "dns", dependsOn: [] },
      ]),
    ).toEqual(["dns", "dns-services"]);
    expect(() => topoOrder([{ name: "dns-services", dependsOn: ["dns"] }])).toThrow(UserError);
    expect(() =>
      topoOrder([
        { name: "a", dependsOn: ["b"] },
        { name: "b", dependsOn: ["a"] },
      ]),
    ).toThrow(/cycle: a -> b -> a/);
  });
});
