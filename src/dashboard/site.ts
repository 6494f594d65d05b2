/**
 * What the in-cluster dashboard knows of the cluster file, rendered at build time into
 * its ConfigMap (site.json): the plan's groups, charts and objects, the nodes, and the
 * VPN users with their config templates (placeholders instead of keys). No secret is
 * in it; the pod reads keys per request (see cluster.ts). Pure.
 */
import type { Cluster, VpnUser } from "../cluster/model.ts";
import type { NodeInput, PlanInput, VpnUserInput } from "./model.ts";

/** A VPN user as the in-cluster dashboard knows it. */
export interface SiteUser extends VpnUserInput {
  /** Members of the VPN group `admin` see the whole cluster. */
  admin: boolean;
  /** Whose devices these are (personOf): users with the same person see each other's devices. */
  person: string;
  /** The client config with placeholders for the keys, when the dashboard may show it (dashboardConfig). */
  configTemplate: string | null;
}

/** The in-cluster dashboard's view of the cluster file (site.json). */
export interface Site {
  title: string;
  plan: PlanInput;
  /** Group -> the ConfigMap in kube-system holding the deploy's inventory of that group. */
  inventories: Record<string, string>;
  nodes: NodeInput[];
  users: SiteUser[];
}

/**
 * The placeholders of a client config template, as services/vpn/configs.ts writes them
 * (the pod's setup.sh fills the same ones); the pod fills them from the Secrets it reads.
 */
export const templatePlaceholders = {
  privateKey: (user: { name: string }): string => `__PASTE_${user.name.toUpperCase()}_PRIVATE_KEY_HERE__`,
  serverPublicKey: "__SERVER_PUBLIC_KEY__",
  endpoint: "__WG_SERVER_ENDPOINT__",
};

/**
 * The person a user's devices belong to: their Nextcloud user, else the user alone.
 * Prefixed, so a Nextcloud user id never equals another user's own name.
 */
export const personOf = (user: { name: string; nextcloudUser?: string | undefined }): string =>
  user.nextcloudUser === undefined ? `vpn:${user.name}` : `nextcloud:${user.nextcloudUser}`;

/** The cluster file's nodes, as the page shows them. */
export const nodeInputs = (cluster: Cluster): NodeInput[] =>
  cluster.nodes.map((n) => ({ name: n.name, hostname: n.hostname, role: n.role, tags: [...n.tags] }));

/** The cluster file's VPN users, as the page shows them. */
export const vpnUserInputs = (cluster: Cluster): VpnUserInput[] =>
  cluster.vpn.users.map((u) => ({
    name: u.name,
    ip: u.ip,
    group: u.group,
    enabled: u.enabled,
    expires: u.expires ?? null,
    nextcloudUser: u.nextcloudUser ?? null,
  }));

/** The site of `cluster`, given its plan and how each user's template and inventory names are made. */
export function buildSite(
  cluster: Cluster,
  plan: PlanInput,
  inventories: Record<string, string>,
  template: (user: VpnUser) => string,
): Site {
  const inputs = vpnUserInputs(cluster);
  return {
    title: cluster.config.domain,
    plan,
    inventories,
    nodes: nodeInputs(cluster),
    users: cluster.vpn.users.map((u, i) => ({
      ...inputs[i]!,
      admin: u.group === "admin",
      person: personOf(u),
      configTemplate: u.enabled && u.dashboardConfig ? template(u) : null,
    })),
  };
}
