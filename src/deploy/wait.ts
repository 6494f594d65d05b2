/**
 * Waiting for readiness by watch: list the one object (to learn the collection's
 * resourceVersion), judge it, then watch it from there and judge every change, until it
 * is ready, has failed for good, or the budget runs out. A dropped or cut watch is
 * listed again; a kind not served yet (its CRD is being installed) is looked up again.
 * Also: which objects a group waits for, and what a missing one most likely means.
 */
import type { PlanGroup } from "../plan/schema.ts";
import { ApiError, type KubeClient } from "./client.ts";
import { type Clock, deadlineSignal } from "./clock.ts";
import { namespaceListFrom } from "./live.ts";
import { type KObject, type ObjectRef, refKey, refOfWait } from "./objects.ts";
import { type Readiness, readiness } from "./readiness.ts";
import { classifyError, errorMessage } from "./retry.ts";

/** A wait's budget and what it reports. */
export interface WaitOptions {
  timeoutMs: number;
  clock: Clock;
  signal?: AbortSignal;
  /** Extra condition on the object (e.g. a Job created after a chart changed). */
  accept?: (obj: KObject) => Readiness | null;
  /** Why the object is missing, when it is (e.g. "the helm controller is not running"). */
  explainMissing?: () => Promise<string>;
  /** Called whenever the reason it is not ready changes. */
  onProgress?: (reason: string) => void;
}

/** How a wait ended: ready, failed for good, or not ready (with the reason). */
export interface WaitOutcome {
  ready: boolean;
  failed: boolean;
  reason: string;
}

/** Waits until the object exists and is ready. Never throws for timeouts or outages, only for final API errors. */
export async function waitReady(kube: KubeClient, ref: ObjectRef, options: WaitOptions): Promise<WaitOutcome> {
  const { clock } = options;
  const deadline = clock.now() + options.timeoutMs;
  const budget = deadlineSignal(options.timeoutMs, options.signal);
  // Empty reason: the first judgement is always reported, "not found" included.
  let last: WaitOutcome = { ready: false, failed: false, reason: "" };
  const report = (o: WaitOutcome) => {
    // Only reasons to wait are progress; "ready" is the outcome, told by the caller.
    if (o.reason !== last.reason && !o.ready) options.onProgress?.(o.reason);
    last = o;
  };
  const judge = async (obj: KObject | undefined): Promise<WaitOutcome> => {
    if (!obj) {
      const why = options.explainMissing ? await options.explainMissing().catch(() => "not found") : "not found";
      return { ready: false, failed: false, reason: why };
    }
    const extra = options.accept?.(obj);
    const r = extra && !extra.ready ? extra : readiness(obj);
    return r.ready
      ? { ready: true, failed: false, reason: "ready" }
      : { ready: false, failed: !!r.failed, reason: r.reason };
  };
  try {
    while (!budget.signal.aborted) {
      let listed: { items: KObject[]; resourceVersion: string };
      try {
        listed = await kube.list(ref.apiVersion, ref.kind, {
          ...(ref.namespace ? { namespace: ref.namespace } : {}),
          fieldSelector: `metadata.name=${ref.name}`,
        });
      } catch (error) {
        if (error instanceof ApiError && error.reason === "NoKindMatch") {
          report({ ready: false, failed: false, reason: `${ref.kind} is not served yet (its CRD is missing)` });
          await clock.sleep(1000, budget.signal);
          await kube.resource(ref.apiVersion, ref.kind, true).catch(() => null);
          continue;
        }
        if (classifyError(error) === "final") throw error;
        report({ ready: false, failed: false, reason: `cannot read it: ${errorMessage(error)}` });
        await clock.sleep(1000, budget.signal);
        continue;
      }
      const first = await judge(listed.items[0]);
      report(first);
      if (first.ready || first.failed) return first;
      const outcome = await watchUntil(kube, ref, listed.resourceVersion, deadline, clock, budget.signal, async (o) => {
        const judged = await judge(o);
        report(judged);
        return judged.ready || judged.failed ? judged : null;
      });
      if (outcome) return outcome;
    }
    return { ready: false, failed: false, reason: `timed out: ${last.reason || "not checked"}` };
  } finally {
    budget.clear();
  }
}

/**
 * The refKeys of the objects among `refs` that are ready now, read with one list per kind
 * and namespace where there are at least namespaceListFrom of them (one wait each would
 * list and watch each). Objects it does not answer for are waited for one by one; a list
 * that fails answers for none. Never throws.
 */
