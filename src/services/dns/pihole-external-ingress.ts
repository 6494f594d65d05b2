/** pihole.<domain>: Pi-hole's web UI behind the ingress with a Let's Encrypt certificate. */
import type { K8sObject, Service } from "../types.ts";
import { meta } from "../util.ts";
import { defaultIssuer } from "./cert-manager.ts";

export interface TlsIngressOptions {
  name: string;
  namespace: string;
  host: string;
  serviceName: string;
  servicePort?: number;
  annotations?: Record<string, string>;
}

/** An nginx Ingress with a cert-manager certificate `<name>-tls-cert` (the original's mkTlsIngress). */
export function tlsIngress(o: TlsIngressOptions): K8sObject {
  return {
    apiVersion: "networking.k8s.io/v1",
    kind: "Ingress",
    metadata: meta(o.name, o.namespace, {
      annotations: {
        "cert-manager.io/cluster-issuer": defaultIssuer,
        "nginx.ingress.kubernetes.io/ssl-redirect": "true",
        "nginx.ingress.kubernetes.io/proxy-body-size": "50m",
        "external-dns.alpha.kubernetes.io/hostname": o.host,
        "external-dns.alpha.kubernetes.io/ttl": "120",
        ...o.annotations,
      },
    }),
    spec: {
      ingressClassName: "nginx",
      tls: [{ hosts: [o.host], secretName: `${o.name}-tls-cert` }],
      rules: [
        {
          host: o.host,
          http: {
            paths: [
              {
                path: "/",
                pathType: "Prefix",
                backend: { service: { name: o.serviceName, port: { number: o.servicePort ?? 80 } } },
              },
            ],
          },
        },
      ],
    },
  };
}

/** RFC 1918 private networks: the LAN, and the pod network VPN peers arrive from. */
export const privateRanges = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"];

export const piholeExternalIngress: Service = (cluster) => {
  const ns = cluster.namespaces.pihole;
  return {
    releases: [
      {
        key: "pihole-external-ingress",
        kind: "manifests",
        namespace: ns,
        secrets: [],
        objects: [
          tlsIngress({
            name: "pihole-external",
            namespace: ns,
            host: `pihole.${cluster.config.domain}`,
            serviceName: "pihole-web",
            // The admin UI answers only private addresses (the LAN, VPN peers through the
            // WireGuard pod): the public port-forward to the ingress never reaches it.
            // The controller believes no X-Forwarded-For, so the source is the real one.
            annotations: { "nginx.ingress.kubernetes.io/whitelist-source-range": privateRanges.join(",") },
          }),
        ],
      },
    ],
    secretRefs: [],
  };
};
