/**
 * What the dashboard shows, as data: the snapshot the page renders (sent as JSON) and
 * the pure rules that turn the plan, the local deploy record and the live cluster into
 * it. No I/O here: data.ts gathers the inputs, server.ts serves the result.
 *
 * A group's state on the page:
 * - `ready`: applied, and every workload and wait target is ready now;
 * - `applying`: a deploy is applying it (or was killed while it did);
 * - `not-ready`: applied, but something is not ready or missing (with the reason);
 * - `failed`: the last deploy failed in it (with the message);
 * - `blocked`: not ready, and a group it depends on is not ready either (it waits on that one);
 * - `never-deployed`: nothing applied yet, and nothing it depends on is missing;
 * - `unknown`: the cluster could not be asked and there is no local record of it.
 * When the cluster cannot be asked, states are the local record's and say so (`live: false`).
 */

/** A group's state on the page (see the module comment). */
export type GroupState = "ready" | "applying" | "not-ready" | "failed" | "blocked" | "never-deployed" | "unknown";

/** An object by its identity. */
export interface ObjectId {
  apiVersion: string;
  kind: string;
  name: string;
  namespace?: string;
}

/** The deploy plan, as far as the page needs it. */
export interface PlanInput {
  /** The deployment's name (the cluster's domain), or null when the plan has none. */
  name: string | null;
  groups: Array<{
    name: string;
    dependsOn: string[];
    charts: string[];
    /** kind: one of the plan's wait kinds (plan/schema.ts; not imported: the page's code shares this file). */
    waitFor: Array<{ kind: string; name: string; namespace: string }>;
  }>;
  charts: Array<{
    key: string;
    group: string;
    namespace: string;
    kind: "helm" | "manifests";
    helm?: { repo: string; chart: string; version: string };
    objects: ObjectId[];
  }>;
}

/** One outcome of a deploy for one object (the engine's change set). */
export interface ChangeInput {
  object: string;
  action: string;
  message?: string;
}

/** What the local deploy record (state dir) says of one group. */
export interface RecordedGroup {
  status: string;
  appliedAt?: string;
  readyAt?: string;
  message?: string;
  /** The change set of the last deploy that applied the group, when it was recorded. */
  changes?: { at: string; entries: ChangeInput[] };
}

/** What is live for one group. */
export interface LiveGroup {
  /** Applied completely, an apply in progress, or nothing applied (as the cluster knows it). */
  applied: "applied" | "applying" | "absent";
  /** The plan's group differs from the one last applied. */
  planChanged: boolean;
  drift: Array<{ object: string; problem: string; detail?: string }>;
  notReady: Array<{ object: string; reason: string }>;
}

/** A chart of a group, on the page. */
export interface ChartView {
  key: string;
  namespace: string;
  kind: "helm" | "manifests";
  helm?: { repo: string; chart: string; version: string };
  /** "Kind/namespace/name" of every object. */
  objects: string[];
}

/** A group, on the page. */
export interface GroupView {
  name: string;
  dependsOn: string[];
  state: GroupState;
  /** Why it is not ready, failed or blocked (one line), when it is not ready. */
  reason?: string;
  /** Blocked: the groups it depends on that are not ready. */
  waitsOn: string[];
  /** False when the state comes from the local record only (the cluster could not be asked). */
  live: boolean;
  recorded: { status: string; appliedAt?: string; readyAt?: string } | null;
  planChanged: boolean;
  charts: ChartView[];
  waitFor: string[];
  notReady: Array<{ object: string; reason: string }>;
  drift: Array<{ object: string; problem: string; detail?: string }>;
  lastChanges: { at: string; entries: ChangeInput[] } | null;
}

/** Whether the Kubernetes API answered. */
export interface ApiView {
  state: "reachable" | "unreachable" | "not-configured";
  server: string | null;
  /** Why it is unreachable or not configured, with what to check. */
  message?: string;
}

/** A cert-manager Certificate. */
export interface CertificateView {
  /** "namespace/name". */
  name: string;
  dnsNames: string[];
  ready: boolean;
  reason?: string;
  notAfter: string | null;
  renewalTime: string | null;
  /** Whole days until notAfter (negative: expired), from the snapshot's time. */
  daysLeft: number | null;
}

