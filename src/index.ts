/** nixlab's library entry point: what a `nixlab.config.ts` and other programs import. */
export { defineConfig } from "./config/schema.ts";
export type { ClusterConfig, ClusterConfigInput } from "./config/schema.ts";
export { loadCluster } from "./config/load.ts";
export type { Cluster } from "./cluster/model.ts";
