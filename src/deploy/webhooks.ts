/**
 * Defect 8 of the original: ingress-nginx registers its validating webhook (failure
 * policy Fail) before its controller serves, so an Ingress applied right after is
 * rejected. Before applying an object, every admission webhook that would be called for
 * it (rules, scope, object and namespace selectors, failurePolicy Fail) must have a
 * ready endpoint behind its service; we wait for that by watching EndpointSlices.
 */
import { ApiError, type Kube } from "./kube.ts";
import { groupOf, type KObject } from "./objects.ts";

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

export interface WebhookCache {
  fetchedAt: number;
  webhooks: Webhook[];
  namespaces: Map<string, Record<string, string>>;
}

export function newWebhookCache(): WebhookCache {
  return { fetchedAt: 0, webhooks: [], namespaces: new Map() };
}

/** Charts install webhooks while we run, so the list is refreshed every few seconds. */
const cacheTtlMs = 3000;

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

export function ruleMatches(rule: Rule, group: string, version: string, plural: string, namespaced: boolean): boolean {
  const any = (list: string[] | undefined, v: string) => (list ?? []).some((x) => x === "*" || x === v);
  if (!any(rule.apiGroups, group) || !any(rule.apiVersions, version)) return false;
  if (!(rule.operations ?? []).some((o) => o === "*" || o === "CREATE" || o === "UPDATE")) return false;
  if (!(rule.resources ?? []).some((r) => r === "*" || r === plural || r === "*/*")) return false;
  const scope = rule.scope ?? "*";
  return scope === "*" || (scope === "Namespaced") === namespaced;
}

async function refresh(kube: Kube, cache: WebhookCache): Promise<void> {
  if (Date.now() - cache.fetchedAt < cacheTtlMs) return;
  const out: Webhook[] = [];
  for (const kind of ["ValidatingWebhookConfiguration", "MutatingWebhookConfiguration"]) {
    const { items } = await kube.list("admissionregistration.k8s.io/v1", kind);
    for (const item of items) out.push(...((item.webhooks as Webhook[] | undefined) ?? []));
  }
  cache.webhooks = out;
  cache.namespaces.clear();
  cache.fetchedAt = Date.now();
}

async function namespaceLabels(kube: Kube, cache: WebhookCache, ns: string): Promise<Record<string, string>> {
  let labels = cache.namespaces.get(ns);
  if (!labels) {
    const obj = await kube.get({ apiVersion: "v1", kind: "Namespace", name: ns });
    labels = { "kubernetes.io/metadata.name": ns, ...(obj?.metadata.labels ?? {}) };
    cache.namespaces.set(ns, labels);
  }
  return labels;
}

/** The webhooks with failurePolicy Fail that the apiserver would call when applying obj. */
export async function webhooksFor(kube: Kube, cache: WebhookCache, obj: KObject): Promise<Webhook[]> {
  await refresh(kube, cache);
  if (cache.webhooks.length === 0) return [];
  const info = await kube.resource(obj.apiVersion, obj.kind);
  if (!info) return [];
  const group = groupOf(obj.apiVersion);
  const version = obj.apiVersion.slice(group ? group.length + 1 : 0);
  const out: Webhook[] = [];
  for (const w of cache.webhooks) {
    if ((w.failurePolicy ?? "Fail") !== "Fail" || !w.clientConfig?.service) continue;
    if (!(w.rules ?? []).some((r) => ruleMatches(r, group, version, info.plural, info.namespaced))) continue;
    if (!selectorMatches(w.objectSelector, obj.metadata.labels ?? {})) continue;
    if (info.namespaced && obj.metadata.namespace) {
      const labels = await namespaceLabels(kube, cache, obj.metadata.namespace);
      if (!selectorMatches(w.namespaceSelector, labels)) continue;
    }
    out.push(w);
  }
  return out;
}

export async function waitForWebhooks(
  ctx: { kube: Kube; webhooks: WebhookCache; deadline: number; signal?: AbortSignal; onWait?: (w: string) => void },
  obj: KObject,
): Promise<void> {
  const hooks = await webhooksFor(ctx.kube, ctx.webhooks, obj);
  const services = new Map(
    hooks.map((h) => [`${h.clientConfig!.service!.namespace}/${h.clientConfig!.service!.name}`, h]),
  );
  for (const [svc, hook] of services) {
    const service = hook.clientConfig!.service!;
    ctx.onWait?.(`admission webhook ${hook.name} (service ${svc}) to serve`);
    // On timeout the apply still runs: its retries and the server's message then tell the story.
    await waitEndpointReady(ctx.kube, service.namespace, service.name, ctx.deadline, ctx.signal);
  }
}

function sliceReady(slice: KObject): boolean {
  const eps = (slice.endpoints as Array<{ conditions?: { ready?: boolean } }> | undefined) ?? [];
  return eps.some((e) => e.conditions?.ready !== false);
}

async function waitEndpointReady(
  kube: Kube,
  namespace: string,
  service: string,
  deadline: number,
  signal?: AbortSignal,
): Promise<boolean> {
  const target = { apiVersion: "discovery.k8s.io/v1", kind: "EndpointSlice", namespace };
  const labelSelector = `kubernetes.io/service-name=${service}`;
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), Math.max(0, deadline - Date.now()));
  const outer = () => abort.abort();
  signal?.addEventListener("abort", outer, { once: true });
  try {
    while (!abort.signal.aborted) {
      const { items, resourceVersion } = await kube.list(target.apiVersion, target.kind, { namespace, labelSelector });
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
          if (error instanceof ApiError && error.status === 0) return false;
          throw error;
        });
      if (stop) return true;
    }
    return false;
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener("abort", outer);
  }
}
