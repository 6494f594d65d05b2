/** Stable YAML: the same objects always give the same bytes. */
import { stringify } from "yaml";
import { isRecord } from "../guards.ts";

const byteOrder = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
const headKeys = ["apiVersion", "kind", "metadata"];

/**
 * A copy with map keys in byte order at every level, except that a Kubernetes object
 * starts with apiVersion, kind, metadata (for people reading the files).
 */
export function orderKeys(value: unknown, top = true): unknown {
  if (Array.isArray(value)) return value.map((v) => orderKeys(v, false));
  if (!isRecord(value)) return value;
  const keys = Object.keys(value).sort(byteOrder);
  const ordered = top ? [...headKeys.filter((k) => k in value), ...keys.filter((k) => !headKeys.includes(k))] : keys;
  return Object.fromEntries(ordered.map((k) => [k, orderKeys(value[k], false)]));
}

/** One YAML document, keys ordered, no line folding. */
export function toYaml(value: unknown, top = true): string {
  return stringify(orderKeys(value, top), { lineWidth: 0, minContentWidth: 0, aliasDuplicateObjects: false });
}

/** A multi-document YAML stream. */
export function toYamlStream(objects: readonly unknown[]): string {
  return objects.map((o) => toYaml(o)).join("---\n");
}
