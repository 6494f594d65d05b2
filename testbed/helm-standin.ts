/**
 * Test and benchmark stand-in for k3s's helm controller, which the testbed does not
 * run. For every HelmChart in kube-system it does what matters to the deploy engine:
 * installs the CRDs the real chart ships (from .testbed/crds), creates the workloads
 * the chart's group waits for (real Deployments/DaemonSets/StatefulSets that kwok rolls
 * out), and runs the install Job `helm-install-<name>` (recreated when the chart's spec
 * changes, as the controller does). It also plays Longhorn's provisioner: a pending
 * PersistentVolumeClaim gets a matching PersistentVolume, which the real PV controller
 * binds. Everything else in the testbed is real.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { ApiError, type KubeClient } from "../src/deploy/client.ts";
import { type KObject, parseManifest } from "../src/deploy/objects.ts";
import type { DeployPlan, WaitTarget } from "../src/plan/schema.ts";

const manager = "helm-standin";
const generationAnnotation = "testbed.nixlab.dev/chart-generation";
/** The pod annotation kwok's pod-ready stage (testbed/kwok.yaml) reads as a delay. */
export const readyDelayAnnotation = "testbed.nixlab.dev/ready-delay";

/** CRD files (by group prefix) each chart installs, as the real charts do. */
const chartCrds: Record<string, string[]> = {
  metallb: ["metallb.io_"],
  "cert-manager": ["cert-manager.io_", "acme.cert-manager.io_"],
};

export interface HelmStandIn {
  /** Chart names installed so far (in order, repeated on reinstall). */
  readonly installs: string[];
  stop(): Promise<void>;
}

export interface HelmStandInOptions {
  kube: KubeClient;
  plan: DeployPlan;
  crdDir: string;
  /** kwok delay before the chart's workload pods are Ready, e.g. "2s". */
  readyDelay?: string;
}

/** The wait targets of each Helm chart: its group's targets in the chart's namespace that we do not render. */
export function chartWorkloads(plan: DeployPlan): Map<string, WaitTarget[]> {
  const rendered = new Set<string>();
  for (const c of plan.charts) for (const o of c.objects) rendered.add(`${o.kind}/${o.namespace}/${o.name}`);
  const out = new Map<string, WaitTarget[]>();
  for (const g of plan.groups) {
    const helm = plan.charts.filter((c) => c.group === g.name && c.kind === "helm");
    for (const t of g.waitFor) {
      if (t.kind === "HelmChart" || rendered.has(`${t.kind}/${t.namespace}/${t.name}`)) continue;
      const chart = helm.find((c) => c.namespace === t.namespace);
      if (!chart) continue;
      const helmName = chart.objects.find((o) => o.kind === "HelmChart")?.name ?? chart.key;
      out.set(helmName, [...(out.get(helmName) ?? []), t]);
    }
  }
  return out;
}

function workload(t: WaitTarget, container: string, readyDelay?: string): KObject {
  const labels = { "app.kubernetes.io/name": t.name, "app.kubernetes.io/instance": t.name };
  const template = {
    metadata: { labels, ...(readyDelay ? { annotations: { [readyDelayAnnotation]: readyDelay } } : {}) },
    spec: { containers: [{ name: container, image: `registry.invalid/${t.name}:standin` }] },
  };
  const spec: Record<string, unknown> = { selector: { matchLabels: labels }, template };
  if (t.kind !== "DaemonSet") spec.replicas = 1;
  if (t.kind === "StatefulSet") spec.serviceName = t.name;
  return { apiVersion: "apps/v1", kind: t.kind, metadata: { name: t.name, namespace: t.namespace }, spec };
}

export async function installCrds(kube: KubeClient, crdDir: string, prefixes: readonly string[]): Promise<void> {
  const files = readdirSync(crdDir).filter((f) => prefixes.some((p) => f.startsWith(p)) && f.endsWith(".yaml"));
  for (const f of files.sort()) {
    for (const crd of parseManifest(readFileSync(join(crdDir, f), "utf8"), f)) await kube.apply(crd, { manager });
  }
}

