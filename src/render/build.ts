/** The build pipeline: cluster → catalog → rendered files. Pure. */
import type { Cluster } from "../cluster/model.ts";
import { ExitCode, UserError } from "../errors.ts";
import { buildCatalog, type CatalogInputs } from "../services/catalog.ts";
import { type Rendered, renderPlan } from "./plan.ts";
import { privateKeyMaterial } from "./private-keys.ts";

/**
 * Renders the cluster's Kubernetes side (`inputs`: files only `nixlab build` makes). Throws UserError (exit 2) when the output would
 * hold private key material (see privateKeyMaterial), naming where but not the key.
 */
export function renderCluster(cluster: Cluster, inputs: CatalogInputs = {}): Rendered {
  const rendered = renderPlan(cluster, buildCatalog(cluster, inputs));
  const keys = privateKeyMaterial(rendered.files);
  if (keys.length > 0) {
    throw new UserError(`${cluster.source}: refusing to render private key material into the build output`, {
      exitCode: ExitCode.invalidInput,
      details: [
        ...keys.map((k) => `  ${k}`),
        "  a key must never reach Kubernetes objects or the nodes' Nix store: find the field that carries it",
        "  (e.g. a builtins.readFile of a key file in vars.nix) and keep the key in secrets.yaml instead",
      ],
    });
  }
  return rendered;
}
