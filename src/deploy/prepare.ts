/**
 * Before anything is applied: the secret values the selected groups use (only those are
 * read), each group's effective hash (plan hash + keyed digest of its secret values), and
 * the objects as the engine applies them (labelled, with the pod annotation that rolls
 * workloads when a Secret they read changes).
 */
import { createHash } from "node:crypto";
import { ExitCode, UserError } from "../errors.ts";
import type { LoadedPlan } from "../plan/load.ts";
import type { DeployPlan, PlanGroup } from "../plan/schema.ts";
import { groupLabel, type KObject, managedByLabel, refKey, refOf } from "./objects.ts";
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

export interface Prepared {
  loaded: LoadedPlan;
  plan: DeployPlan;
  /** Resolved Secrets of the selected groups, by group. */
  secretsByGroup: Map<string, ResolvedSecret[]>;
  /** Effective hash of every selected group. */
  hashes: Map<string, string>;
  /** Keyed digest of each resolved Secret's values, by "namespace/name". */
  secretDigests: Map<string, string>;
  redactor: Redactor;
}

/** Effective group hash: the plan's hash of the group plus the keyed digest of its secret values. */
export function groupHash(group: PlanGroup, secretsDigestHex: string): string {
  return createHash("sha256").update(`${group.hash}\0${secretsDigestHex}`).digest("hex");
}

export interface PrepareOptions {
  /** Groups whose secrets are read and hashes computed. */
  selected: ReadonlySet<string>;
  source: SecretSource | undefined;
  /** The cluster's HMAC key for digests (read only when a secret is needed). */
  hashKey: () => Promise<Uint8Array>;
  /** diff --skip-secrets: no values; the selected groups' Secrets are left out (and said so). */
  withoutSecrets?: boolean;
}

/**
 * Resolves the secret values the selected groups need. Throws UserError (exit 2) when they
 * need values and no source was given; a missing value throws the source's UserError.
 */
export async function prepare(loaded: LoadedPlan, options: PrepareOptions): Promise<Prepared> {
  const { plan } = loaded;
  const needed = plan.secrets.filter((s) => options.selected.has(s.group));
  if (needed.length > 0 && !options.source && !options.withoutSecrets) {
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
  const resolved = options.source && !options.withoutSecrets ? await resolveSecrets(needed, options.source) : [];
  const redactor = new Redactor();
  for (const s of resolved) for (const v of s.values.values()) redactor.add(v);
  const key = resolved.length > 0 ? await options.hashKey() : new Uint8Array(32);
  const secretsByGroup = new Map<string, ResolvedSecret[]>();
  for (const s of resolved) secretsByGroup.set(s.plan.group, [...(secretsByGroup.get(s.plan.group) ?? []), s]);
  const hashes = new Map<string, string>();
  for (const g of plan.groups) {
    if (options.selected.has(g.name))
      hashes.set(g.name, groupHash(g, secretsDigest(key, secretsByGroup.get(g.name) ?? [])));
  }
  const secretDigests = new Map(resolved.map((s) => [secretId(s.plan), secretsDigest(key, [s])]));
  return { loaded, plan, secretsByGroup, hashes, secretDigests, redactor };
}

/** The digest put in secretsHashAnnotation for a workload reading these Secrets. */
export function restartDigest(prep: Prepared, ids: readonly string[]): string {
  return createHash("sha256")
    .update(ids.map((id) => prep.secretDigests.get(id) ?? "").join("\0"))
    .digest("hex")
    .slice(0, 16);
}

/** The objects the engine applies for a group: labelled, and annotated with the digest of the Secrets they read. */
export function groupObjects(prep: Prepared, group: PlanGroup): KObject[] {
  const restart = new Map<string, string[]>();
  for (const s of prep.plan.secrets) {
    for (const r of s.restart) restart.set(refKey(r), [...(restart.get(refKey(r)) ?? []), secretId(s)]);
  }
  const out: KObject[] = [];
  for (const key of group.charts) {
    for (const original of prep.loaded.charts.get(key)!.objects) {
      const obj = structuredClone(original);
      obj.metadata.labels = { ...(obj.metadata.labels ?? {}), [managedByLabel]: "nixlab", [groupLabel]: group.name };
      const ids = restart.get(refKey(refOf(obj)));
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

/** The Secret objects of a group (values from the resolved secrets). */
export function groupSecrets(prep: Prepared, group: string): KObject[] {
  return (prep.secretsByGroup.get(group) ?? []).map(secretObject);
}

/** Every object the plan renders, all groups (the set pruning keeps). */
export function renderedRefs(loaded: LoadedPlan): Set<string> {
  const out = new Set<string>();
  for (const c of loaded.charts.values()) for (const o of c.objects) out.add(refKey(refOf(o)));
  for (const s of loaded.plan.secrets) out.add(refKey({ kind: "Secret", name: s.name, namespace: s.namespace }));
  return out;
}
