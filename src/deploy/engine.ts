/**
 * `nixlab deploy`: brings the cluster to the rendered plan (ARCHITECTURE §5).
 *   wait for the API (bounded backoff) -> lock -> namespaces -> groups as a DAG:
 *     a group whose hash (plan group hash + keyed digest of its secret values) is
 *     unchanged and that was ready is only checked for presence (reads, no writes);
 *     one that was applied but not ready is re-checked; anything else is applied:
 *     its Secrets (one server-side apply each), then its objects in kind order, then
 *     it waits (by watch) for its workloads, wait targets and HelmChart install Jobs.
 *   Hooks run after their group is ready. State is saved after every transition.
 */
import { createHash } from "node:crypto";
import { ExitCode, UserError } from "../errors.ts";
import type { DeployPlan, PlanGroup, PlanHook, PlanSecret, RetryPolicy } from "../render/plan-types.ts";
import { type ApplyContext, applyObject, errorMessage, withRetry } from "./apply.ts";
import { ChangeSet, type ChangeEntry } from "./changeset.ts";
import { findHookPod, type HookResult, runOccHook } from "./hooks.ts";
import { ApiError, type Kube } from "./kube.ts";
import { acquireLock } from "./lock.ts";
import {
  deepEqual,
  groupLabel,
  isManagedBy,
  type KObject,
  managedByLabel,
  type ObjectRef,
  refKey,
  refOfWait,
  refOf,
  sortForApply,
} from "./objects.ts";
import { type LoadedPlan, loadPlan } from "./plan.ts";
import { runDag } from "./scheduler.ts";
import {
  clusterHashKey,
  Redactor,
  type ResolvedSecret,
  resolveSecrets,
  type SecretSource,
  secretId,
  secretObject,
  secretsDigest,
} from "./secrets.ts";
import { type DeployState, type GroupState, type GroupStatus, StateStore } from "./state.ts";
import { sleep, waitReady } from "./wait.ts";
import { newWebhookCache, type WebhookCache } from "./webhooks.ts";

export const secretsHashAnnotation = "nixlab.dev/secrets-hash";

export type GroupPhase =
  | "pending"
  | "checking"
  | "applying"
  | "waiting"
  | "ready"
  | "unchanged"
  | "not-ready"
  | "failed"
  | "blocked";

export type DeployEvent =
  | { type: "phase"; message: string }
  | { type: "group"; group: string; phase: GroupPhase; detail?: string }
  | { type: "object"; entry: ChangeEntry }
  | { type: "hook"; result: HookResult };

export interface DeployOptions {
  kube: Kube;
  planPath: string;
  stateDir: string;
  secrets?: SecretSource;
  only?: string[];
  strict?: boolean;
  concurrency?: number;
  /** How long to wait for another deploy's lock (0: fail at once with ExitCode.busy). */
  lockWaitMs?: number;
  /** How long to wait for the API to answer at all. */
  apiWaitMs?: number;
  signal?: AbortSignal;
  onEvent?: (event: DeployEvent) => void;
}

export interface GroupReport {
  name: string;
  phase: GroupPhase;
  hash: string;
  applied: boolean;
  message?: string;
  durationMs: number;
}

export interface DeployReport {
  result: "ok" | "not-ready" | "failed";
  exitCode: number;
  durationMs: number;
  groups: GroupReport[];
  changes: ChangeEntry[];
  counts: ReturnType<ChangeSet["counts"]>;
  hooks: HookResult[];
  requests: { reads: number; writes: number };
}

const defaultRetry: RetryPolicy = { attempts: 3, delaySeconds: 1, maxDelaySeconds: 30 };

