/** Access to the e2e testbed for tests: its kubeconfig, or a clear skip/failure. */
import { Kube } from "../../src/deploy/kube.ts";
import { installCrds } from "../../testbed/helm-standin.ts";

export const kubeconfig = process.env.NIXLAB_TEST_KUBECONFIG;
export const e2eRequired = process.env.NIXLAB_E2E === "1";
export const crdDir = new URL("../../.testbed/crds", import.meta.url).pathname;
export const root = new URL("../..", import.meta.url).pathname;

if (!kubeconfig && e2eRequired) {
  throw new Error("NIXLAB_E2E=1 but there is no testbed: run `npm run setup`, or set NIXLAB_TEST_KUBECONFIG");
}

/** A client on the testbed with the k3s HelmChart CRD installed (k3s has it built in). */
export async function testbedKube(): Promise<Kube> {
  const kube = await Kube.connect({ kubeconfig: kubeconfig! });
  await installCrds(kube, crdDir, ["helm.cattle.io_"]);
  return kube;
}
