/**
 * The engine under network faults, on a private testbed (its apiserver and etcd are
 * restarted here, so no other test shares it):
 *  - 20 deploys of the whole catalog (alternating two variants: a Helm chart's values, a
 *    Secret's value and a Job template of our own change) through a TCP proxy that drops,
 *    resets, stalls, black-holes and slows connections at random byte offsets (fixed
 *    seed): each converges; no object is duplicated (uids stable), none is stray, and no
 *    Job is created more often than its template changed;
 *  - the apiserver and etcd killed and restarted in the middle of a deploy: the same run
 *    converges once they are back;
 *  - the CLI SIGKILLed at 20 random moments and re-run: converges, no orphan lock or
 *    temporary file.
 */
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { KubeClient } from "../../src/deploy/client.ts";
import { deploy } from "../../src/deploy/engine.ts";
import type { DeployReport } from "../../src/deploy/events.ts";
import type { HttpKube } from "../../src/deploy/http-kube.ts";
import { inventoryLabel } from "../../src/deploy/inventory.ts";
import { type KObject, managedByLabel, refKey } from "../../src/deploy/objects.ts";
import { type SecretSource, sopsSource } from "../../src/deploy/secrets.ts";
import { FileStateStore } from "../../src/deploy/state.ts";
import { type LoadedPlan, loadPlan } from "../../src/plan/load.ts";
import { type HelmStandIn, installCrds, startHelmStandIn } from "../../testbed/helm-standin.ts";
import { job } from "../deploy/fixture.ts";
import { spawnCli } from "./cli.ts";
import { type FaultProxy, seededRandom, startFaultProxy } from "./fault-proxy.ts";
import { connectKube, crdDir, kubeconfig, privateTestbed, root } from "./testbed.ts";
import { rewriteBuild } from "./variants.ts";

const seed = 20261129;
const tbDir = join(root, ".testbed/faults");
const example = join(root, "examples/homelab");
const jobsNs = "fault-jobs";

const testbed = (script: string, ...args: string[]): string => privateTestbed(tbDir, script, ...args);