/** A node of the cluster file and what Kubernetes says of it. */
export interface NodeView {
  name: string;
  hostname: string;
  role: "server" | "agent";
  tags: string[];
  /** k3s's Ready condition: true, false, or null when the node is not in the cluster (or it was not asked). */
  ready: boolean | null;
  reason?: string;
  kubeletVersion?: string;
}

/** A VPN user of the cluster file, with the server's view when it answered. */
export interface VpnUserView extends VpnUserInput {
  /** Unix time (s) of the latest handshake; null: none yet, or unknown (see handshakes). */
  lastHandshake: number | null;
}

/** A VPN user as the cluster file describes it. */
export interface VpnUserInput {
  name: string;
  ip: string;
  group: string;
  enabled: boolean;
  /** The last day the peer works (YYYY-MM-DD), when it expires. */
  expires: string | null;
  nextcloudUser: string | null;
}

/** A section that may be unavailable, with the reason. */
export interface Section<T> {
  items: T[];
  /** Why the section is empty or incomplete (e.g. the API is unreachable), when it is. */
  note?: string;
}

/** The whole page's data (GET /api/snapshot). */
export interface Snapshot {
  /** The deployment's name (the cluster's domain) or the plan file. */
  title: string;
  generatedAt: string;
  api: ApiView;
  groups: GroupView[];
  certificates: Section<CertificateView>;
  nodes: Section<NodeView>;
  vpnUsers: Section<VpnUserView> & {
    /** Why the last handshakes are missing (the WireGuard server could not be asked), when they are. */
    handshakes?: string;
  };
  lastRun: { startedAt: string; finishedAt?: string; result?: string } | null;
  warnings: string[];
}

/** "Kind/namespace/name" (or "Kind/name"): how objects are named everywhere nixlab prints them. */
export function objectKey(ref: { kind: string; name: string; namespace?: string | undefined }): string {
  return ref.namespace ? `${ref.kind}/${ref.namespace}/${ref.name}` : `${ref.kind}/${ref.name}`;
}

/** The state a group has by itself, before its dependencies are considered. */
function ownState(
  recorded: RecordedGroup | undefined,
  live: LiveGroup | undefined,
): { state: GroupState; reason?: string } {
  if (recorded?.status === "failed") return { state: "failed", reason: recorded.message ?? "the last deploy failed" };
  if (recorded?.status === "applying" || live?.applied === "applying") return { state: "applying" };
  if (live) {
    if (live.applied === "absent") return { state: "never-deployed" };
    const gone = live.drift.find((d) => d.problem === "missing" || d.problem === "deleting");
    const waiting = live.notReady[0];
    if (waiting) return { state: "not-ready", reason: `${waiting.object}: ${waiting.reason}` };
    if (gone) return { state: "not-ready", reason: `${gone.object}: ${gone.problem}` };
    return { state: "ready" };
  }
  switch (recorded?.status) {
    case "ready":
      return { state: "ready" };
    case "applied-not-ready":
      return { state: "not-ready", reason: recorded?.message ?? "applied, not ready when last checked" };
    case undefined:
      return { state: "unknown", reason: "the cluster could not be asked, and this machine has no record of it" };
    default:
      return { state: "not-ready", reason: `recorded as ${recorded?.status}` };
  }
}

/**
 * Every group of the plan with its state, in plan order. `live` is null when the cluster
 * could not be asked: states are then the local record's. Pure.
 */
export function deriveGroups(
  plan: PlanInput,
  recorded: Readonly<Record<string, RecordedGroup>>,
  live: ReadonlyMap<string, LiveGroup> | null,
): GroupView[] {
  const own = new Map(plan.groups.map((g) => [g.name, ownState(recorded[g.name], live?.get(g.name))]));
  const views = plan.groups.map((g): GroupView => {
    const rec = recorded[g.name];
    const lg = live?.get(g.name);
    const mine = own.get(g.name)!;
    const waitsOn = g.dependsOn.filter((d) => own.get(d)?.state !== "ready");
    const blocked = (mine.state === "not-ready" || mine.state === "never-deployed") && waitsOn.length > 0;
    const view: GroupView = {
      name: g.name,
      dependsOn: [...g.dependsOn],
      state: blocked ? "blocked" : mine.state,
      waitsOn: blocked ? waitsOn : [],
      live: live !== null,
      recorded: rec ? pick(rec) : null,
      planChanged: lg?.planChanged ?? false,
      charts: g.charts.map((key) => chartView(plan, key)),
      waitFor: g.waitFor.map((w) => objectKey(w)),
      notReady: lg?.notReady ?? [],
      drift: lg?.drift ?? [],
      lastChanges: rec?.changes ?? null,
    };
    const reason = blocked ? `waits on ${waitsOn.join(", ")}` : mine.reason;
    if (reason) view.reason = reason;
    return view;
  });
  return views;
}

