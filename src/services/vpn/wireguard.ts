/** WireGuard VPN with Nextcloud SSO (Caddy) and a VPN-only DNS, in wireguard-system. */
import { defaultIssuer } from "../dns/cert-manager.ts";
import type { K8sObject, ManifestRelease, SecretRef, Service } from "../types.ts";
import { configHashAnnotation, image, meta } from "../util.ts";
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
    "caddy-run.sh": caddyRunScript,
    "reconcile.sh": reconcileScript,
    "setup.sh": setupScript,
    "wg0.conf.template": wg0Template(cluster),
  };
  // What changes with the peers: the running pod picks it up (reconciler.ts, and Caddy
  // restarts itself on a new Caddyfile), so a new user drops nobody's session.
  const data: Record<string, string> = { ...podConfig, Caddyfile: caddyfile(cluster), peers: peerList(cluster) };
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
              ],
              ports: [{ name: "wireguard", containerPort: cluster.vpn.port, protocol: "UDP" }],
              resources: {
                requests: { cpu: "100m", memory: "128Mi" },
                limits: { cpu: "500m", memory: "256Mi" },
              },
              // Privileged for ip_forward and iptables in the pod's network namespace; the
              // wireguard module is loaded by the host (boot.kernelModules), not from the pod.
              securityContext: { privileged: true, capabilities: { add: ["NET_ADMIN"] } },
              volumeMounts: [{ name: "wireguard-data", mountPath: "/config" }],
            },
            {
              name: "caddy",
              image: image(cluster, "caddy"),
              command: ["/bin/sh", "/etc/caddy/caddy-run.sh"],
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
            dnsNames: [`nextcloud.${domain}`],
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