describe.skipIf(!kubeconfig)("the engine under faults", () => {
  let dir: string;
  let kc: string;
  let kube: HttpKube;
  let proxy: FaultProxy;
  let faulty: HttpKube;
  let standin: HelmStandIn;
  const plans: LoadedPlan[] = [];
  const sources: SecretSource[] = [];
  const secretDirs: string[] = [];
  const jobUids = new Map<string, Set<string>>();
  const stopWatch = new AbortController();
  let uidsAfterFirst = new Map<string, string>();
  const started = Date.now();

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "nixlab-e2e-faults-"));
    testbed("down.sh");
    kc = testbed("up.sh");
    kube = connectKube(kc);
    await installCrds(kube, crdDir, ["helm.cattle.io_"]);
    const build = await spawnCli([
      "build",
      "--config",
      join(example, "nixlab.yaml"),
      "--out",
      join(dir, "build"),
      "--no-nodes",
    ]);
    expect(build.code, build.stderr).toBe(0);
    // Two variants of the whole catalog, plus a group with a Job of our own.
    for (const v of ["a", "b"]) {
      rewriteBuild(
        join(dir, "build"),
        join(dir, v),
        (chart, objects) => {
          if (chart !== "pihole" || v === "a") return objects;
          const [helm] = objects;
          return [{ ...helm!, spec: { ...helm!.spec, valuesContent: `${helm!.spec.valuesContent}# variant b\n` } }];
        },
        [{ name: "fault-jobs", charts: { "fault-job": [job(jobsNs, "migrate", `variant-${v}`)] }, timeoutSeconds: 60 }],
      );
      plans.push(await loadPlan(join(dir, v, "deploy-plan.json")));
    }
    const sops = sopsSource(join(example, "secrets.yaml"), { ageKeyFile: join(example, "age-key.txt") });
    for (const v of ["a", "b"]) {
      const values = new Map<string, Uint8Array>();
      for (const s of plans[0]!.plan.secrets)
        for (const k of s.keys) values.set(k.sopsSecret, await sops.get(k.sopsSecret));
      if (v === "b") values.set("cloudflare_token", Buffer.from("token-of-variant-b"));
      sources.push({ description: `values ${v}`, get: async (name) => values.get(name)! });
      const sd = join(dir, `secrets-${v}`);
      for (const [name, value] of values) {
        mkdirSync(dirname(join(sd, name)), { recursive: true });
        writeFileSync(join(sd, name), value);
      }
      secretDirs.push(sd);
    }
    standin = startHelmStandIn({ kube, plan: plans[0]!.plan, crdDir });
    const port = Number(readFileSync(join(tbDir, "run/apiserver.port"), "utf8"));
    proxy = await startFaultProxy({ host: "127.0.0.1", port });
    faulty = connectKube(proxy.kubeconfigFor(kc, join(dir, "faulty.kubeconfig")), {
      requestTimeoutMs: 2000,
      watchWindowSeconds: 5,
    });
    void watchJobs(kube, jobUids, stopWatch.signal);
  }, 180_000);

  afterAll(async () => {
    stopWatch.abort();
    await standin?.stop().catch(() => {});
    await proxy?.close();
    faulty?.close();
    kube?.close();
    try {
      testbed("down.sh");
    } catch {
      // Nothing to stop when it never came up.
    }
    if (dir) rmSync(dir, { recursive: true, force: true });
    process.stderr.write(`fault suite: ${((Date.now() - started) / 1000).toFixed(0)} s\n`);
  });

  const deployUntilOk = async (
    client: KubeClient,
    variant: number,
    attempts = 8,
  ): Promise<{ report: DeployReport; attempts: number }> => {
    for (let i = 1; ; i++) {
      const report = await deploy({
        plan: plans[variant]!,
        kube: client,
        store: new FileStateStore(join(dir, "state")),
        secrets: sources[variant]!,
        apiTimeoutMs: 20_000,
      });
      if (report.result === "ok" || i >= attempts) return { report, attempts: i };
      const why = report.groups.filter((g) => g.phase !== "ready" && g.phase !== "unchanged");
      process.stderr.write(
        `run ${i} did not converge: ${why.map((g) => `${g.name} ${g.phase}: ${g.message}`).join("; ")}\n`,
      );
    }
  };

  test("20 deploys of the whole catalog through a faulty network converge: no duplicate or stray object, no Job created twice", async () => {
    proxy.setFaults({
      seed,
      rates: { drop: 0.05, reset: 0.2, stall: 0.1, blackhole: 0.03, slow: 0.05 },
      maxStallMs: 2500,
      maxOffset: 100_000,
    });
    const attempts: number[] = [];
    const seconds: string[] = [];
    for (let i = 0; i < 20; i++) {
      const { report, attempts: n } = await deployUntilOk(faulty, i % 2);
      expect(
        report.result,
        `deploy ${i + 1}: ${report.groups
          .filter((g) => g.message)
          .map((g) => `${g.name}: ${g.message}`)
          .join("; ")}`,
      ).toBe("ok");
      attempts.push(n);
      seconds.push((report.durationMs / 1000).toFixed(1));
      if (i === 0) uidsAfterFirst = await planUids(kube, plans[0]!);
    }
    proxy.setFaults(null);
    process.stderr.write(
      `faults: ${JSON.stringify(proxy.stats)}; runs per converged deploy: ${attempts.join(",")}; seconds of the last run: ${seconds.join(",")}\n`,
    );
    expect(proxy.stats.reset + proxy.stats.drop + proxy.stats.stall + proxy.stats.blackhole).toBeGreaterThan(20);

    // Converged: a run without faults has nothing to write.
    const settled = await deploy({
      plan: plans[1]!,
      kube,
      store: new FileStateStore(join(dir, "state")),
      secrets: sources[1]!,
    });
    expect(settled.requests.writes).toBe(0);
    // No duplicates: every object kept the identity it got in the first deploy (the Job is recreated by design).
    const uids = await planUids(kube, plans[1]!);
    const recreated = [...uidsAfterFirst].filter(
      ([key, uid]) => uids.get(key) !== uid && key !== `Job/${jobsNs}/migrate`,
    );
    expect(recreated).toEqual([]);
    expect(await strays(kube, plans[1]!)).toEqual([]);
    // Jobs: ours once per template (20 deploys, 20 templates), pihole's install once per values change.
    await new Promise((r) => setTimeout(r, 1000));
    const created = Object.fromEntries([...jobUids].map(([name, set]) => [name, set.size]));
    expect(created[`${jobsNs}/migrate`]).toBe(20);
    expect(created["kube-system/helm-install-pihole"]).toBe(20);
    for (const [name, n] of Object.entries(created)) if (!/migrate|pihole/.test(name)) expect(n, name).toBe(1);
  }, 600_000);

  test("the apiserver and etcd killed and restarted in the middle of a deploy: the same run converges when they are back", async () => {
    const state = new FileStateStore(join(dir, "state"));
    let applying!: () => void;
    const reachedApply = new Promise<void>((r) => (applying = r));
    const run = deploy({
      plan: plans[0]!,
      kube,
      store: state,
      secrets: sources[0]!,
      apiTimeoutMs: 120_000,
      sink: (e) => e.type === "group" && e.phase === "applying" && applying(),
    });
    await reachedApply;
    testbed("restart.sh", "stop", "apiserver", "etcd");
    await new Promise((r) => setTimeout(r, 2000));
    testbed("restart.sh", "start", "etcd", "apiserver");
    const report = await run;
    expect(report.result, report.groups.map((g) => `${g.name}: ${g.phase} ${g.message ?? ""}`).join("\n")).toBe("ok");
    const after = await deploy({ plan: plans[0]!, kube, store: state, secrets: sources[0]! });
    expect(after.requests.writes).toBe(0);
  }, 300_000);

  test("the CLI SIGKILLed at 20 random moments, then re-run: converges, and no lock or temporary file is left", async () => {
    const random = seededRandom(seed);
    const stateDir = join(dir, "cli-state");
    const args = (v: number) => [
      "deploy",
      "--kubeconfig",
      kc,
      "--plan",
      join(dir, v ? "b" : "a", "deploy-plan.json"),
      "--secrets-dir",
      secretDirs[v]!,
      "--state",
      stateDir,
      "--api-timeout",
      "60",
    ];
    for (let i = 0; i < 20; i++) {
      const child = spawn(process.execPath, [join(root, "bin/nixlab.js"), ...args(i % 2), "--log-format", "plain"], {
        stdio: "ignore",
      });
      // Listened for from the start: a run that finishes before its kill has already exited.
      const exited = new Promise((r) => child.once("exit", r));
      await new Promise((r) => setTimeout(r, 200 + Math.floor(random() * 2000)));
      child.kill("SIGKILL");
      await exited;
    }
    const last = await spawnCli([...args(1), "--json"]);
    expect(last.code, last.stderr.slice(-1500)).toBe(0);
    const again = await spawnCli([...args(1), "--json"]);
    expect(JSON.parse(again.stdout).requests.writes).toBe(0);
    expect(readdirSync(stateDir).sort()).toEqual(["state.json"]);
  }, 300_000);
});