function pick(rec: RecordedGroup): NonNullable<GroupView["recorded"]> {
  const out: NonNullable<GroupView["recorded"]> = { status: rec.status };
  if (rec.appliedAt) out.appliedAt = rec.appliedAt;
  if (rec.readyAt) out.readyAt = rec.readyAt;
  return out;
}

function chartView(plan: PlanInput, key: string): ChartView {
  const chart = plan.charts.find((c) => c.key === key);
  if (!chart) return { key, namespace: "", kind: "manifests", objects: [] };
  const view: ChartView = {
    key,
    namespace: chart.namespace,
    kind: chart.kind,
    objects: chart.objects.map((o) => objectKey(o)),
  };
  if (chart.helm) view.helm = { ...chart.helm };
  return view;
}

/** A Kubernetes object as JSON, as far as the views below read it. */
export interface LiveObject {
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  // biome-ignore lint/suspicious/noExplicitAny: status and spec are read structurally
  spec?: any;
  // biome-ignore lint/suspicious/noExplicitAny: status and spec are read structurally
  status?: any;
}

interface Condition {
  type?: string;
  status?: string;
  reason?: string;
  message?: string;
}

function conditionOf(obj: LiveObject, type: string): Condition | undefined {
  const list: unknown = obj.status?.conditions;
  return Array.isArray(list) ? (list as Condition[]).find((c) => c?.type === type) : undefined;
}

const dayMs = 86_400_000;

/** cert-manager Certificates as the page shows them, sorted by expiry (soonest first). Pure. */
export function certificateViews(certs: readonly LiveObject[], nowMs: number): CertificateView[] {
  const views = certs.map((c): CertificateView => {
    const ready = conditionOf(c, "Ready");
    const notAfter = typeof c.status?.notAfter === "string" ? c.status.notAfter : null;
    const end = notAfter ? Date.parse(notAfter) : Number.NaN;
    const view: CertificateView = {
      name: c.metadata.namespace ? `${c.metadata.namespace}/${c.metadata.name}` : c.metadata.name,
      dnsNames: Array.isArray(c.spec?.dnsNames) ? c.spec.dnsNames.filter((n: unknown) => typeof n === "string") : [],
      ready: ready?.status === "True",
      notAfter,
      renewalTime: typeof c.status?.renewalTime === "string" ? c.status.renewalTime : null,
      daysLeft: Number.isNaN(end) ? null : Math.floor((end - nowMs) / dayMs),
    };
    if (ready?.status !== "True") view.reason = ready?.message ?? ready?.reason ?? "not issued yet";
    return view;
  });
  const key = (v: CertificateView) => v.daysLeft ?? Number.POSITIVE_INFINITY;
  return views.sort((a, b) => key(a) - key(b) || (a.name < b.name ? -1 : 1));
}

/** A node as the cluster file describes it. */
export interface NodeInput {
  name: string;
  hostname: string;
  role: "server" | "agent";
  tags: string[];
}

/**
 * The cluster file's nodes with k3s's Ready condition of the Kubernetes node of the same
 * hostname; `live` null when the cluster was not asked (ready is then null). Pure.
 */
export function nodeViews(nodes: readonly NodeInput[], live: readonly LiveObject[] | null): NodeView[] {
  return nodes.map((n) => {
    const view: NodeView = { name: n.name, hostname: n.hostname, role: n.role, tags: [...n.tags], ready: null };
    if (!live) return view;
    const k = live.find((o) => o.metadata.name === n.hostname);
    if (!k) return { ...view, reason: "not in the cluster (not installed, or not joined yet)" };
    const ready = conditionOf(k, "Ready");
    view.ready = ready?.status === "True";
    if (!view.ready) view.reason = ready?.message ?? ready?.reason ?? "no Ready condition yet";
    const version = k.status?.nodeInfo?.kubeletVersion;
    if (typeof version === "string") view.kubeletVersion = version;
    return view;
  });
}

