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
import { type NodeSpec, agentSecretsFile, masterSecretsFile, nodeSpecProblems, nodeSpecs } from "./spec.ts";
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
  /** What builds but may hurt later (e.g. a disk named /dev/sdX), one line each. */
  warnings: string[];
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
  const warnings = specs.flatMap(diskWarnings);

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

  // The build is copied into every node's world-readable Nix store: only ciphertext may go there.
  const mustEncrypt = requiredSecrets(cluster).map((r) => r.name);
  const copyEncrypted = (path: string, text: string) => {
    const { problems: plaintext } = inspectEncryption(text, path, mustEncrypt);
    if (plaintext.length === 0) files.push({ path, content: text });
    else
      problems.push(
        `${path} (in ${inputs.clusterDir}) is not fully SOPS-encrypted, so it is not copied into the build: ${plaintext.join("; ")}`,
      );
  };
  const secrets = inputs.readClusterFile?.(masterSecretsFile) ?? null;
  if (secrets === null) {
    problems.push(
      `${masterSecretsFile} is missing next to the cluster file (in ${inputs.clusterDir}); the nodes decrypt their secrets from it. ` +
        "Create it with `nixlab secrets init`.",
    );
  } else {
    copyEncrypted(masterSecretsFile, secrets);
  }
  if (specs.some((s) => s.sops.file === agentSecretsFile)) {
    const agentSecrets = inputs.readClusterFile?.(agentSecretsFile) ?? null;
    if (agentSecrets === null) {
      problems.push(
        `${agentSecretsFile} is missing next to the cluster file (in ${inputs.clusterDir}); the agents decrypt their secrets from it. ` +
          `\`nixlab build\` derives it from ${masterSecretsFile} when one of your age keys opens that file: ` +
          "pass --age-key-file or set SOPS_AGE_KEY_FILE.",
      );
    } else {
      copyEncrypted(agentSecretsFile, agentSecrets);
    }
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
  return { files, problems, warnings, specs };
}

/** Kernel disk names (sda, vdb, hdc) follow probe order, which can change between boots. */
function diskWarnings(spec: NodeSpec): string[] {
  const m = /^\/dev\/([shv]d[a-z]+)$/.exec(spec.disk.device);
  if (!m) return [];
  return [
    `node ${spec.name}: disk ${spec.disk.device} is a kernel name that can point at another disk after a reboot or a new disk; ` +
      `install and GRUB then use the wrong one. Use its stable name: \`ls -l /dev/disk/by-id/ | grep ${m[1]}\` on the machine, ` +
      `and set nodes.${spec.name}.disk to /dev/disk/by-id/<that name>.`,
  ];
}
