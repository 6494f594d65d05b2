/**
 * Readiness of one object judged from its status, per kind: the rules `kubectl rollout
 * status` and `kubectl wait` apply (observed generation, updated/available replicas,
 * Job Complete/Failed, CRD Established, PVC Bound, Ready/Available conditions). Pure.
 */
import type { KObject } from "./objects.ts";

/** Ready, or why not (failed: waiting will not help). */
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

/** Judges one object's readiness from its status; `failed` means it will not become ready by waiting. */
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
