/**
 * The vars → outputs flow: which cluster-file fields reach which rendered files.
 * Measured, not declared: each field is changed in turn and the files whose bytes
 * change are the ones it flows into, so the graph can never go stale.
 */
import type { Cluster } from "../cluster/model.ts";
import { buildCluster } from "../cluster/model.ts";
import type { ClusterConfig } from "../config/schema.ts";
import type { RenderedFile } from "./plan.ts";

type Perturb = (c: ClusterConfig) => void;

/** One change per field that keeps the config valid. */
const perturbations: Record<string, Perturb> = {
  domain: (c) => {
    c.domain = `x${c.domain}`;
  },
  metallbPool: (c) => {
    c.metallbPool = c.metallbPool.replace(/\/(\d+)$/, (_m, p: string) => `/${Number(p) - 1}`);
  },
  piholeIp: (c) => {
    c.piholeIp = bump(c.piholeIp);
  },
  wireguardIp: (c) => {
    c.wireguardIp = bump(c.wireguardIp);
  },
  nginxIp: (c) => {
    c.nginxIp = bump(c.nginxIp);
  },
  upstreamDns: (c) => {
    c.upstreamDns = bump(c.upstreamDns);
  },
  timezone: (c) => {
    c.timezone = c.timezone === "UTC" ? "Etc/GMT" : "UTC";
  },
  username: (c) => {
    c.username = `${c.username}x`;
  },
  clusterSshKey: (c) => {
    c.clusterSshKey = `${c.clusterSshKey} changed`;
  },
  acmeEmail: (c) => {
    c.acmeEmail = `x${c.acmeEmail ?? "admin@example.com"}`;
  },
  nodes: (c) => {
    for (const n of Object.values(c.nodes)) n.disk = `${n.disk}x`;
  },
  wireguardUsers: (c) => {
    for (const u of Object.values(c.wireguardUsers)) u.ip = bump(u.ip);
  },
  replicas: (c) => {
    c.replicas += 1;
  },
};

function bump(ip: string): string {
  const parts = ip.split(".").map(Number);
  parts[3] = parts[3]! >= 254 ? parts[3]! - 1 : parts[3]! + 1;
  return parts.join(".");
}

export interface FlowEdge {
  field: string;
  file: string;
}

/** Edges from each top-level field to every file it changes. `render` must be pure. */
export function measureFlow(cluster: Cluster, render: (c: Cluster) => RenderedFile[]): FlowEdge[] {
  const base = new Map(render(cluster).map((f) => [f.path, f.content]));
  const edges: FlowEdge[] = [];
  for (const [field, perturb] of Object.entries(perturbations)) {
    const config = structuredClone(cluster.config);
    perturb(config);
    for (const file of render(buildCluster(config, cluster.source))) {
      if (file.path !== "deploy-plan.json" && base.get(file.path) !== file.content)
        edges.push({ field, file: file.path });
    }
  }
  return edges;
}
