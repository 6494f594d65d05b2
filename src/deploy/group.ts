/**
 * One group of a deploy: decide, apply, wait, record.
 *  - decide: the group is applied unless the in-cluster inventory says its current hash
 *    was applied completely and every object still holds what we applied (no drift);
 *    then it is "unchanged" (it was ready: no waits, no writes) or re-checked (waits only);
 *  - apply: its Secrets, then its objects in kind order (server-side apply, conflicts
 *    forced: drift is taken back), then the readers of changed Secrets are rolled;
 *    the inventory is written before (old ∪ new) and after (new, with field digests);
 *  - wait: every wait target by watch, within its own and the group's budget;
 *  - record: the local state after every transition, hooks once the group is ready.
 */
import type { PlanGroup } from "../plan/schema.ts";
import { applyObject, type ApplyContext, type ApplyResult } from "./apply.ts";
import { isoNow, keepChanges, type RunContext, record, retryContext, saveGroup } from "./context.ts";
import type { GroupPhase, GroupReport } from "./events.ts";
import type { HookResult } from "./hooks.ts";
import { hookDue, runGroupHooks } from "./hooks.ts";
import { appliedInventory, type InventoryEntry, pendingInventory, writeInventory } from "./inventory.ts";
import { type Desired, findDrift } from "./live.ts";
import { type KObject, type ObjectRef, refKey, refOf, sortForApply } from "./objects.ts";
import { groupObjects, groupRefs } from "./prepare.ts";
import { rollSecretReaders } from "./restart.ts";
import { groupWaits, readyNow, type WaitItem, type WaitOutcome, waitReady, waitTarget } from "./wait.ts";

/** A group's report, the hooks it ran, and whether its dependents may start. */
export interface GroupRun {
  report: GroupReport;
  hooks: HookResult[];
  /** True when dependents may start (ready, hooks included). */
  ok: boolean;
}

type Mode = { kind: "unchanged" } | { kind: "recheck" } | { kind: "apply"; why?: string };

/** Runs one selected group; throws only for errors that end the run (the caller reports them as failed). */
export async function runGroup(ctx: RunContext, group: PlanGroup): Promise<GroupRun> {
  const t0 = ctx.clock.now();
  const name = group.name;
  const hash = ctx.prep.hashes.get(name)!;
  const hooks: HookResult[] = [];
  const finish = (phase: GroupPhase, applied: boolean, ok: boolean, message?: string): GroupRun => {
    ctx.emit({ type: "group", group: name, phase, ...(message ? { detail: message } : {}) });
    const report: GroupReport = { name, phase, hash, applied, durationMs: ctx.clock.now() - t0 };
    if (message) report.message = message;
    return { report, hooks, ok };
  };
  ctx.emit({ type: "group", group: name, phase: "checking" });
  const refs = groupRefs(ctx.prep.plan, name);
  const desired: Desired[] = refs.map((ref) => ({ ref }));
  const mode = await decide(ctx, group, hash, desired);
  if (mode.kind === "unchanged") {
    for (const d of desired) record(ctx, d.ref, name, "unchanged");
    return finish("unchanged", false, true);
  }
  let appliedAt = ctx.state.groups[name]?.appliedAt;
  let changedCharts: WaitItem[] = [];
  if (mode.kind === "apply") {
    ctx.emit({ type: "group", group: name, phase: "applying", ...(mode.why ? { detail: mode.why } : {}) });
    appliedAt = isoNow(ctx);
    const secrets = await ctx.prep.groupSecrets(name);
    const applied = await applyGroup(ctx, group, hash, appliedAt, secrets, groupObjects(ctx.prep, group));
    keepChanges(ctx, name, appliedAt);
    if (!applied.ok) {
      await saveGroup(ctx, name, { hash, status: "failed", appliedAt, message: "apply failed" });
      return finish("failed", true, false, "apply failed");
    }
    changedCharts = applied.changedCharts;
  } else {
    for (const d of desired) record(ctx, d.ref, name, "unchanged");
  }
  const applied = mode.kind === "apply";
  const outcomes = await awaitGroup(ctx, group, refs, changedCharts);
  const times = { ...(appliedAt ? { appliedAt } : {}) };
  if (ctx.signal?.aborted) return finish("failed", applied, false, "interrupted");
  const failed = outcomes.filter((o) => o.outcome.failed);
  const notReady = outcomes.filter((o) => !o.outcome.ready);
  const describe = (list: typeof outcomes) => list.map((o) => `${o.object}: ${o.outcome.reason}`).join("; ");
  if (failed.length > 0 || (notReady.length > 0 && ctx.strict)) {
    const message = describe(failed.length > 0 ? failed : notReady);
    await saveGroup(ctx, name, { hash, status: "failed", ...times, message });
    return finish("failed", applied, false, message);
  }
  if (notReady.length > 0) {
    const message = describe(notReady);
    await saveGroup(ctx, name, { hash, status: "applied-not-ready", ...times, message });
    return finish("not-ready", applied, false, message);
  }
  await saveGroup(ctx, name, { hash, status: "ready", ...times, readyAt: isoNow(ctx) });
  hooks.push(...(await runGroupHooks(ctx, name, applied)));
  await ctx.store.save(ctx.state);
  const hooksOk = hooks.every((h) => h.status !== "failed");
  return finish("ready", applied, hooksOk, hooksOk ? undefined : "a hook failed");
}

