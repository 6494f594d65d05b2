/**
 * The whole catalog of a cluster: every release, secret ref and group, built-in and
 * the user's own. Pure: no files, no clock.
 */
import type { Cluster } from "../cluster/model.ts";
import type { PlanHook } from "../plan/schema.ts";
import { nextcloud, nextcloudSsoHook } from "./apps/nextcloud.ts";
import { gateName } from "./apps/nextcloud-sso-gate.ts";
import { signalProxy } from "./apps/signal-proxy.ts";
import { ingressNginx } from "./core/ingress-nginx.ts";
import { longhorn } from "./core/longhorn.ts";
import { metallb } from "./core/metallb.ts";
import { certManager } from "./dns/cert-manager.ts";
import { ddns } from "./dns/ddns.ts";
import { externalDns } from "./dns/externaldns.ts";
import { pihole } from "./dns/pihole.ts";
import { piholeExternalIngress } from "./dns/pihole-external-ingress.ts";
import { defaultRetry } from "../plan/schema.ts";
import { builtinGroups } from "./groups.ts";
import type { GroupDefinition, K8sObject, Release, SecretRef, Service } from "./types.ts";
import { deepMerge } from "./util.ts";
import { dashboard, dashboardName } from "./dashboard/dashboard.ts";
import { clientTemplate } from "./vpn/configs.ts";
import { wireguard } from "./vpn/wireguard.ts";

export interface Catalog {
  releases: Release[];
  secretRefs: SecretRef[];
  /** In the seed's order, user groups last; dependsOn makes the DAG. */
  groups: GroupDefinition[];
  hooks: PlanHook[];
  /** Workloads to roll when a Secret's values change, by "<namespace>/<secret>". */
  secretConsumers: Map<string, Array<{ kind: string; name: string; namespace: string }>>;
}

/** Service files in the seed's registry order (services.md §2.1). */
const services: Service[] = [
  longhorn,
  metallb,
  ingressNginx,
  certManager,
  ddns,
  externalDns,
  pihole,
  piholeExternalIngress,
  wireguard,
  nextcloud,
  signalProxy,
];

/** What the catalog needs besides the cluster: files `nixlab build` makes (absent: placeholders, for in-memory renders). */
export interface CatalogInputs {
  /** The in-cluster dashboard's bundle (src/dashboard/pod.ts), when the dashboard is enabled. */
  dashboardCode?: string;
}

/** Stands in for the dashboard's bundle where nothing is written (check, plan, graph). */
export const dashboardCodePlaceholder = 'throw new Error("not built: run `nixlab build`");\n';

export function buildCatalog(cluster: Cluster, inputs: CatalogInputs = {}): Catalog {
  const releases: Release[] = [];
  const secretRefs: SecretRef[] = [];
  for (const service of services) {
    const out = service(cluster);
    releases.push(...out.releases);
    secretRefs.push(...out.secretRefs);
  }
  releases.push(...userReleases(cluster));

  const groups = [...builtinGroups(cluster), ...userGroups(cluster)];
  for (const [name, svc] of Object.entries(cluster.config.services)) {
    groups.find((g) => g.name === svc.group)!.charts.push(name);
  }
  if (cluster.config.dashboard.enabled) {
    const own = dashboard(cluster, {
      catalog: { releases, groups },
      code: inputs.dashboardCode ?? dashboardCodePlaceholder,
      template: (user) => clientTemplate(cluster, user),
    });
    releases.push(...own.releases);
    secretRefs.push(...own.secretRefs);
    groups.push(own.group);
  }
  assertConsistent(releases, groups);

  const ns = cluster.namespaces;
  const deployment = (name: string, namespace: string) => ({ kind: "Deployment", name, namespace });
  const secretConsumers = new Map([
    [`${ns.wireguard}/wireguard-secrets`, [deployment("wireguard", ns.wireguard)]],
    [`${ns.pihole}/pihole-admin`, [deployment("pihole", ns.pihole)]],
    [`${ns.dns}/pihole-api`, [deployment("externaldns-pihole-external-dns", ns.dns)]],
    [`${ns.dns}/cloudflare-api-token`, [deployment("externaldns-cloudflare-external-dns", ns.dns)]],
    [`${ns.nextcloud}/nextcloud-admin`, [deployment("nextcloud", ns.nextcloud)]],
    [`${ns.nextcloud}/nextcloud-db`, [deployment("nextcloud", ns.nextcloud)]],
    [`${ns.nextcloud}/nextcloud-redis`, [deployment("nextcloud", ns.nextcloud)]],
    [`${ns.nextcloud}/${gateName}`, [deployment(gateName, ns.nextcloud)]],
    [`${ns.dashboard}/${dashboardName}`, [deployment(dashboardName, ns.dashboard)]],
  ]);

  return { releases, secretRefs, groups, hooks: [nextcloudSsoHook(cluster)], secretConsumers };
}

function userReleases(cluster: Cluster): Release[] {
  return Object.entries(cluster.config.services).map(([key, svc]): Release => {
    if (svc.helm) {
      const override = cluster.config.charts[key]?.values;
      return {
        key,
        kind: "helm",
        namespace: svc.namespace,
        chart: { repo: svc.helm.repo, chart: svc.helm.chart, version: svc.helm.version },
        values: override ? deepMerge(svc.helm.values, override) : svc.helm.values,
        secrets: [],
      };
    }
    return {
      key,
      kind: "manifests",
      namespace: svc.namespace,
      secrets: [],
      objects: (svc.manifests ?? []).map((o) => structuredClone(o) as K8sObject),
    };
  });
}

function userGroups(cluster: Cluster): GroupDefinition[] {
  return Object.entries(cluster.config.groups).map(([name, g]) => ({
    name,
    charts: [],
    dependsOn: [...g.dependsOn],
    waitFor: g.waitFor.map((w) => ({ ...w })),
    retry: g.retry ? { ...g.retry, maxDelaySeconds: defaultRetry.maxDelaySeconds } : defaultRetry,
  }));
}

/** Every release in exactly one group, every group's charts rendered (the seed's invariant). */
function assertConsistent(releases: Release[], groups: GroupDefinition[]): void {
  const keys = new Set(releases.map((r) => r.key));
  const grouped = groups.flatMap((g) => g.charts);
  for (const key of grouped) if (!keys.has(key)) throw new Error(`catalog: group chart ${key} is not rendered`);
  for (const key of keys) {
    const n = grouped.filter((k) => k === key).length;
    if (n !== 1) throw new Error(`catalog: chart ${key} is in ${n} groups`);
  }
}
