/**
 * `nixlab diff`: what a deploy would change, as a server-side dry run. Each object the
 * plan would apply is sent with dryRun=All (admission and defaulting included, conflicts
 * forced as deploy forces them, so a field changed by hand shows) and compared with the
 * live object; objects a full deploy would prune are shown as deletions. Secret values
 * are never shown, only each key's size and whether it would change. Exit codes follow
 * `kubectl diff`: 0 no differences, 1 differences, 2 an object could not be compared.
 */
import { stringify } from "yaml";
import { ExitCode } from "../errors.ts";
import type { LoadedPlan } from "../plan/load.ts";
import { type DeployPlan, defaultRetry } from "../plan/schema.ts";
import { explainApiErrors, waitForApi } from "./api.ts";
import { ApiError, type KubeClient } from "./client.ts";
import { type Clock, systemClock } from "./clock.ts";
import { selectGroups } from "./engine.ts";
import type { DeploySink } from "./events.ts";
import { mapLimit } from "./group.ts";
import { readInventories } from "./inventory.ts";
import { type KObject, refKey, refOf } from "./objects.ts";
import { groupObjects, prepare, renderedRefs, secretsHashAnnotation } from "./prepare.ts";
import { judgePrune, pruneCandidates } from "./prune.ts";
import { errorMessage, type RetryContext, withRetry } from "./retry.ts";
import { clusterHashKey, type SecretSource } from "./secrets.ts";
import { unifiedDiff } from "./textdiff.ts";

/** What a deploy would do to one object. */
export type DiffAction = "create" | "change" | "unchanged" | "delete" | "skipped" | "failed";

/** One object of a diff. */
export interface ObjectDiff {
  object: string;
  group: string;
  action: DiffAction;
  /** Unified diff of the live object and the dry-run result (secret values masked); "" when none. */
  diff: string;
  message?: string;
}

/** The result of `nixlab diff` (its --json output). */
export interface DiffReport {
  command: "diff";
  /** no-differences (exit 0), differences (exit 1), error: something could not be compared (exit 2). */
  result: "no-differences" | "differences" | "error";
  exitCode: number;
  counts: Record<DiffAction, number>;
  objects: ObjectDiff[];
}