/** Whether the group must be applied, only re-checked, or is unchanged (see the module comment). */
async function decide(ctx: RunContext, group: PlanGroup, hash: string, desired: Desired[]): Promise<Mode> {
  const inv = ctx.inventories.get(group.name);
  if (!inv?.hash) return { kind: "apply" };
  if (inv.hash !== hash) return { kind: "apply", why: "changed since the last deploy" };
  const drift = await findDrift(ctx.live, desired, inv.entries);
  if (drift.length > 0)
    return { kind: "apply", why: `drift: ${drift.map((d) => `${d.object} ${d.detail}`).join("; ")}` };
  const prev = ctx.state.groups[group.name];
  const hooksDue = ctx.prep.plan.hooks.some((h) => h.after === group.name && hookDue(ctx, h));
  if (prev?.hash === hash && prev.status === "ready" && !hooksDue) return { kind: "unchanged" };
  if (prev?.hash === hash && prev.status === "failed") return { kind: "apply", why: "it failed last time" };
  return { kind: "recheck" };
}

/** Applies Secrets, then objects in kind order; writes the inventory around it. */
async function applyGroup(
  ctx: RunContext,
  group: PlanGroup,
  hash: string,
  appliedAt: string,
  secrets: KObject[],
  objects: KObject[],
): Promise<{ ok: boolean; changedCharts: WaitItem[] }> {
  const name = group.name;
  const rctx = retryContext(ctx, group.retry);
  const actx: ApplyContext = {
    ...rctx,
    kube: ctx.kube,
    deadline: ctx.clock.now() + group.timeoutSeconds * 1000,
    served: ctx.served,
    webhooks: ctx.webhooks,
    before: (ref) => ctx.live.get(ref),
    redact: (m) => ctx.prep.redactor.redact(m),
    onWait: (what) => ctx.emit({ type: "group", group: name, phase: "applying", detail: `waiting for ${what}` }),
  };
  const previous = ctx.inventories.get(name);
  const refs = [...secrets, ...objects].map(refOf);
  await saveGroup(ctx, name, { hash, status: "applying", appliedAt });
  await writeInventory({ ...rctx, kube: ctx.kube }, pendingInventory(previous, ctx.prep.plan.name, name, refs));
  const results: ApplyResult[] = [];
  // Secrets first: workloads must never start with missing or stale credentials.
  results.push(...(await applyInOrder(secrets, 8, (o) => applyObject(actx, o))));
  if (results.some((r) => r.action === "failed")) {
    for (const r of results) record(ctx, r.ref, name, r.action, r.message);
    for (const o of objects) record(ctx, refOf(o), name, "skipped", "a Secret of the group failed");
    return { ok: false, changedCharts: [] };
  }
  results.push(...(await applyInOrder(objects, 8, (o) => applyObject(actx, o))));
  for (const r of results) record(ctx, r.ref, name, r.action, r.message);
  if (results.some((r) => r.action === "failed")) return { ok: false, changedCharts: [] };
  await rollSecretReaders(ctx, group, previous);
  const entries: InventoryEntry[] = results.map((r) => ({ ref: r.ref, ...(r.fields ? { fields: r.fields } : {}) }));
  const digests: Record<string, string> = {};
  for (const s of ctx.prep.plan.secrets.filter((x) => x.group === name)) {
    const d = ctx.prep.secretDigests.get(`${s.namespace}/${s.name}`);
    if (d) digests[`${s.namespace}/${s.name}`] = d;
  }
  const next = appliedInventory(
    previous,
    { owner: ctx.prep.plan.name, group: name, hash, planHash: group.hash },
    entries,
    digests,
  );
  await writeInventory({ ...rctx, kube: ctx.kube }, next);
  ctx.inventories.set(name, next);
  const changedCharts = results
    .filter((r) => r.ref.kind === "HelmChart" && r.specChanged && r.appliedAt)
    .map((r) => ({ ref: r.ref, timeoutMs: group.timeoutSeconds * 1000, createdAfter: r.appliedAt! }));
  return { ok: true, changedCharts };
}

