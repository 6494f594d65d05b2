/**
 * Server-side apply of one object, made safe: a custom resource waits for its CRD, an
 * object an admission webhook validates waits for the webhook to serve, only retriable
 * errors are retried, an invalid object fails at once with the server's message, and a
 * Job we own whose immutable template changed is deleted and recreated. No other Job
 * is ever touched. Conflicts are forced: a field we render that someone changed by hand
 * is taken back (drift correction, as Flux does).
 */
import type { ChangeAction } from "./changeset.ts";
import { ApiError, type KubeClient } from "./client.ts";
import { deadlineSignal } from "./clock.ts";
import { type CrdContext, ensureServed } from "./crds.ts";
import { fieldManager, fieldsDigest, isManagedBy, type KObject, type ObjectRef, refKey, refOf } from "./objects.ts";
import { errorMessage, withRetry } from "./retry.ts";
import { waitForWebhooks, type WebhookCache } from "./webhooks.ts";

/** What one apply needs: the client, retry budgets, the group's deadline, the run's caches. */
export interface ApplyContext extends CrdContext {
  webhooks: WebhookCache;
  /** The live object as read before (a cached list); undefined: read it now. */
  before?: (ref: ObjectRef) => Promise<KObject | null>;
  /** Cleans messages before they leave (secret values). */
  redact?: (message: string) => string;
  dryRun?: boolean;
}

/** The outcome of applying one object (never an exception). */
export interface ApplyResult {
  ref: ObjectRef;
  action: ChangeAction;
  message?: string;
  /** The object as the server stored it (or would, for a dry run). */
  live?: KObject;
  /** The object before the apply; null when it did not exist. */
  before?: KObject | null;
  /** True when the apply changed the object's spec (generation moved) or created it. */
  specChanged: boolean;
  /** Server time of our apply (managedFields), for "created after" checks. */
  appliedAt?: string;
  /** Digest of the fields we own after the apply (see fieldsDigest); the inventory keeps it. */
  fields?: string;
}

function isImmutableJobError(obj: KObject, error: unknown): boolean {
  return (
    obj.kind === "Job" && error instanceof ApiError && error.status === 422 && /field is immutable/.test(error.message)
  );
}

/** Applies obj; never throws: a failure is an ApplyResult with action "failed" and the (redacted) reason. */
export async function applyObject(ctx: ApplyContext, obj: KObject): Promise<ApplyResult> {
  const ref = refOf(obj);
  const redact = ctx.redact ?? ((m: string) => m);
  try {
    await ensureServed(ctx, obj);
    await waitForWebhooks(ctx, obj);
    const before = ctx.before ? await ctx.before(ref) : await withRetry(ctx, () => ctx.kube.get(ref));
    if (obj.kind === "Job" && before && !isManagedBy(before, fieldManager)) {
      return {
        ref,
        action: "failed",
        before,
        specChanged: false,
        message: `a Job ${refKey(ref)} exists that nixlab did not create; it is left alone (delete or rename it)`,
      };
    }
    let live: KObject;
    let recreated = false;
    try {
      live = await withRetry(ctx, () => ctx.kube.apply(obj, { dryRun: !!ctx.dryRun }));
    } catch (error) {
      if (!isImmutableJobError(obj, error) || !before) throw error;
      if (ctx.dryRun) {
        return {
          ref,
          action: "configured",
          before,
          live: obj,
          specChanged: true,
          message: "would recreate (immutable Job template)",
        };
      }
      await recreateJob(ctx, before);
      live = await withRetry(ctx, () => ctx.kube.apply(obj));
      recreated = true;
    }
    const changed = !before || recreated || before.metadata.resourceVersion !== live.metadata.resourceVersion;
    const result: ApplyResult = {
      ref,
      action: !before ? "created" : changed ? "configured" : "unchanged",
      before,
      live,
      specChanged: !before || recreated || before.metadata.generation !== live.metadata.generation,
    };
    const mine = (live.metadata.managedFields ?? []).find((f) => f.manager === fieldManager && f.operation === "Apply");
    if (mine?.time) result.appliedAt = mine.time;
    const fields = fieldsDigest(live);
    if (fields) result.fields = fields;
    if (recreated) result.message = "recreated: its template is immutable";
    return result;
  } catch (error) {
    return { ref, action: "failed", specChanged: false, message: redact(errorMessage(error)) };
  }
}

/** Deletes our Job (only the one we read: uid precondition) and waits until it is gone. */
async function recreateJob(ctx: ApplyContext, job: KObject): Promise<void> {
  const ref = refOf(job);
  ctx.onWait?.(`old ${refKey(ref)} to be deleted (immutable template)`);
  const uid = job.metadata.uid;
  await withRetry(ctx, () => ctx.kube.delete(ref, { propagationPolicy: "Background", ...(uid ? { uid } : {}) }));
  const budget = deadlineSignal(ctx.deadline - ctx.clock.now(), ctx.signal);
  try {
    for (;;) {
      const { items, resourceVersion } = await withRetry(ctx, () =>
        ctx.kube.list(ref.apiVersion, ref.kind, {
          ...(ref.namespace ? { namespace: ref.namespace } : {}),
          fieldSelector: `metadata.name=${ref.name}`,
        }),
      );
      if (items.length === 0 || items[0]!.metadata.uid !== uid) return;
      if (budget.signal.aborted) throw new Error(`${refKey(ref)} was not deleted in time`);
      await watchDeletion(ctx.kube, ref, resourceVersion, budget.signal);
    }
  } finally {
    budget.clear();
  }
}

async function watchDeletion(
  kube: KubeClient,
  ref: ObjectRef,
  resourceVersion: string,
  signal: AbortSignal,
): Promise<void> {
  await kube
    .watch(
      ref,
      { resourceVersion, fieldSelector: `metadata.name=${ref.name}`, timeoutSeconds: 30 },
      (ev) => ev.type === "DELETED",
      signal,
    )
    .catch(() => false); // listed again by the caller
}
