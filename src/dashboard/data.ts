/**
 * Where `nixlab dashboard` gets its data: the one module that calls the library (the
 * plan loader, the deploy engine's status, its Kubernetes client, the cluster file).
 * A snapshot is what `nixlab status` would say, plus Certificates, nodes and VPN users;
 * when the cluster cannot be asked it is the local record, and says why.
 */
import type { Cluster } from "../cluster/model.ts";
import { loadCluster } from "../config/load.ts";
import { statSync } from "node:fs";
import { ApiError, type KubeClient } from "../deploy/client.ts";
import { FileStateStore } from "../deploy/state.ts";
import { deployStatus, type StatusReport } from "../deploy/status.ts";
import { UserError } from "../errors.ts";
import { loadPlan, type LoadedPlan } from "../plan/load.ts";
import { askPeers } from "../vpn/status.ts";
import { readCertificates, readNodes } from "./live.ts";
import {
  type ApiView,
  buildSnapshot,
  type LiveGroup,
  type PlanInput,
  type RecordedGroup,
  type Snapshot,
  type SnapshotInputs,
} from "./model.ts";
import type { DashboardBackend } from "./server.ts";
import { nodeInputs, vpnUserInputs } from "./site.ts";

/** What the local dashboard reads, and how long it waits for the API. */
export interface LocalSources {
  planPath: string;
  stateDir: string;
  /** The cluster file the plan was built from; null when there is none (nodes and VPN users are then not shown). */
  clusterFile: string | null;
  /** A client for the cluster, or why there is none (no kubeconfig). */
  kube: KubeClient | { error: string };
  /** How long one snapshot may wait for the API (short: the page refreshes every few seconds). */
  apiTimeoutMs: number;
}

const recordStatuses = new Set(["applying", "applied-not-ready", "ready", "failed"]);

/** The plan as the page needs it. */
function planInput(loaded: LoadedPlan): PlanInput {
  const { plan } = loaded;
  return {
    name: plan.name,
    groups: plan.groups.map((g) => ({
      name: g.name,
      dependsOn: g.dependsOn,
      charts: g.charts,
      waitFor: g.waitFor.map((w) => ({ kind: w.kind, name: w.name, namespace: w.namespace })),
    })),
    charts: plan.charts.map((c) => ({
      key: c.key,
      group: c.group,
      namespace: c.namespace,
      kind: c.kind,
      ...(c.helm ? { helm: c.helm } : {}),
      objects: c.objects,
    })),
  };
}

/** The local record and the live groups, from the engine's status report. */
function fromStatus(
  report: StatusReport,
  state: Awaited<ReturnType<FileStateStore["load"]>>,
  live: boolean,
): { recorded: Record<string, RecordedGroup>; groups: Map<string, LiveGroup> | null } {
  const recorded: Record<string, RecordedGroup> = {};
  const groups = new Map<string, LiveGroup>();
  for (const g of report.groups) {
    if (recordStatuses.has(g.status)) {
      const rec: RecordedGroup = { status: g.status };
      if (g.appliedAt) rec.appliedAt = g.appliedAt;
      if (g.readyAt) rec.readyAt = g.readyAt;
      if (g.message) rec.message = g.message;
      const changes = state.groups[g.name]?.lastChanges;
      if (changes) rec.changes = changes;
      recorded[g.name] = rec;
    }
    if (g.inCluster) {
      groups.set(g.name, {
        applied: g.inCluster,
        planChanged: g.planChanged,
        drift: g.drift.map((d) => ({ object: d.object, problem: d.problem, detail: d.detail })),
        notReady: g.notReady,
      });
    }
  }
  return { recorded, groups: live ? groups : null };
}

type ClusterFacts = Pick<SnapshotInputs, "clusterFile" | "noClusterFile"> & {
  /** Where the WireGuard pod runs (namespaces.wireguard), when there is a cluster file. */
  wireguardNamespace?: string;
};

/** The cluster file's nodes and VPN users, or why there are none. */
async function clusterFacts(clusterFile: string | null): Promise<ClusterFacts> {
  if (!clusterFile) {
    return {
      clusterFile: null,
      noClusterFile: "No cluster file found: run in the project directory or pass --config.",
    };
  }
  let cluster: Cluster;
  try {
    cluster = await loadCluster({ config: clusterFile });
  } catch (error) {
    return { clusterFile: null, noClusterFile: `The cluster file cannot be read: ${(error as Error).message}` };
  }
  return {
    wireguardNamespace: cluster.namespaces.wireguard,
    clusterFile: { nodes: nodeInputs(cluster), users: vpnUserInputs(cluster) },
  };
}

type Peers = SnapshotInputs["peers"];

/**
 * The WireGuard server's peers by VPN address: `wg show wg0 dump` in its pod through the
 * API's exec, as `nixlab vpn list` asks it. Never throws: says why it could not ask.
 */
