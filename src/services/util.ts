/** Helpers every service file uses: overrides, images, labels, config checksums. */
import { createHash } from "node:crypto";
import type { Cluster } from "../cluster/model.ts";
import { isRecord } from "../guards.ts";
import type { HelmRelease, K8sObject } from "./types.ts";
import { type HelmChartKey, type ImageKey, helmCharts, images } from "./versions.ts";

/**
 * Deep merge where `override` wins (services.md defect 1 fixed): objects merge key by
 * key, lists and scalars are replaced, and `null` removes a key (as in Helm). Pure.
 */
export function deepMerge(base: Record<string, unknown>, override: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(override)) {
    if (value === null) delete out[key];
    else if (isRecord(value) && isRecord(out[key])) out[key] = deepMerge(out[key], value);
    else out[key] = structuredClone(value);
  }
  return out;
}

/** The image for `key`: the user's `images.<key>` or nixlab's pin. */
export function image(cluster: Cluster, key: ImageKey): string {
  return cluster.config.images[key] ?? images[key];
}

/** A Helm release with the user's `charts.<key>` overrides applied. */
export function helmRelease(
  cluster: Cluster,
  key: HelmChartKey,
  namespace: string,
  values: Record<string, unknown>,
  secrets: string[] = [],
): HelmRelease {
  const override = cluster.config.charts[key];
  const pin = helmCharts[key];
  return {
    key,
    kind: "helm",
    namespace,
    chart: { repo: override?.repo ?? pin.repo, chart: pin.chart, version: override?.version ?? pin.version },
    values: override?.values ? deepMerge(values, override.values) : values,
    secrets,
  };
}

/** JSON with object keys sorted at every level: the canonical form we hash. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    isRecord(v)
      ? Object.fromEntries(
          Object.keys(v)
            .sort()
            .map((k) => [k, v[k]]),
        )
      : v,
  );
}

export function sha256(text: string | Uint8Array): string {
  return createHash("sha256").update(text).digest("hex");
}

/**
 * Pod template annotation that changes whenever the given config changes, so a
 * changed ConfigMap rolls the pods (defect 29).
 */
export function configHashAnnotation(...configs: unknown[]): Record<string, string> {
  return { "nixlab.dev/config-hash": sha256(canonicalJson(configs)).slice(0, 16) };
}

export function meta(
  name: string,
  namespace?: string,
  extra: Partial<K8sObject["metadata"]> = {},
): K8sObject["metadata"] {
  return namespace === undefined ? { name, ...extra } : { name, namespace, ...extra };
}

/** Splits "repo:tag" (or "repo@sha256:…") for charts that take repository and tag apart. */
export function splitImage(ref: string): { repository: string; tag: string } {
  const at = ref.indexOf("@");
  if (at >= 0) return { repository: ref.slice(0, at), tag: ref.slice(at + 1) };
  const colon = ref.lastIndexOf(":");
  return { repository: ref.slice(0, colon), tag: ref.slice(colon + 1) };
}
