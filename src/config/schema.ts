/**
 * The cluster file's shape: the seed's vars.nix fields, plus the optional overrides a
 * user of a finished product wants (namespaces, chart versions and values, images,
 * replicas, their own services and groups).
 *
 * The zod schema checks types and unknown keys only. Everything that relates fields
 * to each other or needs a good explanation (IP maths, names, the group DAG) lives in
 * `validate.ts`, so that every problem is reported at once with a fix.
 */
import { z } from "zod";

const doc = <T extends z.ZodType>(schema: T, description: string, example?: unknown): T =>
  schema.meta(example === undefined ? { description } : { description, examples: [example] }) as T;

export const nodeSchema = z.strictObject({
  hostname: doc(z.string(), "The node's hostname (NixOS networking.hostName, reached as <hostname>.local).", "node1"),
  master: doc(z.boolean().default(false), "Exactly one node is the master: it runs the k3s server and every workload."),
  address: doc(
    z.string().optional(),
    "A fixed address of the node (IP or a name your LAN's DNS resolves). Agents join the master at its address, " +
      "rollouts reach nodes there; without it <hostname>.local (mDNS) is used.",
    "192.168.1.10",
  ),
  disk: doc(
    z.string(),
    "The whole disk disko partitions and wipes on install. Prefer /dev/disk/by-id/…: /dev/sdX names can change between boots.",
    "/dev/disk/by-id/nvme-Samsung_SSD_980_1TB_S64ANS0T123456",
  ),
  espSize: doc(z.string().default("500M"), "Size of the EFI system partition (K, M, G or T suffix).", "500M"),
  tags: doc(z.array(z.string()).default([]), "Tags for selecting nodes (`nixlab nodes apply --on @tag`).", ["worker"]),
});

export const wireguardUserSchema = z.strictObject({
  ip: doc(z.string(), "The peer's address inside the VPN subnet 10.0.100.0/24 (.2–.254).", "10.0.100.2"),
  group: doc(
    z.string().optional(),
    "Access group, enforced by the VPN's firewall: admin, family, friends, guests or one of `vpnGroups` (none: guests, the internet only).",
    "family",
  ),
  publicKeySecret: doc(
    z.string(),
    "Name of the SOPS secret that holds the peer's WireGuard public key.",
    "alice_wg_public_key",
  ),
  allowedIPs: doc(
    z.string().default("0.0.0.0/0"),
    "AllowedIPs of the client config: comma-separated CIDRs the client routes through the VPN.",
    "0.0.0.0/0",
  ),
  nextcloudUser: doc(
    z.string().optional(),
    "Nextcloud user this VPN peer is signed in as through the VPN's SSO proxy.",
    "alice",
  ),
  description: doc(z.string().default(""), "Free text, for people."),
  expires: doc(
    z.string().optional(),
    "Last day the peer works (YYYY-MM-DD, in `timezone`); the VPN server drops it by itself after that day.",
    "2026-12-31",
  ),
  enabled: doc(z.boolean().default(true), "Disabled users are kept in the file but get no peer, secret or config."),
  dashboardConfig: doc(
    z.boolean().default(false),
    "The in-cluster dashboard shows this user their own client config and QR code (to set up a new phone). " +
      "The cluster then holds the user's private key: secrets.yaml needs it as <name>_wg_private_key. See docs/dashboard.md.",
  ),
});

export const dashboardSchema = z.strictObject({
  enabled: doc(
    z.boolean().default(false),
    "Run the read-only dashboard in the cluster, reachable only through the VPN at https://dashboard.<domain>: " +
      "admins (VPN group admin) see the cluster, everyone else their own devices. See docs/dashboard.md.",
  ),
});

export const chartOverrideSchema = z.strictObject({
  version: doc(z.string().optional(), "Pin another chart version.", "1.11.3"),
  repo: doc(z.string().optional(), "Use another chart repository URL (a mirror)."),
  values: doc(
    z.record(z.string(), z.unknown()).optional(),
    "Helm values deep-merged over nixlab's (yours win; lists are replaced).",
  ),
});

export const waitTargetSchema = z.strictObject({
  kind: doc(
    z.enum(["Deployment", "StatefulSet", "DaemonSet", "Job", "PersistentVolumeClaim", "HelmChart"]),
    "Kind of the workload to wait for.",
  ),
  name: doc(z.string(), "Its name.", "grafana"),
  namespace: doc(z.string(), "Its namespace.", "monitoring"),
  timeoutSeconds: doc(z.number().int().positive().default(120), "How long it may take to become ready."),
});

