/**
 * Applying 1000 objects (500 ConfigMaps, 500 Deployments) into a new namespace: `nixlab
 * deploy` of a one-group plan beside the real `kubectl apply --server-side -f` of the same
 * manifest, whole processes, on the same testbed apiserver (a private one under
 * .testbed/bench-apply). kubectl is built from the pinned k8s.io/kubernetes
 * (scripts/setup.d/42-kubectl.sh). Every run creates its objects in a namespace of its own.
 * nixlab's figure also holds its readiness check (each Deployment observed by its
 * controller), which kubectl apply does not do.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import type { Cluster } from "../../src/cluster/model.ts";
import { loadCluster } from "../../src/config/load.ts";
import { renderPlan } from "../../src/render/plan.ts";
import { HttpKube } from "../../src/deploy/http-kube.ts";
import { loadKubeconfig } from "../../src/deploy/kubeconfig.ts";
import type { KObject } from "../../src/deploy/objects.ts";
import type { K8sObject } from "../../src/services/types.ts";
import { availableParallelism, loadavg } from "node:os";
import {
  atLeast,
  controlPlaneCpuMs,
  fmt,
  freshCli,
  median,
  node,
  nixlab,
  root,
  runOk,
  runProcess,
  testbed,
} from "../measure.ts";
import type { BenchCase } from "../types.ts";

const OBJECTS = 1000;
const RUNS = 3;
const tbDir = join(root, ".testbed/bench-apply");
const kubectl = join(root, ".testbed/bin/kubectl");

/** OBJECTS objects for one namespace: ConfigMaps and Deployments in turn, or only ConfigMaps. */
function objects(namespace: string, deployments: boolean): K8sObject[] {
  return Array.from({ length: OBJECTS }, (_, i): K8sObject => {
    const name = `bench-${i}`;
    if (i % 2 === 0 || !deployments) {
      return { apiVersion: "v1", kind: "ConfigMap", metadata: { name, namespace }, data: { index: String(i) } };
    }
    const labels = { app: name };
    return {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name, namespace, labels },
      spec: {
        // No pods: the deploy's readiness check then waits only for the controller to see each one.
        replicas: 0,
        selector: { matchLabels: labels },
        template: {
          metadata: { labels },
          spec: { containers: [{ name: "app", image: "registry.example/bench:1", ports: [{ containerPort: 8080 }] }] },
        },
      },
    };
  });
}

/**
 * A build directory holding a one-group plan whose only chart is `objects(namespace, …)`.
 * Each plan has an owner of its own (the plan's name, from the domain): under one owner,
 * every deploy would also prune the objects of the run before it.
 */
function planDir(cluster: Cluster, dir: string, namespace: string, deployments: boolean): string {
  const owned: Cluster = { ...cluster, config: { ...cluster.config, domain: `${namespace}.bench.example` } };
  const rendered = renderPlan(owned, {
    releases: [
      { kind: "manifests", key: "bench-objects", namespace, secrets: [], objects: objects(namespace, deployments) },
    ],
    secretRefs: [],
    groups: [
      {
        name: "objects",
        charts: ["bench-objects"],
        dependsOn: [],
        waitFor: [],
        retry: { attempts: 3, delaySeconds: 1, maxDelaySeconds: 5 },
      },
    ],
    hooks: [],
    secretConsumers: new Map(),
  });
  for (const file of rendered.files) {
    mkdirSync(dirname(join(dir, file.path)), { recursive: true });
    writeFileSync(join(dir, file.path), file.content);
  }
  return join(dir, "deploy-plan.json");
}

/** The same objects as one multi-document manifest, the namespace first, for kubectl. */
function kubectlManifest(file: string, namespace: string, deployments: boolean): string {
  const docs = [
    { apiVersion: "v1", kind: "Namespace", metadata: { name: namespace } },
    ...objects(namespace, deployments),
  ];
  writeFileSync(file, docs.map((d) => `---\n${JSON.stringify(d)}\n`).join(""));
  return file;
}

interface Side {
  ms: number;
  /** CPU time the testbed's kube-apiserver and etcd spent on the run. */
  serverCpuMs: number;
  maxRssMiB: number;
  /** nixlab's requests per run (from its report); kubectl sends one per object. */
  requests?: { reads: number; writes: number };
  notReady: number;
  /** kubectl: from its start until the controller had observed every Deployment it applied. */
  observedMs?: number;
}