/** Waits for the apiserver to answer /version, with exponential backoff up to maxMs. */
export async function waitForApi(kube: Kube, maxMs: number, signal?: AbortSignal): Promise<void> {
  const deadline = Date.now() + maxMs;
  let delay = 250;
  let last = "";
  for (;;) {
    try {
      await kube.request("GET", "/version", { timeoutMs: 5000 });
      return;
    } catch (error) {
      if (error instanceof ApiError && (error.status === 401 || error.status === 403)) {
        throw new UserError(`the Kubernetes API at ${kube.server} refused our credentials: ${error.message}`);
      }
      last = errorMessage(error);
    }
    if (Date.now() + delay > deadline || signal?.aborted) {
      throw new UserError(
        `the Kubernetes API at ${kube.server} did not answer within ${Math.round(maxMs / 1000)} s (${last})`,
        {
          details: ["Is k3s running? Check the kubeconfig (--kubeconfig) and `systemctl status k3s`."],
        },
      );
    }
    await sleep(delay, signal);
    delay = Math.min(delay * 2, 10_000);
  }
}

/** Effective group hash: the plan's hash of the group plus the keyed digest of its secret values. */
export function groupHash(group: PlanGroup, secretsDigestHex: string): string {
  return createHash("sha256").update(`${group.hash}\0${secretsDigestHex}`).digest("hex");
}

export interface Prepared {
  loaded: LoadedPlan;
  plan: DeployPlan;
  secretsByGroup: Map<string, ResolvedSecret[]>;
  hashes: Map<string, string>;
  secretDigests: Map<string, string>;
  redactor: Redactor;
}

/** Loads the plan and resolves every secret value the selected groups need. */
export async function prepare(
  loaded: LoadedPlan,
  hashKey: () => Promise<Uint8Array>,
  source: SecretSource | undefined,
  selected: ReadonlySet<string>,
  options: { secretsOptional?: boolean } = {},
): Promise<Prepared> {
  const plan = loaded.plan;
  const needed = plan.secrets.filter((s) => selected.has(s.group));
  if (needed.length > 0 && !source && !options.secretsOptional) {
    throw new UserError(
      `the plan needs ${needed.length} Kubernetes Secrets built from SOPS values, but no secrets were given`,
      {
        exitCode: ExitCode.invalidInput,
        details: ["Pass --secrets FILE (the SOPS file) or --secrets-dir DIR (e.g. /run/secrets on the master)."],
      },
    );
  }
  const resolved = source ? await resolveSecrets(needed, source) : [];
  const redactor = new Redactor();
  for (const s of resolved) for (const v of s.values.values()) redactor.add(v);
  const key = resolved.length > 0 ? await hashKey() : new Uint8Array(32);
  const secretsByGroup = new Map<string, ResolvedSecret[]>();
  for (const s of resolved) {
    const list = secretsByGroup.get(s.plan.group) ?? [];
    list.push(s);
    secretsByGroup.set(s.plan.group, list);
  }
  const hashes = new Map<string, string>();
  for (const g of plan.groups) hashes.set(g.name, groupHash(g, secretsDigest(key, secretsByGroup.get(g.name) ?? [])));
  const secretDigests = new Map(resolved.map((s) => [secretId(s.plan), secretsDigest(key, [s])]));
  return { loaded, plan, secretsByGroup, hashes, secretDigests, redactor };
}

/** The objects the engine applies for a group, labelled and with restart annotations. */
export function groupObjects(prep: Prepared, group: PlanGroup): KObject[] {
  const restart = new Map<string, string[]>();
  for (const s of prep.plan.secrets) {
    for (const r of s.restart) {
      const k = refKey(r);
      restart.set(k, [...(restart.get(k) ?? []), secretId(s)]);
    }
  }
  const out: KObject[] = [];
  for (const key of group.charts) {
    const chart = prep.loaded.charts.get(key)!;
    for (const original of chart.objects) {
      const obj = structuredClone(original);
      obj.metadata.labels = { ...(obj.metadata.labels ?? {}), [managedByLabel]: "nixlab", [groupLabel]: group.name };
      const ids = restart.get(refKey(refOf(obj)));
      if (ids && obj.spec?.template) {
        const digest = createHash("sha256")
          .update(ids.map((id) => prep.secretDigests.get(id) ?? "").join("\0"))
          .digest("hex")
          .slice(0, 16);
        obj.spec.template.metadata ??= {};
        obj.spec.template.metadata.annotations = {
          ...(obj.spec.template.metadata.annotations ?? {}),
          [secretsHashAnnotation]: digest,
        };
      }
      out.push(obj);
    }
  }
  return out;
}

