/**
 * The deploy groups (services.md §5) as a DAG, with the waits fixed to target what is
 * really deployed (defect 6) and readiness that gates dependents (defect 7).
 */
import type { Cluster } from "../cluster/model.ts";
import { defaultRetry, type RetryPolicy, type WaitTarget } from "../plan/schema.ts";
import type { GroupDefinition } from "./types.ts";

export const builtinGroupNames = [
  "core-infrastructure",
  "core-config",
  "networking-services",
  "dns-services",
  "external-access",
  "external-dns",
  "external-ingress",
  "vpn-services",
  "apps",
] as const;

/** Chart keys of each built-in group, in apply order. */
export const builtinGroupCharts: Record<(typeof builtinGroupNames)[number], readonly string[]> = {
  "core-infrastructure": ["longhorn", "metallb"],
  "core-config": ["metallb-config"],
  "networking-services": ["ingress-nginx", "pihole"],
  "dns-services": ["externaldns-pihole"],
  "external-access": ["cert-manager"],
  "external-dns": ["externaldns-cloudflare", "cert-manager-issuers", "cloudflare-ddns"],
  "external-ingress": ["pihole-external-ingress"],
  "vpn-services": [
    "wireguard-config",
    "wireguard-caddy-cert",
    "wireguard-storage",
    "wireguard-deployment",
    "wireguard-service",
  ],
  apps: ["signal-proxy", "nextcloud", "nextcloud-network-policy", "nextcloud-sso-gate"],
};

export const builtinChartKeys: readonly string[] = Object.values(builtinGroupCharts).flat();

/** The namespace k3s's helm controller runs HelmChart install Jobs in. */
export const helmChartNamespace = "kube-system";

export function builtinGroups(cluster: Cluster): GroupDefinition[] {
  const ns = cluster.namespaces;
  const deployment = (name: string, namespace: string, timeoutSeconds = 120): WaitTarget => ({
    kind: "Deployment",
    name,
    namespace,
    timeoutSeconds,
  });
  // The helm controller's install Job: the chart's objects exist once it has completed.
  const helm = (name: string, timeoutSeconds = 300): WaitTarget => ({
    kind: "HelmChart",
    name,
    namespace: helmChartNamespace,
    timeoutSeconds,
  });
  const group = (
    name: (typeof builtinGroupNames)[number],
    dependsOn: string[],
    waitFor: WaitTarget[],
    retry: RetryPolicy = defaultRetry,
  ): GroupDefinition => ({ name, charts: [...builtinGroupCharts[name]], dependsOn, waitFor, retry });

  return [
    group(
      "core-infrastructure",
      [],
      [
        helm("longhorn"),
        deployment("longhorn-driver-deployer", ns.longhorn, 180),
        helm("metallb"),
        deployment("metallb-controller", ns.metallb),
        { kind: "DaemonSet", name: "metallb-speaker", namespace: ns.metallb, timeoutSeconds: 120 },
      ],
    ),
    // The original retried 5×30 s because it never waited for MetalLB's webhook; the
    // controller (which serves it) is ready before this group starts, so backoff suffices.
    group("core-config", ["core-infrastructure"], [], { attempts: 5, delaySeconds: 5, maxDelaySeconds: 30 }),
    group(
      "networking-services",
      ["core-config"],
      [
        helm("ingress-nginx"),
        deployment("ingress-nginx-controller", ns.nginx, 180),
        helm("pihole"),
        deployment("pihole", ns.pihole, 180),
      ],
    ),
    group(
      "dns-services",
      ["networking-services"],
      [helm("externaldns-pihole"), deployment("externaldns-pihole-external-dns", ns.dns)],
    ),
    group(
      "external-access",
      ["core-config"],
      [
        helm("cert-manager"),
        deployment("cert-manager", ns.dns, 180),
        deployment("cert-manager-cainjector", ns.dns, 180),
        deployment("cert-manager-webhook", ns.dns, 180),
      ],
    ),
    group(
      "external-dns",
      ["external-access"],
      [helm("externaldns-cloudflare"), deployment("externaldns-cloudflare-external-dns", ns.dns)],
    ),
    group("external-ingress", ["external-dns", "networking-services"], []),
    group("vpn-services", ["core-config", "external-access"], [deployment("wireguard", ns.wireguard)]),
    group(
      "apps",
      ["core-config", "networking-services", "external-access"],
      [
        helm("nextcloud", 600),
        deployment("nextcloud", ns.nextcloud, 300),
        deployment("nextcloud-sso-gate", ns.nextcloud),
        deployment("signal-proxy", ns.signalProxy),
      ],
    ),
  ];
}
