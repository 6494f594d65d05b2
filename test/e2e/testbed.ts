/** Access to the e2e testbed for tests: its kubeconfig, clients, or a clear skip/failure. */
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { HttpKube, type HttpKubeOptions } from "../../src/deploy/http-kube.ts";
import { loadKubeconfig } from "../../src/deploy/kubeconfig.ts";
import { installCrds } from "../../testbed/helm-standin.ts";

export const kubeconfig = process.env.NIXLAB_TEST_KUBECONFIG;
export const e2eRequired = process.env.NIXLAB_E2E === "1";
export const crdDir = new URL("../../.testbed/crds", import.meta.url).pathname;
export const root = new URL("../..", import.meta.url).pathname;

if (!kubeconfig && e2eRequired) {
  throw new Error("NIXLAB_E2E=1 but there is no testbed: run `npm run setup`, or set NIXLAB_TEST_KUBECONFIG");
}

/** A client for the kubeconfig at `path` (the testbed's, or a proxy's). */
export function connectKube(path: string, options: HttpKubeOptions = {}): HttpKube {
  return new HttpKube(loadKubeconfig({ kubeconfig: path }), options);
}

/** A client on the testbed with the k3s HelmChart CRD installed (k3s has it built in). */
export async function testbedKube(): Promise<HttpKube> {
  const kube = connectKube(kubeconfig!);
  await installCrds(kube, crdDir, ["helm.cattle.io_"]);
  return kube;
}

/**
 * Runs testbed/SCRIPT (up.sh, down.sh, restart.sh …) for a private testbed in `dir`, for
 * tests that stop its API or break it (nobody else shares it). Returns the last line it
 * printed (up.sh: the kubeconfig). Throws with the script's last words when it fails.
 */
export function privateTestbed(dir: string, script: string, ...args: string[]): string {
  const r = spawnSync("bash", [join(root, "testbed", script), ...args], {
    encoding: "utf8",
    env: { ...process.env, NIXLAB_TESTBED_DIR: dir },
  });
  if (r.status !== 0)
    throw new Error(`testbed/${script} ${args.join(" ")} failed: ${r.stderr.trim().split("\n").slice(-3).join(" | ")}`);
  return r.stdout.trim().split("\n").pop() ?? "";
}
