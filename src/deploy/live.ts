/**
 * Reading what is live, cheaply and truthfully: one list per kind of everything nixlab
 * labelled (instead of one GET per object), a GET only for an object the list does not
 * hold (it may exist without our label), and drift judged per object against the
 * inventory: missing, being deleted, or a field we set changed by someone else.
 * An object that could not be read is an error, never "missing".
 */
import type { KubeClient } from "./client.ts";
import type { InventoryEntry } from "./inventory.ts";
import { deepEqual, fieldManager, fieldsDigest, groupLabel, type KObject, type ObjectRef, refKey } from "./objects.ts";
import { type RetryContext, withRetry } from "./retry.ts";

/** What reading live objects needs. */
export interface LiveContext extends RetryContext {
  kube: KubeClient;
}

/** Live objects by identity, read through one labelled list per kind (shared by all groups of a run). */
export class LiveObjects {
  private readonly ctx: LiveContext;
  private readonly lists = new Map<string, Promise<Map<string, KObject> | null>>();

  constructor(ctx: LiveContext) {
    this.ctx = ctx;
  }

  /** The live object, or null when it does not exist. Throws (ApiError) when it cannot be read. */
  async get(ref: ObjectRef): Promise<KObject | null> {
    const kindKey = `${ref.apiVersion}/${ref.kind}`;
    this.prefetch([ref]);
    const found = (await this.lists.get(kindKey))?.get(refKey(ref));
    if (found) return found;
    // Not in our labelled list: absent, or present without our label (which is drift too).
    return await withRetry(this.ctx, () => this.ctx.kube.get(ref));
  }

  /** Starts the lists for these objects' kinds now (errors surface when they are read). */
  prefetch(refs: readonly ObjectRef[]): void {
    for (const ref of refs) {
      const kindKey = `${ref.apiVersion}/${ref.kind}`;
      if (this.lists.has(kindKey)) continue;
      const list = this.listKind(ref.apiVersion, ref.kind);
      list.catch(() => {}); // read (and thrown) by get()
      this.lists.set(kindKey, list);
    }
  }

  private async listKind(apiVersion: string, kind: string): Promise<Map<string, KObject> | null> {
    const served = await withRetry(this.ctx, () => this.ctx.kube.resource(apiVersion, kind));
    if (!served) return null;
    const { items } = await withRetry(this.ctx, () =>
      this.ctx.kube.list(apiVersion, kind, { labelSelector: groupLabel }),
    );
    return new Map(items.map((o) => [refKey({ kind, name: o.metadata.name, namespace: o.metadata.namespace }), o]));
  }
}

/** How a live object differs from what nixlab left. */
export type DriftProblem = "missing" | "deleting" | "changed" | "unverified";

/** One object that drifted, with a sentence saying how. */
export interface Drift {
  object: string;
  problem: DriftProblem;
  detail: string;
}

/** What a group should hold: each object, and for Secrets the data it must carry. */
export interface Desired {
  ref: ObjectRef;
  data?: Record<string, string>;
}

/** Managers other than nixlab that changed the object after our last apply (for messages). */
function changedBy(live: KObject): string[] {
  const entries = live.metadata.managedFields ?? [];
  const ours = entries.find((f) => f.manager === fieldManager && f.operation === "Apply")?.time ?? "";
  const others = entries.filter((f) => f.manager !== fieldManager && !f.subresource && (f.time ?? "") >= ours);
  return [...new Set(others.map((f) => f.manager ?? "unknown"))];
}

/** Judges one desired object against its live copy and its inventory entry; null when it is as we left it. */
function judgeDrift(want: Desired, live: KObject | null, entry: InventoryEntry | undefined): Drift | null {
  const object = refKey(want.ref);
  if (!live) return { object, problem: "missing", detail: "missing" };
  if (live.metadata.deletionTimestamp) return { object, problem: "deleting", detail: "being deleted" };
  if (!entry?.fields) return { object, problem: "unverified", detail: "not recorded as applied" };
  if (fieldsDigest(live) !== entry.fields) {
    const who = changedBy(live);
    return {
      object,
      problem: "changed",
      detail: `fields nixlab sets were changed${who.length ? ` by ${who.join(", ")}` : ""}`,
    };
  }
  if (want.data && !deepEqual(live.data ?? {}, want.data)) {
    return { object, problem: "changed", detail: "its values differ from the secrets" };
  }
  return null;
}

/** Drift of each desired object (reads run concurrently through the shared lists). */
export async function findDrift(
  live: LiveObjects,
  desired: readonly Desired[],
  entries: readonly InventoryEntry[],
): Promise<Drift[]> {
  const byKey = new Map(entries.map((e) => [refKey(e.ref), e]));
  const judged = await Promise.all(
    desired.map(async (want) => judgeDrift(want, await live.get(want.ref), byKey.get(refKey(want.ref)))),
  );
  return judged.filter((d): d is Drift => d !== null);
}
