/**
 * Server-side apply of one object, made safe: custom resources wait for their CRD to be
 * Established, objects an admission webhook validates wait for the webhook's service to
 * have a ready endpoint, only retriable errors are retried (with backoff, no sleep after
 * the last attempt), invalid objects fail at once with the server's message, and a Job
 * we own whose immutable template changed is deleted and recreated. No other Job is
 * ever touched.
 */
import type { RetryPolicy } from "../render/plan-types.ts";
import type { ChangeAction } from "./changeset.ts";
import { ApiError, type Kube } from "./kube.ts";
import {
  fieldManager,
  groupOf,
  isBuiltinGroup,
  isManagedBy,
  type KObject,
  type ObjectRef,
  refKey,
  refOf,
} from "./objects.ts";
import { sleep, waitReady } from "./wait.ts";
import { waitForWebhooks, type WebhookCache } from "./webhooks.ts";

export interface ApplyContext {
  kube: Kube;
  retry: RetryPolicy;
  /** Absolute time (ms) after which waits for CRDs and webhooks give up. */
  deadline: number;
  signal?: AbortSignal;
  webhooks: WebhookCache;
  /** Called with what the apply is waiting for (progress line). */
  onWait?: (what: string) => void;
  /** Cleans messages before they leave (secret values). */
  redact?: (message: string) => string;
  dryRun?: boolean;
}

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
}

/** Errors worth another attempt: the server or the network, not the object. */
export function isRetriable(error: unknown): boolean {
  if (!(error instanceof ApiError)) return false;
  if (error.status === 0 || error.status === 429) return true;
  if (error.status === 409 && error.reason === "Conflict") return true;
  if (error.status >= 500) return true;
  // A webhook that is not serving yet answers through the apiserver as 500; any other
  // status (400 Bad Request, 403, 404, 422 Invalid) is about the object and final.
  return false;
}

function isImmutableJobError(obj: KObject, error: unknown): boolean {
  return (
    obj.kind === "Job" && error instanceof ApiError && error.status === 422 && /field is immutable/.test(error.message)
  );
}

export async function applyObject(ctx: ApplyContext, obj: KObject): Promise<ApplyResult> {
  const ref = refOf(obj);
  const redact = ctx.redact ?? ((m: string) => m);
  try {
    await ensureServed(ctx, obj);
    await waitForWebhooks(ctx, obj);
    const before = await withRetry(ctx, () => ctx.kube.get(ref));
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
    const action: ChangeAction =
      !before || recreated
        ? before
          ? "configured"
          : "created"
        : before.metadata.resourceVersion === live.metadata.resourceVersion
          ? "unchanged"
          : "configured";
    const specChanged = !before || recreated || before.metadata.generation !== live.metadata.generation;
    const mine = (live.metadata.managedFields ?? []).filter(
      (f) => f.manager === fieldManager && f.operation === "Apply",
    );
    const result: ApplyResult = { ref, action, before, live, specChanged };
    const appliedAt = mine[0]?.time;
    if (appliedAt) result.appliedAt = appliedAt;
    if (recreated) result.message = "recreated: its template is immutable";
    return result;
  } catch (error) {
    return { ref, action: "failed", specChanged: false, message: redact(errorMessage(error)) };
  }
}

export function errorMessage(error: unknown): string {
  if (error instanceof ApiError) {
    const causes = error.causes
      .map((c) => [c.field, c.message].filter(Boolean).join(": "))
      .filter((c) => c && !error.message.includes(c));
    return [error.message, ...causes].join("; ");
  }
  return error instanceof Error ? error.message : String(error);
}

/** Runs fn, retrying retriable API errors with exponential backoff within the policy. */
export async function withRetry<T>(ctx: Pick<ApplyContext, "retry" | "signal">, fn: () => Promise<T>): Promise<T> {
  const attempts = Math.max(1, ctx.retry.attempts);
  let delay = Math.max(0.05, ctx.retry.delaySeconds);
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (error) {
      if (attempt >= attempts || !isRetriable(error) || ctx.signal?.aborted) throw error;
      const retryAfter = error instanceof ApiError ? (error.retryAfterSeconds ?? 0) : 0;
      await sleep(Math.max(delay, retryAfter) * 1000, ctx.signal);
      delay = Math.min(delay * 2, Math.max(ctx.retry.maxDelaySeconds, ctx.retry.delaySeconds));
    }
  }
}

