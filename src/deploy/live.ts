/**
 * Reading what is live, cheaply and truthfully: one list per kind of everything nixlab
 * labelled (instead of one GET per object), and for an object that list does not hold (it
 * is absent, or exists without our label) a GET, or where the run has many such objects of
 * one kind in one namespace, one unlabelled list of that namespace's kind, read when the
 * first of them is asked for. Drift is judged per object against the inventory: missing,
 * being deleted, or a field we set changed by someone else. An object that could not be
 * read is an error, never "missing".
 */
import type { KubeClient } from "./client.ts";
import type { InventoryEntry } from "./inventory.ts";
import { deepEqual, fieldManager, fieldsDigest, groupLabel, type KObject, type ObjectRef, refKey } from "./objects.ts";
import { type RetryContext, withRetry } from "./retry.ts";

/** What reading live objects needs. */
export interface LiveContext extends RetryContext {
  kube: KubeClient;
}

/**
 * From this many objects of one kind in one namespace, the objects our labelled list does
 * not hold are read with one list of that namespace's kind instead of one GET each.
 */
export const namespaceListFrom = 8;

/** A kind's objects by refKey; null when the server does not serve the kind. */
type Listed = Map<string, KObject> | null;

/** Live objects by identity, read through one labelled list per kind (shared by all groups of a run). */
export class LiveObjects {
  private readonly ctx: LiveContext;
  private readonly lists = new Map<string, Promise<Listed>>();
  /** Prefetched objects per kind and namespace: where there are many, unlabelled ones are listed too. */
  private readonly wanted = new Map<string, number>();
  private readonly namespaceLists = new Map<string, Promise<Listed>>();
  /** Objects a namespace list answered for: asked again (after our apply), they are read anew. */
  private readonly answered = new Set<string>();

  constructor(ctx: LiveContext) {
    this.ctx = ctx;
  }

  /** The live object, or null when it does not exist. Throws (ApiError) when it cannot be read. */
  async get(ref: ObjectRef): Promise<KObject | null> {
    const found = (await this.labelled(ref))?.get(refKey(ref));
    if (found) return found;
    // Not in our labelled list: absent, or present without our label (which is drift too).
    const key = `${kindKey(ref)}/${ref.namespace}`;
    const object = refKey(ref);
    if (ref.namespace && (this.wanted.get(key) ?? 0) >= namespaceListFrom && !this.answered.has(object)) {
      let list = this.namespaceLists.get(key);
      if (!list) {
        list = this.listKind(ref.apiVersion, ref.kind, { namespace: ref.namespace });
        this.namespaceLists.set(key, list);
      }
      const listed = await list;
      this.answered.add(object);
      if (listed) return listed.get(object) ?? null;
    }
    return await withRetry(this.ctx, () => this.ctx.kube.get(ref));
  }

  /** Starts the lists for these objects' kinds now (errors surface when they are read). */
  prefetch(refs: readonly ObjectRef[]): void {
    for (const ref of refs) {
      if (ref.namespace) {
        const key = `${kindKey(ref)}/${ref.namespace}`;
        this.wanted.set(key, (this.wanted.get(key) ?? 0) + 1);
      }
      this.labelled(ref).catch(() => {}); // read (and thrown) by get()
    }
  }

  /** The labelled list of ref's kind, started on first use. */
  private labelled(ref: ObjectRef): Promise<Listed> {
    let list = this.lists.get(kindKey(ref));
    if (!list) {
      list = this.listKind(ref.apiVersion, ref.kind, { labelSelector: groupLabel });
      this.lists.set(kindKey(ref), list);
    }
    return list;
  }

  private async listKind(
    apiVersion: string,
    kind: string,
    options: { labelSelector?: string; namespace?: string },
  ): Promise<Listed> {
    const served = await withRetry(this.ctx, () => this.ctx.kube.resource(apiVersion, kind));
    if (!served) return null;
    const { items } = await withRetry(this.ctx, () => this.ctx.kube.list(apiVersion, kind, options));
    return new Map(items.map((o) => [refKey({ kind, name: o.metadata.name, namespace: o.metadata.namespace }), o]));
  }
}

const kindKey = (ref: ObjectRef) => `${ref.apiVersion}/${ref.kind}`;

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
