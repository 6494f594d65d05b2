/**
 * Live peer status from the running WireGuard server: `wg show wg0 dump` run in the
 * pod through the Kubernetes API's exec, matched to users by their /32 (so no secret
 * is needed to read it).
 */
import type { Cluster } from "../cluster/model.ts";
import type { KubeClient } from "../deploy/client.ts";
import type { HttpKube } from "../deploy/http-kube.ts";

export interface PeerStatus {
  publicKey: string;
  /** The peer's last address (host:port), or null before its first handshake. */
  endpoint: string | null;
  /** Unix time (s) of the latest handshake, or null when there was none. */
  latestHandshake: number | null;
  received: number;
  sent: number;
}

/**
 * Peers of `wg show INTERFACE dump` output by each of their allowed /32 addresses
 * (the first line, the interface's own, is skipped; malformed lines are ignored). Pure.
 */
export function parseWgDump(text: string): Map<string, PeerStatus> {
  const peers = new Map<string, PeerStatus>();
  for (const line of text.split("\n").slice(1)) {
    const f = line.split("\t");
    if (f.length < 8) continue;
    const [publicKey, , endpoint, allowed, handshake, rx, tx] = f as [
      string,
      string,
      string,
      string,
      string,
      string,
      string,
    ];
    const status: PeerStatus = {
      publicKey,
      endpoint: endpoint === "(none)" ? null : endpoint,
      latestHandshake: handshake === "0" ? null : Number(handshake),
      received: Number(rx),
      sent: Number(tx),
    };
    for (const cidr of allowed.split(",")) if (cidr.endsWith("/32")) peers.set(cidr.slice(0, -3), status);
  }
  return peers;
}

export interface StatusOptions {
  kubeconfig?: string;
  context?: string;
  /** Give up after this long (the cluster may be unreachable from here). */
  timeoutMs: number;
}

/**
 * The live peers of the WireGuard pod in `namespace`, asked through `kube` (the API's
 * exec), or why they could not be: no running pod, or the command failed. Throws when
 * the API fails (ApiError).
 */
export async function askPeers(
  kube: Pick<KubeClient, "list" | "exec">,
  namespace: string,
  timeoutMs: number,
): Promise<{ peers: Map<string, PeerStatus> } | { error: string }> {
  const pods = await kube.list("v1", "Pod", { namespace, labelSelector: "app=wireguard" });
  const pod = pods.items.find((p) => (p.status as { phase?: string } | undefined)?.phase === "Running");
  if (!pod) return { error: `no running WireGuard pod in ${namespace}` };
  const r = await kube.exec(namespace, pod.metadata.name, "wireguard", ["wg", "show", "wg0", "dump"], timeoutMs);
  if (r.exitCode !== 0) return { error: `wg show failed in ${pod.metadata.name}: ${r.stderr.trim().split("\n")[0]}` };
  return { peers: parseWgDump(r.stdout) };
}

/**
 * The live peers of the cluster's WireGuard pod by address. Never throws: returns
 * `{ error }` saying why the server could not be asked (no kubeconfig, unreachable, no
 * running pod, the command failed or timed out).
 */
export async function fetchPeerStatus(
  cluster: Cluster,
  options: StatusOptions,
): Promise<{ peers: Map<string, PeerStatus> } | { error: string }> {
  let kube: HttpKube | undefined;
  let timer: NodeJS.Timeout | undefined;
  const ask = async (): Promise<{ peers: Map<string, PeerStatus> } | { error: string }> => {
    // The Kubernetes client is loaded only when the cluster is asked.
    const [{ HttpKube }, { loadKubeconfig }] = await Promise.all([
      import("../deploy/http-kube.ts"),
      import("../deploy/kubeconfig.ts"),
    ]);
    const connection = loadKubeconfig({
      ...(options.kubeconfig ? { kubeconfig: options.kubeconfig } : {}),
      ...(options.context ? { context: options.context } : {}),
    });
    kube = new HttpKube(connection, { requestTimeoutMs: options.timeoutMs });
    return await askPeers(kube, cluster.namespaces.wireguard, options.timeoutMs);
  };
  const timeout = new Promise<{ error: string }>((resolve) => {
    timer = setTimeout(() => resolve({ error: `no answer within ${options.timeoutMs / 1000} s` }), options.timeoutMs);
  });
  try {
    return await Promise.race([ask(), timeout]);
  } catch (error) {
    return { error: (error as Error).message.split("\n")[0]! };
  } finally {
    clearTimeout(timer);
    kube?.close();
  }
}