/** Applies items in kind order: one kind rank after another, a rank's objects concurrently. */
async function applyInOrder<T>(objects: KObject[], limit: number, fn: (obj: KObject) => Promise<T>): Promise<T[]> {
  const sorted = sortForApply(objects.map((obj) => ({ obj })));
  const results: T[] = [];
  let i = 0;
  while (i < sorted.length) {
    const kind = sorted[i]!.obj.kind;
    const batch: KObject[] = [];
    while (i < sorted.length && sorted[i]!.obj.kind === kind) batch.push(sorted[i++]!.obj);
    results.push(...(await mapLimit(batch, limit, fn)));
  }
  return results;
}

export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

const workloadKinds = new Set(["Deployment", "StatefulSet", "DaemonSet", "Job"]);

interface WaitItem {
  ref: ObjectRef;
  timeoutMs: number;
  /** HelmChart: the install Job must be newer than our apply of the chart. */
  createdAfter?: string;
}

export async function deploy(options: DeployOptions): Promise<DeployReport> {
  const started = Date.now();
  const emit = options.onEvent ?? (() => {});
  const store = new StateStore(options.stateDir);
  await store.ensureDir();
  const lock = await acquireLock(options.stateDir, { waitMs: options.lockWaitMs ?? 0 });
  try {
    return await deployLocked(options, store, started, emit);
  } finally {
    await lock.release();
  }
}

