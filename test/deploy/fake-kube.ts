/**
 * An in-memory KubeClient for unit tests of the engine's own logic (what it reads, what
 * it writes, what it reports). It keeps objects, resourceVersions, generations and
 * server-side-apply field ownership per manager (leaf paths), enough for drift and
 * no-op decisions; workloads are ready as soon as they exist. The e2e tests prove the
 * same behaviour against a real apiserver.
 */
import { ApiError, type KubeClient, type RequestCounts, type ResourceInfo } from "../../src/deploy/client.ts";
import { fieldManager, type KObject, type ObjectRef, refKey, refOf } from "../../src/deploy/objects.ts";
import { isRecord } from "../../src/guards.ts";

const plurals: Record<string, ResourceInfo> = {
  Namespace: { plural: "namespaces", namespaced: false },
  ConfigMap: { plural: "configmaps", namespaced: true },
  Secret: { plural: "secrets", namespaced: true },
  Deployment: { plural: "deployments", namespaced: true },
};

/** Leaf paths of an object's content (what server-side apply would own). */
function leaves(value: unknown, prefix = ""): string[] {
  if (!isRecord(value)) return [prefix];
  return Object.entries(value).flatMap(([k, v]) => leaves(v, prefix ? `${prefix}.${k}` : k));
}

interface Stored {
  obj: KObject;
  owners: Map<string, Set<string>>;
}

export class FakeKube implements KubeClient {
  readonly server = "https://fake.invalid";
  readonly counts: RequestCounts = { reads: 0, writes: 0, dryRuns: 0 };
  readonly writes: string[] = [];
  private readonly store = new Map<string, Stored>();
  private rv = 1;

  async version() {
    this.counts.reads++;
    return { gitVersion: "v1.fake" };
  }

  async resource(_apiVersion: string, kind: string): Promise<ResourceInfo | null> {
    return plurals[kind] ?? null;
  }

  async get(ref: ObjectRef): Promise<KObject | null> {
    this.counts.reads++;
    const s = this.store.get(refKey(ref));
    return s ? this.view(s) : null;
  }

  async list(apiVersion: string, kind: string, options: { namespace?: string; labelSelector?: string } = {}) {
    this.counts.reads++;
    const items = [...this.store.values()]
      .map((s) => this.view(s))
      .filter((o) => o.kind === kind && o.apiVersion === apiVersion)
      .filter((o) => !options.namespace || o.metadata.namespace === options.namespace)
      .filter((o) => !options.labelSelector || matchesSelector(o.metadata.labels ?? {}, options.labelSelector));
    return { items, resourceVersion: String(this.rv) };
  }

  async apply(obj: KObject, options: { dryRun?: boolean; manager?: string } = {}): Promise<KObject> {
    if (options.dryRun) this.counts.dryRuns++;
    else {
      this.counts.writes++;
      this.writes.push(`apply ${refKey(refOf(obj))}`);
    }
    const manager = options.manager ?? fieldManager;
    const key = refKey(refOf(obj));
    const cur = this.store.get(key);
    const content = structuredClone(obj);
    const merged: KObject = cur ? mergeInto(structuredClone(cur.obj), content) : content;
    const owners = new Map<string, Set<string>>([...(cur?.owners ?? [])].map(([m, set]) => [m, new Set(set)]));
    const mine = new Set(leaves(strip(content)));
    for (const [m, set] of owners) if (m !== manager) for (const p of mine) set.delete(p);
    owners.set(manager, mine);
    const next = this.finish(cur, merged, owners);
    if (!options.dryRun) this.store.set(key, next);
    return this.view(next);
  }

