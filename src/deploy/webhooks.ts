/**
 * Defect 8 of the original: ingress-nginx registers its validating webhook (failure
 * policy Fail) before its controller serves, so an Ingress applied right after is
 * rejected. Before applying an object, every admission webhook that would be called for
 * it (rules, scope, object and namespace selectors, failurePolicy Fail) must have a
 * ready endpoint behind its service; we wait for that by watching EndpointSlices.
 */
import type { KubeClient } from "./client.ts";
import { type Clock, deadlineSignal } from "./clock.ts";
import { groupOf, type KObject } from "./objects.ts";
import { classifyError, type RetryContext, withRetry } from "./retry.ts";

interface Rule {
  apiGroups?: string[];
  apiVersions?: string[];
  operations?: string[];
  resources?: string[];
  scope?: string;
}

interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: Array<{ key: string; operator: string; values?: string[] }>;
}

interface Webhook {
  name: string;
  failurePolicy?: string;
  rules?: Rule[];
  namespaceSelector?: LabelSelector;
  objectSelector?: LabelSelector;
  clientConfig?: { service?: { namespace: string; name: string }; url?: string };
}

/** The admission webhooks of the cluster, refreshed every few seconds. */
export interface WebhookCache {
  fetchedAt: number;
  webhooks: Webhook[];
  namespaces: Map<string, Record<string, string>>;
  /** The refresh under way: concurrent applies wait for it instead of listing again. */
  refreshing?: Promise<void>;
}

/** An empty cache: the first lookup lists the webhook configurations. */
export function newWebhookCache(): WebhookCache {
  return { fetchedAt: 0, webhooks: [], namespaces: new Map() };
}

/** Charts install webhooks while we run, so the list is refreshed every few seconds. */
const cacheTtlMs = 3000;

/** Whether a label selector (matchLabels and matchExpressions) selects these labels; no selector selects all. */
export function selectorMatches(selector: LabelSelector | undefined, labels: Record<string, string>): boolean {
  if (!selector) return true;
  for (const [k, v] of Object.entries(selector.matchLabels ?? {})) if (labels[k] !== v) return false;
  for (const e of selector.matchExpressions ?? []) {
    const has = Object.hasOwn(labels, e.key);
    const value = labels[e.key];
    const values = e.values ?? [];
    if (e.operator === "In" && !(has && values.includes(value!))) return false;
    if (e.operator === "NotIn" && has && values.includes(value!)) return false;
    if (e.operator === "Exists" && !has) return false;
    if (e.operator === "DoesNotExist" && has) return false;
  }
  return true;
}

/** Whether an admission rule covers CREATE or UPDATE of this group/version/resource and scope. */
export function ruleMatches(rule: Rule, group: string, version: string, plural: string, namespaced: boolean): boolean {
  const any = (list: string[] | undefined, v: string) => (list ?? []).some((x) => x === "*" || x === v);
  if (!any(rule.apiGroups, group) || !any(rule.apiVersions, version)) return false;
  if (!(rule.operations ?? []).some((o) => o === "*" || o === "CREATE" || o === "UPDATE")) return false;
  if (!(rule.resources ?? []).some((r) => r === "*" || r === plural || r === "*/*")) return false;
  const scope = rule.scope ?? "*";
  return scope === "*" || (scope === "Namespaced") === namespaced;
}

interface WebhookContext extends RetryContext {
  kube: KubeClient;
  webhooks: WebhookCache;
  deadline: number;
  onWait?: (what: string) => void;
}

async function refresh(ctx: WebhookContext): Promise<void> {
  const cache = ctx.webhooks;
  if (ctx.clock.now() - cache.fetchedAt < cacheTtlMs) return;
  cache.refreshing ??= listWebhooks(ctx).finally(() => {
    cache.refreshing = undefined;
  });
  await cache.refreshing;
}

async function listWebhooks(ctx: WebhookContext): Promise<void> {
  const cache = ctx.webhooks;
  const out: Webhook[] = [];
  for (const kind of ["ValidatingWebhookConfiguration", "MutatingWebhookConfiguration"]) {
    const { items } = await withRetry(ctx, () => ctx.kube.list("admissionregistration.k8s.io/v1", kind));
    for (const item of items) out.push(...((item.webhooks as Webhook[] | undefined) ?? []));
  }
  cache.webhooks = out;
  cache.namespaces.clear();
  cache.fetchedAt = ctx.clock.now();
}

