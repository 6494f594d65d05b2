/** WireGuard VPN with Nextcloud SSO (Caddy) and a VPN-only DNS, in wireguard-system. */
import { defaultIssuer } from "../dns/cert-manager.ts";
import type { K8sObject, ManifestRelease, SecretRef, Service } from "../types.ts";
import { configHashAnnotation, image, meta } from "../util.ts";
import { ssoTokenEnv, ssoTokenSecret } from "../apps/nextcloud-sso-gate.ts";
import { dashboardTokenEnv } from "../../dashboard/protocol.ts";
import { dashboardHost, dashboardTokenSecret } from "../dashboard/dashboard.ts";
import {
  caddyRunScript,
  caddyfile,
  clientKey,
  clientTemplate,
  corefile,
  peerList,
  setupScript,
  wg0Template,
} from "./configs.ts";
import { clusterFirewall } from "./firewall.ts";
import { peersSecret, reconcileScript, reconcilerContainer } from "./reconciler.ts";

export const wireguardSecret = "wireguard-secrets";
const configMapName = "wireguard-config";

export const wireguard: Service = (cluster) => {
  const ns = cluster.namespaces.wireguard;
  const { wireguardIp, domain } = cluster.config;
  const labels = { app: "wireguard" };

  // What the pod runs with: a change here rolls it.
  const podConfig: Record<string, string> = {
    Corefile: corefile(cluster),
    "caddy-run.sh": caddyRunScript(cluster),
    "reconcile.sh": reconcileScript,
    "setup.sh": setupScript,
    "wg0.conf.template": wg0Template(cluster),
  };
  // What changes with the peers (the firewall's group sets list their addresses): the
  // running pod picks it up (reconciler.ts; Caddy restarts itself on a new Caddyfile), so
  // a new user drops nobody's session.
  const data: Record<string, string> = {
    ...podConfig,
    Caddyfile: caddyfile(cluster),
    "firewall.nft": clusterFirewall(cluster),
    peers: peerList(cluster),
  };
  for (const user of cluster.vpn.enabledUsers) data[clientKey(user)] = clientTemplate(cluster, user);

  const manifests = (key: string, objects: K8sObject[], secrets: string[] = []): ManifestRelease => ({
    key,
    kind: "manifests",
    namespace: ns,
    secrets,
    objects,
  });

  const deployment: K8sObject = {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: meta("wireguard", ns, { labels }),
    spec: {
      replicas: 1,
      strategy: { type: "Recreate" },
      selector: { matchLabels: labels },
      template: {
        // A changed server config rolls the pod (defect 29); peers do not (see above).
        metadata: { labels, annotations: configHashAnnotation(podConfig) },
        spec: {
          // Forwarding for wg0 without a privileged container; the kubelet allows this
          // sysctl (nodes' k3s flag --kubelet-arg=allowed-unsafe-sysctls=net.ipv4.ip_forward).
          securityContext: { sysctls: [{ name: "net.ipv4.ip_forward", value: "1" }] },
          initContainers: [
            {
              name: "setup-config",
              image: image(cluster, "wireguardInit"),
              command: ["/bin/sh", "/config-template/setup.sh"],
              volumeMounts: [
                { name: "config-template", mountPath: "/config-template", readOnly: true },
                { name: "wireguard-data", mountPath: "/config" },
                { name: "wireguard-secrets", mountPath: "/secrets", readOnly: true },
                { name: "wireguard-peers", mountPath: "/peers", readOnly: true },
              ],
            },
          ],
          containers: [
            {
              name: "wireguard",
              image: image(cluster, "wireguard"),
              // Without PEERS the image brings up /config/wg_confs/wg0.conf as written
              // by setup-config; its server-mode variables would be dead (defect 31).
              env: [
                { name: "PUID", value: "1000" },
                { name: "PGID", value: "1000" },
                { name: "TZ", value: cluster.config.timezone },
                // The vpn-dns container answers on :53; the image's own CoreDNS must not race it.
                { name: "USE_COREDNS", value: "false" },
              ],
              ports: [{ name: "wireguard", containerPort: cluster.vpn.port, protocol: "UDP" }],
              resources: {
                requests: { cpu: "100m", memory: "128Mi" },
                limits: { cpu: "500m", memory: "256Mi" },
              },
              // NET_ADMIN for wg0 and nftables in the pod's own network namespace, nothing
              // more: not privileged, no host /lib/modules (the host loads the wireguard
              // module: boot.kernelModules).
              securityContext: { privileged: false, capabilities: { add: ["NET_ADMIN"] } },
              volumeMounts: [
                { name: "wireguard-data", mountPath: "/config" },
                { name: "firewall", mountPath: "/etc/nixlab", readOnly: true },
              ],
            },
            {
              name: "caddy",
              image: image(cluster, "caddy"),
              command: ["/bin/sh", "/etc/caddy/caddy-run.sh"],
              env: [
                { name: ssoTokenEnv, valueFrom: { secretKeyRef: { name: wireguardSecret, key: "sso-token" } } },
                ...(cluster.config.dashboard.enabled
                  ? [
                      {
                        name: dashboardTokenEnv,
                        valueFrom: { secretKeyRef: { name: wireguardSecret, key: "dashboard-token" } },
                      },
                    ]
                  : []),
              ],
              ports: [{ name: "https", containerPort: 443, protocol: "TCP" }],
              resources: {
                requests: { cpu: "50m", memory: "64Mi" },
                limits: { cpu: "200m", memory: "128Mi" },
              },
              volumeMounts: [
                { name: "caddy-config", mountPath: "/etc/caddy", readOnly: true },
                { name: "nextcloud-tls", mountPath: "/certs", readOnly: true },
                { name: "caddy-data", mountPath: "/data" },
              ],
            },
            {
              name: "vpn-dns",
              image: image(cluster, "vpnDns"),
              args: ["-conf", "/etc/coredns/Corefile"],
              ports: [
                { name: "dns", containerPort: 53, protocol: "UDP" },
                { name: "dns-tcp", containerPort: 53, protocol: "TCP" },
              ],
              resources: {
                requests: { cpu: "10m", memory: "16Mi" },
                limits: { cpu: "100m", memory: "64Mi" },
              },
              volumeMounts: [{ name: "coredns-config", mountPath: "/etc/coredns", readOnly: true }],
            },
            reconcilerContainer(cluster),
          ],
          volumes: [
            { name: "wireguard-data", persistentVolumeClaim: { claimName: "wireguard-data" } },
            { name: "config-template", configMap: { name: configMapName } },
            {
              name: "firewall",
              configMap: { name: configMapName, items: [{ key: "firewall.nft", path: "firewall.nft" }] },
            },
            { name: "wireguard-secrets", secret: { secretName: wireguardSecret, defaultMode: 0o400 } },
            // Optional: with no enabled user there is no peer key and no Secret.
            { name: "wireguard-peers", secret: { secretName: peersSecret, defaultMode: 0o400, optional: true } },
            {
              name: "caddy-config",
              configMap: {
                name: configMapName,
                items: [
                  { key: "Caddyfile", path: "Caddyfile" },
                  { key: "caddy-run.sh", path: "caddy-run.sh" },
                ],
              },
            },
            // Optional: the VPN starts before cert-manager has issued it (defect 30).
            { name: "nextcloud-tls", secret: { secretName: "nextcloud-tls", optional: true } },
            { name: "caddy-data", emptyDir: {} },
            {
              name: "coredns-config",
              configMap: { name: configMapName, items: [{ key: "Corefile", path: "Corefile" }] },
            },
          ],
        },
      },
    },
  };

  const fixedRefs: Array<[string, string, string]> = [
    ["wireguard-server-endpoint", "wg-server-endpoint", "wireguard_server_endpoint"],
    ["wireguard-server-key", "server-private-key", "wireguard_server_private_key"],
    ["wireguard-server-public-key", "server-public-key", "wireguard_server_public_key"],
    ["wireguard-sso-token", "sso-token", ssoTokenSecret],
    ...(cluster.config.dashboard.enabled
      ? [["wireguard-dashboard-token", "dashboard-token", dashboardTokenSecret] as [string, string, string]]
      : []),
  ];
  const secretRefs: SecretRef[] = [
    ...fixedRefs.map(([name, secretKey, sopsSecret]) => ({
      name,
      secretName: wireguardSecret,
      secretKey,
      namespace: ns,
      sopsSecret,
    })),
    ...cluster.vpn.enabledUsers.map((u) => ({
      name: `wireguard-user-${u.name}`,
      secretName: peersSecret,
      secretKey: u.publicKeySecret,
      namespace: ns,
      sopsSecret: u.publicKeySecret,
    })),
  ];

  return {
    releases: [
      manifests("wireguard-config", [{ apiVersion: "v1", kind: "ConfigMap", metadata: meta(configMapName, ns), data }]),
      manifests("wireguard-caddy-cert", [
        {
          apiVersion: "cert-manager.io/v1",
          kind: "Certificate",
          metadata: meta("nextcloud-tls", ns),
          spec: {
            secretName: "nextcloud-tls",
            issuerRef: { name: defaultIssuer, kind: "ClusterIssuer" },
            dnsNames: [`nextcloud.${domain}`, ...(cluster.config.dashboard.enabled ? [dashboardHost(cluster)] : [])],
          },
        },
      ]),
      manifests("wireguard-storage", [
        {
          apiVersion: "v1",
          kind: "PersistentVolumeClaim",
          metadata: meta("wireguard-data", ns),
          spec: {
            accessModes: ["ReadWriteOnce"],
            storageClassName: "longhorn",
            resources: { requests: { storage: "1Gi" } },
          },
        },
      ]),
      manifests("wireguard-deployment", [deployment], [wireguardSecret, peersSecret]),
      manifests("wireguard-service", [
        {
          apiVersion: "v1",
          kind: "Service",
          metadata: meta("wireguard", ns, { annotations: { "metallb.io/allow-shared-ip": "wireguard-svc" } }),
          spec: {
            type: "LoadBalancer",
            loadBalancerIP: wireguardIp,
            selector: labels,
            ports: [{ name: "wireguard", port: cluster.vpn.port, targetPort: cluster.vpn.port, protocol: "UDP" }],
          },
        },
      ]),
    ],
    secretRefs,
  };
};