/** uid of every object the plan renders, by "Kind/ns/name". */
async function planUids(kube: KubeClient, loaded: LoadedPlan): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const c of loaded.plan.charts) {
    for (const ref of c.objects) {
      const live = await kube.get(ref);
      if (live?.metadata.uid) out.set(refKey(ref), live.metadata.uid);
    }
  }
  return out;
}

/** Objects labelled as nixlab's that the plan does not render (inventories and the hash key aside). */
async function strays(kube: KubeClient, loaded: LoadedPlan): Promise<string[]> {
  const rendered = new Set(loaded.plan.charts.flatMap((c) => c.objects.map(refKey)));
  for (const s of loaded.plan.secrets) rendered.add(refKey({ kind: "Secret", name: s.name, namespace: s.namespace }));
  for (const ns of loaded.plan.namespaces) rendered.add(refKey({ kind: "Namespace", name: ns }));
  const kinds = new Map<string, string>([
    ["Namespace", "v1"],
    ["Secret", "v1"],
    ["ConfigMap", "v1"],
  ]);
  for (const c of loaded.plan.charts) for (const o of c.objects) kinds.set(o.kind, o.apiVersion);
  const out: string[] = [];
  for (const [kind, apiVersion] of kinds) {
    const { items } = await kube.list(apiVersion, kind, { labelSelector: `${managedByLabel}=nixlab` });
    for (const o of items) {
      const key = refKey({ kind, name: o.metadata.name, namespace: o.metadata.namespace });
      const ours =
        rendered.has(key) || !!o.metadata.labels?.[inventoryLabel] || key === "Secret/kube-system/nixlab-hash-key";
      if (!ours) out.push(key);
    }
  }
  return out;
}

/** Records every Job's uid as it is created (a watch over the whole run). */
async function watchJobs(kube: KubeClient, uids: Map<string, Set<string>>, signal: AbortSignal): Promise<void> {
  const seen = (o: KObject) => {
    const key = `${o.metadata.namespace}/${o.metadata.name}`;
    uids.set(key, (uids.get(key) ?? new Set()).add(o.metadata.uid!));
  };
  while (!signal.aborted) {
    try {
      const { items, resourceVersion } = await kube.list("batch/v1", "Job");
      for (const j of items) seen(j);
      await kube.watch(
        { apiVersion: "batch/v1", kind: "Job" },
        { resourceVersion },
        (ev) => {
          if (ev.type === "ADDED" || ev.type === "MODIFIED") seen(ev.object);
          return false;
        },
        signal,
      );
    } catch {
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}
