/** Access to the e2e testbed for tests: its kubeconfig, clients, or a clear skip/failure. */
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