const established = new WeakMap<Kube, Set<string>>();

/** Custom resources: wait (by watch) for their CRD to exist and be Established. */
async function ensureServed(ctx: ApplyContext, obj: KObject): Promise<void> {
  const group = groupOf(obj.apiVersion);
  if (isBuiltinGroup(group)) return;
  const key = `${obj.apiVersion}/${obj.kind}`;
  let seen = established.get(ctx.kube);
  if (!seen) {
    seen = new Set();
    established.set(ctx.kube, seen);
  }
  if (seen.has(key)) return;
  const crdRef = { apiVersion: "apiextensions.k8s.io/v1", kind: "CustomResourceDefinition" };
  const version = obj.apiVersion.slice(group.length + 1);
  const matches = (crd: KObject) =>
    crd.spec?.group === group &&
    crd.spec?.names?.kind === obj.kind &&
    (crd.spec?.versions as Array<{ name: string; served: boolean }> | undefined)?.some(
      (v) => v.name === version && v.served,
    );
  while (Date.now() < ctx.deadline && !ctx.signal?.aborted) {
    const { items, resourceVersion } = await withRetry(ctx, () => ctx.kube.list(crdRef.apiVersion, crdRef.kind));
    const crd = items.find(matches);
    if (crd) {
      ctx.onWait?.(`CRD ${crd.metadata.name} to be established`);
      const outcome = await waitReady(
        ctx.kube,
        { ...crdRef, name: crd.metadata.name },
        {
          timeoutMs: ctx.deadline - Date.now(),
          ...(ctx.signal ? { signal: ctx.signal } : {}),
        },
      );
      if (!outcome.ready) throw new Error(`CRD ${crd.metadata.name} is not established: ${outcome.reason}`);
      // Discovery learns the new kind only after establishment.
      if (!(await ctx.kube.resource(obj.apiVersion, obj.kind, true))) continue;
      seen.add(key);
      return;
    }
    ctx.onWait?.(`a CRD for ${obj.kind} (${obj.apiVersion})`);
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), Math.max(0, ctx.deadline - Date.now()));
    try {
      await ctx.kube
        .watch(
          crdRef,
          { resourceVersion, timeoutSeconds: 60 },
          (ev) => ev.type !== "DELETED" && !!matches(ev.object),
          abort.signal,
        )
        .catch((error: unknown) => {
          if (!(error instanceof ApiError && error.status === 0)) throw error;
        });
    } finally {
      clearTimeout(timer);
    }
  }
  throw new Error(`no established CRD serves ${obj.kind} in ${obj.apiVersion} (is the chart that installs it ready?)`);
}

/** Deletes our Job and waits until it is gone, so the new template can be created. */
async function recreateJob(ctx: ApplyContext, job: KObject): Promise<void> {
  const ref = refOf(job);
  ctx.onWait?.(`old ${refKey(ref)} to be deleted (immutable template)`);
  await withRetry(ctx, () =>
    ctx.kube.delete(ref, { propagationPolicy: "Background", ...(job.metadata.uid ? { uid: job.metadata.uid } : {}) }),
  );
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), Math.max(0, ctx.deadline - Date.now()));
  try {
    for (;;) {
      const { items, resourceVersion } = await ctx.kube.list(ref.apiVersion, ref.kind, {
        ...(ref.namespace ? { namespace: ref.namespace } : {}),
        fieldSelector: `metadata.name=${ref.name}`,
      });
      if (items.length === 0 || items[0]!.metadata.uid !== job.metadata.uid) return;
      if (abort.signal.aborted) throw new Error(`${refKey(ref)} was not deleted in time`);
      await ctx.kube.watch(
        ref,
        { resourceVersion, fieldSelector: `metadata.name=${ref.name}`, timeoutSeconds: 30 },
        (ev) => ev.type === "DELETED",
        abort.signal,
      );
    }
  } finally {
    clearTimeout(timer);
  }
}