export const retrySchema = z.strictObject({
  attempts: doc(z.number().int().min(1).max(20).default(3), "Applies tried per object (retriable errors only)."),
  delaySeconds: doc(z.number().positive().max(600).default(10), "First backoff delay; it doubles per attempt."),
});

export const extraServiceSchema = z.strictObject({
  group: doc(z.string(), "The deploy group this service belongs to (built-in or one of `groups`)."),
  namespace: doc(z.string(), "Namespace the service is installed into (created by the deploy)."),
  helm: doc(
    z
      .strictObject({
        repo: doc(z.string(), "Chart repository URL.", "https://grafana.github.io/helm-charts"),
        chart: doc(z.string(), "Chart name.", "grafana"),
        version: doc(z.string(), "Pinned chart version.", "9.0.0"),
        values: doc(z.record(z.string(), z.unknown()).default({}), "Helm values."),
      })
      .optional(),
    "A Helm chart, installed by k3s's helm controller.",
  ),
  manifests: doc(z.array(z.record(z.string(), z.unknown())).optional(), "Raw Kubernetes objects, applied in order."),
});

export const extraGroupSchema = z.strictObject({
  dependsOn: doc(z.array(z.string()).default([]), "Groups that must be ready before this one starts."),
  waitFor: doc(z.array(waitTargetSchema).default([]), "Workloads that make this group ready."),
  retry: doc(retrySchema.optional(), "Retry policy of the group's applies."),
});

export const vpnGroupSchema = z.strictObject({
  description: doc(z.string().optional(), "What the group is for, for people."),
  allow: doc(
    z.array(z.string()).default([]),
    "Destinations the group reaches: DEST[:PORTS][/PROTOCOL], DEST a name (lan, internet, cluster, vpn, nextcloud, pihole, ingress, vpn-dns, any), an address or a CIDR.",
    ["lan", "pihole:53", "ingress:443/tcp"],
  ),
  deny: doc(
    z.array(z.string()).default([]),
    "Destinations the group never reaches, even when an allow rule covers them (deny wins).",
    ["192.168.1.1:22"],
  ),
});

export const vpnTestSchema = z.strictObject({
  from: doc(z.string(), "A VPN user or a group (a user of that name wins).", "carol"),
  to: doc(z.string(), "A destination, written like a group rule.", "nextcloud:443"),
  expect: doc(z.enum(["allow", "deny"]), "allow: all of `to` is reachable; deny: none of it is."),
  description: doc(z.string().optional(), "Why the test exists, for people."),
});

export const namespaceKeys = [
  "dns",
  "pihole",
  "nginx",
  "metallb",
  "longhorn",
  "wireguard",
  "signalProxy",
  "nextcloud",
  "dashboard",
] as const;
export type NamespaceKey = (typeof namespaceKeys)[number];

/** The seed's namespaces (services.md §1.2). */
export const namespaceDefaults: Record<NamespaceKey, string> = {
  dns: "dns-system",
  pihole: "pihole-system",
  nginx: "nginx-system",
  metallb: "metallb-system",
  longhorn: "longhorn-system",
  wireguard: "wireguard-system",
  signalProxy: "signal-proxy",
  nextcloud: "nextcloud",
  dashboard: "nixlab-dashboard",
};

const namespaceUse: Record<NamespaceKey, string> = {
  dns: "cert-manager, both ExternalDNS instances and DDNS",
  pihole: "Pi-hole",
  nginx: "ingress-nginx",
  metallb: "MetalLB",
  longhorn: "Longhorn",
  wireguard: "WireGuard, its SSO proxy and VPN DNS",
  signalProxy: "the Signal proxy",
  nextcloud: "Nextcloud, PostgreSQL and Redis",
  dashboard: "the in-cluster dashboard",
};