async function namespaceLabels(ctx: WebhookContext, ns: string): Promise<Record<string, string>> {
  const cache = ctx.webhooks;
  let labels = cache.namespaces.get(ns);
  if (!labels) {
    const obj = await withRetry(ctx, () => ctx.kube.get({ apiVersion: "v1", kind: "Namespace", name: ns }));
    labels = { "kubernetes.io/metadata.name": ns, ...(obj?.metadata.labels ?? {}) };
    cache.namespaces.set(ns, labels);
  }
  return labels;
}

/** The webhooks with failurePolicy Fail that the apiserver would call when applying obj. */
async function webhooksFor(ctx: WebhookContext, obj: KObject): Promise<Webhook[]> {
  await refresh(ctx);
  const cache = ctx.webhooks;
  if (cache.webhooks.length === 0) return [];
  const info = await withRetry(ctx, () => ctx.kube.resource(obj.apiVersion, obj.kind));
  if (!info) return [];
  const group = groupOf(obj.apiVersion);
  const version = obj.apiVersion.slice(group ? group.length + 1 : 0);
  const out: Webhook[] = [];
  for (const w of cache.webhooks) {
    if ((w.failurePolicy ?? "Fail") !== "Fail" || !w.clientConfig?.service) continue;
    if (!(w.rules ?? []).some((r) => ruleMatches(r, group, version, info.plural, info.namespaced))) continue;
    if (!selectorMatches(w.objectSelector, obj.metadata.labels ?? {})) continue;
    if (info.namespaced && obj.metadata.namespace) {
      const labels = await namespaceLabels(ctx, obj.metadata.namespace);
      if (!selectorMatches(w.namespaceSelector, labels)) continue;
    }
    out.push(w);
  }
  return out;
}

/**
 * Resolves when every Fail-policy webhook that would be called for obj has a ready
 * endpoint, or at the deadline (the apply then runs and its error tells the story).
 */
export async function waitForWebhooks(ctx: WebhookContext, obj: KObject): Promise<void> {
  const hooks = await webhooksFor(ctx, obj);
  const services = new Map(
    hooks.map((h) => [`${h.clientConfig!.service!.namespace}/${h.clientConfig!.service!.name}`, h]),
  );
  for (const [svc, hook] of services) {
    const service = hook.clientConfig!.service!;
    ctx.onWait?.(`admission webhook ${hook.name} (service ${svc}) to serve`);
    // On timeout the apply still runs: its retries and the server's message then tell the story.
    await waitEndpointReady(ctx.kube, ctx.clock, service.namespace, service.name, ctx.deadline, ctx.signal);
  }
}

function sliceReady(slice: KObject): boolean {
  const eps = (slice.endpoints as Array<{ conditions?: { ready?: boolean } }> | undefined) ?? [];
  return eps.some((e) => e.conditions?.ready !== false);
}

async function waitEndpointReady(
  kube: KubeClient,
  clock: Clock,
  namespace: string,
  service: string,
  deadline: number,
  signal?: AbortSignal,
): Promise<boolean> {
  const target = { apiVersion: "discovery.k8s.io/v1", kind: "EndpointSlice", namespace };
  const labelSelector = `kubernetes.io/service-name=${service}`;
  const budget = deadlineSignal(deadline - clock.now(), signal);
  const abort = budget;
  try {
    while (!abort.signal.aborted) {
      let listed: { items: KObject[]; resourceVersion: string };
      try {
        listed = await kube.list(target.apiVersion, target.kind, { namespace, labelSelector });
      } catch (error) {
        if (classifyError(error) === "final") throw error;
        await clock.sleep(1000, abort.signal);
        continue;
      }
      const { items, resourceVersion } = listed;
      if (items.some(sliceReady)) return true;
      const ready = new Map(items.map((s) => [s.metadata.name, false]));
      const stop = await kube
        .watch(
          target,
          { resourceVersion, labelSelector, timeoutSeconds: 60 },
          (ev) => {
            ready.set(ev.object.metadata.name, ev.type !== "DELETED" && sliceReady(ev.object));
            return [...ready.values()].some(Boolean);
          },
          abort.signal,
        )
        .catch((error: unknown) => {
          if (classifyError(error) !== "final") return false;
          throw error;
        });
      if (stop) return true;
    }
    return false;
  } finally {
    budget.clear();
  }
}
