/**
 * Custom resources wait for their CRD: before one is applied, a CRD serving its group,
 * version and kind must exist and be Established (watched, within the group's budget),
 * and discovery must know the kind. Built-in kinds never wait.
 */
import type { KubeClient } from "./client.ts";
import { deadlineSignal } from "./clock.ts";
import { groupOf, isBuiltinGroup, type KObject } from "./objects.ts";
import { classifyError, type RetryContext, withRetry } from "./retry.ts";
import { waitReady } from "./wait.ts";

/** What waiting for a CRD needs. */
export interface CrdContext extends RetryContext {
  kube: KubeClient;
  /** Absolute time (ms) after which the wait gives up. */
  deadline: number;
  /** Kinds ("apiVersion/kind") already known to be served in this run. */
  served: Set<string>;
  onWait?: (what: string) => void;
}

const crdRef = { apiVersion: "apiextensions.k8s.io/v1", kind: "CustomResourceDefinition" };

/** Resolves when obj's kind is served; throws (with what is missing) when the deadline passes first. */
export async function ensureServed(ctx: CrdContext, obj: KObject): Promise<void> {
  const group = groupOf(obj.apiVersion);
  const key = `${obj.apiVersion}/${obj.kind}`;
  if (isBuiltinGroup(group) || ctx.served.has(key)) return;
  const version = obj.apiVersion.slice(group.length + 1);
  const matches = (crd: KObject) =>
    crd.spec?.group === group &&
    crd.spec?.names?.kind === obj.kind &&
    (crd.spec?.versions as Array<{ name: string; served: boolean }> | undefined)?.some(
      (v) => v.name === version && v.served,
    );
  const { kube, clock } = ctx;
  while (clock.now() < ctx.deadline && !ctx.signal?.aborted) {
    const { items, resourceVersion } = await withRetry(ctx, () => kube.list(crdRef.apiVersion, crdRef.kind));
    const crd = items.find(matches);
    if (crd) {
      ctx.onWait?.(`CRD ${crd.metadata.name} to be established`);
      const outcome = await waitReady(
        kube,
        { ...crdRef, name: crd.metadata.name },
        {
          timeoutMs: ctx.deadline - clock.now(),
          clock,
          ...(ctx.signal ? { signal: ctx.signal } : {}),
        },
      );
      if (!outcome.ready) throw new Error(`CRD ${crd.metadata.name} is not established: ${outcome.reason}`);
      // Discovery learns the new kind only after establishment.
      if (!(await withRetry(ctx, () => kube.resource(obj.apiVersion, obj.kind, true)))) continue;
      ctx.served.add(key);
      return;
    }
    ctx.onWait?.(`a CRD for ${obj.kind} (${obj.apiVersion})`);
    const budget = deadlineSignal(ctx.deadline - clock.now(), ctx.signal);
    try {
      await kube
        .watch(crdRef, { resourceVersion }, (ev) => ev.type !== "DELETED" && !!matches(ev.object), budget.signal)
        .catch((error: unknown) => {
          if (classifyError(error) === "final") throw error;
        });
    } finally {
      budget.clear();
    }
  }
  throw new Error(`no established CRD serves ${obj.kind} in ${obj.apiVersion} (is the chart that installs it ready?)`);
}
