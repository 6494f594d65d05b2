/**
 * Before anything is applied: each selected group's effective hash (plan hash + keyed
 * digests of its secret values) and, on demand, the objects as the engine applies them
 * (labelled, with the pod annotation that rolls workloads when a Secret they read
 * changes) and the group's Secrets.
 *
 * No work a no-op run can skip: when the SOPS file is byte for byte the one whose
 * digests the last deploy recorded (its fingerprint), the digests are reused and nothing
 * is decrypted; values are read (the whole file decrypted, its MAC verified) only when a
 * group is applied. Only the Secrets of the selected groups are ever resolved.
 */
import { createHash } from "node:crypto";
import { byteOrder } from "../cluster/model.ts";
import { ExitCode, UserError } from "../errors.ts";
import type { LoadedPlan } from "../plan/load.ts";
import type { DeployPlan, PlanGroup, PlanSecret } from "../plan/schema.ts";
import { groupLabel, type KObject, managedByLabel, type ObjectRef, refKey } from "./objects.ts";
import {
  Redactor,
  type ResolvedSecret,
  resolveSecrets,
  type SecretSource,
  secretId,
  secretObject,
  secretsDigest,
} from "./secrets.ts";

/** Pod template annotation: a digest of the values of the Secrets a workload reads. */
export const secretsHashAnnotation = "nixlab.dev/secrets-hash";

/** Per-Secret digests recorded for one SOPS file content (its fingerprint). */
export interface DigestCache {
  fingerprint: string;
  digests: Record<string, string>;
}

/** The selected groups' hashes and, on demand, their objects and Secrets. */
export interface Prepared {
  loaded: LoadedPlan;
  plan: DeployPlan;
  /** Effective hash of every selected group. */
  hashes: Map<string, string>;
  /** Keyed digest of each selected Secret's values, by "namespace/name". */
  secretDigests: Map<string, string>;
  redactor: Redactor;
  /** The digests to record for the next run (null: the source has no fingerprint). */
  cache: DigestCache | null;
  /** The Secret objects of a selected group, reading their values on first use. */
  groupSecrets(group: string): Promise<KObject[]>;
}

/** Effective group hash: the plan's hash of the group plus the digest of its Secrets' digests. */
function groupHash(
  group: PlanGroup,
  secretDigests: ReadonlyMap<string, string>,
  secrets: readonly PlanSecret[],
): string {
  const ids = secrets
    .filter((s) => s.group === group.name)
    .map(secretId)
    .sort(byteOrder);
  const h = createHash("sha256").update(`${group.hash}\0`);
  for (const id of ids) h.update(`${id}\0${secretDigests.get(id) ?? ""}\n`);
  return h.digest("hex");
}

/** Where secret values come from, and for which groups. */
export interface PrepareOptions {
  /** Groups whose secrets are read and hashes computed. */
  selected: ReadonlySet<string>;
  source: SecretSource | undefined;
  /** The cluster's HMAC key for digests (read only when values are read). */
  hashKey: () => Promise<Uint8Array>;
  /** Digests recorded by an earlier run of this cluster, reused when the source's fingerprint matches. */
  cache?: DigestCache | undefined;
  /** diff --skip-secrets: no values at all; Secrets are left out (and said so by the caller). */
  withoutSecrets?: boolean;
}

/**
 * Computes the selected groups' hashes. Throws UserError (exit 2) when they need secret
 * values and no source was given; a missing value throws the source's UserError.
 */
