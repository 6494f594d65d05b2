/**
 * The gate in front of Nextcloud for the VPN's single sign-on (issue 9). Nextcloud
 * believes X-Remote-User; the gate lets it through only on requests that carry the
 * secret token (SOPS `nextcloud_sso_token`) that only the VPN's sign-in proxy adds,
 * and strips the token from every request. Nextcloud's NetworkPolicy admits only the
 * ingress controller (which blanks X-Remote-User) and this gate; the gate's admits only
 * the WireGuard pod. So even a VPN peer whose group reaches the pod network, and whose
 * packets carry the WireGuard pod's address, cannot sign in as someone else.
 */
import type { Cluster } from "../../cluster/model.ts";
import type { K8sObject, ManifestRelease, SecretRef } from "../types.ts";
import { configHashAnnotation, image, meta } from "../util.ts";

/** Name of the gate's Deployment, Service, ConfigMap, Secret and NetworkPolicy. */
export const gateName = "nextcloud-sso-gate";
/** The gate's HTTP port (Service and container). */
export const gatePort = 8080;
/** The header that proves a request came from the VPN's sign-in proxy. */
export const ssoTokenHeader = "X-Nixlab-Sso-Token";
/** The environment variable both proxies read the token from (set from a Secret). */
export const ssoTokenEnv = "NIXLAB_SSO_TOKEN";
/** The SOPS secret holding the token. */
export const ssoTokenSecret = "nextcloud_sso_token";
const gateLabels = { app: gateName };

/** Where the VPN's sign-in proxy sends requests: the gate's Service. */
export const gateUrl = (cluster: Cluster): string =>
  `http://${gateName}.${cluster.namespaces.nextcloud}.svc.cluster.local:${gatePort}`;
const nextcloudAddress = (cluster: Cluster): string =>
  `nextcloud.${cluster.namespaces.nextcloud}.svc.cluster.local:8080`;

/**
 * Shell lines that stop a proxy from starting without a real token in `env` (from SOPS
 * `secret`): an empty one would turn Caddy's header matcher into "any value" and trust
 * every request.
 */
export const tokenGuardFor = (env: string, secret: string): string => `case "\${${env}:-}" in
  "" | *[!0-9a-f]*) echo "error: ${env} must be the hex token of secret ${secret} (nixlab secrets init makes one)" >&2; exit 1 ;;
esac
if [ "\${#${env}}" -lt 32 ]; then
  echo "error: ${env} is shorter than 32 hex digits; regenerate ${secret}" >&2
  exit 1
fi`;

/** tokenGuardFor the Nextcloud sign-in token. */
export const tokenGuard = tokenGuardFor(ssoTokenEnv, ssoTokenSecret);

/** The gate's Caddyfile. NIXLAB_GATE_UPSTREAM replaces Nextcloud's address outside the cluster (tests). */
export function gateCaddyfile(cluster: Cluster): string {
  const upstream = `{$NIXLAB_GATE_UPSTREAM:${nextcloudAddress(cluster)}}`;
  return `{
\tadmin off
\tauto_https off
}

:${gatePort} {
\t# Only the VPN's sign-in proxy knows the token: its X-Remote-User reaches Nextcloud.
\t@sso header ${ssoTokenHeader} {$${ssoTokenEnv}}
\thandle @sso {
\t\treverse_proxy ${upstream} {
\t\t\theader_up -${ssoTokenHeader}
\t\t\theader_up -X_Remote_User
\t\t}
\t}
\t# Everyone else is anonymous to Nextcloud.
\thandle {
\t\treverse_proxy ${upstream} {
\t\t\theader_up -X-Remote-User
\t\t\theader_up -X_Remote_User
\t\t\theader_up -${ssoTokenHeader}
\t\t}
\t}
}
`;
}

/** The gate container's command: refuse a missing or weak token, then run Caddy. */
export const gateRunScript = `#!/bin/sh
set -eu
${tokenGuard}
exec caddy run --config "\${NIXLAB_CADDYFILE:-/etc/caddy/Caddyfile}" --adapter caddyfile
`;