/**
 * Milliseconds from `start` (performance.now()) until the Deployment controller has
 * observed all `count` Deployments of `namespace` (status.observedGeneration caught up),
 * read by a list every 200 ms; what a deploy's readiness check waits for. Gives up after
 * 5 minutes (returns the time spent).
 */
async function controllerObserved(kube: HttpKube, namespace: string, count: number, start: number): Promise<number> {
  const seen = (o: KObject) =>
    ((o.status?.observedGeneration as number | undefined) ?? 0) >= (o.metadata.generation ?? 1);
  for (;;) {
    const { items } = await kube.list("apps/v1", "Deployment", { namespace });
    const ms = performance.now() - start;
    if ((items.length === count && items.every(seen)) || ms > 300_000) return ms;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/**
 * RUNS rounds (after one warm-up) of nixlab deploy and kubectl apply of the same objects,
 * each into a new namespace. A deploy that ends not-ready (exit 4: its readiness budget
 * ran out) still applied everything; it is counted, and reported.
 */
async function race(
  cluster: Cluster,
  work: string,
  kubeconfig: string,
  deployments: boolean,
): Promise<{ ours: Side; theirs: Side }> {
  const kube = new HttpKube(loadKubeconfig({ kubeconfig }));
  const ours: Side[] = [];
  const theirs: Side[] = [];
  const tag = deployments ? "mixed" : "cm";
  for (let run = 0; run <= RUNS; run++) {
    const plan = planDir(cluster, join(work, `nixlab-${tag}-${run}`), `apply-nixlab-${tag}-${run}`, deployments);
    const state = join(work, `state-${tag}-${run}`);
    const cpu0 = controlPlaneCpuMs(tbDir);
    const nixlabRun = await runProcess({
      argv: [node, nixlab, "deploy", "--kubeconfig", kubeconfig, "--plan", plan, "--state", state, "--json"],
    });
    if (nixlabRun.code !== 0 && nixlabRun.code !== 4) {
      throw new Error(`nixlab deploy exited ${nixlabRun.code}: ${nixlabRun.stderr.slice(-400)}`);
    }
    const report = JSON.parse(nixlabRun.stdout) as {
      requests: { reads: number; writes: number };
      groups: Array<{ phase: string }>;
    };
    const manifest = kubectlManifest(
      join(work, `kubectl-${tag}-${run}.yaml`),
      `apply-kubectl-${tag}-${run}`,
      deployments,
    );
    const cpu1 = controlPlaneCpuMs(tbDir);
    const kubectlStart = performance.now();
    const kubectlRun = await runOk({
      argv: [kubectl, "--kubeconfig", kubeconfig, "apply", "--server-side", "--field-manager", "bench", "-f", manifest],
      env: { ...process.env, HOME: work },
    });
    const cpu2 = controlPlaneCpuMs(tbDir);
    const observedMs = deployments
      ? await controllerObserved(kube, `apply-kubectl-${tag}-${run}`, OBJECTS / 2, kubectlStart)
      : undefined;
    if (run === 0) continue;
    const notReady = report.groups.filter((g) => g.phase !== "ready").length;
    ours.push({
      ms: nixlabRun.ms,
      serverCpuMs: cpu1 - cpu0,
      maxRssMiB: nixlabRun.maxRssMiB,
      requests: report.requests,
      notReady,
    });
    theirs.push({
      ms: kubectlRun.ms,
      serverCpuMs: cpu2 - cpu1,
      maxRssMiB: kubectlRun.maxRssMiB,
      notReady: 0,
      ...(observedMs !== undefined ? { observedMs } : {}),
    });
  }
  const summary = (sides: Side[]): Side => ({
    ms: median(sides.map((x) => x.ms)),
    serverCpuMs: median(sides.map((x) => x.serverCpuMs)),
    maxRssMiB: median(sides.map((x) => x.maxRssMiB)),
    ...(sides[0]?.requests
      ? {
          requests: {
            reads: median(sides.map((x) => x.requests!.reads)),
            writes: median(sides.map((x) => x.requests!.writes)),
          },
        }
      : {}),
    notReady: Math.max(...sides.map((x) => x.notReady)),
    ...(sides[0]?.observedMs !== undefined ? { observedMs: median(sides.map((x) => x.observedMs!)) } : {}),
  });
  kube.close();
  return { ours: summary(ours), theirs: summary(theirs) };
}

const applyCase: BenchCase = async () => {
  if (!existsSync(kubectl)) throw new Error(`${kubectl} missing: run bash scripts/setup.d/42-kubectl.sh`);
  await freshCli();
  const work = mkdtempSync(join(tmpdir(), "nixlab-bench-apply-"));
  try {
    testbed("down", tbDir);
    const kubeconfig = testbed("up", tbDir);
    // The plan's cluster fields (its name, the file's digest) come from the example.
    const cluster = await loadCluster({ config: join(root, "examples/homelab/nixlab.yaml") });
    const mixed = await race(cluster, work, kubeconfig, true);
    const configMaps = await race(cluster, work, kubeconfig, false);
    const speedUp = mixed.theirs.ms / mixed.ours.ms;
    const requests = (side: Side) => `${side.requests!.reads} reads + ${side.requests!.writes} writes`;
    // The server's share: CPU it spent per run over the run's wall time, against the cores there are.
    const serverShare = (side: Side) => `${fmt(side.serverCpuMs)} ms CPU in ${fmt(side.ms)} ms`;
    const why =
      `applying alone (${OBJECTS} ConfigMaps): nixlab ${fmt(configMaps.ours.ms)} ms, kubectl ${fmt(configMaps.theirs.ms)} ms ` +
      `(nixlab sends ${requests(configMaps.ours)} with 8 in flight, kubectl ${OBJECTS + 1} writes one by one); ` +
      `the testbed's kube-apiserver and etcd spent ${serverShare(configMaps.ours)} for nixlab and ` +
      `${serverShare(configMaps.theirs)} for kubectl, on ${availableParallelism()} cores at load average ` +
      `${loadavg()[0]!.toFixed(1)}: the server, not the client, is the bound; the rest of the mixed figure is nixlab ` +
      `waiting for its ${OBJECTS / 2} Deployments to be seen by their controller, which kubectl apply does not do: ` +
      `after kubectl apply the controller took ${fmt(mixed.theirs.observedMs!)} ms from kubectl's start to observe ` +
      `its ${OBJECTS / 2} (the testbed's kube-controller-manager sends at most 20 requests/s, its default ` +
      `--kube-api-qps, and each Deployment costs it a ReplicaSet and a status write)` +
      (mixed.ours.notReady ? `; nixlab's wait ran out of its budget (deploy ended not-ready)` : "");
    return [
      {
        name: `apply: ${OBJECTS} objects (ConfigMaps, Deployments) with nixlab deploy, process start included (median of ${RUNS})`,
        value: mixed.ours.ms,
        unit: "ms",
        baseline: { name: "kubectl apply --server-side -f", value: mixed.theirs.ms },
      },
      {
        name: "apply: speed-up over kubectl apply --server-side",
        value: speedUp,
        unit: "x",
        ...atLeast(speedUp, 3, "≥ 3", why),
      },
      {
        name: `apply: ${OBJECTS} objects with nixlab deploy, beside kubectl apply until the controller observed its Deployments (median of ${RUNS})`,
        value: mixed.ours.ms,
        unit: "ms",
        baseline: { name: "kubectl apply --server-side -f, then observed", value: mixed.theirs.observedMs! },
      },
      {
        name: `apply: ${OBJECTS} ConfigMaps (nothing to wait for) with nixlab deploy (median of ${RUNS})`,
        value: configMaps.ours.ms,
        unit: "ms",
        baseline: { name: "kubectl apply --server-side -f", value: configMaps.theirs.ms },
      },
      {
        name: "apply: peak memory (max RSS), nixlab deploy",
        value: mixed.ours.maxRssMiB,
        unit: "MiB",
        baseline: { name: "kubectl apply --server-side", value: mixed.theirs.maxRssMiB },
      },
    ];
  } finally {
    try {
      testbed("down", tbDir);
    } catch {
      // Nothing to stop when the testbed never came up.
    }
    rmSync(work, { recursive: true, force: true });
  }
};

export default applyCase;
