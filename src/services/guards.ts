/**
 * Chart values that protect the cluster, and the overrides that would take the protection
 * away. `nixlab check` refuses such an override in `charts.<chart>.values` unless the
 * user lists the guard's id in `charts.<chart>.acceptRisks`. A service that relies on a
 * value adds a row here; validation reads only this table.
 */
import type { HelmChartKey } from "./versions.ts";

/** One protection in a chart's values and how an override can take it away. */
export interface ValuesGuard {
  /** What the user writes in `charts.<chart>.acceptRisks` to override it anyway. */
  id: string;
  chart: HelmChartKey;
  /**
   * The first place in the override that takes the protection away (a path inside
   * `values`), or undefined when the override keeps it. Reads the override the way the
   * deep merge applies it: absent keeps nixlab's value, `null` removes it.
   */
  breach: (override: Record<string, unknown>) => string[] | undefined;
  /** What goes wrong without it, for the error message. */
  risk: string;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** The value at `path` in the override: undefined when the override does not touch it. */
function at(values: Record<string, unknown>, path: readonly string[]): unknown {
  let v: unknown = values;
  for (const key of path) {
    if (!isObject(v) || !Object.hasOwn(v, key)) return undefined;
    v = v[key];
  }
  return v;
}

/** A path inside the values and what an override there may be without breaching the guard. */
type Kept = readonly [path: readonly string[], keeps: (v: unknown) => boolean];

/** The first path whose override is present and not kept (a parent set to a non-object counts). */
function firstChanged(values: Record<string, unknown>, paths: readonly Kept[]): string[] | undefined {
  for (const [path, keeps] of paths) {
    for (let n = 1; n <= path.length; n++) {
      const v = at(values, path.slice(0, n));
      if (v === undefined) break;
      // null or a scalar in place of a parent removes everything below it.
      if (n < path.length && !isObject(v)) return path.slice(0, n);
      if (n === path.length && !keeps(v)) return [...path];
    }
  }
  return undefined;
}

const isFalse = (v: unknown) => v === false || v === "false";

/** Every protection a chart override could remove. */
export const valuesGuards: readonly ValuesGuard[] = [
  {
    id: "remote-user-header",
    chart: "ingress-nginx",
    risk:
      "ingress-nginx blanks the X-Remote-User header on every request (src/services/core/ingress-nginx.ts); " +
      "without it anyone who reaches the ingress can sign in to Nextcloud as any user",
    breach: (values) => {
      const headers = at(values, ["controller", "proxySetHeaders"]);
      if (isObject(headers)) {
        // Header names are case-insensitive: every spelling of it must stay blank.
        const key = Object.keys(headers).find((k) => k.toLowerCase() === "x-remote-user" && headers[k] !== "");
        if (key !== undefined) return ["controller", "proxySetHeaders", key];
      }
      return firstChanged(values, [
        [["controller", "proxySetHeaders"], isObject],
        // The ConfigMap the chart fills from proxySetHeaders; naming another one drops ours.
        [["controller", "config", "proxy-set-headers"], () => false],
        // With underscores allowed, X_Remote_User would reach PHP as HTTP_X_REMOTE_USER.
        [["controller", "config", "enable-underscores-in-headers"], isFalse],
      ]);
    },
  },
  {
    id: "snippet-annotations",
    chart: "ingress-nginx",
    risk:
      "snippet annotations let anyone who may create an Ingress inject nginx configuration, " +
      "and with it read every Secret the controller can (CVE-2021-25742)",
    breach: (values) =>
      firstChanged(values, [
        [["controller", "allowSnippetAnnotations"], isFalse],
        [["controller", "config", "allow-snippet-annotations"], isFalse],
        // "Critical" is the level that admits snippets.
        [["controller", "config", "annotations-risk-level"], (v) => v === "High" || v === "Medium" || v === "Low"],
      ]),
  },
];
