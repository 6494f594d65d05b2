/**
 * The NixOS side of nixlab: node specs, the files `build` writes for them, and rolling
 * configurations out to the machines.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { Cluster } from "../cluster/model.ts";
import { UserError } from "../errors.ts";
import type { AgeIdentity } from "../secrets/age.ts";
import { discoverIdentities } from "../secrets/identities.ts";
import { bundleEngineCached } from "./engine.ts";
import { type AgentSecretsSync, syncAgentSecrets } from "./node-secrets.ts";
import { agentSecretsFile, masterSecretsFile } from "./spec.ts";
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

/**
 * `build`'s NixOS part in one call: bring secrets.agents.yaml up to date with
 * secrets.yaml (when the cluster has agents), read the inputs, then render.
 * `identities` open secrets.yaml (default: found like sops finds them).
 */
export async function buildNodeFiles(
  cluster: Cluster,
  clusterDir: string,
  identities?: readonly AgeIdentity[],
): Promise<NodeRenderResult> {
  const notes = cluster.agents.length > 0 ? await refreshAgentSecrets(clusterDir, identities) : [];
  const result = renderNodeFiles(cluster, await loadNodeInputs(clusterDir));
  return { ...result, warnings: [...notes, ...result.warnings] };
}

/** syncAgentSecrets when a key opens secrets.yaml; otherwise a warning (render reports a missing file). */
async function refreshAgentSecrets(clusterDir: string, identities?: readonly AgeIdentity[]): Promise<string[]> {
  if (!existsSync(join(clusterDir, masterSecretsFile))) return [];
  let keys = identities;
  try {
    keys ??= await discoverIdentities();
    if (keys.length === 0) throw new UserError("no age key found");
    const sync = await syncAgentSecrets(clusterDir, keys);
    return sync.written ? [`${agentSecretsFile} updated from ${masterSecretsFile} (${describeSync(sync)})`] : [];
  } catch (error) {
    if (!(error instanceof UserError)) throw error;
    if (!existsSync(join(clusterDir, agentSecretsFile))) return [];
    return [
      `${agentSecretsFile} was not checked against ${masterSecretsFile} (${error.message}); ` +
        "if you changed k3s_token or user_password, build with your age key (SOPS_AGE_KEY_FILE) so the agents get them",
    ];
  }
}

function describeSync(sync: AgentSecretsSync): string {
  const parts = [
    ...(sync.created ? ["created"] : []),
    ...(sync.changed.length > 0 ? [`values: ${sync.changed.join(", ")}`] : []),
    ...(sync.recipientsChanged ? ["recipients from .sops.yaml"] : []),
  ];
  return parts.join("; ");
}

/** What would stop `build` from writing the NixOS side (hardware configs, secrets files), and its warnings, without bundling the engine. */
export function nodeInputProblems(cluster: Cluster, clusterDir: string): string[] {
  const result = renderNodeFiles(cluster, {
    clusterDir,
    readHardwareConfig: (hostname) => readIfExists(join(clusterDir, hardwareConfigPath(hostname))),
    readClusterFile: (relativePath) => readIfExists(join(clusterDir, relativePath)),
    // The bundle is build's own output, not an input a user can be missing.
    engineBundle: "",
  });
  return [...result.problems, ...result.warnings];
}
