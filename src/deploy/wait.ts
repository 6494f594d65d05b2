/**
 * Readiness by watch: list the one object (to learn the collection's resourceVersion),
 * judge it, then watch it from there and judge every change, until it is ready, has
 * failed for good, or the budget runs out. A kind the server does not serve yet (its CRD
 * is being installed by a chart) is looked up again until it appears.
 */
import { ApiError, type Kube } from "./kube.ts";
import { type KObject, type ObjectRef, refKey } from "./objects.ts";

export type Readiness = { ready: true } | { ready: false; reason: string; failed?: boolean };

interface Condition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
}

function conditions(obj: KObject): Condition[] {
  return Array.isArray(obj.status?.conditions) ? (obj.status.conditions as Condition[]) : [];
}

function condition(obj: KObject, type: string): Condition | undefined {
  return conditions(obj).find((c) => c.type === type);
}

function observed(obj: KObject): Readiness | null {
  const gen = obj.metadata.generation;
  const seen = obj.status?.observedGeneration as number | undefined;
  if (gen !== undefined && (seen === undefined || seen < gen))
    return { ready: false, reason: "waiting for the controller" };
  return null;
}

/** Judges one object's readiness from its status. */
export function readiness(obj: KObject): Readiness {
  const s = obj.status ?? {};
  switch (obj.kind) {
    case "Deployment": {
      const stale = observed(obj);
      if (stale) return stale;
      const progressing = condition(obj, "Progressing");
      if (progressing?.reason === "ProgressDeadlineExceeded") {
        return { ready: false, failed: true, reason: `rollout stalled: ${progressing.message ?? "deadline exceeded"}` };
      }
      if (obj.spec?.paused) return { ready: true };
      const want = (obj.spec?.replicas as number | undefined) ?? 1;
      const updated = s.updatedReplicas ?? 0;
      const available = s.availableReplicas ?? 0;
      const total = s.replicas ?? 0;
      if (updated < want) return { ready: false, reason: `${updated}/${want} updated` };
      if (total > updated) return { ready: false, reason: `${total - updated} old replicas terminating` };
      if (available < want) return { ready: false, reason: `${available}/${want} available` };
      return { ready: true };
    }
    case "StatefulSet": {
      const stale = observed(obj);
      if (stale) return stale;
      const want = (obj.spec?.replicas as number | undefined) ?? 1;
      const ready = s.readyReplicas ?? 0;
      if (obj.spec?.updateStrategy?.type !== "OnDelete") {
        const updated = s.updatedReplicas ?? 0;
        if (updated < want) return { ready: false, reason: `${updated}/${want} updated` };
        if (s.updateRevision && s.currentRevision !== s.updateRevision) {
          return { ready: false, reason: "rolling update in progress" };
        }
      }
      if (ready < want) return { ready: false, reason: `${ready}/${want} ready` };
      return { ready: true };
    }
    case "DaemonSet": {
      const stale = observed(obj);
      if (stale) return stale;
      const want = s.desiredNumberScheduled ?? 0;
      const updated = s.updatedNumberScheduled ?? 0;
      const available = s.numberAvailable ?? 0;
      if (updated < want) return { ready: false, reason: `${updated}/${want} updated` };
      if (available < want) return { ready: false, reason: `${available}/${want} available` };
      return { ready: true };
    }
    case "Job": {
      const failed = condition(obj, "Failed");
      if (failed?.status === "True")
        return { ready: false, failed: true, reason: `job failed: ${failed.message ?? failed.reason ?? ""}` };
      if (condition(obj, "Complete")?.status === "True") return { ready: true };
      return { ready: false, reason: `running (${s.succeeded ?? 0} succeeded, ${s.active ?? 0} active)` };
    }
    case "CustomResourceDefinition": {
      const names = condition(obj, "NamesAccepted");
      if (names?.status === "False")
        return { ready: false, failed: true, reason: `names not accepted: ${names.message ?? ""}` };
      if (condition(obj, "Established")?.status === "True") return { ready: true };
      return { ready: false, reason: "not established" };
    }
    case "PersistentVolumeClaim":
      return s.phase === "Bound" ? { ready: true } : { ready: false, reason: `phase ${s.phase ?? "Pending"}` };
    default: {
      for (const type of ["Ready", "Available"]) {
        const c = condition(obj, type);
        if (c)
          return c.status === "True"
            ? { ready: true }
            : { ready: false, reason: `${type}: ${c.message ?? c.reason ?? c.status}` };
      }
      return { ready: true };
    }
  }
}

