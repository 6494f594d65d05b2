/**
 * `nixlab deploy`: brings the cluster to a plan (ARCHITECTURE §5). Takes data (the
 * loaded plan, options) and interfaces (KubeClient, StateStore, SecretSource, Clock,
 * sink): no paths, no flags, no printing.
 *   lock -> wait for the API -> which cluster is this -> secret values of the selected
 *   groups -> inventories (one list) -> namespaces -> groups as a DAG (group.ts) ->
 *   prune after a complete healthy run -> result.
 * Only the selected groups (--only) decide the result; the others are "not selected".
 */
import { ExitCode, UserError } from "../errors.ts";
import type { LoadedPlan } from "../plan/load.ts";
import { defaultRetry, type PlanGroup } from "../plan/schema.ts";
import { ChangeSet } from "./changeset.ts";
import type { KubeClient } from "./client.ts";
import { type Clock, systemClock } from "./clock.ts";
import { isoNow, type RunContext } from "./context.ts";
import type { DeployReport, DeploySink, GroupReport } from "./events.ts";
import { runGroup } from "./group.ts";
import type { HookResult } from "./hooks.ts";
import { readInventories } from "./inventory.ts";
import { LiveObjects } from "./live.ts";
import { ensureNamespaces } from "./namespaces.ts";
import { groupRefs, prepare } from "./prepare.ts";
import { prune } from "./prune.ts";
import { explainApiErrors, waitForApi } from "./api.ts";
import { errorMessage, withRetry } from "./retry.ts";
import { runDag } from "./scheduler.ts";
import { clusterHashKey, type SecretSource } from "./secrets.ts";
import type { StateStore } from "./state.ts";
import { newWebhookCache } from "./webhooks.ts";

/** Everything a deploy takes: data (the plan, options) and interfaces. */
export interface DeployInput {
  plan: LoadedPlan;
  kube: KubeClient;
  store: StateStore;
  secrets?: SecretSource;
  clock?: Clock;
  sink?: DeploySink;
  /** Groups to deploy (all when absent or empty); their dependencies must be ready already. */
  only?: readonly string[];
  /** A group that does not become ready in time fails the deploy (exit 1 instead of 4). */
  strict?: boolean;
  /** Groups deployed at the same time. */
  concurrency?: number;
  /** How long to wait for another deploy's lock (0: fail at once with ExitCode.busy). */
  lockWaitMs?: number;
  /** How long the API may be unreachable, at the start or during the run (--api-timeout). */
  apiTimeoutMs?: number;
  signal?: AbortSignal;
}

/** The groups to deploy: all, or `only` (each must exist: UserError exit 2 naming the known ones). */
export function selectGroups(groups: readonly PlanGroup[], only: readonly string[] | undefined): Set<string> {
  const all = groups.map((g) => g.name);
  if (!only || only.length === 0) return new Set(all);
  const unknown = only.filter((g) => !all.includes(g));
  if (unknown.length > 0) {
    throw new UserError(`--only names unknown groups: ${unknown.join(", ")}`, {
      exitCode: ExitCode.invalidInput,
      details: [`Groups: ${all.join(", ")}`],
    });
  }
  return new Set(only);
}

/** Brings the cluster to the plan; see the module comment. Throws UserError for what stops a run before it starts. */
export async function deploy(input: DeployInput): Promise<DeployReport> {
  const clock = input.clock ?? systemClock;
  const started = clock.now();
  const selected = selectGroups(input.plan.plan.groups, input.only);
  const lock = await input.store.lock(input.lockWaitMs ?? 0);
  try {
    return await explainApiErrors(input.kube, () => deployLocked(input, clock, started, selected));
  } finally {
    await lock.release();
  }
}