export function startHelmStandIn(options: HelmStandInOptions): HelmStandIn {
  const { kube, plan } = options;
  const workloads = chartWorkloads(plan);
  const containers = new Map(
    plan.hooks.map((h) => [`${h.target.namespace}/${h.target.deployment}`, h.target.container]),
  );
  const handled = new Map<string, number>();
  const installs: string[] = [];
  const abort = new AbortController();
  let queue: Promise<void> = Promise.resolve();
  let failure: unknown;

  const install = async (chart: KObject) => {
    const name = chart.metadata.name;
    const generation = chart.metadata.generation ?? 0;
    if (handled.get(name) === generation) return;
    handled.set(name, generation);
    await installCrds(kube, options.crdDir, chartCrds[chart.spec?.chart as string] ?? []);
    for (const t of workloads.get(name) ?? []) {
      await kube.apply(workload(t, containers.get(`${t.namespace}/${t.name}`) ?? "main", options.readyDelay), {
        manager,
      });
    }
    const jobRef = { apiVersion: "batch/v1", kind: "Job", namespace: "kube-system", name: `helm-install-${name}` };
    const old = await kube.get(jobRef);
    if (old && old.metadata.annotations?.[generationAnnotation] !== String(generation)) {
      await kube.delete(jobRef, { propagationPolicy: "Background" });
      while (await kube.get(jobRef)) await new Promise((r) => setTimeout(r, 50));
    }
    if (!old || old.metadata.annotations?.[generationAnnotation] !== String(generation)) {
      await kube.apply(
        {
          apiVersion: "batch/v1",
          kind: "Job",
          metadata: {
            name: jobRef.name,
            namespace: jobRef.namespace,
            annotations: { [generationAnnotation]: String(generation) },
          },
          spec: {
            backoffLimit: 0,
            template: {
              metadata: { labels: { "helmcharts.helm.cattle.io/chart": name } },
              spec: { restartPolicy: "Never", containers: [{ name: "helm", image: "rancher/klipper-helm:standin" }] },
            },
          },
        },
        { manager },
      );
    }
    installs.push(name);
  };

  const enqueue = (chart: KObject) => {
    queue = queue
      .then(() => install(chart))
      .catch((error: unknown) => {
        // The apiserver went away (a fault test restarts it): install again when it is back.
        if (error instanceof ApiError && !abort.signal.aborted) {
          handled.delete(chart.metadata.name);
          setTimeout(() => enqueue(chart), 500).unref();
          return;
        }
        failure ??= error;
      });
  };

  const loop = (async () => {
    const target = { apiVersion: "helm.cattle.io/v1", kind: "HelmChart", namespace: "kube-system" };
    while (!abort.signal.aborted) {
      try {
        const { items, resourceVersion } = await kube.list(target.apiVersion, target.kind, {
          namespace: "kube-system",
        });
        for (const c of items) enqueue(c);
        await kube.watch(
          target,
          { resourceVersion, timeoutSeconds: 60 },
          (ev) => {
            if (ev.type === "ADDED" || ev.type === "MODIFIED") enqueue(ev.object);
            if (ev.type === "DELETED") handled.delete(ev.object.metadata.name);
            return false;
          },
          abort.signal,
        );
      } catch (error) {
        if (abort.signal.aborted) break;
        if (!(error instanceof ApiError)) throw error;
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  })();

  const provisioner = (async () => {
    const target = { apiVersion: "v1", kind: "PersistentVolumeClaim" };
    while (!abort.signal.aborted) {
      try {
        const { items, resourceVersion } = await kube.list(target.apiVersion, target.kind);
        for (const pvc of items) await provision(kube, pvc);
        await kube.watch(
          target,
          { resourceVersion, timeoutSeconds: 60 },
          (ev) => {
            if (ev.type === "ADDED") {
              queue = queue
                .then(() => provision(kube, ev.object))
                .catch((error: unknown) => {
                  // An apiserver outage: the next list provisions what is still pending.
                  if (!(error instanceof ApiError)) failure ??= error;
                });
            }
            return false;
          },
          abort.signal,
        );
      } catch (error) {
        if (abort.signal.aborted) break;
        if (!(error instanceof ApiError)) throw error;
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  })();

  return {
    installs,
    async stop() {
      abort.abort();
      await loop.catch(() => {});
      await provisioner.catch(() => {});
      await queue;
      if (failure) throw failure;
    },
  };
}

/** A PersistentVolume pre-bound to a pending claim (what a dynamic provisioner would create). */
async function provision(kube: KubeClient, pvc: KObject): Promise<void> {
  if (pvc.status?.phase !== "Pending" || pvc.spec?.volumeName) return;
  const ns = pvc.metadata.namespace!;
  await kube.apply(
    {
      apiVersion: "v1",
      kind: "PersistentVolume",
      metadata: { name: `standin-${ns}-${pvc.metadata.name}` },
      spec: {
        capacity: { storage: pvc.spec?.resources?.requests?.storage ?? "1Gi" },
        accessModes: pvc.spec?.accessModes ?? ["ReadWriteOnce"],
        ...(pvc.spec?.storageClassName ? { storageClassName: pvc.spec.storageClassName } : {}),
        persistentVolumeReclaimPolicy: "Delete",
        hostPath: { path: `/tmp/standin-volumes/${ns}/${pvc.metadata.name}` },
        claimRef: { namespace: ns, name: pvc.metadata.name, uid: pvc.metadata.uid },
      },
    },
    { manager },
  );
}
