/**
 * The in-cluster dashboard's code: src/dashboard/pod.ts and the page, bundled by esbuild
 * into one ES module that the pod's stock Node.js image runs from a ConfigMap (so it
 * stays well under a ConfigMap's 1 MiB). Deterministic for the same sources and esbuild
 * version, like the engine bundle.
 */
import { fileURLToPath } from "node:url";
import type { Cluster } from "../cluster/model.ts";
import type { CatalogInputs } from "../services/catalog.ts";
import { bundleAssets, loadEsbuild } from "./assets.ts";

/** The largest bundle a ConfigMap holds with room to spare (its data may total 1 MiB). */
export const maxPodBundleBytes = 900 * 1024;

const root = new URL("../../", import.meta.url);

/** Bundles the pod's program with the page inside. Throws UserError when esbuild is missing; Error when it grew too big. */
export async function bundleDashboardPod(): Promise<string> {
  const esbuild = await loadEsbuild("the in-cluster dashboard");
  const assets = await bundleAssets();
  const result = await esbuild.build({
    entryPoints: [fileURLToPath(new URL("src/dashboard/pod.ts", root))],
    absWorkingDir: fileURLToPath(root),
    bundle: true,
    platform: "node",
    format: "esm",
    // The pod's image runs Node 24; 22 keeps the bundle runnable on the nodes' Node too.
    target: "node22",
    minify: true,
    write: false,
    legalComments: "none",
    logLevel: "silent",
    // Only exec and credential plugins load the Kubernetes client library; the pod uses neither.
    // Its parts' module stays a dynamic import too: inlined, it would import the library up front.
    external: ["@kubernetes/client-node", "esbuild", "*/kube-client-parts.ts"],
    define: { NIXLAB_DASHBOARD_ASSETS: JSON.stringify(assets) },
    // CommonJS dependencies (qrcode) call require(); give the ES module one.
    banner: {
      js: "import { createRequire as __nixlabRequire } from 'node:module';const require = __nixlabRequire(import.meta.url);",
    },
  });
  const code = result.outputFiles[0]?.text;
  if (!code) throw new Error("esbuild produced no output for the in-cluster dashboard");
  if (Buffer.byteLength(code) > maxPodBundleBytes) {
    throw new Error(`the in-cluster dashboard's bundle is ${Buffer.byteLength(code)} bytes, over ${maxPodBundleBytes}`);
  }
  return code;
}

/**
 * What rendering `cluster` needs besides the cluster: the dashboard's bundle when the
 * in-cluster dashboard is on (so that build, plan and check render the same bytes).
 */
export async function catalogInputs(cluster: Cluster): Promise<CatalogInputs> {
  return cluster.config.dashboard.enabled ? { dashboardCode: await bundleDashboardPod() } : {};
}