async function deployLocked(
  input: DeployInput,
  clock: Clock,
  started: number,
  selected: Set<string>,
): Promise<DeployReport> {
  const { kube } = input;
  const emit: DeploySink = input.sink ?? (() => {});
  const countsBefore = { ...kube.counts };
  const outageMs = input.apiTimeoutMs ?? 10_000;
  await waitForApi(kube, { clock, timeoutMs: outageMs, sink: emit, ...(input.signal ? { signal: input.signal } : {}) });
  const rctx = {
    retry: defaultRetry,
    clock,
    outageMs,
    ...(input.signal ? { signal: input.signal } : {}),
    onRetry: (reason: string, delayMs: number) => emit({ type: "retry", reason, delayMs }),
  };
  const live = new LiveObjects({ ...rctx, kube });
  // What a no-op run needs, read at once rather than group after group: the cluster's
  // identity, the inventories, the namespaces, and one list per kind the groups hold.
  const inventoriesRead = readInventories({ ...rctx, kube }, input.plan.plan.name);
  const clusterRead = withRetry(rctx, () => kube.get({ apiVersion: "v1", kind: "Namespace", name: "kube-system" }));
  const namespacesRead = withRetry(rctx, () => kube.list("v1", "Namespace"));
  for (const name of selected) live.prefetch(groupRefs(input.plan.plan, name));
  // Awaited below; a failure before then must not surface as an unhandled rejection.
  for (const read of [inventoriesRead, clusterRead, namespacesRead]) read.catch(() => {});
  const state = await input.store.load();
  // A cluster is known by kube-system's uid (the master and a workstation reach it by
  // different URLs); a record of another cluster is not used for this one.
  const clusterId = (await clusterRead)?.metadata.uid;
  if (state.cluster && clusterId && state.cluster !== clusterId) {
    emit({
      type: "phase",
      message: `${input.store.where} recorded another cluster; using this cluster's own inventory`,
    });
    state.groups = {};
    delete state.hooks;
    delete state.secretDigests;
  }
  if (clusterId) state.cluster = clusterId;
  const prep = await prepare(input.plan, {
    selected,
    source: input.secrets,
    hashKey: async () => (await withRetry(rctx, () => clusterHashKey(kube)))!,
    cache: state.secretDigests,
  });
  if (prep.cache) state.secretDigests = prep.cache;
  state.server = kube.server;
  state.planHash = input.plan.plan.hash;
  state.lastRun = { startedAt: new Date(started).toISOString() };
  const ctx: RunContext = {
    kube,
    clock,
    emit,
    ...(input.signal ? { signal: input.signal } : {}),
    outageMs,
    strict: !!input.strict,
    prep,
    selected,
    state,
    store: input.store,
    inventories: await inventoriesRead,
    live,
    changes: new ChangeSet(),
    webhooks: newWebhookCache(),
    served: new Set(),
  };
  const failedNamespaces = await ensureNamespaces(ctx, await namespacesRead);
  const { reports, hooks } = await runGroups(ctx, failedNamespaces, input.concurrency ?? 8);
  const groups = input.plan.plan.groups.map((g) => reports.get(g.name)!);
  const chosen = groups.filter((g) => selected.has(g.name));
  // Prune only after a complete, healthy run of the whole plan: a partial or failed run
  // must never delete what a later group might still be meant to own.
  const healthy =
    selected.size === groups.length &&
    failedNamespaces.size === 0 &&
    chosen.every((g) => g.phase === "ready" || g.phase === "unchanged");
  if (healthy && !input.signal?.aborted) await prune(ctx);
  const anyFailed =
    input.signal?.aborted ||
    failedNamespaces.size > 0 ||
    chosen.some((g) => g.phase === "failed") ||
    hooks.some((h) => h.status === "failed") ||
    ctx.changes.entries.some((e) => e.action === "failed");
  const anyNotReady = chosen.some((g) => g.phase === "not-ready" || g.phase === "blocked");
  const result: DeployReport["result"] = anyFailed ? "failed" : anyNotReady ? "not-ready" : "ok";
  state.lastRun = { ...state.lastRun, finishedAt: isoNow(ctx), result };
  await input.store.save(state);
  return {
    command: "deploy",
    result,
    exitCode: result === "failed" ? ExitCode.failure : result === "not-ready" ? ExitCode.notReady : ExitCode.ok,
    durationMs: clock.now() - started,
    groups,
    changes: ctx.changes.sorted(),
    counts: ctx.changes.counts(),
    hooks,
    requests: {
      reads: kube.counts.reads - countsBefore.reads,
      writes: kube.counts.writes - countsBefore.writes,
      dryRuns: kube.counts.dryRuns - countsBefore.dryRuns,
    },
  };
}

/** Runs the groups as a DAG; a group outside --only counts as done when it was ready before. */
async function runGroups(
  ctx: RunContext,
  failedNamespaces: ReadonlySet<string>,
  concurrency: number,
): Promise<{ reports: Map<string, GroupReport>; hooks: HookResult[] }> {
  const reports = new Map<string, GroupReport>();
  const hooks: HookResult[] = [];
  const groups = new Map(ctx.prep.plan.groups.map((g) => [g.name, g]));
  const set = (r: GroupReport) => {
    reports.set(r.name, r);
    ctx.emit({ type: "group", group: r.name, phase: r.phase, ...(r.message ? { detail: r.message } : {}) });
  };
  await runDag(
    ctx.prep.plan.groups,
    concurrency,
    async (name) => {
      const group = groups.get(name)!;
      const hash = ctx.prep.hashes.get(name);
      if (!ctx.selected.has(name)) {
        const prev = ctx.state.groups[name];
        const ready = prev?.status === "ready";
        const message = ready
          ? `not selected (ready since ${prev.readyAt ?? prev.appliedAt ?? "the last deploy"})`
          : `not selected; its last deploy left it ${prev?.status ?? "not deployed from this state dir"}`;
        set({ name, phase: "not-selected", applied: false, message, durationMs: 0 });
        return ready;
      }
      const blockedNs = group.namespaces.filter((ns) => failedNamespaces.has(ns));
      if (blockedNs.length > 0) {
        set({
          name,
          phase: "failed",
          ...(hash ? { hash } : {}),
          applied: false,
          message: `namespace ${blockedNs.join(", ")} is not usable`,
          durationMs: 0,
        });
        return false;
      }
      try {
        const run = await runGroup(ctx, group);
        reports.set(name, run.report);
        hooks.push(...run.hooks);
        return run.ok;
      } catch (error) {
        const message = ctx.prep.redactor.redact(errorMessage(error));
        set({ name, phase: "failed", ...(hash ? { hash } : {}), applied: false, message, durationMs: 0 });
        return false;
      }
    },
    (name, by) => {
      const hash = ctx.prep.hashes.get(name);
      const why = by.map((d) => (ctx.selected.has(d) ? d : `${d} (not selected, not ready)`));
      if (!ctx.selected.has(name))
        set({ name, phase: "not-selected", applied: false, message: "not selected", durationMs: 0 });
      else
        set({
          name,
          phase: "blocked",
          ...(hash ? { hash } : {}),
          applied: false,
          message: `waits for ${why.join(", ")}`,
          durationMs: 0,
        });
    },
  );
  return { reports, hooks };
}