async function deployLocked(
  options: DeployOptions,
  store: StateStore,
  started: number,
  emit: (e: DeployEvent) => void,
): Promise<DeployReport> {
  const { kube, signal } = options;
  // The client may be shared across deploys: report this run's requests only.
  const countsBefore = { ...kube.counts };
  const loaded = await loadPlan(options.planPath);
  const allGroups = loaded.plan.groups.map((g) => g.name);
  const only = options.only && options.only.length > 0 ? new Set(options.only) : null;
  if (only) {
    const unknown = [...only].filter((g) => !allGroups.includes(g));
    if (unknown.length > 0) {
      throw new UserError(`--only names unknown groups: ${unknown.join(", ")}`, {
        exitCode: ExitCode.invalidInput,
        details: [`Groups: ${allGroups.join(", ")}`],
      });
    }
  }
  const selected = only ?? new Set(allGroups);
  emit({ type: "phase", message: `waiting for the Kubernetes API at ${kube.server}` });
  await waitForApi(kube, options.apiWaitMs ?? 300_000, signal);
  const prep = await prepare(loaded, () => clusterHashKey(kube), options.secrets, selected);
  const { plan } = prep;

  const state: DeployState = await store.load();
  // The cluster is known by kube-system's uid, not by URL (the master and a workstation
  // reach the same cluster by different addresses); another cluster starts from scratch.
  const clusterId = (
    await withRetry({ retry: defaultRetry }, () =>
      kube.get({ apiVersion: "v1", kind: "Namespace", name: "kube-system" }),
    )
  )?.metadata.uid;
  if (state.cluster && clusterId && state.cluster !== clusterId) {
    state.groups = {};
    delete state.secretDigests;
    delete state.hooks;
  }
  if (clusterId) state.cluster = clusterId;
  // What earlier deploys applied, before this run rewrites it: the inventory for pruning.
  const inventory = new Map<string, { ref: ObjectRef; group: string }>();
  for (const [group, gs] of Object.entries(state.groups))
    for (const ref of gs.objects) inventory.set(refKey(ref), { ref, group });
  state.server = kube.server;
  state.planHash = plan.hash;
  state.lastRun = { startedAt: new Date(started).toISOString() };

  const changes = new ChangeSet();
  const record = (ref: ObjectRef, group: string, action: ChangeEntry["action"], message?: string) =>
    emit({ type: "object", entry: changes.add(ref, group, action, message) });
  const webhooks: WebhookCache = newWebhookCache();
  const redact = (m: string) => prep.redactor.redact(m);

  // Namespaces: only missing ones are applied (a no-op run sends no writes).
  emit({ type: "phase", message: "namespaces" });
  const nsNeeded = new Set<string>();
  for (const g of plan.groups) if (selected.has(g.name)) for (const ns of g.namespaces) nsNeeded.add(ns);
  const existing = await withRetry({ retry: defaultRetry, ...(signal ? { signal } : {}) }, () =>
    kube.list("v1", "Namespace"),
  );
  const live = new Map(existing.items.map((n) => [n.metadata.name, n]));
  let nsFailed = false;
  for (const ns of [...nsNeeded].sort()) {
    const ref = { apiVersion: "v1", kind: "Namespace", name: ns };
    const cur = live.get(ns);
    if (cur && !cur.metadata.deletionTimestamp) {
      record(ref, "(namespaces)", "unchanged");
      continue;
    }
    if (cur?.metadata.deletionTimestamp) {
      nsFailed = true;
      record(ref, "(namespaces)", "failed", "namespace is being deleted; wait until it is gone and deploy again");
      continue;
    }
    try {
      await withRetry({ retry: defaultRetry, ...(signal ? { signal } : {}) }, () =>
        kube.apply({
          apiVersion: "v1",
          kind: "Namespace",
          metadata: { name: ns, labels: { [managedByLabel]: "nixlab" } },
        }),
      );
      record(ref, "(namespaces)", "created");
    } catch (error) {
      nsFailed = true;
      record(ref, "(namespaces)", "failed", redact(errorMessage(error)));
    }
  }

  const reports = new Map<string, GroupReport>();
  const hookResults: HookResult[] = [];
  const saveGroup = async (name: string, gs: GroupState) => {
    state.groups[name] = { ...gs, planHash: groupsByName.get(name)!.hash };
    await store.save(state);
  };
  const groupsByName = new Map(plan.groups.map((g) => [g.name, g]));
  const hooksByGroup = new Map<string, PlanHook[]>();
  for (const h of plan.hooks) hooksByGroup.set(h.after, [...(hooksByGroup.get(h.after) ?? []), h]);
  const concurrency = Math.max(1, options.concurrency ?? 8);

  const runGroup = async (name: string): Promise<boolean> => {
    const t0 = Date.now();
    const group = groupsByName.get(name)!;
    const hash = prep.hashes.get(name)!;
    const prev = state.groups[name];
    const finish = (phase: GroupPhase, applied: boolean, message?: string) => {
      const r: GroupReport = { name, phase, hash, applied, durationMs: Date.now() - t0 };
      if (message) r.message = message;
      reports.set(name, r);
      emit({ type: "group", group: name, phase, ...(message ? { detail: message } : {}) });
    };

    if (!selected.has(name)) {
      // --only: a group outside the selection counts as done when it was ready before.
      const ok = prev?.status === "ready";
      finish(ok ? "unchanged" : "blocked", false, ok ? undefined : "not selected by --only and not deployed yet");
      return ok;
    }
    if (nsFailed) {
      finish("failed", false, "namespaces could not be created");
      return false;
    }

    const objects = groupObjects(prep, group);
    const secrets = prep.secretsByGroup.get(name) ?? [];
    const secretRefs = secrets.map((s) => refOf(secretObject(s)));
    const deadline = () => Date.now() + group.timeoutSeconds * 1000;
    const ctx: ApplyContext = {
      kube,
      retry: group.retry ?? defaultRetry,
      deadline: deadline(),
      webhooks,
      redact,
      onWait: (what) => emit({ type: "group", group: name, phase: "applying", detail: `waiting for ${what}` }),
      ...(signal ? { signal } : {}),
    };

    let mode: "verify" | "recheck" | "apply" = "apply";
    if (prev && prev.hash === hash && prev.status === "ready") mode = "verify";
    else if (prev && prev.hash === hash && prev.status === "applied-not-ready") mode = "recheck";

    if (mode === "verify") {
      emit({ type: "group", group: name, phase: "checking" });
      const wanted = new Map(
        secrets.map((s) => {
          const o = secretObject(s);
          return [refKey(refOf(o)), o] as const;
        }),
      );
      const all = [...secretRefs, ...objects.map(refOf)];
      // Presence of every object, and Secrets byte for byte (someone may have edited one).
      const missing = (
        await mapLimit(all, 16, async (ref) => {
          const cur = await withRetry(ctx, () => kube.get(ref));
          const want = wanted.get(refKey(ref));
          return cur && (!want || deepEqual(cur.data ?? {}, want.data)) ? null : ref;
        })
      ).filter((r): r is ObjectRef => r !== null);
      if (missing.length === 0) {
        for (const ref of all) record(ref, name, "unchanged");
        finish("unchanged", false);
        return true;
      }
      emit({
        type: "group",
        group: name,
        phase: "applying",
        detail: `drift: ${missing.map(refKey).join(", ")} missing or changed`,
      });
      mode = "apply";
    }

    let appliedAt = prev?.appliedAt;
    const waits: WaitItem[] = [];
    const groupDeadline = deadline();
    if (mode === "apply") {
      emit({ type: "group", group: name, phase: "applying" });
      appliedAt = new Date().toISOString();
      await saveGroup(name, { hash, status: "applying", appliedAt, objects: [...secretRefs, ...objects.map(refOf)] });
      let failed = false;

      // Secrets first: workloads must never start with missing or stale credentials.
      for (const s of secrets) {
        const obj = secretObject(s);
        const ref = refOf(obj);
        try {
          const cur = await withRetry(ctx, () => kube.get(ref));
          if (cur && deepEqual(cur.data ?? {}, obj.data) && cur.metadata.labels?.[groupLabel] === name) {
            record(ref, name, "unchanged");
            continue;
          }
          await withRetry(ctx, () => kube.apply(obj));
          record(ref, name, cur ? "configured" : "created");
        } catch (error) {
          failed = true;
          record(ref, name, "failed", redact(errorMessage(error)));
        }
      }
      if (!failed) {
        const results = await applyInOrder(objects, 8, (obj) => applyObject(ctx, obj));
        for (const r of results) {
          record(r.ref, name, r.action, r.message);
          if (r.action === "failed") failed = true;
          if (r.ref.kind === "HelmChart" && r.specChanged && r.appliedAt) {
            waits.push({ ref: r.ref, timeoutMs: group.timeoutSeconds * 1000, createdAfter: r.appliedAt });
          }
        }
        if (!failed) await rollSecretConsumers(prep, state, group, ctx, record);
      } else {
        for (const o of objects) record(refOf(o), name, "skipped", "a Secret of the group failed");
      }
      if (failed) {
        await saveGroup(name, {
          hash,
          status: "failed",
          appliedAt,
          message: "apply failed",
          objects: [...secretRefs, ...objects.map(refOf)],
        });
        finish("failed", true, "apply failed");
        return false;
      }
    } else {
      for (const ref of [...secretRefs, ...objects.map(refOf)]) record(ref, name, "unchanged");
    }

    // Readiness: the plan's wait targets, our own workloads and CRDs, and every HelmChart's install Job.
    for (const o of objects) {
      const ref = refOf(o);
      if (workloadKinds.has(o.kind) || o.kind === "CustomResourceDefinition") {
        waits.push({ ref, timeoutMs: group.timeoutSeconds * 1000 });
      } else if (o.kind === "HelmChart" && !waits.some((w) => refKey(w.ref) === refKey(ref))) {
        waits.push({ ref, timeoutMs: group.timeoutSeconds * 1000 });
      }
    }
    for (const w of group.waitFor) {
      const ref = refOfWait(w);
      if (!waits.some((x) => refKey(x.ref) === refKey(ref))) waits.push({ ref, timeoutMs: w.timeoutSeconds * 1000 });
    }
    emit({
      type: "group",
      group: name,
      phase: "waiting",
      detail: waits.length ? `${waits.length} objects` : undefined,
    });
    const pendingReasons = new Map<string, string>();
    const outcomes = await Promise.all(
      waits.map(async (w) => {
        const budget = Math.max(0, Math.min(w.timeoutMs, groupDeadline - Date.now()));
        const target = helmJobTarget(w);
        const onProgress = (reason: string) => {
          pendingReasons.set(refKey(w.ref), reason);
          const first = [...pendingReasons.entries()][0];
          if (first) emit({ type: "group", group: name, phase: "waiting", detail: `${first[0]}: ${first[1]}` });
        };
        const outcome = await waitReady(kube, target.ref, {
          timeoutMs: budget,
          onProgress,
          ...(target.accept ? { accept: target.accept } : {}),
          ...(signal ? { signal } : {}),
        });
        pendingReasons.delete(refKey(w.ref));
        return { w, outcome };
      }),
    );
    const failedWaits = outcomes.filter((o) => o.outcome.failed);
    const notReady = outcomes.filter((o) => !o.outcome.ready);
    const describe = (list: typeof outcomes) => list.map((o) => `${refKey(o.w.ref)}: ${o.outcome.reason}`).join("; ");
    const objectsList = [...secretRefs, ...objects.map(refOf)];
    if (signal?.aborted) {
      finish("failed", mode === "apply", "interrupted");
      return false;
    }
    if (failedWaits.length > 0 || (notReady.length > 0 && options.strict)) {
      const message = describe(failedWaits.length > 0 ? failedWaits : notReady);
      await saveGroup(name, {
        hash,
        status: "failed",
        ...(appliedAt ? { appliedAt } : {}),
        message,
        objects: objectsList,
      });
      finish("failed", mode === "apply", message);
      return false;
    }
    if (notReady.length > 0) {
      const message = describe(notReady);
      await saveGroup(name, {
        hash,
        status: "applied-not-ready",
        ...(appliedAt ? { appliedAt } : {}),
        message,
        objects: objectsList,
      });
      finish("not-ready", mode === "apply", message);
      return false;
    }
    await saveGroup(name, {
      hash,
      status: "ready",
      ...(appliedAt ? { appliedAt } : {}),
      readyAt: new Date().toISOString(),
      objects: objectsList,
    });

    let hooksOk = true;
    for (const hook of hooksByGroup.get(name) ?? []) {
      const result = await runHook(kube, hook, mode === "apply", state, ctx);
      if (!result) continue;
      hookResults.push(result);
      emit({ type: "hook", result });
      if (result.status === "failed") hooksOk = false;
    }
    await store.save(state);
    finish("ready", mode === "apply", hooksOk ? undefined : "a hook failed");
    return hooksOk;
  };

  await runDag(
    plan.groups.map((g) => ({ name: g.name, dependsOn: g.dependsOn })),
    concurrency,
    async (name) => {
      try {
        return await runGroup(name);
      } catch (error) {
        const message = redact(errorMessage(error));
        reports.set(name, {
          name,
          phase: "failed",
          hash: prep.hashes.get(name)!,
          applied: false,
          message,
          durationMs: 0,
        });
        emit({ type: "group", group: name, phase: "failed", detail: message });
        return false;
      }
    },
    (name, by) => {
      reports.set(name, {
        name,
        phase: "blocked",
        hash: prep.hashes.get(name)!,
        applied: false,
        message: `waits for ${by.join(", ")}`,
        durationMs: 0,
      });
      emit({ type: "group", group: name, phase: "blocked", detail: `waits for ${by.join(", ")}` });
    },
  );

  const groups = plan.groups.map((g) => reports.get(g.name)!);
  // Prune only after a complete, healthy run of the whole plan: a partial or failed run
  // must never delete what a later group might still be meant to own.
  const healthy = !only && !nsFailed && groups.every((g) => g.phase === "ready" || g.phase === "unchanged");
  if (healthy) {
    await prune(
      kube,
      prep,
      inventory,
      (ref, group, action, message) => record(ref, group, action, message),
      defaultRetry,
    );
    for (const name of Object.keys(state.groups)) if (!groupsByName.has(name)) delete state.groups[name];
  }
  const anyFailed =
    nsFailed ||
    groups.some((g) => g.phase === "failed") ||
    hookResults.some((h) => h.status === "failed") ||
    changes.entries.some((e) => e.action === "failed");
  const anyNotReady = groups.some((g) => g.phase === "not-ready" || g.phase === "blocked");
  const result: DeployReport["result"] = anyFailed ? "failed" : anyNotReady ? "not-ready" : "ok";
  state.lastRun = { ...state.lastRun!, finishedAt: new Date().toISOString(), result };
  await store.save(state);
  return {
    result,
    exitCode: result === "failed" ? ExitCode.failure : result === "not-ready" ? ExitCode.notReady : ExitCode.ok,
    durationMs: Date.now() - started,
    groups,
    changes: changes.sorted(),
    counts: changes.counts(),
    hooks: hookResults,
    requests: { reads: kube.counts.reads - countsBefore.reads, writes: kube.counts.writes - countsBefore.writes },
  };
}

