/**
 * `nixlab diff`: the deploy pipeline as a server-side dry run. Each object the plan would
 * apply is sent with dryRun=All (admission and defaulting included) and compared with
 * the live object; Secret values are never shown, only whether each key would change.
 */
import { stringify } from "yaml";
import { ExitCode, UserError } from "../errors.ts";
import { errorMessage } from "./apply.ts";
import { groupObjects, prepare, waitForApi } from "./engine.ts";
import { ApiError, type Kube } from "./kube.ts";
import { type KObject, refKey, refOf } from "./objects.ts";
import { loadPlan } from "./plan.ts";
import { clusterHashKey, type SecretSource, secretObject } from "./secrets.ts";
import { unifiedDiff } from "./textdiff.ts";

export interface ObjectDiff {
  object: string;
  group: string;
  action: "create" | "change" | "unchanged" | "failed";
  /** Unified diff of the live object and the dry-run result (secret values masked). */
  diff: string;
  message?: string;
}

export interface DiffOptions {
  kube: Kube;
  planPath: string;
  secrets?: SecretSource;
  only?: string[];
  color?: (op: " " | "-" | "+", line: string) => string;
}

/** Fields the server owns or that change on every write: never part of a diff. */
function normalize(obj: KObject | null): KObject | null {
  if (!obj) return null;
  const copy = structuredClone(obj);
  const meta = copy.metadata as Record<string, unknown>;
  for (const k of ["managedFields", "resourceVersion", "uid", "generation", "creationTimestamp", "selfLink"])
    delete meta[k];
  if (meta.annotations && Object.keys(meta.annotations as object).length === 0) delete meta.annotations;
  delete copy.status;
  return copy;
}

/** Secret data as "<N bytes>" per key; a changed key gets a marker instead of its value. */
function maskSecret(live: KObject | null, next: KObject | null): [KObject | null, KObject | null] {
  const liveData = (live?.data ?? {}) as Record<string, string>;
  const nextData = (next?.data ?? {}) as Record<string, string>;
  const mask = (obj: KObject | null, mine: Record<string, string>, other: Record<string, string>) => {
    if (!obj) return null;
    const data: Record<string, string> = {};
    for (const [k, v] of Object.entries(mine)) {
      const bytes = Buffer.from(v, "base64").length;
      data[k] =
        other[k] === v ? `<hidden, ${bytes} bytes>` : `<hidden, ${bytes} bytes, ${obj === live ? "old" : "new"} value>`;
    }
    return { ...obj, data };
  };
  return [mask(live, liveData, nextData), mask(next, nextData, liveData)];
}

export async function diffPlan(options: DiffOptions): Promise<ObjectDiff[]> {
  const { kube } = options;
  const loaded = await loadPlan(options.planPath);
  const names = loaded.plan.groups.map((g) => g.name);
  const only = options.only && options.only.length > 0 ? new Set(options.only) : null;
  if (only) {
    const unknown = [...only].filter((g) => !names.includes(g));
    if (unknown.length > 0)
      throw new UserError(`--only names unknown groups: ${unknown.join(", ")}`, {
        exitCode: ExitCode.invalidInput,
        details: [`Groups: ${names.join(", ")}`],
      });
  }
  const selected = only ?? new Set(names);
  await waitForApi(kube, 30_000);
  const prep = await prepare(loaded, () => clusterHashKey(kube), options.secrets, selected, { secretsOptional: true });
  const out: ObjectDiff[] = [];
  for (const group of loaded.plan.groups) {
    if (!selected.has(group.name)) continue;
    const secrets = (prep.secretsByGroup.get(group.name) ?? []).map(secretObject);
    for (const obj of [...secrets, ...groupObjects(prep, group)]) {
      const key = refKey(refOf(obj));
      try {
        const live = await kube.get(refOf(obj));
        let next: KObject;
        try {
          next = await kube.apply(obj, { dryRun: true });
        } catch (error) {
          // A custom resource whose CRD a chart has not installed yet, or a namespace not created yet.
          if (error instanceof ApiError && (error.reason === "NoKindMatch" || (error.status === 404 && !live))) {
            next = obj;
          } else throw error;
        }
        let [a, b] = [normalize(live), normalize(next)];
        if (obj.kind === "Secret") [a, b] = maskSecret(a, b);
        const text = unifiedDiff(
          a ? stringify(a, { sortMapEntries: true }) : "",
          b ? stringify(b, { sortMapEntries: true }) : "",
          {
            from: live ? `live ${key}` : "/dev/null",
            to: `planned ${key}`,
          },
          options.color ? { color: options.color } : {},
        );
        out.push({
          object: key,
          group: group.name,
          action: !live ? "create" : text ? "change" : "unchanged",
          diff: text,
        });
      } catch (error) {
        out.push({
          object: key,
          group: group.name,
          action: "failed",
          diff: "",
          message: prep.redactor.redact(errorMessage(error)),
        });
      }
    }
  }
  return out;
}
