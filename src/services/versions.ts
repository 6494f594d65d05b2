/**
 * Every pinned version in one place: Helm charts (services.md §2.3, the nixhelm pins of
 * the original) and container images (defect 35: no floating tags). Users override
 * charts with `charts.<key>.version` and images with `images.<key>`.
 */

export interface HelmChartPin {
  repo: string;
  chart: string;
  version: string;
}

export const helmCharts = {
  longhorn: { repo: "https://charts.longhorn.io/", chart: "longhorn", version: "1.11.2" },
  metallb: { repo: "https://metallb.github.io/metallb/", chart: "metallb", version: "0.15.3" },
  "ingress-nginx": {
    repo: "https://kubernetes.github.io/ingress-nginx/",
    chart: "ingress-nginx",
    version: "4.15.1",
  },
  pihole: { repo: "https://mojo2600.github.io/pihole-kubernetes/", chart: "pihole", version: "2.35.0" },
  "externaldns-pihole": {
    repo: "https://kubernetes-sigs.github.io/external-dns/",
    chart: "external-dns",
    version: "1.21.1",
  },
  "externaldns-cloudflare": {
    repo: "https://kubernetes-sigs.github.io/external-dns/",
    chart: "external-dns",
    version: "1.21.1",
  },
  "cert-manager": { repo: "https://charts.jetstack.io/", chart: "cert-manager", version: "v1.20.2" },
  nextcloud: { repo: "https://nextcloud.github.io/helm/", chart: "nextcloud", version: "9.0.6" },
} as const satisfies Record<string, HelmChartPin>;

export type HelmChartKey = keyof typeof helmCharts;

/** Images of the manifests nixlab renders itself (chart images are pinned by the chart version). */
export const images = {
  /** Pi-hole itself (the chart's image.tag; services.md versions.pihole). */
  pihole: "pihole/pihole:2025.11.1",
  wireguard: "lscr.io/linuxserver/wireguard:1.0.20250521",
  wireguardInit: "alpine:3.23.2",
  caddy: "caddy:2.10.2-alpine",
  /** The VPN-only DNS forwarder in the WireGuard pod (defect 25). */
  vpnDns: "coredns/coredns:1.12.1",
  signalProxy: "nginx:1.28.0-alpine",
  ddns: "python:3.13.9-alpine3.22",
  /** Node.js for the in-cluster dashboard (its code is a bundle in a ConfigMap). */
  dashboard: "node:24.11.1-alpine3.22",
} as const;

export type ImageKey = keyof typeof images;