/** HelmChart readiness is its install Job (k3s's helm controller runs helm-install-<name>). */
function helmJobTarget(w: WaitItem): {
  ref: ObjectRef;
  accept?: (obj: KObject) => { ready: false; reason: string } | null;
} {
  if (w.ref.kind !== "HelmChart") return { ref: w.ref };
  const ref: ObjectRef = {
    apiVersion: "batch/v1",
    kind: "Job",
    name: `helm-install-${w.ref.name}`,
    namespace: w.ref.namespace ?? "kube-system",
  };
  const after = w.createdAfter;
  if (!after) return { ref };
  return {
    ref,
    // After a chart change the controller replaces the Job; an older one describes the old chart.
    accept: (job) =>
      (job.metadata.creationTimestamp ?? "") >= after
        ? null
        : { ready: false, reason: "waiting for the helm controller to start the new install" },
  };
}

/**
 * Workloads reading a Secret whose values changed and that we do not render ourselves
 * (Helm-installed) get the secrets-hash pod annotation, which rolls their pods.
 */
async function rollSecretConsumers(
  prep: Prepared,
  state: DeployState,
  group: PlanGroup,
  ctx: ApplyContext,
  record: (ref: ObjectRef, group: string, action: ChangeEntry["action"], message?: string) => void,
): Promise<void> {
  const rendered = new Set<string>();
  for (const key of group.charts) for (const o of prep.loaded.charts.get(key)!.objects) rendered.add(refKey(refOf(o)));
  const previous = state.secretDigests ?? {};
  const targets = new Map<string, { ref: ObjectRef; ids: string[] }>();
  for (const s of prep.plan.secrets.filter((x: PlanSecret) => x.group === group.name)) {
    const id = secretId(s);
    const digest = prep.secretDigests.get(id);
    if (!digest) continue;
    const changed = previous[id] !== undefined && previous[id] !== digest;
    previous[id] = digest;
    if (!changed) continue;
    for (const r of s.restart) {
      if (rendered.has(refKey(r))) continue;
      const t = targets.get(refKey(r)) ?? { ref: r, ids: [] };
      t.ids.push(id);
      targets.set(refKey(r), t);
    }
  }
  state.secretDigests = previous;
  for (const { ref, ids } of targets.values()) {
    const cur = await withRetry(ctx, () => ctx.kube.get(ref));
    if (!cur) continue; // not installed yet: it will start with the new values
    const digest = createHash("sha256")
      .update(ids.map((id) => prep.secretDigests.get(id) ?? "").join("\0"))
      .digest("hex")
      .slice(0, 16);
    try {
      await withRetry(ctx, () =>
        ctx.kube.apply({
          apiVersion: ref.apiVersion,
          kind: ref.kind,
          metadata: { name: ref.name, ...(ref.namespace ? { namespace: ref.namespace } : {}) },
          spec: { template: { metadata: { annotations: { [secretsHashAnnotation]: digest } } } },
        }),
      );
      record(ref, group.name, "configured", "restarted: a Secret it reads changed");
    } catch (error) {
      record(ref, group.name, "failed", `restart after secret change: ${errorMessage(error)}`);
    }
  }
}