  /** A hand edit (kubectl patch: an Update by another manager) that takes ownership of what it sets. */
  patch(ref: ObjectRef, change: Record<string, unknown>, manager = "kubectl-patch"): void {
    const key = refKey(ref);
    const cur = this.store.get(key)!;
    const owners = new Map([...cur.owners].map(([m, set]) => [m, new Set(set)]));
    const paths = leaves(change);
    for (const set of owners.values()) for (const p of paths) set.delete(p);
    owners.set(manager, new Set([...(owners.get(manager) ?? []), ...paths]));
    this.store.set(key, this.finish(cur, mergeInto(structuredClone(cur.obj), change as KObject), owners));
  }

  async create(obj: KObject): Promise<KObject> {
    this.counts.writes++;
    this.writes.push(`create ${refKey(refOf(obj))}`);
    if (this.store.has(refKey(refOf(obj)))) throw new ApiError("already exists", 409, "AlreadyExists");
    const next = this.finish(undefined, structuredClone(obj), new Map([["create", new Set(leaves(strip(obj)))]]));
    this.store.set(refKey(refOf(obj)), next);
    return this.view(next);
  }

  async delete(ref: ObjectRef): Promise<boolean> {
    this.counts.writes++;
    this.writes.push(`delete ${refKey(ref)}`);
    return this.store.delete(refKey(ref));
  }

  async watch(): Promise<boolean> {
    this.counts.reads++;
    return false;
  }

  async exec(): Promise<never> {
    throw new Error("no exec in the fake");
  }

  close(): void {}

  private finish(cur: Stored | undefined, obj: KObject, owners: Map<string, Set<string>>): Stored {
    const before = cur ? JSON.stringify(strip(cur.obj)) : "";
    const changed = before !== JSON.stringify(strip(obj)) || !cur;
    const ownersChanged = !cur || JSON.stringify(fieldsOf(cur.owners)) !== JSON.stringify(fieldsOf(owners));
    obj.metadata.resourceVersion = changed || ownersChanged ? String(++this.rv) : cur!.obj.metadata.resourceVersion!;
    const specChanged = !cur || JSON.stringify(cur.obj.spec) !== JSON.stringify(obj.spec);
    obj.metadata.generation = (cur?.obj.metadata.generation ?? 0) + (specChanged ? 1 : 0);
    obj.metadata.uid = cur?.obj.metadata.uid ?? `uid-${this.rv}`;
    if (obj.kind === "Deployment") {
      const n = obj.spec?.replicas ?? 1;
      obj.status = {
        observedGeneration: obj.metadata.generation,
        replicas: n,
        updatedReplicas: n,
        availableReplicas: n,
      };
    }
    return { obj, owners };
  }

  private view(s: Stored): KObject {
    const obj = structuredClone(s.obj);
    obj.metadata.managedFields = fieldsOf(s.owners).map(([manager, paths]) => ({
      manager,
      operation: manager === fieldManager || manager.startsWith("apply") ? "Apply" : "Update",
      fieldsV1: { paths },
    }));
    return obj;
  }
}

function fieldsOf(owners: Map<string, Set<string>>): Array<[string, string[]]> {
  return [...owners]
    .filter(([, s]) => s.size > 0)
    .map(([m, s]) => [m, [...s].sort()] as [string, string[]])
    .sort();
}

function strip(obj: KObject): Record<string, unknown> {
  const { metadata, status: _status, ...rest } = obj;
  const { resourceVersion: _rv, generation: _g, uid: _u, managedFields: _m, ...meta } = metadata;
  return { ...rest, metadata: meta };
}

function mergeInto(target: KObject, change: KObject): KObject {
  for (const [k, v] of Object.entries(change)) {
    if (isRecord(v) && isRecord(target[k])) target[k] = mergeInto(target[k] as KObject, v as KObject);
    else target[k] = structuredClone(v);
  }
  return target;
}

/** "key" (exists) and "key=value" terms, comma-separated. */
function matchesSelector(labels: Record<string, string>, selector: string): boolean {
  return selector.split(",").every((term) => {
    const [key, value] = term.split("=") as [string, string | undefined];
    return value === undefined ? labels[key] !== undefined : labels[key] === value;
  });
}