export const clusterConfigSchema = z.strictObject({
  $schema: z.string().optional(),
  username: doc(z.string(), "The admin user created on every node (owns the k3s kubeconfig).", "alice"),
  timezone: doc(z.string().default("UTC"), "IANA time zone of the nodes.", "Europe/Berlin"),
  clusterSshKey: doc(z.string(), "SSH public key allowed to log in as `username` on every node.", "ssh-ed25519 AAAA…"),
  nodes: doc(z.record(z.string(), nodeSchema), "The machines of the cluster, by name."),
  domain: doc(z.string(), "Your DNS domain; services live at <service>.<domain>.", "home.example.com"),
  acmeEmail: doc(
    z.string().optional(),
    "Contact address for the Let's Encrypt account (expiry warnings).",
    "admin@example.com",
  ),
  metallbPool: doc(z.string(), "LAN range MetalLB hands out to LoadBalancer services (CIDR).", "192.168.1.192/26"),
  piholeIp: doc(z.string(), "Pi-hole's DNS/web address, inside metallbPool.", "192.168.1.250"),
  wireguardIp: doc(z.string(), "WireGuard's UDP endpoint address, inside metallbPool.", "192.168.1.194"),
  nginxIp: doc(z.string(), "The ingress controller's address, inside metallbPool.", "192.168.1.193"),
  upstreamDns: doc(z.string(), "The DNS server Pi-hole forwards to (often the router).", "192.168.1.1"),
  wireguardUsers: doc(z.record(z.string(), wireguardUserSchema).default({}), "VPN peers, by name."),
  lanCidr: doc(
    z.string().optional(),
    "Your LAN's network: what the VPN destination `lan` reaches (default: the /24 that holds metallbPool).",
    "192.168.1.0/24",
  ),
  vpnGroups: doc(
    z.record(z.string(), vpnGroupSchema).default({}),
    "VPN access groups: your own, or a built-in one (admin, family, friends, guests) redefined. See docs/vpn.md.",
  ),
  vpnTests: doc(
    z.array(vpnTestSchema).default([]),
    "Assertions about VPN access that `check` and `build` verify against the compiled policy.",
  ),
  dashboard: doc(dashboardSchema.default({ enabled: false }), "The in-cluster dashboard (off by default)."),
  // Overrides: everything below is optional and defaults to the seed's behaviour.
  namespaces: doc(
    z
      .strictObject(
        Object.fromEntries(
          namespaceKeys.map((k) => [
            k,
            doc(z.string().optional(), `Namespace of ${namespaceUse[k]} (default ${namespaceDefaults[k]}).`),
          ]),
        ),
      )
      .optional(),
    "Rename the namespaces services are installed into.",
  ),
  charts: doc(
    z.record(z.string(), chartOverrideSchema).default({}),
    "Per-chart overrides, keyed by chart key (see `nixlab plan`).",
  ),
  images: doc(
    z.record(z.string(), z.string()).default({}),
    "Replace a pinned container image, keyed by image key (see README).",
  ),
  replicas: doc(z.number().int().min(1).max(10).default(1), "Replicas of the stateless services (Pi-hole)."),
  services: doc(
    z.record(z.string(), extraServiceSchema).default({}),
    "Your own Helm charts or manifests, deployed with the rest.",
  ),
  groups: doc(z.record(z.string(), extraGroupSchema).default({}), "Your own deploy groups."),
});

/** The cluster file as written (before defaults). */
export type ClusterConfigInput = z.input<typeof clusterConfigSchema>;
/** The cluster file with defaults applied. */
export type ClusterConfig = z.output<typeof clusterConfigSchema>;
export type NodeConfig = z.output<typeof nodeSchema>;
export type WireguardUserConfig = z.output<typeof wireguardUserSchema>;
export type DashboardConfig = z.output<typeof dashboardSchema>;
export type ExtraService = z.output<typeof extraServiceSchema>;
export type VpnGroupConfigValue = z.output<typeof vpnGroupSchema>;
export type VpnTestConfig = z.output<typeof vpnTestSchema>;
export type ExtraGroup = z.output<typeof extraGroupSchema>;
export type WaitTargetConfig = z.output<typeof waitTargetSchema>;

/** Typed identity for `nixlab.config.ts`: `export default defineConfig({...})`. */
export function defineConfig(config: ClusterConfigInput): ClusterConfigInput {
  return config;
}

/** The JSON Schema editors use for nixlab.yaml (generated from the same zod schema). */
export function clusterJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(clusterConfigSchema, { io: "input", unrepresentable: "any" }) as Record<
    string,
    unknown
  >;
  return { ...schema, title: "nixlab cluster file" };
}
