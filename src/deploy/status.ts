/**
 * `nixlab status`: per group, what the state dir recorded (hash, applied, ready) against
 * the plan and the live cluster: whether the plan changed since the last deploy, which
 * recorded objects are missing, and which workloads are not ready now. Reads only.
 */
import type { Kube } from "./kube.ts";
import { type ObjectRef, refKey, refOfWait } from "./objects.ts";
import { loadPlan } from "./plan.ts";
import { mapLimit } from "./engine.ts";
import { type DeployState, StateStore } from "./state.ts";
import { readiness } from "./wait.ts";

export interface GroupStatusReport {
  name: string;
  /** Recorded status, or "never-deployed". */
  status: string;
  hash?: string;
  appliedAt?: string;
  readyAt?: string;
  /** The plan's group differs from the one last deployed (a deploy would re-apply it). */
  planChanged: boolean;
  /** Objects recorded for the group that are gone from the cluster, or workloads not ready now. */
  drift: boolean;
  missing: string[];
  notReady: string[];
  message?: string;
}

export interface StatusReport {
  lastRun: DeployState["lastRun"] | null;
  server: string | null;
  groups: GroupStatusReport[];
}

const liveChecked = new Set(["Deployment", "StatefulSet", "DaemonSet", "Job", "CustomResourceDefinition"]);

export async function deployStatus(options: {
  kube?: Kube;
  planPath: string;
  stateDir: string;
}): Promise<StatusReport> {
  const { plan } = await loadPlan(options.planPath);
  const state = await new StateStore(options.stateDir).load();
  const groups: GroupStatusReport[] = [];
  for (const g of plan.groups) {
    const gs = state.groups[g.name];
    const r: GroupStatusReport = {
      name: g.name,
      status: gs?.status ?? "never-deployed",
      planChanged: !gs || gs.planHash !== g.hash,
      drift: false,
      missing: [],
      notReady: [],
    };
    if (gs) {
      r.hash = gs.hash;
      if (gs.appliedAt) r.appliedAt = gs.appliedAt;
      if (gs.readyAt) r.readyAt = gs.readyAt;
      if (gs.message) r.message = gs.message;
    }
    const kube = options.kube;
    if (kube && gs) {
      const targets: ObjectRef[] = [...gs.objects, ...g.waitFor.map(refOfWait)];
      await mapLimit(targets, 16, async (ref) => {
        const live = await kube.get(ref).catch(() => null);
        if (!live) r.missing.push(refKey(ref));
        else if (liveChecked.has(ref.kind) && !readiness(live).ready) r.notReady.push(refKey(ref));
      });
      r.missing.sort();
      r.notReady.sort();
      r.drift = r.missing.length > 0 || r.notReady.length > 0;
    }
    groups.push(r);
  }
  return { lastRun: state.lastRun ?? null, server: state.server ?? null, groups };
}
