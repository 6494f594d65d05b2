/**
 * `nixlab status`: per group, what the local record says (status, times), what the
 * cluster's inventory says (applied, from which plan), and what is live: drift (an
 * object missing, being deleted, or a field we set changed by someone else) and
 * workloads not ready now. Reads only. An API it cannot reach, or an object it cannot
 * read, stops it with the reason (exit 1): it never calls anything missing it did not see.
 */
import { ExitCode } from "../errors.ts";
import type { LoadedPlan } from "../plan/load.ts";
import { defaultRetry } from "../plan/schema.ts";
import type { KubeClient } from "./client.ts";
import { type Clock, systemClock } from "./clock.ts";
import { explainApiErrors, waitForApi } from "./api.ts";
import type { DeploySink } from "./events.ts";
import { type GroupInventory, readInventories } from "./inventory.ts";
import { type Desired, type Drift, findDrift, LiveObjects } from "./live.ts";
import { type ObjectRef, refKey, refOfWait } from "./objects.ts";
import { groupRefs } from "./prepare.ts";
import { readiness } from "./readiness.ts";
import { type RetryContext, withRetry } from "./retry.ts";
import type { DeployState, StateStore } from "./state.ts";

/** One group in `nixlab status`. */
export interface GroupStatusReport {
  name: string;
  /**
   * The local record's status; "unrecorded": applied (by the inventory) but not from this
   * state dir; "never-deployed"; or "unknown" (the state dir describes another cluster).
   */
  status: string;
  appliedAt?: string;
  readyAt?: string;
  message?: string;
  /** What the cluster's inventory says: applied (complete), applying (incomplete), absent; null offline. */
  inCluster: "applied" | "applying" | "absent" | null;
  /** The plan's group differs from the one last applied (a deploy would re-apply it). */
  planChanged: boolean;
  /** Live objects that are not as nixlab left them. */
  drift: Drift[];
  /** Workloads and wait targets not ready now, with the reason. */
  notReady: Array<{ object: string; reason: string }>;
}

/** The result of `nixlab status` (its --json output). */
export interface StatusReport {
  command: "status";
  /** in-sync: all applied, ready, no drift; out-of-sync: a deploy has something to do; unknown: offline. */
  result: "in-sync" | "out-of-sync" | "unknown";
  exitCode: number;
  server: string | null;
  /** Problems with the inputs, e.g. a state dir that belongs to another cluster. */
  warnings: string[];
  lastRun: DeployState["lastRun"] | null;
  groups: GroupStatusReport[];
}

/** What status reads. */
export interface StatusInput {
  plan: LoadedPlan;
  store: StateStore;
  /** Absent: offline, the local record only. */
  kube?: KubeClient;
  clock?: Clock;
  apiTimeoutMs?: number;
  sink?: DeploySink;
}

const liveChecked = new Set(["Deployment", "StatefulSet", "DaemonSet", "Job", "CustomResourceDefinition"]);

/** The status report; throws UserError (exit 1) when the API cannot be reached or an object cannot be read. */
export async function deployStatus(input: StatusInput): Promise<StatusReport> {
  return input.kube ? await explainApiErrors(input.kube, () => status(input)) : await status(input);
}

async function status(input: StatusInput): Promise<StatusReport> {
  const { plan } = input.plan;
  const state = await input.store.load();
  const warnings: string[] = [];
  const clock = input.clock ?? systemClock;
  let inventories: Map<string, GroupInventory> | null = null;
  let live: LiveObjects | null = null;
  let foreign = false;
  if (input.kube) {
    const kube = input.kube;
    const timeoutMs = input.apiTimeoutMs ?? 10_000;
    await waitForApi(kube, { clock, timeoutMs, sink: input.sink ?? (() => {}) });
    const rctx: RetryContext & { kube: KubeClient } = { kube, retry: defaultRetry, clock, outageMs: timeoutMs };
    const id = (await withRetry(rctx, () => kube.get({ apiVersion: "v1", kind: "Namespace", name: "kube-system" })))
      ?.metadata.uid;
    if (state.cluster && id && state.cluster !== id) {
      foreign = true;
      warnings.push(
        `the state dir ${input.store.where} describes another cluster (last deployed to ${state.server ?? "an unknown server"}), not the one at ${kube.server}: its records are not shown; check --state and --kubeconfig/--context`,
      );
    }
    inventories = await readInventories(rctx, plan.name);
    live = new LiveObjects(rctx);
  }
  const groups: GroupStatusReport[] = [];
  for (const g of plan.groups) {
    const gs = foreign ? undefined : state.groups[g.name];
    const inv = inventories?.get(g.name);
    const r: GroupStatusReport = {
      name: g.name,
      status: foreign ? "unknown" : (gs?.status ?? (inv?.hash ? "unrecorded" : "never-deployed")),
      inCluster: inventories ? (inv ? (inv.hash ? "applied" : "applying") : "absent") : null,
      planChanged: inventories ? !inv || inv.planHash !== g.hash : !gs || gs.planHash !== g.hash,
      drift: [],
      notReady: [],
    };
    if (gs?.appliedAt) r.appliedAt = gs.appliedAt;
    if (gs?.readyAt) r.readyAt = gs.readyAt;
    if (gs?.message) r.message = gs.message;
    if (live && inv) await checkLive(input.plan, g.name, inv, live, r);
    groups.push(r);
  }
  const inSync = groups.every(
    (g) =>
      g.inCluster === "applied" &&
      !g.planChanged &&
      g.drift.length === 0 &&
      g.notReady.length === 0 &&
      // The live cluster is the truth; a failure recorded here (a hook) still needs a deploy.
      g.status !== "failed",
  );
  const result = !input.kube ? "unknown" : inSync ? "in-sync" : "out-of-sync";
  return {
    command: "status",
    result,
    exitCode: foreign ? ExitCode.failure : result === "out-of-sync" ? ExitCode.notReady : ExitCode.ok,
    server: input.kube?.server ?? state.server ?? null,
    warnings,
    lastRun: foreign ? null : (state.lastRun ?? null),
    groups,
  };
}

/** Fills drift and notReady for one group from the live objects. */
async function checkLive(
  loaded: LoadedPlan,
  name: string,
  inv: GroupInventory,
  live: LiveObjects,
  r: GroupStatusReport,
): Promise<void> {
  const g = loaded.plan.groups.find((x) => x.name === name)!;
  const refs = groupRefs(loaded.plan, name);
  const desired: Desired[] = refs.map((ref) => ({ ref }));
  r.drift = (await findDrift(live, desired, inv.entries)).sort((a, b) => (a.object < b.object ? -1 : 1));
  const targets: ObjectRef[] = [...refs.filter((r) => liveChecked.has(r.kind)), ...g.waitFor.map(refOfWait)];
  const seen = new Set<string>();
  for (const ref of targets) {
    if (seen.has(refKey(ref))) continue;
    seen.add(refKey(ref));
    const obj = await live.get(ref.kind === "HelmChart" ? helmJob(ref) : ref);
    if (!obj) {
      if (!r.drift.some((d) => d.object === refKey(ref))) r.notReady.push({ object: refKey(ref), reason: "not found" });
      continue;
    }
    const judged = readiness(obj);
    if (!judged.ready) r.notReady.push({ object: refKey(ref), reason: judged.reason });
  }
}

function helmJob(chart: ObjectRef): ObjectRef {
  return {
    apiVersion: "batch/v1",
    kind: "Job",
    name: `helm-install-${chart.name}`,
    namespace: chart.namespace ?? "kube-system",
  };
}