/**
 * The cluster file's VPN users with the latest handshake of the server's peer at the
 * user's address; `peers` null when the server was not asked. Pure.
 */
export function vpnUserViews(
  users: readonly VpnUserInput[],
  peers: ReadonlyMap<string, { latestHandshake: number | null }> | null,
): VpnUserView[] {
  return users.map((u) => ({ ...u, lastHandshake: peers?.get(u.ip)?.latestHandshake ?? null }));
}

/** Who looks at the page: the person at the workstation (local), or a VPN user behind the sign-in proxy. */
export interface Viewer {
  /** The VPN user name, or "local" for `nixlab dashboard` on a workstation. */
  name: string;
  /** Admins see the whole cluster; everyone else only their own devices. */
  admin: boolean;
}

/** GET /api/me: where the page runs and who looks at it. */
export interface MeView {
  mode: "local" | "cluster";
  viewer: Viewer;
}

/** One of the viewer's own VPN devices, with its client config when the cluster holds it. */
export interface DeviceView {
  name: string;
  ip: string;
  group: string;
  enabled: boolean;
  expires: string | null;
  /** The wg-quick client config, or null with `configNote` saying why there is none. */
  config: string | null;
  configNote?: string;
}

/** GET /api/me/devices: the viewer's own devices and nothing of anyone else's. */
export interface DevicesView {
  viewer: string;
  devices: DeviceView[];
}

/** What is live, when the cluster answered. */
export interface LiveInputs {
  groups: ReadonlyMap<string, LiveGroup>;
  /** null: the Certificate kind is not served (cert-manager is not installed yet). */
  certificates: readonly LiveObject[] | null;
  nodes: readonly LiveObject[];
}

/** Everything a snapshot is made of. */
export interface SnapshotInputs {
  title: string;
  nowMs: number;
  api: ApiView;
  plan: PlanInput;
  recorded: Readonly<Record<string, RecordedGroup>>;
  lastRun: Snapshot["lastRun"];
  /** null: the cluster could not be asked (see api). */
  live: LiveInputs | null;
  /** The cluster file's nodes and VPN users; null without a cluster file (with why in `noClusterFile`). */
  clusterFile: { nodes: readonly NodeInput[]; users: readonly VpnUserInput[] } | null;
  noClusterFile?: string;
  /** The WireGuard server's peers by address, or why they are unknown. */
  peers: ReadonlyMap<string, { latestHandshake: number | null }> | { error: string };
  warnings: readonly string[];
}

const unasked = "Unknown: the cluster could not be asked.";

/** The page's snapshot. Pure. */
export function buildSnapshot(inputs: SnapshotInputs): Snapshot {
  const { live, clusterFile } = inputs;
  const certificates: Snapshot["certificates"] = !live
    ? { items: [], note: unasked }
    : live.certificates === null
      ? { items: [], note: "cert-manager is not installed yet: the cluster does not serve Certificates." }
      : { items: certificateViews(live.certificates, inputs.nowMs) };
  const fileNote = inputs.noClusterFile ?? "No cluster file.";
  const nodes: Snapshot["nodes"] = clusterFile
    ? { items: nodeViews(clusterFile.nodes, live?.nodes ?? null), ...(live ? {} : { note: `k3s's view: ${unasked}` }) }
    : { items: [], note: fileNote };
  const peers = "error" in inputs.peers ? null : inputs.peers;
  const vpnUsers: Snapshot["vpnUsers"] = clusterFile
    ? { items: vpnUserViews(clusterFile.users, peers) }
    : { items: [], note: fileNote };
  if ("error" in inputs.peers && clusterFile && clusterFile.users.length > 0) {
    vpnUsers.handshakes = `Last handshakes unknown: ${inputs.peers.error}.`;
  }
  return {
    title: inputs.title,
    generatedAt: new Date(inputs.nowMs).toISOString(),
    api: inputs.api,
    groups: deriveGroups(inputs.plan, inputs.recorded, live?.groups ?? null),
    certificates,
    nodes,
    vpnUsers,
    lastRun: inputs.lastRun,
    warnings: [...inputs.warnings],
  };
}
