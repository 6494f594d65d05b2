/**
 * The inventory: what nixlab applied, kept in the cluster (one ConfigMap per group in
 * kube-system, like Flux's inventory), so a deploy from a fresh state dir or another
 * machine knows exactly what it owns: what to prune, and whether a group's objects
 * still hold what we applied (the digest of the fields we own, per object). Inventories
 * belong to an owner, the plan's name (the cluster's domain): two nixlab configurations
 * on one cluster never prune each other's objects.
 *
 * An apply of a group first records old ∪ new objects with an empty hash ("in
 * progress"), then, after every object was applied, the new objects with their field
 * digests and the group's hash. A run killed in between leaves nothing untracked.
 */
import { createHash } from "node:crypto";
import type { KubeClient } from "./client.ts";
import { type KObject, managedByLabel, type ObjectRef, refKey } from "./objects.ts";
import { type RetryContext, withRetry } from "./retry.ts";

const inventoryNamespace = "kube-system";
/** Label of inventory ConfigMaps; its value is the group. */
export const inventoryLabel = "nixlab.dev/inventory";
/** Label of inventory ConfigMaps: a digest of the owner (label values are short and plain). */
const ownerLabel = "nixlab.dev/inventory-owner";

/** The label value (and name part) for an owner. */
function ownerId(owner: string): string {
  return createHash("sha256").update(owner).digest("hex").slice(0, 12);
}

/** One object an inventory holds. */
export interface InventoryEntry {
  ref: ObjectRef;
  /** fieldsDigest of the object right after our last apply; absent until that apply finished. */
  fields?: string;
}

/** What nixlab applied for one group (see the module comment). */
export interface GroupInventory {
  /** The plan's name this inventory belongs to. */
  owner: string;
  group: string;
  /** The group hash last applied completely; "" while an apply is in progress. */
  hash: string;
  /** The plan's own hash of that group (without secret values): what status compares with a plan. */
  planHash: string;
  entries: InventoryEntry[];
  /** Keyed digest of each of the group's Secrets' values as last applied ("namespace/name" -> digest). */
  secrets: Record<string, string>;
}

/** What reading and writing inventories needs. */
export interface InventoryContext extends RetryContext {
  kube: KubeClient;
}

/** The ConfigMap that holds a group's inventory. */
export function inventoryRef(owner: string, group: string): ObjectRef {
  return {
    apiVersion: "v1",
    kind: "ConfigMap",
    namespace: inventoryNamespace,
    name: `nixlab-inventory.${ownerId(owner)}.${group}`,
  };
}

/** The ConfigMap for an inventory (entries sorted, so equal inventories are equal objects). */
function inventoryObject(inv: GroupInventory): KObject {
  const entries = [...inv.entries].sort((a, b) => (refKey(a.ref) < refKey(b.ref) ? -1 : 1));
  const ref = inventoryRef(inv.owner, inv.group);
  return {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: {
      name: ref.name,
      namespace: inventoryNamespace,
      labels: { [managedByLabel]: "nixlab", [inventoryLabel]: inv.group, [ownerLabel]: ownerId(inv.owner) },
    },
    data: {
      owner: inv.owner,
      hash: inv.hash,
      planHash: inv.planHash,
      objects: `${JSON.stringify(
        entries.map((e) => ({ ...e.ref, ...(e.fields ? { fields: e.fields } : {}) })),
        null,
        1,
      )}\n`,
      secrets: `${JSON.stringify(inv.secrets, Object.keys(inv.secrets).sort())}\n`,
    },
  };
}

/** Reads an inventory ConfigMap; null when it is not one (hand-edited beyond recognition). */
function parseInventory(cm: KObject): GroupInventory | null {
  const group = cm.metadata.labels?.[inventoryLabel];
  const data = (cm.data ?? {}) as Record<string, string>;
  if (!group || !data.owner) return null;
  try {
    const objects = JSON.parse(data.objects ?? "[]") as Array<ObjectRef & { fields?: string }>;
    const secrets = JSON.parse(data.secrets ?? "{}") as Record<string, string>;
    const entries = objects.map(({ fields, ...ref }) => ({ ref, ...(fields ? { fields } : {}) }));
    return { owner: data.owner, group, hash: data.hash ?? "", planHash: data.planHash ?? "", entries, secrets };
  } catch {
    return null;
  }
}

/** Every group's inventory of one owner, by group (one list request). */
export async function readInventories(ctx: InventoryContext, owner: string): Promise<Map<string, GroupInventory>> {
  const { items } = await withRetry(ctx, () =>
    ctx.kube.list("v1", "ConfigMap", {
      namespace: inventoryNamespace,
      labelSelector: `${ownerLabel}=${ownerId(owner)}`,
    }),
  );
  const out = new Map<string, GroupInventory>();
  for (const cm of items) {
    const inv = parseInventory(cm);
    if (inv && inv.owner === owner) out.set(inv.group, inv);
  }
  return out;
}

/** Writes a group's inventory (server-side apply). */
export async function writeInventory(ctx: InventoryContext, inv: GroupInventory): Promise<void> {
  await withRetry(ctx, () => ctx.kube.apply(inventoryObject(inv)));
}

/** Removes a group's inventory (its group left the plan and its objects were pruned). */
export async function deleteInventory(ctx: InventoryContext, inv: GroupInventory): Promise<void> {
  await withRetry(ctx, () => ctx.kube.delete(inventoryRef(inv.owner, inv.group)));
}

/** old ∪ new: what an apply in progress may leave behind, so a killed run loses track of nothing. */
export function pendingInventory(
  old: GroupInventory | undefined,
  owner: string,
  group: string,
  refs: readonly ObjectRef[],
): GroupInventory {
  const byKey = new Map((old?.entries ?? []).map((e) => [refKey(e.ref), e]));
  for (const ref of refs) if (!byKey.has(refKey(ref))) byKey.set(refKey(ref), { ref });
  return { owner, group, hash: "", planHash: "", entries: [...byKey.values()], secrets: old?.secrets ?? {} };
}

/**
 * After a complete apply: the applied objects with their digests, plus earlier entries
 * not applied now (left for pruning, which only runs after a complete healthy deploy).
 */
export function appliedInventory(
  old: GroupInventory | undefined,
  hashes: { owner: string; group: string; hash: string; planHash: string },
  applied: readonly InventoryEntry[],
  secrets: Record<string, string>,
): GroupInventory {
  const keys = new Set(applied.map((e) => refKey(e.ref)));
  const leftovers = (old?.entries ?? []).filter((e) => !keys.has(refKey(e.ref))).map((e) => ({ ref: e.ref }));
  return { ...hashes, entries: [...applied, ...leftovers], secrets };
}