/**
 * Runs a hook when its group was (re)applied this run, its definition changed, or it
 * never succeeded; a no-op deploy therefore sends no exec requests.
 */
async function runHook(
  kube: Kube,
  hook: PlanHook,
  groupApplied: boolean,
  state: DeployState,
  ctx: ApplyContext,
): Promise<HookResult | null> {
  const defHash = createHash("sha256").update(JSON.stringify(hook)).digest("hex");
  const prev = state.hooks?.[hook.name];
  if (!groupApplied && prev?.status === "ok" && prev.hash === defHash) return null;
  const pod = await withRetry(ctx, () => findHookPod(kube, hook));
  let result: HookResult;
  if (!pod) {
    result = {
      name: hook.name,
      status: "failed",
      changed: [],
      message: `no ready pod of deployment ${hook.target.namespace}/${hook.target.deployment}`,
    };
  } else {
    result = await runOccHook(hook, pod, (ns, p, c, argv) => kube.exec(ns, p, c, argv));
  }
  state.hooks = {
    ...(state.hooks ?? {}),
    [hook.name]: { hash: defHash, status: result.status === "failed" ? "failed" : "ok", at: new Date().toISOString() },
  };
  return result;
}

export type { GroupStatus };

/** Kinds never pruned: deleting them takes everything inside (all CRs, a whole namespace). */
const neverPruned = new Set(["Namespace", "CustomResourceDefinition"]);

