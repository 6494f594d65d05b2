/**
 * The validated cluster: the cluster file with defaults applied plus every fact other
 * parts derive from it (master, agents' server address, VPN user sets, namespaces).
 * Built by `buildCluster` only after `validateConfig` found no problem.
 */
import {
  type ClusterConfig,
  type NamespaceKey,
  type WireguardUserConfig,
  namespaceDefaults,
} from "../config/schema.ts";
import { vpnNetwork } from "./net.ts";

export interface NodeInfo {
  /** The key in `nodes`. */
  name: string;
  hostname: string;
  master: boolean;
  role: "server" | "agent";
  disk: string;
  espSize: string;
  tags: string[];
}

export interface VpnUser {
  /** The key in `wireguardUsers`. */
  name: string;
  ip: string;
  group: WireguardUserConfig["group"];
  publicKeySecret: string;
  /** The client's AllowedIPs, split at commas and trimmed. */
  allowedIPs: string[];
  nextcloudUser: string | undefined;
  description: string;
  /** Last day the peer works (YYYY-MM-DD, in the cluster's time zone), or undefined. */
  expires: string | undefined;
  enabled: boolean;
}

export interface Cluster {
  config: ClusterConfig;
  /** Path of the cluster file this came from (absolute), or "<inline>". */
  source: string;
  /** All nodes, sorted by name (byte order). */
  nodes: NodeInfo[];
  master: NodeInfo;
  agents: NodeInfo[];
  /** The k3s server URL agents join: https://<master hostname>:6443. */
  serverAddr: string;
  namespaces: Record<NamespaceKey, string>;
  vpn: {
    subnet: string;
    serverIp: string;
    port: number;
    /** Every user, sorted by name (byte order, as Nix iterates attribute sets). */
    users: VpnUser[];
    enabledUsers: VpnUser[];
    /** Enabled users with a nextcloudUser: they get an SSO route. */
    ssoUsers: VpnUser[];
  };
}

/** Byte-order comparison (Nix attribute order) for ASCII names. */
export const byteOrder = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** Derives the Cluster from a config `validateConfig` accepted. Pure. */
export function buildCluster(config: ClusterConfig, source: string): Cluster {
  const nodes: NodeInfo[] = Object.keys(config.nodes)
    .sort(byteOrder)
    .map((name) => {
      const n = config.nodes[name]!;
      return {
        name,
        hostname: n.hostname,
        master: n.master,
        role: n.master ? "server" : "agent",
        disk: n.disk,
        espSize: n.espSize,
        tags: [...n.tags],
      };
    });
  const master = nodes.find((n) => n.master);
  if (!master) throw new Error("buildCluster: no master (validateConfig must run first)");
  const users: VpnUser[] = Object.keys(config.wireguardUsers)
    .sort(byteOrder)
    .map((name) => {
      const u = config.wireguardUsers[name]!;
      return {
        name,
        ip: u.ip,
        group: u.group,
        publicKeySecret: u.publicKeySecret,
        allowedIPs: u.allowedIPs
          .split(",")
          .map((s) => s.trim())
          .filter((s) => s !== ""),
        nextcloudUser: u.nextcloudUser,
        description: u.description,
        expires: u.expires,
        enabled: u.enabled,
      };
    });
  const enabledUsers = users.filter((u) => u.enabled);
  return {
    config,
    source,
    nodes,
    master,
    agents: nodes.filter((n) => !n.master),
    serverAddr: `https://${master.hostname}:6443`,
    namespaces: { ...namespaceDefaults, ...stripUndefined(config.namespaces ?? {}) },
    vpn: {
      subnet: vpnNetwork.subnet,
      serverIp: vpnNetwork.serverIp,
      port: vpnNetwork.port,
      users,
      enabledUsers,
      ssoUsers: enabledUsers.filter((u) => u.nextcloudUser !== undefined),
    },
  };
}

function stripUndefined<T extends Record<string, string | undefined>>(o: T): Record<string, string> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Record<string, string>;
}
