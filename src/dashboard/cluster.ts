/**
 * The in-cluster dashboard's backend: who is asking, and what they may see.
 *
 * Identity: the VPN's sign-in proxy (Caddy in the WireGuard pod) matches the peer's VPN
 * address, sets the user header and adds the dashboard token; a request is believed only
 * when its token equals ours (compared in constant time), so no peer can name itself,
 * not even one whose group reaches the pod network. Admins (VPN group admin) see the
 * cluster; everyone else sees only the devices of their own person (their Nextcloud
 * user, else their own name): the non-admin paths read the site's entries of that person
 * and, per request, that person's device Secrets, and nothing else.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import type { IncomingMessage } from "node:http";
import QRCode from "qrcode";
import { isWireguardKey, wireguardPublicKey } from "../secrets/generate.ts";
import { dashboardTokenHeader, dashboardUserHeader, deviceSecretName } from "./protocol.ts";
import { type ClusterReader, readCertificates, readGroups, readNodes } from "./live.ts";
import { type ApiView, buildSnapshot, type DeviceView, type DevicesView, type Snapshot, type Viewer } from "./model.ts";
import type { DashboardBackend } from "./server.ts";
import { type Site, type SiteUser, templatePlaceholders } from "./site.ts";

/** What the in-cluster backend needs. */
export interface ClusterBackendOptions {
  site: Site;
  /** The token the sign-in proxy adds (≥ 32 hex digits). */
  token: string;
  /** The server's public key and endpoint host, for device configs. */
  server: { publicKey: string; endpoint: string };
  reader: ClusterReader;
  /** Where the device Secrets are. */
  devicesNamespace: string;
  nowMs?: () => number;
}

/** An endpoint host as the pod's setup.sh accepts it: a name or address, or an IPv6 address in brackets. */
const endpointHost = /^([A-Za-z0-9.-]+|\[[0-9A-Fa-f:]+\])$/;

const digest = (s: string): Buffer => createHash("sha256").update(s).digest();

/** One header's value; undefined when absent or sent more than once. */
function header(req: IncomingMessage, name: string): string | undefined {
  const values = req.headersDistinct[name.toLowerCase()];
  return values?.length === 1 ? values[0] : undefined;
}

/** The backend; throws Error when the token or the server's facts are unusable (the pod must not start). */
export function clusterBackend(options: ClusterBackendOptions): DashboardBackend {
  const { site, reader } = options;
  if (!/^[0-9a-f]{32,}$/.test(options.token)) {
    throw new Error("the dashboard token must be at least 32 hex digits (secret dashboard_sso_token)");
  }
  if (!isWireguardKey(options.server.publicKey)) throw new Error("the server's public key is not a WireGuard key");
  if (!endpointHost.test(options.server.endpoint))
    throw new Error("the server's endpoint is not a host name or address");
  const expected = digest(options.token);
  const now = options.nowMs ?? Date.now;
  const personOf = (viewer: Viewer): SiteUser[] => {
    const me = site.users.find((u) => u.name === viewer.name);
    return me ? site.users.filter((u) => u.person === me.person) : [];
  };
  const config = async (user: SiteUser): Promise<string | { note: string }> => {
    if (!user.configTemplate) return { note: "Your admin has not made this device's config available here." };
    const secret = await reader.get({
      apiVersion: "v1",
      kind: "Secret",
      namespace: options.devicesNamespace,
      name: deviceSecretName(user),
    });
    const value = (key: string) =>
      Buffer.from(String(secret?.data?.[key] ?? ""), "base64")
        .toString("utf8")
        .trim();
    const privateKey = value("private-key");
    if (!secret || !isWireguardKey(privateKey)) return { note: "This device's key is not in the cluster yet." };
    if (wireguardPublicKey(privateKey) !== value("public-key")) {
      return { note: "This device's key was changed; ask your admin for the new config." };
    }
    return user.configTemplate
      .replace(templatePlaceholders.privateKey(user), privateKey)
      .replace(templatePlaceholders.serverPublicKey, options.server.publicKey)
      .replace(templatePlaceholders.endpoint, options.server.endpoint);
  };
  const ownConfig = async (viewer: Viewer, device: string): Promise<string | null> => {
    const user = personOf(viewer).find((u) => u.name === device && u.enabled);
    if (!user) return null;
    const c = await config(user);
    return typeof c === "string" ? c : null;
  };
  return {
    mode: "cluster",
    viewer(req) {
      const token = header(req, dashboardTokenHeader);
      const name = header(req, dashboardUserHeader);
      if (token === undefined || name === undefined || !timingSafeEqual(digest(token), expected)) return null;
      const user = site.users.find((u) => u.name === name && u.enabled);
      return user ? { name: user.name, admin: user.admin } : null;
    },
    async snapshot() {
      return await clusterSnapshot(site, reader, now());
    },
    async devices(viewer): Promise<DevicesView> {
      const devices = await Promise.all(
        personOf(viewer).map(async (u): Promise<DeviceView> => {
          const c = u.enabled ? await config(u) : { note: "This device is disabled." };
          const view: DeviceView = {
            name: u.name,
            ip: u.ip,
            group: u.group,
            enabled: u.enabled,
            expires: u.expires,
            config: typeof c === "string" ? c : null,
          };
          if (typeof c !== "string") view.configNote = c.note;
          return view;
        }),
      );
      return { viewer: viewer.name, devices };
    },
    deviceConfig: ownConfig,
    async deviceQr(viewer, device) {
      const c = await ownConfig(viewer, device);
      return c === null ? null : await QRCode.toString(c, { type: "svg", errorCorrectionLevel: "M", margin: 4 });
    },
  };
}

/** The whole cluster as the in-cluster dashboard sees it (admins only). */
async function clusterSnapshot(site: Site, reader: ClusterReader, nowMs: number): Promise<Snapshot> {
  let api: ApiView = { state: "reachable", server: reader.server };
  let live: Parameters<typeof buildSnapshot>[0]["live"] = null;
  try {
    await reader.version({ timeoutMs: 5000 });
    const [groups, certificates, nodes] = await Promise.all([
      readGroups(reader, site.plan, site.inventories),
      readCertificates(reader),
      readNodes(reader),
    ]);
    live = { groups, certificates, nodes };
  } catch (error) {
    api = { state: "unreachable", server: reader.server, message: (error as Error).message.split("\n")[0] ?? "" };
  }
  return buildSnapshot({
    title: site.title,
    nowMs,
    api,
    plan: site.plan,
    recorded: {},
    lastRun: null,
    live,
    clusterFile: { nodes: site.nodes, users: site.users.map(({ admin, person, configTemplate, ...u }) => u) },
    peers: { error: "the dashboard in the cluster may not run commands in the WireGuard pod (read-only)" },
    warnings: [],
  });
}
