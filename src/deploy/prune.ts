/**
 * Pruning: objects an inventory holds that the plan no longer renders are deleted,
 * newest kinds first, if they still carry our managed-by label and our field manager
 * owns fields in them. Anything else is reported as skipped and left alone, as are
 * Namespaces and CRDs (deleting those takes everything inside). Only after a complete,
 * healthy run of the whole plan. The inventories then forget what was handled.
 */
import { defaultRetry } from "../plan/schema.ts";
import type { KubeClient } from "./client.ts";
import { type RunContext, record, retryContext } from "./context.ts";
import { deleteInventory, type GroupInventory, writeInventory } from "./inventory.ts";
import {
  fieldManager,
  isManagedBy,
  type KObject,
  managedByLabel,
  type ObjectRef,
  refKey,
  sortForApply,
} from "./objects.ts";
import { groupRefs, renderedRefs } from "./prepare.ts";
import { errorMessage, type RetryContext, withRetry } from "./retry.ts";

/** An object an inventory holds that the plan no longer renders. */
export interface PruneCandidate {
  ref: ObjectRef;
  /** The group whose inventory holds it. */
  group: string;
}

/** Kinds never pruned: deleting them takes everything inside (all CRs, a whole namespace). */
const neverPruned = new Set(["Namespace", "CustomResourceDefinition"]);

/** Inventory objects the plan no longer renders, in deletion order (reverse apply order). */
export function pruneCandidates(
  inventories: ReadonlyMap<string, GroupInventory>,
  rendered: ReadonlySet<string>,
): PruneCandidate[] {
  const byKey = new Map<string, PruneCandidate>();
  for (const inv of inventories.values()) {
    for (const e of inv.entries) {
      const key = refKey(e.ref);
      if (!rendered.has(key) && !byKey.has(key)) byKey.set(key, { ref: e.ref, group: inv.group });
    }
  }
  const items = [...byKey.values()].map((c) => ({
    obj: { apiVersion: c.ref.apiVersion, kind: c.ref.kind, metadata: { name: c.ref.name } },
    c,
  }));
  return sortForApply(items)
    .reverse()
    .map((x) => x.c);
}

/** Whether a candidate may be deleted, and why not. */
export type PruneVerdict =
  | { action: "delete"; live: KObject }
  | { action: "skip"; reason: string }
  | { action: "gone" };

/** Whether a candidate may be deleted: it exists, is labelled ours and our field manager owns part of it. */
export async function judgePrune(kube: KubeClient, rctx: RetryContext, c: PruneCandidate): Promise<PruneVerdict> {
  if (neverPruned.has(c.ref.kind)) {
    return { action: "skip", reason: `no longer rendered; a ${c.ref.kind} is never deleted automatically` };
  }
  const live = await withRetry(rctx, () => kube.get(c.ref));
  if (!live) return { action: "gone" };
  if (live.metadata.labels?.[managedByLabel] !== "nixlab" || !isManagedBy(live, fieldManager)) {
    return { action: "skip", reason: "no longer rendered, but not created by nixlab: left alone" };
  }
  return { action: "delete", live };
}

/** Deletes what the plan no longer renders (see the module comment) and rewrites the inventories. */
export async function prune(ctx: RunContext): Promise<void> {
  const rendered = renderedRefs(ctx.prep.plan);
  const candidates = pruneCandidates(ctx.inventories, rendered);
  const planGroups = new Set(ctx.prep.plan.groups.map((g) => g.name));
  const own = new Map([...ctx.inventories.keys()].map((g) => [g, new Set(groupRefs(ctx.prep.plan, g).map(refKey))]));
  const stale = [...ctx.inventories.values()].some((inv) =>
    inv.entries.some((e) => !own.get(inv.group)!.has(refKey(e.ref))),
  );
  if (!stale) return;
  ctx.emit({ type: "phase", message: "pruning objects no longer rendered" });
  const rctx = retryContext(ctx, defaultRetry);
  const handled = new Set<string>();
  for (const c of candidates) {
    try {
      const verdict = await judgePrune(ctx.kube, rctx, c);
      if (verdict.action === "skip") record(ctx, c.ref, c.group, "skipped", verdict.reason);
      if (verdict.action === "delete") {
        const uid = verdict.live.metadata.uid;
        await withRetry(rctx, () =>
          ctx.kube.delete(c.ref, { propagationPolicy: "Background", ...(uid ? { uid } : {}) }),
        );
        record(ctx, c.ref, c.group, "deleted", "no longer rendered");
      }
      handled.add(refKey(c.ref));
    } catch (error) {
      record(ctx, c.ref, c.group, "failed", `prune: ${errorMessage(error)}`);
    }
  }
  const ictx = { ...rctx, kube: ctx.kube };
  for (const [group, inv] of [...ctx.inventories]) {
    // Kept: what is still this group's, and what could not be pruned yet (tried again next run).
    const kept = inv.entries.filter((e) => {
      const key = refKey(e.ref);
      return own.get(group)!.has(key) || (!handled.has(key) && !rendered.has(key));
    });
    if (!planGroups.has(group) && kept.length === 0) {
      await deleteInventory(ictx, inv);
      ctx.inventories.delete(group);
    } else if (kept.length !== inv.entries.length) {
      const next = { ...inv, entries: kept };
      await writeInventory(ictx, next);
      ctx.inventories.set(group, next);
    }
  }
}
