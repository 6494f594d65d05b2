/**
 * Rendering the catalog to files: build/manifests/<chart>.yaml and build/deploy-plan.json.
 * Pure: returns the files' contents; the caller writes them.
 */
import type { Cluster } from "../cluster/model.ts";
import type { Catalog } from "../services/catalog.ts";
import { helmChartNamespace } from "../services/groups.ts";
import type { K8sObject, Release } from "../services/types.ts";
import { canonicalJson, sha256 } from "../services/util.ts";
import {
  type DeployPlan,
  type PlanChart,
  type PlanGroup,
  type PlanSecret,
  configDigest,
  planApiVersion,
  planSchema,
} from "../plan/schema.ts";
import { toYaml, toYamlStream } from "./yaml.ts";

export interface RenderedFile {
  /** Relative to the build directory. */
  path: string;
  content: string;
}

export interface Rendered {
  plan: DeployPlan;
  files: RenderedFile[];
}

/** Kinds that have no namespace (objects of other kinds get their release's namespace). */
const clusterScopedKinds = new Set([
  "Namespace",
  "ClusterRole",
  "ClusterRoleBinding",
  "CustomResourceDefinition",
  "ClusterIssuer",
  "StorageClass",
  "IngressClass",
  "PersistentVolume",
  "PriorityClass",
  "ValidatingWebhookConfiguration",
  "MutatingWebhookConfiguration",
  "APIService",
  "CSIDriver",
  "RuntimeClass",
]);

export const managedByLabels = (chart: string, group: string): Record<string, string> => ({
  "app.kubernetes.io/managed-by": "nixlab",
  "nixlab.dev/chart": chart,
  "nixlab.dev/group": group,
});

/** The k3s HelmChart object that installs a Helm release (helm.cattle.io/v1). */
export function helmChartObject(release: Extract<Release, { kind: "helm" }>): K8sObject {
  return {
    apiVersion: "helm.cattle.io/v1",
    kind: "HelmChart",
    metadata: { name: release.key, namespace: helmChartNamespace },
    spec: {
      repo: release.chart.repo,
      chart: release.chart.chart,
      version: release.chart.version,
      targetNamespace: release.namespace,
      // Values as YAML with sorted keys, so equal values give equal bytes.
      valuesContent: toYaml(release.values, false),
    },
  };
}

/** The objects of a release as they are applied: labelled, namespaced. */
export function releaseObjects(release: Release, group: string): K8sObject[] {
  const objects = release.kind === "helm" ? [helmChartObject(release)] : release.objects.map((o) => structuredClone(o));
  for (const o of objects) {
    o.metadata.labels = { ...o.metadata.labels, ...managedByLabels(release.key, group) };
    if (!clusterScopedKinds.has(o.kind) && o.metadata.namespace === undefined) o.metadata.namespace = release.namespace;
  }
  return objects;
}

export function renderPlan(cluster: Cluster, catalog: Catalog): Rendered {
  const files: RenderedFile[] = [];
  const groupOf = new Map(catalog.groups.flatMap((g) => g.charts.map((c) => [c, g.name] as const)));
  const charts: PlanChart[] = catalog.releases.map((release) => {
    const group = groupOf.get(release.key)!;
    const objects = releaseObjects(release, group);
    const content = toYamlStream(objects);
    const manifest = `manifests/${release.key}.yaml`;
    files.push({ path: manifest, content });
    return {
      key: release.key,
      group,
      namespace: release.namespace,
      kind: release.kind,
      manifest,
      hash: sha256(content),
      objects: objects.map((o) => ({
        apiVersion: o.apiVersion,
        kind: o.kind,
        name: o.metadata.name,
        ...(o.metadata.namespace === undefined ? {} : { namespace: o.metadata.namespace }),
      })),
      ...(release.kind === "helm" ? { helm: { ...release.chart } } : {}),
      secrets: [...release.secrets],
    };
  });

  const secrets = planSecrets(catalog, charts);
  const groups: PlanGroup[] = catalog.groups.map((g) => {
    const groupCharts = g.charts.map((key) => charts.find((c) => c.key === key)!);
    const groupSecrets = secrets.filter((s) => s.group === g.name);
    const namespaces = [
      ...new Set([...groupCharts.map((c) => c.namespace), ...groupSecrets.map((s) => s.namespace)]),
    ].sort();
    const definition = {
      name: g.name,
      dependsOn: [...g.dependsOn],
      charts: [...g.charts],
      namespaces,
      secrets: groupSecrets.map((s) => `${s.namespace}/${s.name}`),
      waitFor: g.waitFor,
      retry: g.retry,
      timeoutSeconds: Math.max(60, ...g.waitFor.map((w) => w.timeoutSeconds)),
    };
    const hash = sha256(
      canonicalJson({
        definition,
        charts: groupCharts.map((c) => [c.key, c.hash]),
        secrets: groupSecrets.map((s) => [s.namespace, s.name, s.keys]),
      }),
    );
    return { ...definition, hash };
  });

  const namespaces = [...new Set([...charts.map((c) => c.namespace), ...secrets.map((s) => s.namespace)])]
    .filter((n) => n !== helmChartNamespace)
    .sort();
  const body = { namespaces, groups, charts, secrets, hooks: catalog.hooks };
  const plan: DeployPlan = {
    apiVersion: planApiVersion,
    kind: "DeployPlan",
    helmMode: "helmchart",
    name: cluster.config.domain,
    source: { configDigest: configDigest(cluster.config) },
    ...body,
    hash: sha256(canonicalJson(body)),
  };
  // The contract deploy validates: a build never writes a plan deploy would refuse.
  planSchema.parse(plan);
  files.push({ path: "deploy-plan.json", content: `${JSON.stringify(plan, null, 2)}\n` });
  files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return { plan, files };
}

/** Secret refs grouped into one PlanSecret per Kubernetes Secret, owned by the first group that reads it. */
function planSecrets(catalog: Catalog, charts: PlanChart[]): PlanSecret[] {
  const bySecret = new Map<string, PlanSecret>();
  const groupOrder = catalog.groups.map((g) => g.name);
  for (const ref of catalog.secretRefs) {
    const id = `${ref.namespace}/${ref.secretName}`;
    let secret = bySecret.get(id);
    if (!secret) {
      const readers = charts.filter((c) => c.namespace === ref.namespace && c.secrets.includes(ref.secretName));
      const group = readers.map((c) => c.group).sort((a, b) => groupOrder.indexOf(a) - groupOrder.indexOf(b))[0];
      if (!group) throw new Error(`catalog: no chart reads Secret ${id}`);
      secret = {
        name: ref.secretName,
        namespace: ref.namespace,
        keys: [],
        group,
        restart: (catalog.secretConsumers.get(id) ?? []).map((w) => ({ apiVersion: "apps/v1", ...w })),
      };
      bySecret.set(id, secret);
    }
    if (secret.keys.some((k) => k.key === ref.secretKey))
      throw new Error(`catalog: Secret ${id} key ${ref.secretKey} twice`);
    secret.keys.push({ key: ref.secretKey, sopsSecret: ref.sopsSecret });
  }
  const out = [...bySecret.values()];
  for (const s of out) s.keys.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return out.sort((a, b) => (`${a.namespace}/${a.name}` < `${b.namespace}/${b.name}` ? -1 : 1));
}
