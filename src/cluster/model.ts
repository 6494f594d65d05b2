/**
 * The validated cluster: the cluster file with defaults applied plus every fact other
 * parts derive from it (master, agents' server address, VPN user sets, namespaces).
 * Built by `buildCluster` only after `validateConfig` found no problem.
 */
import { type ClusterConfig, type NamespaceKey, namespaceDefaults } from "../config/schema.ts";
import { type VpnGroup, defaultVpnGroup, resolveVpnGroups } from "../vpn/groups.ts";
import { parseCidr, vpnNetwork } from "./net.ts";

export interface NodeInfo {
  /** The key in `nodes`. */
  name: string;
  hostname: string;
  /** Where the node is reached: its configured address, else <hostname>.local (mDNS). */
  address: string;
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
  /** The access group (built-in or `vpnGroups`); `defaultVpnGroup` when the file names none. */
  group: string;
  /** True when the file names no group, so the user got `defaultVpnGroup`. */
  groupDefaulted: boolean;
  publicKeySecret: string;
  /** The client's AllowedIPs, split at commas and trimmed. */
  allowedIPs: string[];
  nextcloudUser: string | undefined;
  description: string;
  /** Last day the peer works (YYYY-MM-DD, in the cluster's time zone), or undefined. */
  expires: string | undefined;
  enabled: boolean;
  /** The in-cluster dashboard may show the user their own client config (the cluster holds the private key). */
  dashboardConfig: boolean;
}

export interface Cluster {
  config: ClusterConfig;
  /** Path of the cluster file this came from (absolute), or "<inline>". */
  source: string;
  /** All nodes, sorted by name (byte order). */
  nodes: NodeInfo[];
  master: NodeInfo;
  agents: NodeInfo[];
  /** The k3s server URL agents join: https://<master address>:6443 (the master's address, else <hostname>.local). */
  serverAddr: string;
  namespaces: Record<NamespaceKey, string>;
  vpn: {
    subnet: string;
    serverIp: string;
    port: number;
    /** Every user, sorted by name (byte order, as Nix iterates attribute sets). */
    users: VpnUser[];
    enabledUsers: VpnUser[];
    /** Enabled users with a nextcloudUser: they may get an SSO route (if their group reaches Nextcloud). */
    ssoUsers: VpnUser[];
    /** The LAN (the `lan` destination): lanCidr, or the /24 holding metallbPool. */
    lan: string;
    /** True when lanCidr is not set and `lan` was derived from metallbPool. */
    lanDefaulted: boolean;
    /** Every access group, built-in first; see src/vpn/groups.ts. */
    groups: VpnGroup[];
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
        address: n.address ?? `${n.hostname}.local`,
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
        group: u.group ?? defaultVpnGroup,
        groupDefaulted: u.group === undefined,
        publicKeySecret: u.publicKeySecret,
        allowedIPs: u.allowedIPs
          .split(",")
          .map((s) => s.trim())
          .filter((s) => s !== ""),
        nextcloudUser: u.nextcloudUser,
        description: u.description,
        expires: u.expires,
        enabled: u.enabled,
        dashboardConfig: u.dashboardConfig,
      };
    });
  const enabledUsers = users.filter((u) => u.enabled);
  return {
    config,
    source,
    nodes,
    master,
    agents: nodes.filter((n) => !n.master),
    serverAddr: `https://${urlHost(master.address)}:6443`,
    namespaces: { ...namespaceDefaults, ...stripUndefined(config.namespaces ?? {}) },
    vpn: {
      subnet: vpnNetwork.subnet,
      serverIp: vpnNetwork.serverIp,
      port: vpnNetwork.port,
      users,
      enabledUsers,
      ssoUsers: enabledUsers.filter((u) => u.nextcloudUser !== undefined),
      lan: config.lanCidr ?? defaultLan(config.metallbPool),
      lanDefaulted: config.lanCidr === undefined,
      groups: resolveVpnGroups(config.vpnGroups),
    },
  };
}

/** The /24 that holds the MetalLB pool (or the pool itself when it is wider): the usual home LAN. */
function defaultLan(metallbPool: string): string {
  const pool = parseCidr(metallbPool)!;
  return pool.prefix <= 24 ? pool.text : parseCidr(`${pool.address.toString()}/24`)!.text;
}

/** An address as the host part of a URL (IPv6 in brackets). */
function urlHost(address: string): string {
  return address.includes(":") ? `[${address}]` : address;
}

function stripUndefined<T extends Record<string, string | undefined>>(o: T): Record<string, string> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Record<string, string>;
}
