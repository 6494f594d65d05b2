/** The build pipeline: cluster → catalog → rendered files. Pure. */
import type { Cluster } from "../cluster/model.ts";
import { buildCatalog } from "../services/catalog.ts";
import { type Rendered, renderPlan } from "./plan.ts";

export function renderCluster(cluster: Cluster): Rendered {
  return renderPlan(cluster, buildCatalog(cluster));
}
