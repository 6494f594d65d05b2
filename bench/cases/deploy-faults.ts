/**
 * The deploy engine's own figures on a private testbed (.testbed/bench-faults), with the
 * example catalog and k3s's helm controller played by testbed/helm-standin.ts:
 *  - no-op redeploy: the engine's in-process time (process start excluded: see the
 *    CLI start figures), median of several runs, and its write requests;
 *  - 20 deploys alternating two variants of the catalog (a chart's values, a Secret, a
 *    Job template), first on a clean network, then through the fault proxy of the e2e
 *    suite (fixed seed): how many converge, and what the faults cost in time.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { KubeClient } from "../../src/deploy/client.ts";
import { deploy } from "../../src/deploy/engine.ts";
import { HttpKube } from "../../src/deploy/http-kube.ts";
import { loadKubeconfig } from "../../src/deploy/kubeconfig.ts";
import { type SecretSource, sopsSource } from "../../src/deploy/secrets.ts";
import { FileStateStore } from "../../src/deploy/state.ts";
import { type LoadedPlan, loadPlan } from "../../src/plan/load.ts";
import { job } from "../../test/deploy/fixture.ts";
import { startFaultProxy } from "../../test/e2e/fault-proxy.ts";
import { rewriteBuild } from "../../test/e2e/variants.ts";
import { installCrds, startHelmStandIn } from "../../testbed/helm-standin.ts";
import { root, testbed } from "../measure.ts";
import type { BenchCase, BenchRow } from "../types.ts";

const example = join(root, "examples/homelab");
const tbDir = join(root, ".testbed/bench-faults");
const seed = 20261129;
const deploys = 20;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const faultsCase: BenchCase = async () => {
  const work = mkdtempSync(join(tmpdir(), "nixlab-bench-faults-"));
  const rows: BenchRow[] = [];
  try {
    const build = spawnSync(
      process.execPath,
      [
        join(root, "bin/nixlab.js"),
        "build",
        "--config",
        join(example, "nixlab.yaml"),
        "--out",
        join(work, "build"),
        "--no-nodes",
      ],
      { encoding: "utf8" },
    );
    if (build.status !== 0) throw new Error(`nixlab build failed: ${build.stderr}`);
    const plans: LoadedPlan[] = [];
    for (const v of ["a", "b"]) {
      rewriteBuild(
        join(work, "build"),
        join(work, v),
        (chart, objects) =>
          chart === "pihole" && v === "b"
            ? objects.map((o) => ({ ...o, spec: { ...o.spec, valuesContent: `${o.spec.valuesContent}# b\n` } }))
            : objects,
        [{ name: "fault-jobs", charts: { "fault-job": [job("fault-jobs", "migrate", v)] }, timeoutSeconds: 60 }],
      );
      plans.push(await loadPlan(join(work, v, "deploy-plan.json")));
    }
    const sops = sopsSource(join(example, "secrets.yaml"), { ageKeyFile: join(example, "age-key.txt") });
    const sources: SecretSource[] = [
      sops,
      { description: "variant b", get: async (n) => (n === "cloudflare_token" ? Buffer.from("b") : await sops.get(n)) },
    ];
    testbed("down", tbDir);
    const kubeconfig = testbed("up", tbDir);
    const kube = new HttpKube(loadKubeconfig({ kubeconfig }));
    await installCrds(kube, join(root, ".testbed/crds"), ["helm.cattle.io_"]);
    const standin = startHelmStandIn({ kube, plan: plans[0]!.plan, crdDir: join(root, ".testbed/crds") });
    const store = new FileStateStore(join(work, "state"));
    const run = (client: KubeClient, v: number) =>
      deploy({ plan: plans[v]!, kube: client, store, secrets: sources[v]!, apiTimeoutMs: 20_000 });

    // No-op: the engine's own work, in this process (the CLI start is measured elsewhere).
    await run(kube, 0);
    const noop: number[] = [];
    const cpu: number[] = [];
    let writes = 0;
    for (let i = 0; i < 7; i++) {
      const fresh = new HttpKube(loadKubeconfig({ kubeconfig }));
      const t = performance.now();
      const c = process.cpuUsage();
      const r = await run(fresh, 0);
      const used = process.cpuUsage(c);
      noop.push(performance.now() - t);
      cpu.push((used.user + used.system) / 1000);
      writes += r.requests.writes;
      fresh.close();
    }
    const noopMs = median(noop);
    rows.push({
      name: "deploy: no-op redeploy, engine in-process time (median of 7, new connection each)",
      value: noopMs,
      unit: "ms",
      goal: "<= 300",
      met: noopMs <= 300,
    });
    rows.push({
      name: "deploy: no-op redeploy, engine CPU time (median of 7; the API server's own time excluded)",
      value: median(cpu),
      unit: "ms",
    });
    rows.push({
      name: "deploy: no-op redeploy, write requests (7 runs)",
      value: writes,
      unit: "count",
      goal: "0",
      met: writes === 0,
    });

    // 20 deploys, clean network, then through the fault proxy.
    const series = async (client: KubeClient) => {
      const t = performance.now();
      let converged = 0;
      let runs = 0;
      for (let i = 0; i < deploys; i++) {
        for (let attempt = 1; attempt <= 8; attempt++) {
          runs++;
          if ((await run(client, (i + 1) % 2)).result === "ok") {
            converged++;
            break;
          }
        }
      }
      return { seconds: (performance.now() - t) / 1000, converged, runs };
    };
    const clean = await series(kube);
    const port = Number(readFileSync(join(tbDir, "run/apiserver.port"), "utf8"));
    const proxy = await startFaultProxy({ host: "127.0.0.1", port });
    proxy.setFaults({
      seed,
      rates: { drop: 0.05, reset: 0.2, stall: 0.1, blackhole: 0.03, slow: 0.05 },
      maxStallMs: 2500,
      maxOffset: 100_000,
    });
    const faulty = new HttpKube(
      loadKubeconfig({ kubeconfig: proxy.kubeconfigFor(kubeconfig, join(work, "faulty.kubeconfig")) }),
      {
        requestTimeoutMs: 2000,
        watchWindowSeconds: 5,
      },
    );
    const faults = await series(faulty);
    const struck = proxy.stats.drop + proxy.stats.reset + proxy.stats.stall + proxy.stats.blackhole + proxy.stats.slow;
    faulty.close();
    await proxy.close();
    await standin.stop();
    kube.close();
    rows.push({
      name: `deploy under faults: ${deploys} catalog deploys converged (seed ${seed}, ${struck} of ${struck + proxy.stats.pass} connections faulted)`,
      value: faults.converged,
      unit: "count",
      goal: `${deploys}`,
      met: faults.converged === deploys,
    });
    rows.push({
      name: "deploy under faults: runs needed for them",
      value: faults.runs,
      unit: "count",
      baseline: { name: "clean network", value: clean.runs },
    });
    rows.push({
      name: `deploy under faults: ${deploys} deploys, wall time`,
      value: faults.seconds,
      unit: "s",
      baseline: { name: "clean network", value: clean.seconds },
    });
    rows.push({
      name: "deploy under faults: time cost of the faults",
      value: faults.seconds / clean.seconds,
      unit: "x",
    });
    return rows;
  } finally {
    try {
      testbed("down", tbDir);
    } catch {
      // Nothing to stop when it never came up.
    }
    rmSync(work, { recursive: true, force: true });
  }
};

export default faultsCase;
