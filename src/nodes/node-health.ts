/**
 * The Kubernetes side of a rolling `nodes apply`, through the API (never kubectl):
 * cordon, drain with the Eviction API (so PodDisruptionBudgets are respected), and the
 * health gate (the node Ready and every pod on it Ready).
 */
import { ApiError } from "../deploy/client.ts";
import type { HttpKube } from "../deploy/http-kube.ts";
import type { KObject } from "../deploy/objects.ts";

/** What the rollout needs from the cluster; KubeNodeHealth implements it on a real API. */
export interface ClusterNodes {
  /** Marks the node (un)schedulable. */
  setUnschedulable(node: string, unschedulable: boolean): Promise<void>;
  /** Evicts the node's pods (not DaemonSet or mirror pods) and waits until they are gone; throws Error saying what blocked it. */
  drain(node: string, timeoutMs: number): Promise<void>;
  /** null when the node is Ready and every pod on it is Ready; otherwise why not. */
  unhealthy(node: string): Promise<string | null>;
}

interface Pod extends KObject {
  spec?: { nodeName?: string };
  status?: { phase?: string; conditions?: Array<{ type: string; status: string }> };
}

interface Pdb extends KObject {
  spec?: { selector?: LabelSelector };
}

interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: Array<{ key: string; operator: string; values?: string[] }>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const podName = (p: KObject) => `${p.metadata.namespace}/${p.metadata.name}`;

/** Pods a drain leaves alone: DaemonSet pods (they come right back), mirror pods, finished pods. */
function evictable(pod: Pod): boolean {
  if (pod.metadata.ownerReferences?.some((o) => o.kind === "DaemonSet")) return false;
  if (pod.metadata.annotations?.["kubernetes.io/config.mirror"] !== undefined) return false;
  return pod.status?.phase !== "Succeeded" && pod.status?.phase !== "Failed";
}

/** Whether `selector` selects `labels` (Kubernetes label selector semantics). */
export function selects(selector: LabelSelector | undefined, labels: Record<string, string>): boolean {
  if (!selector) return false;
  for (const [k, v] of Object.entries(selector.matchLabels ?? {})) if (labels[k] !== v) return false;
  for (const e of selector.matchExpressions ?? []) {
    const has = Object.hasOwn(labels, e.key);
    const inValues = has && (e.values ?? []).includes(labels[e.key]!);
    const ok =
      e.operator === "In"
        ? inValues
        : e.operator === "NotIn"
          ? !inValues
          : e.operator === "Exists"
            ? has
            : e.operator === "DoesNotExist"
              ? !has
              : false;
    if (!ok) return false;
  }
  return true;
}

export class KubeNodeHealth implements ClusterNodes {
  readonly #kube: HttpKube;
  readonly #pollMs: number;

  constructor(kube: HttpKube, options: { pollMs?: number } = {}) {
    this.#kube = kube;
    this.#pollMs = options.pollMs ?? 1000;
  }

  async setUnschedulable(node: string, unschedulable: boolean): Promise<void> {
    await this.#kube.request("PATCH", `/api/v1/nodes/${encodeURIComponent(node)}`, {
      body: { spec: { unschedulable: unschedulable ? true : null } },
      contentType: "application/merge-patch+json",
    });
  }

  async #podsOn(node: string): Promise<Pod[]> {
    const list = await this.#kube.request<{ items: Pod[] }>("GET", "/api/v1/pods", {
      query: { fieldSelector: `spec.nodeName=${node}` },
    });
    return list.items;
  }

  /** The PodDisruptionBudgets that select `pod`, as ns/name. */
  async #budgetsOf(pod: Pod): Promise<string[]> {
    const ns = pod.metadata.namespace!;
    const list = await this.#kube.request<{ items: Pdb[] }>(
      "GET",
      `/apis/policy/v1/namespaces/${encodeURIComponent(ns)}/poddisruptionbudgets`,
    );
    return list.items.filter((b) => selects(b.spec?.selector, pod.metadata.labels ?? {})).map(podName);
  }

  /** Asks to evict `pod`; returns why it was refused (429: a budget), or null when accepted or gone. */
  async #evict(pod: Pod): Promise<string | null> {
    const ns = encodeURIComponent(pod.metadata.namespace!);
    const name = encodeURIComponent(pod.metadata.name);
    try {
      await this.#kube.request("POST", `/api/v1/namespaces/${ns}/pods/${name}/eviction`, {
        body: {
          apiVersion: "policy/v1",
          kind: "Eviction",
          metadata: { name: pod.metadata.name, namespace: pod.metadata.namespace },
        },
      });
      return null;
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) return null;
      if (error instanceof ApiError && error.status === 429) {
        const budgets = await this.#budgetsOf(pod);
        const which = budgets.length > 0 ? ` (PodDisruptionBudget ${budgets.join(", ")})` : "";
        return `${error.message}${which}`;
      }
      throw error;
    }
  }

  async drain(node: string, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    const refused = new Map<string, string>();
    for (;;) {
      const pods = (await this.#podsOn(node)).filter(evictable);
      if (pods.length === 0) return;
      for (const pod of pods) {
        if (pod.metadata.deletionTimestamp) continue;
        const reason = await this.#evict(pod);
        if (reason === null) refused.delete(podName(pod));
        else refused.set(podName(pod), reason);
      }
      if (Date.now() >= deadline) {
        const blocked = [...refused].map(([pod, why]) => `${pod}: ${why}`);
        const waiting = pods.filter((p) => !refused.has(podName(p))).map(podName);
        throw new Error(
          `drain of ${node} did not finish within ${Math.round(timeoutMs / 1000)}s: ` +
            [...blocked, ...(waiting.length > 0 ? [`still terminating: ${waiting.join(", ")}`] : [])].join("; "),
        );
      }
      await sleep(this.#pollMs);
    }
  }

  async unhealthy(node: string): Promise<string | null> {
    const obj = await this.#kube.request<KObject & { status?: { conditions?: Array<Record<string, string>> } }>(
      "GET",
      `/api/v1/nodes/${encodeURIComponent(node)}`,
    );
    const ready = obj.status?.conditions?.find((c) => c.type === "Ready");
    if (ready?.status !== "True") {
      return `node ${node} is not Ready${ready ? ` (${ready.reason ?? ready.status}${ready.message ? `: ${ready.message}` : ""})` : ""}`;
    }
    const notReady = (await this.#podsOn(node))
      .filter((p) => p.status?.phase !== "Succeeded" && p.status?.phase !== "Failed" && !p.metadata.deletionTimestamp)
      .filter((p) => !p.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True"))
      .map(podName);
    return notReady.length > 0 ? `pods on ${node} not Ready: ${notReady.join(", ")}` : null;
  }
}
