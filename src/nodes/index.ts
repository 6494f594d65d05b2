/**
 * The NixOS side of nixlab: node specs, the files `build` writes for them, and rolling
 * configurations out to the machines.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { Cluster } from "../cluster/model.ts";
import { bundleEngineCached } from "./engine.ts";
import { type NodeRenderInputs, type NodeRenderResult, hardwareConfigPath, renderNodeFiles } from "./render.ts";

export { bundleEngine, bundleEngineCached } from "./engine.ts";
export {
  type NodeRenderInputs,
  type NodeRenderResult,
  type RenderedFile,
  engineBundlePath,
  hardwareConfigPath,
  nodeSpecJson,
  renderNodeFiles,
} from "./render.ts";
export { type NodeSpec, nodeSpec, nodeSpecProblems, nodeSpecSchema, nodeSpecs } from "./spec.ts";

const readIfExists = (path: string): string | null => (existsSync(path) ? readFileSync(path, "utf8") : null);

/** The inputs of renderNodeFiles read from disk: files next to the cluster file, and the engine bundle. */
export async function loadNodeInputs(clusterDir: string): Promise<NodeRenderInputs> {
  return {
    clusterDir,
    readHardwareConfig: (hostname) => readIfExists(join(clusterDir, hardwareConfigPath(hostname))),
    readClusterFile: (relativePath) => readIfExists(join(clusterDir, relativePath)),
    engineBundle: await bundleEngineCached(),
  };
}

/** `build`'s NixOS part in one call: read the inputs, then render. */
export async function buildNodeFiles(cluster: Cluster, clusterDir: string): Promise<NodeRenderResult> {
  return renderNodeFiles(cluster, await loadNodeInputs(clusterDir));
}

/** What would stop `build` from writing the NixOS side (hardware configs, secrets.yaml), without bundling the engine. */
export function nodeInputProblems(cluster: Cluster, clusterDir: string): string[] {
  return renderNodeFiles(cluster, {
    clusterDir,
    readHardwareConfig: (hostname) => readIfExists(join(clusterDir, hardwareConfigPath(hostname))),
    readClusterFile: (relativePath) => readIfExists(join(clusterDir, relativePath)),
    // The bundle is build's own output, not an input a user can be missing.
    engineBundle: "",
  }).problems;
}
