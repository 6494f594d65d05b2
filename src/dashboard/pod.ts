/**
 * The in-cluster dashboard's program (bundled into dashboard.mjs by `nixlab build`, run
 * by Node.js in the dashboard's pod). Reads site.json and its environment, talks to the
 * API as its own ServiceAccount, serves on PORT. A missing or weak token, or a bad
 * server key or endpoint, stops it before it listens.
 */
import { readFileSync } from "node:fs";
import { HttpKube } from "../deploy/http-kube.ts";
import { inClusterConnection } from "../deploy/kubeconfig.ts";
import type { Assets } from "./assets.ts";
import { clusterBackend } from "./cluster.ts";
import { dashboardTokenEnv } from "./protocol.ts";
import { serveDashboard, throttled } from "./server.ts";
import type { Site } from "./site.ts";

/** The page's files, put into the bundle by esbuild (see bundle.ts). */
declare const NIXLAB_DASHBOARD_ASSETS: Assets;

/** What the pod's environment must say; throws Error naming the variable that is missing. */
function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
}

async function main(): Promise<void> {
  const site = JSON.parse(readFileSync(required("NIXLAB_SITE"), "utf8")) as Site;
  // NIXLAB_SERVICEACCOUNT_DIR: where the token and CA are when the program runs outside a pod (tests).
  const saDir = process.env.NIXLAB_SERVICEACCOUNT_DIR;
  const reader = new HttpKube(inClusterConnection(process.env, ...(saDir ? [saDir] : [])), {
    requestTimeoutMs: 10_000,
  });
  const backend = clusterBackend({
    site,
    token: required(dashboardTokenEnv),
    server: { publicKey: required("NIXLAB_SERVER_PUBLIC_KEY"), endpoint: required("NIXLAB_SERVER_ENDPOINT") },
    reader,
    devicesNamespace: required("NIXLAB_DEVICES_NAMESPACE"),
  });
  backend.snapshot = throttled(backend.snapshot.bind(backend), 2000);
  const server = await serveDashboard({
    host: process.env.HOST ?? "0.0.0.0",
    port: Number(process.env.PORT ?? "8080"),
    assets: NIXLAB_DASHBOARD_ASSETS,
    backend,
    allowedHosts: null,
  });
  process.stdout.write(`nixlab dashboard for ${site.title} listening on ${server.url}\n`);
  const stop = () => {
    void server.close().then(() => {
      reader.close();
      process.exit(0);
    });
  };
  process.once("SIGTERM", stop);
  process.once("SIGINT", stop);
}

main().catch((error: unknown) => {
  process.stderr.write(`nixlab dashboard cannot start: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
