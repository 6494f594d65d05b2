/**
 * The in-cluster dashboard (off by default; `dashboard.enabled`): the same page as
 * `nixlab dashboard`, run by Node.js from a bundle in a ConfigMap, reachable only from
 * the VPN at https://dashboard.<domain> through the WireGuard pod's sign-in proxy.
 *
 * - Identity: the proxy picks the VPN user from the peer's address and adds a secret
 *   token (`dashboard_sso_token`); the pod believes the user header only with that token,
 *   and its NetworkPolicy admits only the WireGuard pod (the same gate as Nextcloud's).
 * - Privileges: a ServiceAccount that may get and list workloads, nodes, HelmCharts,
 *   CRDs and Certificates (no Secrets, no ConfigMaps, no writes), get the deploy's
 *   inventory ConfigMaps by name, and get exactly the device Secrets of the users the
 *   cluster file lets it show (dashboardConfig), by name.
 * - Device configs: per user, a Secret `device-<name>` with the user's private and
 *   public key, read per request only for the user asking.
 */
import type { Cluster, VpnUser } from "../../cluster/model.ts";
import type { PlanInput } from "../../dashboard/model.ts";
import {
  dashboardTokenEnv,
  dashboardTokenHeader,
  dashboardUserHeader,
  devicePrivateKeySecret,
  deviceSecretName,
} from "../../dashboard/protocol.ts";
import { buildSite } from "../../dashboard/site.ts";
import { inventoryRef } from "../../deploy/inventory.ts";
import { releaseObjects } from "../../render/plan.ts";
import type { GroupDefinition, K8sObject, ManifestRelease, Release, SecretRef } from "../types.ts";
import { configHashAnnotation, image, meta } from "../util.ts";
import { compilePolicy, reachesNextcloud } from "../../vpn/policy.ts";
import { tokenGuardFor } from "../apps/nextcloud-sso-gate.ts";
import { defaultRetry } from "../../plan/schema.ts";

/** Name of the dashboard's Deployment, Service, ServiceAccount, NetworkPolicy and Secret. */
export const dashboardName = "nixlab-dashboard";
/** The deploy group of the dashboard's charts. */
export const dashboardGroup = "dashboard";
/** The dashboard's HTTP port (Service and container). */
export const dashboardPort = 8080;
/** The SOPS secret holding the token. */
export const dashboardTokenSecret = "dashboard_sso_token";
/** Where the pod finds its bundle and site.json. */
export const dashboardAppDir = "/app";
const labels = { app: dashboardName };

/** The dashboard's host name (the VPN's DNS answers it with the sign-in proxy's address). */
export const dashboardHost = (cluster: Cluster): string => `dashboard.${cluster.config.domain}`;
/** Where the sign-in proxy sends dashboard requests. */
export const dashboardUrl = (cluster: Cluster): string =>
  `http://${dashboardName}.${cluster.namespaces.dashboard}.svc.cluster.local:${dashboardPort}`;
/** Users whose own config the dashboard shows (and whose private key the cluster then holds). */
export const sharedDevices = (cluster: Cluster): VpnUser[] => cluster.vpn.enabledUsers.filter((u) => u.dashboardConfig);

/**
 * Enabled users who can open the dashboard: their group reaches the sign-in proxy
 * (destination `nextcloud`, 10.0.100.1 TCP 443), where the dashboard is served too.
 */
export function dashboardUsers(cluster: Cluster): VpnUser[] {
  const policy = compilePolicy(cluster);
  const reach = new Map(policy.groups.map((g) => [g.name, reachesNextcloud(policy, g.name)]));
  return cluster.vpn.enabledUsers.filter((u) => reach.get(u.group));
}

