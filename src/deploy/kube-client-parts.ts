/**
 * The parts of @kubernetes/client-node the engine uses, named so that bundles keep only
 * them: `import("@kubernetes/client-node")` as a whole would keep all of its generated
 * API (17 MB of the 20 MB engine bundle, parsed at every deploy).
 */
export { Exec, KubeConfig } from "@kubernetes/client-node";
