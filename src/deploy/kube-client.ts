/**
 * @kubernetes/client-node on first use: only exec and auth-provider plugins and hooks need
 * it (src/deploy/plugins.ts); everything else talks to the API without it, on any Node.
 */
import { checkNodeVersion, kubernetesClient } from "../node-version.ts";

/** KubeConfig and Exec of @kubernetes/client-node. Throws UserError on a Node.js the client cannot run on. */
export async function loadKubeClient(): Promise<typeof import("./kube-client-parts.ts")> {
  checkNodeVersion("nixlab's Kubernetes client", kubernetesClient);
  return await import("./kube-client-parts.ts");
}