/** The plan as the page needs it, from the catalog's releases and groups (object identities only). */
export function planInput(
  cluster: Cluster,
  releases: readonly Release[],
  groups: readonly GroupDefinition[],
): PlanInput {
  const groupOf = new Map(groups.flatMap((g) => g.charts.map((c) => [c, g.name] as const)));
  return {
    name: cluster.config.domain,
    groups: groups.map((g) => ({
      name: g.name,
      dependsOn: [...g.dependsOn],
      charts: [...g.charts],
      waitFor: g.waitFor.map((w) => ({ kind: w.kind, name: w.name, namespace: w.namespace })),
    })),
    charts: releases.map((r) => ({
      key: r.key,
      group: groupOf.get(r.key)!,
      namespace: r.namespace,
      kind: r.kind,
      ...(r.kind === "helm" ? { helm: { ...r.chart } } : {}),
      objects: releaseObjects(r, groupOf.get(r.key)!).map((o) => ({
        apiVersion: o.apiVersion,
        kind: o.kind,
        name: o.metadata.name,
        ...(o.metadata.namespace === undefined ? {} : { namespace: o.metadata.namespace }),
      })),
    })),
  };
}

/** What the pod may read: get and list of these, cluster-wide. Never Secrets or ConfigMaps (values), never writes. */
const readable: ReadonlyArray<{ apiGroups: string[]; resources: string[] }> = [
  { apiGroups: [""], resources: ["nodes", "persistentvolumeclaims"] },
  { apiGroups: ["apps"], resources: ["deployments", "statefulsets", "daemonsets"] },
  { apiGroups: ["batch"], resources: ["jobs"] },
  { apiGroups: ["helm.cattle.io"], resources: ["helmcharts"] },
  { apiGroups: ["apiextensions.k8s.io"], resources: ["customresourcedefinitions"] },
  { apiGroups: ["cert-manager.io"], resources: ["certificates"] },
];

/** The ServiceAccount and its read-only roles (see the module comment). */
function rbacObjects(cluster: Cluster, inventories: readonly string[]): K8sObject[] {
  const ns = cluster.namespaces.dashboard;
  const subject = [{ kind: "ServiceAccount", name: dashboardName, namespace: ns }];
  const role = (kind: "Role" | "ClusterRole", name: string, namespace: string | undefined, rules: unknown[]) => [
    { apiVersion: "rbac.authorization.k8s.io/v1", kind, metadata: meta(name, namespace), rules },
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: `${kind}Binding`,
      metadata: meta(name, namespace),
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind, name },
      subjects: subject,
    },
  ];
  const devices = sharedDevices(cluster).map(deviceSecretName);
  return [
    { apiVersion: "v1", kind: "ServiceAccount", metadata: meta(dashboardName, ns) },
    ...role(
      "ClusterRole",
      `${dashboardName}-read`,
      undefined,
      readable.map((r) => ({ ...r, verbs: ["get", "list"] })),
    ),
    ...(inventories.length > 0
      ? role("Role", `${dashboardName}-inventory`, "kube-system", [
          { apiGroups: [""], resources: ["configmaps"], resourceNames: [...inventories], verbs: ["get"] },
        ])
      : []),
    ...(devices.length > 0
      ? role("Role", `${dashboardName}-devices`, ns, [
          { apiGroups: [""], resources: ["secrets"], resourceNames: devices, verbs: ["get"] },
        ])
      : []),
  ];
}

/** The pod: Node.js running the bundle, as an unprivileged user on a read-only root. */
function deployment(cluster: Cluster, data: Record<string, string>): K8sObject {
  const ns = cluster.namespaces.dashboard;
  const fromSecret = (name: string, key: string) => ({
    name,
    valueFrom: { secretKeyRef: { name: dashboardName, key } },
  });
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: meta(dashboardName, ns, { labels }),
    spec: {
      replicas: 1,
      selector: { matchLabels: labels },
      template: {
        metadata: { labels, annotations: configHashAnnotation(data) },
        spec: {
          serviceAccountName: dashboardName,
          automountServiceAccountToken: true,
          securityContext: {
            runAsNonRoot: true,
            runAsUser: 1000,
            runAsGroup: 1000,
            seccompProfile: { type: "RuntimeDefault" },
          },
          containers: [
            {
              name: "dashboard",
              image: image(cluster, "dashboard"),
              command: ["node", `${dashboardAppDir}/dashboard.mjs`],
              env: [
                fromSecret(dashboardTokenEnv, "token"),
                fromSecret("NIXLAB_SERVER_PUBLIC_KEY", "server-public-key"),
                fromSecret("NIXLAB_SERVER_ENDPOINT", "server-endpoint"),
                { name: "NIXLAB_SITE", value: `${dashboardAppDir}/site.json` },
                { name: "NIXLAB_DEVICES_NAMESPACE", value: ns },
                { name: "PORT", value: String(dashboardPort) },
              ],
              ports: [{ name: "http", containerPort: dashboardPort, protocol: "TCP" }],
              // From inside the pod: the NetworkPolicy admits only the WireGuard pod.
              readinessProbe: {
                exec: { command: ["wget", "-q", "-O", "/dev/null", `http://127.0.0.1:${dashboardPort}/`] },
                periodSeconds: 10,
              },
              resources: { requests: { cpu: "20m", memory: "64Mi" }, limits: { cpu: "500m", memory: "192Mi" } },
              securityContext: {
                allowPrivilegeEscalation: false,
                readOnlyRootFilesystem: true,
                capabilities: { drop: ["ALL"] },
              },
              volumeMounts: [{ name: "app", mountPath: dashboardAppDir, readOnly: true }],
            },
          ],
          volumes: [{ name: "app", configMap: { name: dashboardName } }],
        },
      },
    },
  };
}

