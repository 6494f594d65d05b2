/**
 * The NixOS half of `nixlab build`: flake.nix, nodes/<hostname>.json, the static
 * modules, each node's hardware configuration, the encrypted secrets file and the
 * bundled deploy engine. Pure: everything it reads comes in through `inputs`.
 */
import type { Cluster } from "../cluster/model.ts";
import type { RenderedFile } from "../render/plan.ts";
import { privateKeyMaterial } from "../render/private-keys.ts";
import { inspectEncryption } from "../secrets/inspect.ts";
import { requiredSecrets } from "../services/required-secrets.ts";
import { type NodeSpec, nodeSpecProblems, nodeSpecs } from "./spec.ts";
import { staticFile, staticModules } from "./static.ts";

export interface NodeRenderInputs {
  /** Directory of the cluster file (hardware configs and secrets.yaml live next to it). */
  clusterDir: string;
  /** Text of <clusterDir>/hosts/<hostname>/hardware-configuration.nix, or null if absent. */
  readHardwareConfig: (hostname: string) => string | null;
  /** Text of a file next to the cluster file (secrets.yaml, flake.lock), or null if absent. */
  readClusterFile?: (relativePath: string) => string | null;
  /** The bundled deploy engine (see bundleEngine); without it the master cannot be built. */
  engineBundle?: string;
}

export interface NodeRenderResult {
  files: RenderedFile[];
  problems: string[];
  /** The spec of every node, in cluster order (what nodes/<hostname>.json holds). */
  specs: NodeSpec[];
}

export type { RenderedFile };

export const hardwareConfigPath = (hostname: string): string => `hosts/${hostname}/hardware-configuration.nix`;
export const engineBundlePath = "engine/nixlab.mjs";

/** Serialises a NodeSpec as written to nodes/<hostname>.json. */
export function nodeSpecJson(spec: NodeSpec): string {
  return `${JSON.stringify(spec, null, 2)}\n`;
}

/** Every NixOS file of the build, plus what stops the flake from building. Pure. */
export function renderNodeFiles(cluster: Cluster, inputs: NodeRenderInputs): NodeRenderResult {
  const files: RenderedFile[] = [];
  const problems: string[] = [];
  const specs = nodeSpecs(cluster);

  files.push({ path: "flake.nix", content: staticFile("flake.nix") });
  for (const name of staticModules) files.push({ path: `nix/${name}`, content: staticFile(name) });

  for (const spec of specs) {
    problems.push(...nodeSpecProblems(spec, `node ${spec.name}`));
    files.push({ path: `nodes/${spec.hostname}.json`, content: nodeSpecJson(spec) });
    const hardware = inputs.readHardwareConfig(spec.hostname);
    if (hardware === null) {
      problems.push(
        `node ${spec.name}: ${hardwareConfigPath(spec.hostname)} is missing next to the cluster file (in ${inputs.clusterDir}). ` +
          `Produce it on the machine itself (booted from the NixOS installer) with ` +
          `\`nixos-generate-config --show-hardware-config --no-filesystems > hosts/${spec.hostname}/hardware-configuration.nix\` ` +
          "and copy it there (the disk layout comes from nixlab, hence --no-filesystems).",
      );
    } else {
      files.push({ path: hardwareConfigPath(spec.hostname), content: hardware });
    }
  }

  const secrets = inputs.readClusterFile?.("secrets.yaml") ?? null;
  if (secrets === null) {
    problems.push(
      `secrets.yaml is missing next to the cluster file (in ${inputs.clusterDir}); the nodes decrypt their secrets from it. ` +
        "Create it with `nixlab secrets init`.",
    );
  } else {
    // The build is copied into every node's world-readable Nix store: only ciphertext may go there.
    const { problems: plaintext } = inspectEncryption(
      secrets,
      "secrets.yaml",
      requiredSecrets(cluster).map((r) => r.name),
    );
    if (plaintext.length === 0) files.push({ path: "secrets.yaml", content: secrets });
    else
      problems.push(
        `secrets.yaml (in ${inputs.clusterDir}) is not fully SOPS-encrypted, so it is not copied into the build: ${plaintext.join("; ")}`,
      );
  }
  // A lock kept next to the cluster file pins nixpkgs and the other inputs across builds.
  const lock = inputs.readClusterFile?.("flake.lock") ?? null;
  if (lock !== null) files.push({ path: "flake.lock", content: lock });

  // The engine bundle is nixlab's own code; everything else here comes from the user's files.
  for (const hit of privateKeyMaterial(files))
    problems.push(`${hit}: refusing to put private key material into the build (it reaches every node's Nix store)`);

  if (inputs.engineBundle === undefined) {
    problems.push(
      `the deploy engine was not bundled (${engineBundlePath}); the master ${cluster.master.hostname} needs it`,
    );
  } else {
    files.push({ path: engineBundlePath, content: inputs.engineBundle });
  }
  return { files, problems, specs };
}