export interface WaitOptions {
  timeoutMs: number;
  signal?: AbortSignal;
  /** Extra condition on the object (e.g. a Job created after a chart changed). */
  accept?: (obj: KObject) => Readiness | null;
  onProgress?: (reason: string) => void;
}

export interface WaitOutcome {
  ready: boolean;
  failed: boolean;
  reason: string;
}

/** Waits until the object exists and is ready; never throws for timeouts, only for API errors. */
export async function waitReady(kube: Kube, ref: ObjectRef, options: WaitOptions): Promise<WaitOutcome> {
  const deadline = Date.now() + options.timeoutMs;
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), Math.max(0, options.timeoutMs));
  const onOuterAbort = () => abort.abort();
  options.signal?.addEventListener("abort", onOuterAbort, { once: true });
  // Empty reason: the first judgement is always reported, "not found" included.
  let last: WaitOutcome = { ready: false, failed: false, reason: "" };
  const judge = (obj: KObject | undefined): WaitOutcome => {
    if (!obj) return { ready: false, failed: false, reason: "not found" };
    const extra = options.accept?.(obj);
    const r = extra && !extra.ready ? extra : readiness(obj);
    return r.ready
      ? { ready: true, failed: false, reason: "ready" }
      : { ready: false, failed: !!r.failed, reason: r.reason };
  };
  const report = (o: WaitOutcome) => {
    if (o.reason !== last.reason) options.onProgress?.(o.reason);
    last = o;
  };
  try {
    while (!abort.signal.aborted) {
      let listed: { items: KObject[]; resourceVersion: string };
      try {
        listed = await kube.list(ref.apiVersion, ref.kind, {
          ...(ref.namespace ? { namespace: ref.namespace } : {}),
          fieldSelector: `metadata.name=${ref.name}`,
        });
      } catch (error) {
        if (error instanceof ApiError && (error.reason === "NoKindMatch" || error.status === 404)) {
          report({ ready: false, failed: false, reason: `${ref.kind} not served yet (CRD missing)` });
          await sleep(1000, abort.signal);
          await kube.resource(ref.apiVersion, ref.kind, true).catch(() => null);
          continue;
        }
        if (error instanceof ApiError && (error.status === 0 || error.status >= 500)) {
          await sleep(1000, abort.signal);
          continue;
        }
        throw error;
      }
      const first = judge(listed.items[0]);
      report(first);
      if (first.ready || first.failed) return first;
      let outcome: WaitOutcome | undefined;
      try {
        await kube.watch(
          ref,
          {
            resourceVersion: listed.resourceVersion,
            fieldSelector: `metadata.name=${ref.name}`,
            timeoutSeconds: Math.max(1, Math.min(300, Math.ceil((deadline - Date.now()) / 1000))),
          },
          (event) => {
            const o = judge(event.type === "DELETED" ? undefined : event.object);
            report(o);
            if (o.ready || o.failed) {
              outcome = o;
              return true;
            }
            return false;
          },
          abort.signal,
        );
      } catch (error) {
        // A dropped watch is re-established from a fresh list; only the budget ends the wait.
        if (!(error instanceof ApiError && error.status === 0)) throw error;
      }
      if (outcome) return outcome;
    }
    return { ready: false, failed: false, reason: `timed out: ${last.reason || "not checked"}` };
  } finally {
    clearTimeout(timer);
    options.signal?.removeEventListener("abort", onOuterAbort);
  }
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });
}

export function describeWait(ref: ObjectRef): string {
  return refKey(ref);
}