/** Only the WireGuard pod (its sign-in proxy) may open connections to the dashboard. */
function networkPolicy(cluster: Cluster): K8sObject {
  return {
    apiVersion: "networking.k8s.io/v1",
    kind: "NetworkPolicy",
    metadata: meta(dashboardName, cluster.namespaces.dashboard),
    spec: {
      podSelector: { matchLabels: labels },
      policyTypes: ["Ingress"],
      ingress: [
        {
          from: [
            {
              namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": cluster.namespaces.wireguard } },
              podSelector: { matchLabels: { app: "wireguard" } },
            },
          ],
          ports: [{ port: dashboardPort, protocol: "TCP" }],
        },
      ],
    },
  };
}

/** The Secret keys the deploy fills from SOPS: the token, the server's public facts, and each shared device's keys. */
function secretRefs(cluster: Cluster): SecretRef[] {
  const ns = cluster.namespaces.dashboard;
  const ref = (name: string, secretName: string, secretKey: string, sopsSecret: string): SecretRef => ({
    name,
    secretName,
    secretKey,
    namespace: ns,
    sopsSecret,
  });
  return [
    ref("dashboard-token", dashboardName, "token", dashboardTokenSecret),
    ref("dashboard-server-public-key", dashboardName, "server-public-key", "wireguard_server_public_key"),
    ref("dashboard-server-endpoint", dashboardName, "server-endpoint", "wireguard_server_endpoint"),
    ...sharedDevices(cluster).flatMap((u) => [
      ref(`dashboard-device-${u.name}-private`, deviceSecretName(u), "private-key", devicePrivateKeySecret(u)),
      ref(`dashboard-device-${u.name}-public`, deviceSecretName(u), "public-key", u.publicKeySecret),
    ]),
  ];
}

/** What the dashboard adds to the catalog: its releases, Secret keys and group. */
export interface DashboardOutput {
  releases: ManifestRelease[];
  secretRefs: SecretRef[];
  group: GroupDefinition;
}

/** What the dashboard's releases are made from besides the cluster. */
export interface DashboardInputs {
  /** The rest of the catalog (for site.json). */
  catalog: { releases: readonly Release[]; groups: readonly GroupDefinition[] };
  /** The pod's bundle (src/dashboard/pod.ts), built by `nixlab build`. */
  code: string;
  /** A user's client config template (services/vpn/configs.ts). */
  template: (user: VpnUser) => string;
}

