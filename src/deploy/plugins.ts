/**
 * The two things @kubernetes/client-node does for us, loaded only when needed (the
 * library takes over a second to load): credentials from exec and auth-provider
 * plugins, and the exec protocol (hooks).
 */
import { PassThrough } from "node:stream";
import { stringify } from "yaml";
import type { ExecResult } from "./client.ts";
import { loadKubeClient } from "./kube-client.ts";
import type { KubeConnection } from "./kubeconfig.ts";

type KubeConfig = import("@kubernetes/client-node").KubeConfig;
const configs = new WeakMap<KubeConnection, Promise<KubeConfig>>();

/** client-node's KubeConfig for our merged kubeconfig (paths are already absolute). */
function clientConfig(connection: KubeConnection): Promise<KubeConfig> {
  let kc = configs.get(connection);
  if (!kc) {
    kc = loadKubeClient().then(({ KubeConfig }) => {
      const config = new KubeConfig();
      const { clusters, users, contexts, currentContext } = connection.merged;
      config.loadFromString(
        stringify({ apiVersion: "v1", kind: "Config", clusters, users, contexts, "current-context": currentContext }),
      );
      return config;
    });
    configs.set(connection, kc);
  }
  return kc;
}

/** Authorization headers from the user's exec or auth-provider plugin (fresh per call: tokens expire). */
export async function pluginHeaders(connection: KubeConnection): Promise<Record<string, string>> {
  const options: { headers?: Record<string, string> } = {};
  await (await clientConfig(connection)).applyToHTTPSOptions(options);
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(options.headers ?? {})) if (typeof v === "string") out[k] = v;
  return out;
}

/** Runs argv in a container through the API's exec; a command that runs past `timeoutMs` is cut off. */
export async function execInPod(
  connection: KubeConnection,
  target: { namespace: string; pod: string; container: string; argv: string[]; timeoutMs: number },
): Promise<ExecResult> {
  const { Exec } = await loadKubeClient();
  const kc = await clientConfig(connection);
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  stdout.on("data", (c: Buffer) => out.push(c));
  stderr.on("data", (c: Buffer) => err.push(c));
  return await new Promise<ExecResult>((resolve, reject) => {
    let exitCode: number | undefined;
    new Exec(kc)
      .exec(target.namespace, target.pod, target.container, target.argv, stdout, stderr, null, false, (status) => {
        if (status.status === "Success") exitCode = 0;
        else {
          const cause = status.details?.causes?.find((c) => c.reason === "ExitCode");
          exitCode = cause?.message ? Number(cause.message) : 1;
          if (!cause) err.push(Buffer.from(status.message ?? "exec failed"));
        }
      })
      .then((ws) => {
        // A hung command must not hang the deploy (the original's exec had no limit).
        const timer = setTimeout(() => {
          err.push(Buffer.from(`timed out after ${Math.round(target.timeoutMs / 1000)} s`));
          ws.close();
        }, target.timeoutMs);
        ws.on("close", () => {
          clearTimeout(timer);
          resolve({
            stdout: Buffer.concat(out).toString("utf8"),
            stderr: Buffer.concat(err).toString("utf8"),
            exitCode: exitCode ?? 1,
          });
        });
        ws.on("error", (e: Error) => reject(e));
      }, reject);
  });
}
