/** Loads the Kubernetes client on first use (only the commands that talk to the cluster pay for it). */
import { checkNodeVersion, kubernetesClient } from "../node-version.ts";

/** KubeConfig and Exec of @kubernetes/client-node. Throws UserError on a Node.js the client cannot run on. */
export async function loadKubeClient(): Promise<typeof import("./kube-client-parts.ts")> {
  checkNodeVersion("nixlab's Kubernetes client", { node: kubernetesClient.node });
  return await import("./kube-client-parts.ts");
}