export async function readyNow(kube: KubeClient, refs: readonly ObjectRef[]): Promise<Set<string>> {
  const byCollection = new Map<string, ObjectRef[]>();
  for (const ref of refs) {
    if (!ref.namespace) continue;
    const key = `${ref.apiVersion}/${ref.kind}/${ref.namespace}`;
    byCollection.set(key, [...(byCollection.get(key) ?? []), ref]);
  }
  const ready = new Set<string>();
  const lists = [...byCollection.values()].filter((members) => members.length >= namespaceListFrom);
  await Promise.all(
    lists.map(async (members) => {
      const { apiVersion, kind, namespace } = members[0]!;
      const wanted = new Set(members.map(refKey));
      const listed = await kube.list(apiVersion, kind, { ...(namespace ? { namespace } : {}) }).catch(() => undefined);
      for (const obj of listed?.items ?? []) {
        const key = refKey({ kind, name: obj.metadata.name, namespace: obj.metadata.namespace });
        if (wanted.has(key) && readiness(obj).ready) ready.add(key);
      }
    }),
  );
  return ready;
}

/** One watch from resourceVersion; resolves the first decisive judgement, or null when the watch ends. */
async function watchUntil(
  kube: KubeClient,
  ref: ObjectRef,
  resourceVersion: string,
  deadline: number,
  clock: Clock,
  signal: AbortSignal,
  decide: (obj: KObject | undefined) => Promise<WaitOutcome | null>,
): Promise<WaitOutcome | null> {
  // Judgements are async (explainMissing reads); events are judged one after another,
  // and the first decisive one ends the watch.
  let chain: Promise<WaitOutcome | null> = Promise.resolve(null);
  const judgeNext = async (previous: WaitOutcome | null, obj: KObject | undefined) => {
    if (previous) return previous;
    const o = await decide(obj);
    if (o) stop.abort();
    return o;
  };
  const stop = new AbortController();
  const onOuter = () => stop.abort();
  signal.addEventListener("abort", onOuter, { once: true });
  try {
    await kube.watch(
      ref,
      {
        resourceVersion,
        fieldSelector: `metadata.name=${ref.name}`,
        timeoutSeconds: Math.max(1, Math.ceil((deadline - clock.now()) / 1000)),
      },
      (event) => {
        const obj = event.type === "DELETED" ? undefined : event.object;
        chain = chain.then((o) => judgeNext(o, obj));
        return false;
      },
      stop.signal,
    );
  } catch (error) {
    // A dropped watch is listed again; only the budget ends the wait.
    if (classifyError(error) === "final") throw error;
  } finally {
    signal.removeEventListener("abort", onOuter);
  }
  return await chain;
}

/** Something a group waits for, with its own budget. */
export interface WaitItem {
  ref: ObjectRef;
  timeoutMs: number;
  /** HelmChart: its install Job must be newer than our apply of the chart. */
  createdAfter?: string;
}

const workloadKinds = new Set(["Deployment", "StatefulSet", "DaemonSet", "Job", "CustomResourceDefinition"]);

/**
 * What a group waits for: HelmCharts changed this run (their new install Job), the
 * plan's wait targets, our own workloads and CRDs, and every HelmChart's install Job.
 */
export function groupWaits(
  group: PlanGroup,
  refs: readonly ObjectRef[],
  changedCharts: readonly WaitItem[],
): WaitItem[] {
  const waits = [...changedCharts];
  const has = (ref: ObjectRef) => waits.some((w) => refKey(w.ref) === refKey(ref));
  const budget = group.timeoutSeconds * 1000;
  for (const ref of refs) {
    if ((workloadKinds.has(ref.kind) || ref.kind === "HelmChart") && !has(ref)) waits.push({ ref, timeoutMs: budget });
  }
  for (const w of group.waitFor) {
    const ref = refOfWait(w);
    if (!has(ref)) waits.push({ ref, timeoutMs: w.timeoutSeconds * 1000 });
  }
  return waits;
}

/** The object to watch for a wait item: a HelmChart is ready when k3s's helm controller's install Job completed. */
export function waitTarget(
  kube: KubeClient,
  w: WaitItem,
): { ref: ObjectRef; accept?: WaitOptions["accept"]; explainMissing?: WaitOptions["explainMissing"] } {
  if (w.ref.kind !== "HelmChart") return { ref: w.ref };
  const chart = w.ref;
  const ref: ObjectRef = {
    apiVersion: "batch/v1",
    kind: "Job",
    name: `helm-install-${chart.name}`,
    namespace: chart.namespace ?? "kube-system",
  };
  const explainMissing = async () => {
    const live = await kube.get(chart);
    if (!live) return `${refKey(chart)} does not exist`;
    return `${refKey(chart)} exists, but its install Job ${ref.name} does not: is k3s's helm controller running? (k3s started with --disable-helm-controller runs no HelmChart)`;
  };
  const after = w.createdAfter;
  if (!after) return { ref, explainMissing };
  return {
    ref,
    explainMissing,
    // After a chart change the controller replaces the Job; an older one describes the old chart.
    accept: (job) =>
      (job.metadata.creationTimestamp ?? "") >= after
        ? null
        : { ready: false, reason: "waiting for the helm controller to start the new install Job" },
  };
}