/** The gate's ConfigMap, Deployment and Service. */
export function gateRelease(cluster: Cluster): ManifestRelease {
  const ns = cluster.namespaces.nextcloud;
  const data = { Caddyfile: gateCaddyfile(cluster), "run.sh": gateRunScript };
  const deployment: K8sObject = {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: meta(gateName, ns, { labels: gateLabels }),
    spec: {
      replicas: 1,
      selector: { matchLabels: gateLabels },
      template: {
        metadata: { labels: gateLabels, annotations: configHashAnnotation(data) },
        spec: {
          automountServiceAccountToken: false,
          securityContext: { runAsNonRoot: true, runAsUser: 65534, runAsGroup: 65534 },
          containers: [
            {
              name: "caddy",
              image: image(cluster, "caddy"),
              command: ["/bin/sh", "/etc/caddy/run.sh"],
              env: [{ name: ssoTokenEnv, valueFrom: { secretKeyRef: { name: gateName, key: "token" } } }],
              ports: [{ name: "http", containerPort: gatePort, protocol: "TCP" }],
              resources: { requests: { cpu: "20m", memory: "32Mi" }, limits: { cpu: "500m", memory: "128Mi" } },
              securityContext: {
                allowPrivilegeEscalation: false,
                readOnlyRootFilesystem: true,
                capabilities: { drop: ["ALL"] },
              },
              volumeMounts: [
                { name: "config", mountPath: "/etc/caddy", readOnly: true },
                { name: "caddy-config", mountPath: "/config" },
                { name: "caddy-data", mountPath: "/data" },
              ],
            },
          ],
          volumes: [
            { name: "config", configMap: { name: gateName } },
            { name: "caddy-config", emptyDir: {} },
            { name: "caddy-data", emptyDir: {} },
          ],
        },
      },
    },
  };
  return {
    key: gateName,
    kind: "manifests",
    namespace: ns,
    secrets: [gateName],
    objects: [
      { apiVersion: "v1", kind: "ConfigMap", metadata: meta(gateName, ns), data },
      deployment,
      {
        apiVersion: "v1",
        kind: "Service",
        metadata: meta(gateName, ns),
        spec: {
          selector: gateLabels,
          ports: [{ name: "http", port: gatePort, targetPort: gatePort, protocol: "TCP" }],
        },
      },
    ],
  };
}

/** The gate's Secret key `token`, filled from `nextcloud_sso_token`. */
export const gateSecretRef = (cluster: Cluster): SecretRef => ({
  name: `${gateName}-token`,
  secretName: gateName,
  secretKey: "token",
  namespace: cluster.namespaces.nextcloud,
  sopsSecret: ssoTokenSecret,
});

/**
 * Who may open connections to Nextcloud's web pods and to the gate: the ingress
 * controller (it blanks X-Remote-User), the gate, and Nextcloud itself; the gate only
 * from the WireGuard pod.
 */
export function nextcloudPolicies(cluster: Cluster): K8sObject[] {
  const ns = cluster.namespaces.nextcloud;
  const nextcloudWeb = { "app.kubernetes.io/name": "nextcloud", "app.kubernetes.io/component": "app" };
  const namespace = (name: string) => ({ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": name } } });
  return [
    {
      apiVersion: "networking.k8s.io/v1",
      kind: "NetworkPolicy",
      metadata: meta("nextcloud-web", ns),
      spec: {
        podSelector: { matchLabels: nextcloudWeb },
        policyTypes: ["Ingress"],
        // Nextcloud's own web pods may call themselves (background jobs, setup checks).
        ingress: [
          {
            from: [
              namespace(cluster.namespaces.nginx),
              { podSelector: { matchLabels: gateLabels } },
              { podSelector: { matchLabels: nextcloudWeb } },
            ],
          },
        ],
      },
    },
    {
      apiVersion: "networking.k8s.io/v1",
      kind: "NetworkPolicy",
      metadata: meta(gateName, ns),
      spec: {
        podSelector: { matchLabels: gateLabels },
        policyTypes: ["Ingress"],
        ingress: [
          {
            from: [{ ...namespace(cluster.namespaces.wireguard), podSelector: { matchLabels: { app: "wireguard" } } }],
            ports: [{ port: gatePort, protocol: "TCP" }],
          },
        ],
      },
    },
  ];
}