/**
 * Deletes objects an earlier deploy applied that the plan no longer renders, newest kinds
 * first. Only objects that carry our managed-by label and were applied by our field
 * manager are deleted; anything else is reported and left alone.
 */
async function prune(
  kube: Kube,
  prep: Prepared,
  inventory: Map<string, { ref: ObjectRef; group: string }>,
  record: (ref: ObjectRef, group: string, action: ChangeEntry["action"], message?: string) => void,
  retry: RetryPolicy,
): Promise<void> {
  const current = new Set<string>();
  for (const g of prep.plan.groups) for (const o of groupObjects(prep, g)) current.add(refKey(refOf(o)));
  for (const s of prep.plan.secrets)
    current.add(refKey({ apiVersion: "v1", kind: "Secret", name: s.name, namespace: s.namespace }));
  const gone = [...inventory.entries()].filter(([key]) => !current.has(key)).map(([, v]) => v);
  const ordered = sortForApply(
    gone.map((v) => ({ obj: { apiVersion: v.ref.apiVersion, kind: v.ref.kind, metadata: { name: v.ref.name } }, v })),
  ).reverse();
  for (const { v } of ordered) {
    const { ref, group } = v;
    if (neverPruned.has(ref.kind)) {
      record(ref, group, "skipped", `no longer rendered; a ${ref.kind} is never deleted automatically`);
      continue;
    }
    try {
      const live = await withRetry({ retry }, () => kube.get(ref));
      if (!live) continue;
      if (live.metadata.labels?.[managedByLabel] !== "nixlab" || !isManagedBy(live, "nixlab")) {
        record(ref, group, "skipped", "no longer rendered, but not created by nixlab: left alone");
        continue;
      }
      await withRetry({ retry }, () =>
        kube.delete(ref, { propagationPolicy: "Background", ...(live.metadata.uid ? { uid: live.metadata.uid } : {}) }),
      );
      record(ref, group, "deleted", "no longer rendered");
    } catch (error) {
      record(ref, group, "failed", `prune: ${errorMessage(error)}`);
    }
  }
}