/** Applies in kind order: one kind after another, a kind's objects concurrently (at most `limit`). */
async function applyInOrder<T>(objects: KObject[], limit: number, fn: (obj: KObject) => Promise<T>): Promise<T[]> {
  const sorted = sortForApply(objects.map((obj) => ({ obj }))).map((x) => x.obj);
  const results: T[] = [];
  for (let i = 0; i < sorted.length; ) {
    const kind = sorted[i]!.kind;
    const batch: KObject[] = [];
    while (i < sorted.length && sorted[i]!.kind === kind) batch.push(sorted[i++]!);
    results.push(...(await mapLimit(batch, limit, fn)));
  }
  return results;
}

/** Runs fn over items with at most `limit` at a time; results in item order. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/** Waits for everything the group waits for; each reason is reported as it changes. */
async function awaitGroup(
  ctx: RunContext,
  group: PlanGroup,
  refs: ObjectRef[],
  changedCharts: WaitItem[],
): Promise<Array<{ object: string; outcome: WaitOutcome }>> {
  const waits = groupWaits(group, refs, changedCharts);
  const deadline = ctx.clock.now() + group.timeoutSeconds * 1000;
  ctx.emit({
    type: "group",
    group: group.name,
    phase: "waiting",
    ...(waits.length ? { detail: `${waits.length} objects` } : {}),
  });
  const targets = waits.map((w) => ({ w, target: waitTarget(ctx.kube, w) }));
  // Plain targets that are ready already need no watch of their own.
  const plain = targets.filter(({ target }) => !target.accept && !target.explainMissing).map((t) => t.target.ref);
  const ready = await readyNow(ctx.kube, plain);
  return await Promise.all(
    targets.map(async ({ w, target }) => {
      const object = refKey(w.ref);
      if (ready.has(refKey(target.ref))) {
        ctx.emit({ type: "waited", group: group.name, object, ready: true, reason: "ready" });
        return { object, outcome: { ready: true, failed: false, reason: "ready" } };
      }
      const outcome = await waitReady(ctx.kube, target.ref, {
        timeoutMs: Math.max(0, Math.min(w.timeoutMs, deadline - ctx.clock.now())),
        clock: ctx.clock,
        ...(target.accept ? { accept: target.accept } : {}),
        ...(target.explainMissing ? { explainMissing: target.explainMissing } : {}),
        ...(ctx.signal ? { signal: ctx.signal } : {}),
        onProgress: (reason) => ctx.emit({ type: "wait", group: group.name, object, reason }),
      });
      ctx.emit({ type: "waited", group: group.name, object, ready: outcome.ready, reason: outcome.reason });
      return { object, outcome };
    }),
  );
}