async function askWireguard(kube: KubeClient, namespace: string, timeoutMs: number): Promise<Peers> {
  try {
    const answer = await askPeers(kube, namespace, timeoutMs);
    return "error" in answer ? answer : answer.peers;
  } catch (error) {
    return { error: (error as Error).message.split("\n")[0] ?? "" };
  }
}

/** askWireguard at most every 30 s: an exec per page refresh would be a lot of work for a number that moves slowly. */
function cachedPeers(): (kube: KubeClient, namespace: string, nowMs: number, timeoutMs: number) => Promise<Peers> {
  let last: { at: number; peers: Promise<Peers> } | null = null;
  return (kube, namespace, nowMs, timeoutMs) => {
    if (!last || nowMs - last.at >= 30_000) last = { at: nowMs, peers: askWireguard(kube, namespace, timeoutMs) };
    return last.peers;
  };
}

/** clusterFacts, read again only when the file changed (a TypeScript cluster file is imported once per process). */
function cachedFacts(clusterFile: string | null): () => Promise<ClusterFacts> {
  let cache: { mtimeMs: number; facts: Promise<ClusterFacts> } | null = null;
  return () => {
    let mtimeMs = -1;
    try {
      if (clusterFile) mtimeMs = statSync(clusterFile).mtimeMs;
    } catch {
      // Gone: clusterFacts says so.
    }
    if (!cache || cache.mtimeMs !== mtimeMs) cache = { mtimeMs, facts: clusterFacts(clusterFile) };
    return cache.facts;
  };
}

/**
 * The engine's status of the plan, from the cluster when it can be read (with the
 * Certificates and Nodes), else from the local record with why the cluster could not be read.
 */
async function askCluster(
  sources: LocalSources,
  loaded: LoadedPlan,
  store: FileStateStore,
): Promise<{ api: ApiView; report: StatusReport; live: SnapshotInputs["live"] }> {
  const { kube } = sources;
  if ("error" in kube) {
    return {
      api: { state: "not-configured", server: null, message: kube.error },
      report: await deployStatus({ plan: loaded, store }),
      live: null,
    };
  }
  try {
    const report = await deployStatus({ plan: loaded, store, kube, apiTimeoutMs: sources.apiTimeoutMs });
    const [certificates, nodes] = await Promise.all([readCertificates(kube), readNodes(kube)]);
    return {
      api: { state: "reachable", server: kube.server },
      report,
      live: { groups: new Map(), certificates, nodes },
    };
  } catch (error) {
    if (!(error instanceof UserError) && !(error instanceof ApiError)) throw error;
    // The engine's message names the failure; its details say what to check.
    const details = error instanceof UserError ? error.details : [];
    return {
      api: { state: "unreachable", server: kube.server, message: [(error as Error).message, ...details].join(" ") },
      report: await deployStatus({ plan: loaded, store }),
      live: null,
    };
  }
}

/**
 * One snapshot: plan, record, status and live sections (`facts`: the cluster file's).
 * Throws UserError when the plan cannot be read.
 */
export async function localSnapshot(
  sources: LocalSources,
  facts: () => Promise<ClusterFacts>,
  nowMs: number,
  peers: ReturnType<typeof cachedPeers> = cachedPeers(),
): Promise<Snapshot> {
  const loaded = await loadPlan(sources.planPath);
  const store = new FileStateStore(sources.stateDir);
  const state = await store.load();
  const { api, report, live } = await askCluster(sources, loaded, store);
  const { recorded, groups } = fromStatus(report, state, live !== null);
  if (live && groups) live.groups = groups;
  const { wireguardNamespace, ...file } = await facts();
  const { kube } = sources;
  const wireguard: Peers =
    live && wireguardNamespace && !("error" in kube)
      ? await peers(kube, wireguardNamespace, nowMs, sources.apiTimeoutMs)
      : { error: "the cluster could not be asked" };
  return buildSnapshot({
    title: loaded.plan.name,
    nowMs,
    api,
    plan: planInput(loaded),
    recorded,
    lastRun: report.lastRun ?? null,
    live,
    ...file,
    peers: wireguard,
    warnings: report.warnings,
  });
}

/** The local backend: the person at the workstation is the admin; there are no devices of theirs here. */
export function localBackend(sources: LocalSources, nowMs: () => number = Date.now): DashboardBackend {
  const facts = cachedFacts(sources.clusterFile);
  const peers = cachedPeers();
  return {
    mode: "local",
    viewer: () => ({ name: "local", admin: true }),
    snapshot: () => localSnapshot(sources, facts, nowMs(), peers),
    devices: async (viewer) => ({ viewer: viewer.name, devices: [] }),
    deviceConfig: async () => null,
    deviceQr: async () => null,
  };
}