/** The dashboard's releases, Secret keys and group. Pure. */
export function dashboard(cluster: Cluster, inputs: DashboardInputs): DashboardOutput {
  const ns = cluster.namespaces.dashboard;
  const group: GroupDefinition = {
    name: dashboardGroup,
    charts: ["dashboard-rbac", "dashboard"],
    dependsOn: ["vpn-services"],
    waitFor: [{ kind: "Deployment", name: dashboardName, namespace: ns, timeoutSeconds: 120 }],
    retry: defaultRetry,
  };
  const release = (key: string, objects: K8sObject[], secrets: string[] = []): ManifestRelease => ({
    key,
    kind: "manifests",
    namespace: ns,
    secrets,
    objects,
  });
  // The site lists the dashboard's own objects too; their identities do not depend on site.json.
  // The deploy's inventory of each group: the plan's name (the domain) owns them (deploy/inventory.ts).
  const inventories = Object.fromEntries(
    [...inputs.catalog.groups, group].map((g) => [g.name, inventoryRef(cluster.config.domain, g.name).name]),
  );
  const own = (siteJson: string) => {
    const data = { "dashboard.mjs": inputs.code, "site.json": siteJson };
    return [
      release("dashboard-rbac", rbacObjects(cluster, Object.values(inventories))),
      release(
        "dashboard",
        [
          { apiVersion: "v1", kind: "ConfigMap", metadata: meta(dashboardName, ns), data },
          deployment(cluster, data),
          {
            apiVersion: "v1",
            kind: "Service",
            metadata: meta(dashboardName, ns),
            spec: {
              selector: labels,
              ports: [{ name: "http", port: dashboardPort, targetPort: dashboardPort, protocol: "TCP" }],
            },
          },
          networkPolicy(cluster),
        ],
        [dashboardName, ...sharedDevices(cluster).map(deviceSecretName)],
      ),
    ];
  };
  const { catalog } = inputs;
  const plan = planInput(cluster, [...catalog.releases, ...own("{}")], [...catalog.groups, group]);
  const site = buildSite(cluster, plan, inventories, inputs.template);
  return { releases: own(`${JSON.stringify(site, null, 2)}\n`), secretRefs: secretRefs(cluster), group };
}

/** Shell lines that stop the sign-in proxy from starting without a real dashboard token. */
export const dashboardTokenGuard = tokenGuardFor(dashboardTokenEnv, dashboardTokenSecret);

/**
 * The sign-in proxy's routes to the dashboard (Caddyfile lines inside its :443 site, before
 * Nextcloud's): each user who can reach the proxy is matched by host and VPN address, and
 * the proxy sets the user header and the token (replacing whatever the client sent).
 * NIXLAB_DASHBOARD_UPSTREAM replaces the in-cluster address in tests.
 */
export function dashboardCaddyRoutes(cluster: Cluster, quote: (s: string) => string): string[] {
  const host = dashboardHost(cluster);
  const lines: string[] = [];
  for (const user of dashboardUsers(cluster)) {
    const m = `dash_${user.name.replaceAll("-", "_")}`;
    lines.push(
      `\t@${m} {`,
      `\t\thost ${host}`,
      `\t\tremote_ip ${user.ip}`,
      "\t}",
      `\thandle @${m} {`,
      `\t\treverse_proxy {$NIXLAB_DASHBOARD_UPSTREAM:${dashboardUrl(cluster)}} {`,
      `\t\t\theader_up ${dashboardUserHeader} ${quote(user.name)}`,
      `\t\t\theader_up ${dashboardTokenHeader} {$${dashboardTokenEnv}}`,
      "\t\t}",
      "\t}",
      "",
    );
  }
  lines.push(
    `\t@dash_unknown host ${host}`,
    "\thandle @dash_unknown {",
    '\t\trespond "VPN user not recognized" 403',
    "\t}",
    "",
  );
  return lines;
}

/**
 * What `check` says about the dashboard that is not an error: a shared config that
 * nobody can see (the dashboard is off, or the user's group does not reach the sign-in
 * proxy), and a dashboard that no admin can open. Pure.
 */
export function dashboardWarnings(cluster: Cluster): string[] {
  const shared = sharedDevices(cluster);
  if (!cluster.config.dashboard.enabled) {
    return shared.map(
      (u) =>
        `wireguardUsers.${u.name}.dashboardConfig has no effect: the in-cluster dashboard is off (dashboard.enabled)`,
    );
  }
  const reach = new Set(dashboardUsers(cluster).map((u) => u.name));
  const out = shared
    .filter((u) => !reach.has(u.name))
    .map(
      (u) =>
        `${u.name} cannot open the dashboard to see their config: group ${u.group} does not reach the sign-in proxy (destination nextcloud); ` +
        `their key is held by the cluster for nothing: remove dashboardConfig, or allow nextcloud in their group`,
    );
  if (!cluster.vpn.enabledUsers.some((u) => u.group === "admin" && reach.has(u.name))) {
    out.push("no enabled VPN user of group admin can open the dashboard: nobody sees the cluster there");
  }
  return out;
}
