/**
 * Reading the live cluster for the page with read-only requests only: Certificates and
 * Nodes for every dashboard, and (for the in-cluster one, whose ServiceAccount may not
 * read Secrets or ConfigMaps) each group's workloads and wait targets, one list per kind,
 * plus its inventory ConfigMap by name. An object that cannot be read is an error, never
 * "missing".
 */
import { type KObject, type ObjectRef, refKey, refOfWait } from "../deploy/objects.ts";
import { readiness } from "../deploy/readiness.ts";
import type { WaitKind } from "../plan/schema.ts";
import { type LiveGroup, type LiveObject, objectKey, type PlanInput } from "./model.ts";

/** The read requests the dashboard sends (the deploy engine's Kubernetes client has them all). */
export interface ClusterReader {
  /** The API server's URL, for messages. */
  readonly server: string;
  /** GET /version: the cheapest proof the API answers. */
  version(options?: { timeoutMs?: number }): Promise<unknown>;
  /** Discovery of one kind; null when the server does not serve it. */
  resource(apiVersion: string, kind: string): Promise<unknown>;
  /** One object; null when it does not exist. */
  get(ref: ObjectRef): Promise<KObject | null>;
  /** Every object of a kind, in all namespaces. */
  list(apiVersion: string, kind: string): Promise<{ items: KObject[] }>;
}

/** Every cert-manager Certificate, or null when the kind is not served (cert-manager is not installed). */
export async function readCertificates(reader: ClusterReader): Promise<LiveObject[] | null> {
  if (!(await reader.resource("cert-manager.io/v1", "Certificate"))) return null;
  return (await reader.list("cert-manager.io/v1", "Certificate")).items;
}

/** Every Kubernetes node. */
export async function readNodes(reader: ClusterReader): Promise<LiveObject[]> {
  return (await reader.list("v1", "Node")).items;
}

/** Kinds whose readiness says whether a group works. */
const workloadKinds = new Set(["Deployment", "StatefulSet", "DaemonSet", "Job", "CustomResourceDefinition"]);
/** What decides a group's readiness: its workloads, its wait targets, and its HelmCharts' install Jobs. */
export function readinessTargets(plan: PlanInput, group: string): ObjectRef[] {
  const g = plan.groups.find((x) => x.name === group);
  if (!g) return [];
  const charts = plan.charts.filter((c) => g.charts.includes(c.key));
  const refs: ObjectRef[] = [
    ...charts.flatMap((c) => c.objects.filter((o) => workloadKinds.has(o.kind))),
    ...g.waitFor.map((w) => refOfWait({ ...w, kind: w.kind as WaitKind, timeoutSeconds: 0 })),
  ].map((r) =>
    // k3s's helm controller installs a chart with a Job: the chart is ready when that Job completed.
    r.kind === "HelmChart"
      ? { apiVersion: "batch/v1", kind: "Job", name: `helm-install-${r.name}`, namespace: r.namespace ?? "kube-system" }
      : r,
  );
  const seen = new Set<string>();
  return refs.filter((r) => !seen.has(refKey(r)) && seen.add(refKey(r)));
}

/** Objects of a kind by "Kind/namespace/name", listed once per kind for all groups. */
class KindLists {
  private readonly lists = new Map<string, Promise<Map<string, KObject> | null>>();
  private readonly reader: ClusterReader;

  constructor(reader: ClusterReader) {
    this.reader = reader;
  }

  /** The live object, or null when it (or its kind) does not exist. Throws when the list cannot be read. */
  async get(ref: ObjectRef): Promise<KObject | null> {
    const key = `${ref.apiVersion}/${ref.kind}`;
    let list = this.lists.get(key);
    if (!list) {
      list = this.load(ref.apiVersion, ref.kind);
      this.lists.set(key, list);
    }
    return (await list)?.get(refKey(ref)) ?? null;
  }

  private async load(apiVersion: string, kind: string): Promise<Map<string, KObject> | null> {
    if (!(await this.reader.resource(apiVersion, kind))) return null;
    const { items } = await this.reader.list(apiVersion, kind);
    return new Map(items.map((o) => [objectKey({ kind, name: o.metadata.name, namespace: o.metadata.namespace }), o]));
  }
}

/**
 * Each group's live state from what a read-only ServiceAccount may see: whether its
 * inventory says applied (by name, `inventories`: group -> ConfigMap in kube-system;
 * without one, whether any of its workloads exists), and which workloads are missing or
 * not ready, with the reason. Throws when something cannot be read.
 */
export async function readGroups(
  reader: ClusterReader,
  plan: PlanInput,
  inventories: Readonly<Record<string, string>>,
): Promise<Map<string, LiveGroup>> {
  const lists = new KindLists(reader);
  const out = new Map<string, LiveGroup>();
  await Promise.all(
    plan.groups.map(async (g) => {
      const live: LiveGroup = { applied: "absent", planChanged: false, drift: [], notReady: [] };
      const found = await Promise.all(
        readinessTargets(plan, g.name).map(async (ref) => [ref, await lists.get(ref)] as const),
      );
      for (const [ref, obj] of found) {
        if (!obj) live.drift.push({ object: refKey(ref), problem: "missing" });
        else {
          const judged = readiness(obj);
          if (!judged.ready) live.notReady.push({ object: refKey(ref), reason: judged.reason });
        }
      }
      const name = inventories[g.name];
      if (name) {
        const inv = await reader.get({ apiVersion: "v1", kind: "ConfigMap", namespace: "kube-system", name });
        live.applied = !inv ? "absent" : inv.data?.hash ? "applied" : "applying";
      } else if (found.some(([, obj]) => obj)) live.applied = "applied";
      if (live.applied === "absent") live.drift = [];
      out.set(g.name, live);
    }),
  );
  return out;
}