/** What diff compares: the plan, the cluster, the secret values. */
export interface DiffInput {
  plan: LoadedPlan;
  kube: KubeClient;
  secrets?: SecretSource;
  /** Compare everything but Secrets (no values at hand); each Secret is listed as skipped. */
  skipSecrets?: boolean;
  only?: readonly string[];
  clock?: Clock;
  apiTimeoutMs?: number;
  sink?: DeploySink;
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

/** Compares every object the selected groups would apply, and what a full deploy would prune. */
export async function diffPlan(input: DiffInput): Promise<DiffReport> {
  return await explainApiErrors(input.kube, () => diff(input));
}

async function diff(input: DiffInput): Promise<DiffReport> {
  const { kube } = input;
  const clock = input.clock ?? systemClock;
  const timeoutMs = input.apiTimeoutMs ?? 10_000;
  const selected = selectGroups(input.plan.plan.groups, input.only);
  await waitForApi(kube, { clock, timeoutMs, sink: input.sink ?? (() => {}) });
  const rctx: RetryContext = { retry: defaultRetry, clock, outageMs: timeoutMs };
  const prep = await prepare(input.plan, {
    selected,
    source: input.secrets,
    // Read only: without the cluster's key (never deployed) the digests are placeholders.
    hashKey: async () => (await withRetry(rctx, () => clusterHashKey(kube, { create: false }))) ?? new Uint8Array(32),
    ...(input.skipSecrets ? { withoutSecrets: true } : {}),
  });
  const work: Array<{ group: string; obj: KObject }> = [];
  const out: ObjectDiff[] = [];
  for (const group of input.plan.plan.groups) {
    if (!selected.has(group.name)) continue;
    for (const obj of [...(await prep.groupSecrets(group.name)), ...groupObjects(prep, group)])
      work.push({ group: group.name, obj });
    if (input.skipSecrets) {
      for (const s of input.plan.plan.secrets.filter((x) => x.group === group.name)) {
        const object = refKey({ kind: "Secret", name: s.name, namespace: s.namespace });
        out.push({
          object,
          group: group.name,
          action: "skipped",
          diff: "",
          message: "values not compared (--skip-secrets)",
        });
      }
    }
  }
  const redact = (m: string) => prep.redactor.redact(m);
  out.push(
    ...(await mapLimit(work, 8, (w) =>
      diffObject(kube, rctx, w.group, w.obj, redact, input.color, !!input.skipSecrets),
    )),
  );
  if (selected.size === input.plan.plan.groups.length)
    out.push(...(await diffPrune(kube, rctx, input.plan.plan, input.color)));
  return diffReport(out);
}

async function diffObject(
  kube: KubeClient,
  rctx: RetryContext,
  group: string,
  obj: KObject,
  redact: (m: string) => string,
  color: DiffInput["color"],
  skipSecrets: boolean,
): Promise<ObjectDiff> {
  const key = refKey(refOf(obj));
  try {
    const live = await withRetry(rctx, () => kube.get(refOf(obj)));
    if (skipSecrets) keepLiveSecretsHash(obj, live);
    let next: KObject;
    let message: string | undefined;
    try {
      next = await withRetry(rctx, () => kube.apply(obj, { dryRun: true }));
    } catch (error) {
      // A custom resource whose CRD a chart has not installed yet, or a namespace not created yet.
      if (error instanceof ApiError && (error.reason === "NoKindMatch" || (error.status === 404 && !live))) next = obj;
      else if (
        obj.kind === "Job" &&
        live &&
        error instanceof ApiError &&
        error.status === 422 &&
        /field is immutable/.test(error.message)
      ) {
        next = obj;
        message = "would be recreated (its template is immutable)";
      } else throw error;
    }
    let [a, b] = [normalize(live), normalize(next)];
    if (obj.kind === "Secret") [a, b] = maskSecret(a, b);
    const text = unifiedDiff(
      a ? stringify(a, { sortMapEntries: true }) : "",
      b ? stringify(b, { sortMapEntries: true }) : "",
      { from: live ? `live ${key}` : "/dev/null", to: `planned ${key}` },
      color ? { color } : {},
    );
    const action: DiffAction = !live ? "create" : text ? "change" : "unchanged";
    return { object: key, group, action, diff: text, ...(message ? { message } : {}) };
  } catch (error) {
    return { object: key, group, action: "failed", diff: "", message: redact(errorMessage(error)) };
  }
}

/**
 * Without secret values the digest of the Secrets a workload reads is unknown: the live
 * one is kept, so --skip-secrets shows no change it cannot know about.
 */
function keepLiveSecretsHash(obj: KObject, live: KObject | null): void {
  const annotations = obj.spec?.template?.metadata?.annotations as Record<string, string> | undefined;
  if (!annotations?.[secretsHashAnnotation]) return;
  const current = live?.spec?.template?.metadata?.annotations?.[secretsHashAnnotation] as string | undefined;
  if (current) annotations[secretsHashAnnotation] = current;
  else delete annotations[secretsHashAnnotation];
}

/** What a full deploy would prune (from the in-cluster inventories). */
async function diffPrune(
  kube: KubeClient,
  rctx: RetryContext,
  plan: DeployPlan,
  color: DiffInput["color"],
): Promise<ObjectDiff[]> {
  const inventories = await readInventories({ ...rctx, kube }, plan.name);
  const out: ObjectDiff[] = [];
  for (const c of pruneCandidates(inventories, renderedRefs(plan))) {
    const object = refKey(c.ref);
    try {
      const verdict = await judgePrune(kube, rctx, c);
      if (verdict.action === "skip")
        out.push({ object, group: c.group, action: "skipped", diff: "", message: verdict.reason });
      if (verdict.action === "delete") {
        const shown =
          verdict.live.kind === "Secret" ? maskSecret(normalize(verdict.live), null)[0] : normalize(verdict.live);
        const diff = unifiedDiff(
          stringify(shown, { sortMapEntries: true }),
          "",
          { from: `live ${object}`, to: "/dev/null" },
          color ? { color } : {},
        );
        out.push({
          object,
          group: c.group,
          action: "delete",
          diff,
          message: "no longer rendered: a full deploy deletes it",
        });
      }
    } catch (error) {
      out.push({ object, group: c.group, action: "failed", diff: "", message: `prune check: ${errorMessage(error)}` });
    }
  }
  return out;
}

/** Counts, result and exit code of a list of object diffs. */
function diffReport(objects: ObjectDiff[]): DiffReport {
  const counts: Record<DiffAction, number> = { create: 0, change: 0, unchanged: 0, delete: 0, skipped: 0, failed: 0 };
  for (const o of objects) counts[o.action]++;
  const result =
    counts.failed > 0 ? "error" : counts.create + counts.change + counts.delete > 0 ? "differences" : "no-differences";
  const exitCode = result === "error" ? ExitCode.invalidInput : result === "differences" ? 1 : ExitCode.ok;
  return { command: "diff", result, exitCode, counts, objects };
}