export async function prepare(loaded: LoadedPlan, options: PrepareOptions): Promise<Prepared> {
  const { plan } = loaded;
  const needed = plan.secrets.filter((s) => options.selected.has(s.group));
  const { source } = options;
  if (needed.length > 0 && !source && !options.withoutSecrets) {
    throw new UserError(
      `the selected groups need ${needed.length} Kubernetes Secrets built from SOPS values, but no secrets were found`,
      {
        exitCode: ExitCode.invalidInput,
        details: [
          "Put secrets.yaml next to the cluster file (`nixlab secrets init`), pass --secrets FILE,",
          "or --secrets-dir DIR (a directory of decrypted files, e.g. /run/secrets on the master).",
        ],
      },
    );
  }
  const redactor = new Redactor();
  const usable = source && !options.withoutSecrets ? source : undefined;
  let resolving: Promise<ResolvedSecret[]> | undefined;
  const resolveAll = () => {
    resolving ??= resolveSecrets(needed, usable!).then((all) => {
      for (const s of all) for (const v of s.values.values()) redactor.add(v);
      return all;
    });
    return resolving;
  };
  const fingerprint = usable?.fingerprint ? await usable.fingerprint() : null;
  const cached = options.cache;
  const secretDigests = new Map<string, string>();
  if (
    usable &&
    fingerprint &&
    cached?.fingerprint === fingerprint &&
    needed.every((s) => cached.digests[secretId(s)])
  ) {
    for (const s of needed) secretDigests.set(secretId(s), cached.digests[secretId(s)]!);
  } else if (usable && needed.length > 0) {
    const key = await options.hashKey();
    for (const s of await resolveAll()) secretDigests.set(secretId(s.plan), secretsDigest(key, [s]));
  }
  const hashes = new Map<string, string>();
  for (const g of plan.groups)
    if (options.selected.has(g.name)) hashes.set(g.name, groupHash(g, secretDigests, plan.secrets));
  const cache = fingerprint
    ? {
        fingerprint,
        digests: {
          ...(cached?.fingerprint === fingerprint ? cached.digests : {}),
          ...Object.fromEntries(secretDigests),
        },
      }
    : null;
  return {
    loaded,
    plan,
    hashes,
    secretDigests,
    redactor,
    cache,
    async groupSecrets(group: string) {
      if (!usable || !needed.some((s) => s.group === group)) return [];
      return (await resolveAll()).filter((s) => s.plan.group === group).map(secretObject);
    },
  };
}

/** The digest put in secretsHashAnnotation for a workload reading these Secrets. */
export function restartDigest(prep: Prepared, ids: readonly string[]): string {
  return createHash("sha256")
    .update(ids.map((id) => prep.secretDigests.get(id) ?? "").join("\0"))
    .digest("hex")
    .slice(0, 16);
}

/** The objects the engine applies for a group (manifests parsed on first use): labelled, annotated with the digest of the Secrets they read. */
export function groupObjects(prep: Prepared, group: PlanGroup): KObject[] {
  const restart = new Map<string, string[]>();
  for (const s of prep.plan.secrets) {
    for (const r of s.restart) restart.set(refKey(r), [...(restart.get(refKey(r)) ?? []), secretId(s)]);
  }
  const out: KObject[] = [];
  for (const key of group.charts) {
    for (const original of prep.loaded.charts.get(key)!.objects()) {
      const obj = structuredClone(original);
      obj.metadata.labels = { ...(obj.metadata.labels ?? {}), [managedByLabel]: "nixlab", [groupLabel]: group.name };
      const ids = restart.get(refKey({ kind: obj.kind, name: obj.metadata.name, namespace: obj.metadata.namespace }));
      if (ids && obj.spec?.template) {
        obj.spec.template.metadata ??= {};
        obj.spec.template.metadata.annotations = {
          ...(obj.spec.template.metadata.annotations ?? {}),
          [secretsHashAnnotation]: restartDigest(prep, ids),
        };
      }
      out.push(obj);
    }
  }
  return out;
}

/** What a group of the plan holds: its Secrets, then its charts' objects (from the plan, no manifest parsed). */
export function groupRefs(plan: DeployPlan, group: string): ObjectRef[] {
  const g = plan.groups.find((x) => x.name === group);
  if (!g) return [];
  const secrets = plan.secrets
    .filter((s) => s.group === group)
    .map((s) => ({ apiVersion: "v1", kind: "Secret", name: s.name, namespace: s.namespace }));
  const charts = new Map(plan.charts.map((c) => [c.key, c]));
  return [...secrets, ...g.charts.flatMap((key) => charts.get(key)!.objects)];
}

/** Every object the plan renders, all groups (the set pruning keeps). */
export function renderedRefs(plan: DeployPlan): Set<string> {
  return new Set(plan.groups.flatMap((g) => groupRefs(plan, g.name).map(refKey)));
}
