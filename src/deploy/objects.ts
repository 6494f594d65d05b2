/** Kubernetes objects as plain JSON, their identities, ownership, and the order they are applied in. */
import { createHash } from "node:crypto";
import { parseAllDocuments } from "yaml";
import type { WaitTarget } from "../plan/schema.ts";

/** A Kubernetes object as plain JSON. */
export interface KObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    resourceVersion?: string;
    uid?: string;
    generation?: number;
    creationTimestamp?: string;
    deletionTimestamp?: string;
    ownerReferences?: Array<{ kind: string; name: string; uid?: string }>;
    managedFields?: ManagedFieldsEntry[];
    [key: string]: unknown;
  };
  // biome-ignore lint/suspicious/noExplicitAny: arbitrary object bodies (spec, status, data) are read structurally
  [key: string]: any;
}

/** One entry of metadata.managedFields (server-side apply ownership). */
export interface ManagedFieldsEntry {
  manager?: string;
  operation?: string;
  time?: string;
  subresource?: string;
  fieldsV1?: unknown;
}

/** An object's identity. */
export interface ObjectRef {
  apiVersion: string;
  kind: string;
  name: string;
  namespace?: string;
}

/** Our field manager for server-side apply. */
export const fieldManager = "nixlab";
/** Label put on every object the engine applies: the plan group that owns it. */
export const groupLabel = "nixlab.dev/group";
/** The label on everything nixlab applies (value: nixlab). */
export const managedByLabel = "app.kubernetes.io/managed-by";

/** The identity of an object. */
export function refOf(obj: KObject): ObjectRef {
  const ref: ObjectRef = { apiVersion: obj.apiVersion, kind: obj.kind, name: obj.metadata.name };
  if (obj.metadata.namespace) ref.namespace = obj.metadata.namespace;
  return ref;
}

const waitApiVersions: Record<WaitTarget["kind"], string> = {
  Deployment: "apps/v1",
  StatefulSet: "apps/v1",
  DaemonSet: "apps/v1",
  Job: "batch/v1",
  PersistentVolumeClaim: "v1",
  HelmChart: "helm.cattle.io/v1",
};

/** The object a plan's wait target names. */
export function refOfWait(w: WaitTarget): ObjectRef {
  return { apiVersion: waitApiVersions[w.kind], kind: w.kind, name: w.name, namespace: w.namespace };
}

/** "Kind/namespace/name" (or "Kind/name" when cluster-scoped): how objects are named in output. */
export function refKey(ref: { kind: string; name: string; namespace?: string | undefined }): string {
  return ref.namespace ? `${ref.kind}/${ref.namespace}/${ref.name}` : `${ref.kind}/${ref.name}`;
}

/** The API group of an apiVersion ("" for the core group). */
export function groupOf(apiVersion: string): string {
  const slash = apiVersion.indexOf("/");
  return slash < 0 ? "" : apiVersion.slice(0, slash);
}

/**
 * Apply order inside a group: CRDs first (their CRs may follow in the same group), then
 * namespaces, then Helm's install order for built-in kinds; unknown kinds (custom
 * resources) last, after everything that could serve or define them.
 */
const kindOrder = [
  "CustomResourceDefinition",
  "Namespace",
  "NetworkPolicy",
  "ResourceQuota",
  "LimitRange",
  "PodDisruptionBudget",
  "ServiceAccount",
  "Secret",
  "ConfigMap",
  "StorageClass",
  "PersistentVolume",
  "PersistentVolumeClaim",
  "ClusterRole",
  "ClusterRoleBinding",
  "Role",
  "RoleBinding",
  "Service",
  "DaemonSet",
  "Pod",
  "ReplicationController",
  "ReplicaSet",
  "Deployment",
  "HorizontalPodAutoscaler",
  "StatefulSet",
  "Job",
  "CronJob",
  "IngressClass",
  "Ingress",
  "APIService",
  "MutatingWebhookConfiguration",
  "ValidatingWebhookConfiguration",
];
const kindRank = new Map(kindOrder.map((k, i) => [k, i]));

function kindRankOf(kind: string): number {
  return kindRank.get(kind) ?? kindOrder.length;
}

/** Stable sort by kind order; objects of one kind keep the order they were written in. */
export function sortForApply<T extends { obj: KObject }>(items: readonly T[]): T[] {
  return items
    .map((item, index) => ({ item, index }))
    .sort((a, b) => kindRankOf(a.item.obj.kind) - kindRankOf(b.item.obj.kind) || a.index - b.index)
    .map((x) => x.item);
}

/** Parses a multi-document YAML manifest; empty documents are skipped. */
export function parseManifest(text: string, source: string): KObject[] {
  const out: KObject[] = [];
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length > 0) throw new Error(`${source}: ${doc.errors[0]!.message}`);
    const value = doc.toJS({ maxAliasCount: -1 }) as unknown;
    if (value === null || value === undefined) continue;
    if (typeof value !== "object" || Array.isArray(value)) throw new Error(`${source}: a document is not an object`);
    const obj = value as KObject;
    if (typeof obj.apiVersion !== "string" || typeof obj.kind !== "string" || typeof obj.metadata?.name !== "string") {
      throw new Error(`${source}: every object needs apiVersion, kind and metadata.name`);
    }
    out.push(obj);
  }
  return out;
}

/** Built-in API groups: objects of these never wait for a CRD. */
const builtinGroups = new Set([
  "",
  "apps",
  "batch",
  "autoscaling",
  "policy",
  "rbac.authorization.k8s.io",
  "networking.k8s.io",
  "storage.k8s.io",
  "apiextensions.k8s.io",
  "admissionregistration.k8s.io",
  "apiregistration.k8s.io",
  "coordination.k8s.io",
  "discovery.k8s.io",
  "scheduling.k8s.io",
  "node.k8s.io",
  "certificates.k8s.io",
  "events.k8s.io",
  "flowcontrol.apiserver.k8s.io",
  "resource.k8s.io",
]);

/** True for Kubernetes' own API groups, whose kinds never wait for a CRD. */
export function isBuiltinGroup(group: string): boolean {
  return builtinGroups.has(group);
}

/** True when `manager` owns any field of obj. */
export function isManagedBy(obj: KObject, manager: string): boolean {
  return (obj.metadata.managedFields ?? []).some((f) => f.manager === manager);
}

/**
 * Digest of the fields `manager` owns through server-side apply. A field we set that
 * someone changes by hand (kubectl edit/patch, another applier with force) leaves our
 * field set, so a changed digest is drift; null when we own nothing.
 */
export function fieldsDigest(obj: KObject, manager = fieldManager): string | null {
  const mine = (obj.metadata.managedFields ?? []).filter(
    (f) => f.manager === manager && f.operation === "Apply" && !f.subresource,
  );
  if (mine.length === 0) return null;
  return createHash("sha256")
    .update(JSON.stringify(mine.map((f) => f.fieldsV1 ?? null)))
    .digest("hex")
    .slice(0, 32);
}

/** Structural equality of JSON values (key order ignored). */
export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== typeof b || a === null || b === null || typeof a !== "object") return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const bb = b as unknown[];
    return a.length === bb.length && a.every((v, i) => deepEqual(v, bb[i]));
  }
  const ao = a as Record<string, unknown>;
  const bo = b as Record<string, unknown>;
  const ak = Object.keys(ao);
  return ak.length === Object.keys(bo).length && ak.every((k) => k in bo && deepEqual(ao[k], bo[k]));
}
