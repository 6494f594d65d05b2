/** Shared helpers of the node tests: the example cluster, rendered into a directory. */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Cluster } from "../../src/cluster/model.ts";
import { loadCluster } from "../../src/config/load.ts";
import { type NodeRenderResult, renderNodeFiles } from "../../src/nodes/render.ts";

export const repoRoot = fileURLToPath(new URL("../../", import.meta.url));
export const exampleDir = join(repoRoot, "examples", "homelab");
export const fixturesDir = fileURLToPath(new URL("./fixtures/", import.meta.url));

/** Stand-ins for the files other parts of `build` provide; fixed so the output is stable. */
/** A stand-in SOPS file: ciphertext-shaped values and a sops section (the build copies only encrypted files). */
export const fakeSecrets = [
  "k3s_token: ENC[AES256_GCM,data:c3RhbmQtaW4=,iv:aXY=,tag:dGFn,type:str]",
  "sops:",
  "  age:",
  "    - recipient: age1stand-in",
  "      enc: stand-in",
  '  lastmodified: "2025-01-01T00:00:00Z"',
  "  mac: ENC[AES256_GCM,data:bWFj,iv:aXY=,tag:dGFn,type:str]",
  "  version: 3.13.3",
  "",
].join("\n");
export const fakeEngine = "// stand-in for the bundled engine\n";

export async function exampleCluster(): Promise<Cluster> {
  return loadCluster({ config: join(exampleDir, "nixlab.config.ts") });
}

export function renderExample(cluster: Cluster): NodeRenderResult {
  return renderNodeFiles(cluster, {
    clusterDir: "examples/homelab",
    readHardwareConfig: (hostname) => {
      const path = join(exampleDir, "hosts", hostname, "hardware-configuration.nix");
      return existsSync(path) ? readFileSync(path, "utf8") : null;
    },
    readClusterFile: (path) => (path === "secrets.yaml" || path === "secrets.agents.yaml" ? fakeSecrets : null),
    engineBundle: fakeEngine,
  });
}

/** Writes rendered files (plus a stand-in deploy plan and manifests) to a fresh directory. */
export function writeBuild(result: NodeRenderResult): string {
  const dir = mkdtempSync(join(tmpdir(), "nixlab-nodes-build-"));
  for (const file of result.files) {
    mkdirSync(dirname(join(dir, file.path)), { recursive: true });
    writeFileSync(join(dir, file.path), file.content);
  }
  writeFileSync(join(dir, "deploy-plan.json"), "{}\n");
  mkdirSync(join(dir, "manifests"), { recursive: true });
  writeFileSync(join(dir, "manifests", "longhorn.yaml"), "---\n");
  return dir;
}

/** Runs the real nix-instantiate (Debian nix-bin) without touching a store. */
export function nixInstantiate(args: string[]): string {
  return execFileSync("nix-instantiate", ["--readonly-mode", ...args], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, NIX_REMOTE: "", NIX_CONFIG: "build-users-group =" },
  });
}
