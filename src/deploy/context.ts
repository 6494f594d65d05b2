/** What every step of one deploy run shares: the client, the clock, the sink, and the run's records. */
import type { RetryPolicy } from "../plan/schema.ts";
import type { ChangeAction, ChangeSet } from "./changeset.ts";
import type { KubeClient } from "./client.ts";
import type { Clock } from "./clock.ts";
import type { DeploySink } from "./events.ts";
import type { GroupInventory } from "./inventory.ts";
import type { LiveObjects } from "./live.ts";
import type { ObjectRef } from "./objects.ts";
import type { Prepared } from "./prepare.ts";
import type { RetryContext } from "./retry.ts";
import type { DeployState, GroupState, StateStore } from "./state.ts";
import type { WebhookCache } from "./webhooks.ts";

/** The shared state of one deploy run (see engine.ts). */
export interface RunContext {
  kube: KubeClient;
  clock: Clock;
  emit: DeploySink;
  signal?: AbortSignal;
  /** How long the API may be unreachable before a request gives up (--api-timeout). */
  outageMs: number;
  strict: boolean;
  prep: Prepared;
  selected: ReadonlySet<string>;
  state: DeployState;
  store: StateStore;
  /** Each group's in-cluster inventory as read at the start (updated as groups are applied). */
  inventories: Map<string, GroupInventory>;
  live: LiveObjects;
  changes: ChangeSet;
  webhooks: WebhookCache;
  /** Custom resource kinds known to be served in this run. */
  served: Set<string>;
}

/** The retry context for a request of this run under `policy`; every retry is reported. */
export function retryContext(ctx: RunContext, policy: RetryPolicy): RetryContext {
  return {
    retry: policy,
    clock: ctx.clock,
    outageMs: ctx.outageMs,
    ...(ctx.signal ? { signal: ctx.signal } : {}),
    onRetry: (reason, delayMs) => ctx.emit({ type: "retry", reason, delayMs }),
  };
}

/** Records one object's outcome in the change set and tells the sink. */
export function record(ctx: RunContext, ref: ObjectRef, group: string, action: ChangeAction, message?: string): void {
  ctx.emit({ type: "object", entry: ctx.changes.add(ref, group, action, message) });
}

/**
 * Saves a group's transition in the local record (with the plan's own hash of the group);
 * the last apply's change set is kept unless `gs` brings a new one.
 */
export async function saveGroup(
  ctx: RunContext,
  name: string,
  gs: Omit<GroupState, "planHash" | "lastChanges">,
): Promise<void> {
  const planHash = ctx.prep.plan.groups.find((g) => g.name === name)?.hash;
  const lastChanges = ctx.state.groups[name]?.lastChanges;
  ctx.state.groups[name] = { ...gs, ...(planHash ? { planHash } : {}), ...(lastChanges ? { lastChanges } : {}) };
  await ctx.store.save(ctx.state);
}

/** Keeps what this run did to the group's objects as its last change set (saved with the group's next transition). */
export function keepChanges(ctx: RunContext, name: string, at: string): void {
  const gs = ctx.state.groups[name];
  if (!gs) return;
  const entries = ctx.changes.entries
    .filter((e) => e.group === name)
    .map((e) => ({ object: e.object, action: e.action, ...(e.message ? { message: e.message } : {}) }));
  gs.lastChanges = { at, entries };
}

/** ISO time on the run's clock. */
export function isoNow(ctx: Pick<RunContext, "clock">): string {
  return new Date(ctx.clock.now()).toISOString();
}
