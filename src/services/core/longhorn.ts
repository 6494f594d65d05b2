/** Longhorn: replicated block storage on every node's /var/lib/longhorn (services.md §2.4). */
import type { Service } from "../types.ts";
import { helmRelease } from "../util.ts";

export const longhorn: Service = (cluster) => ({
  releases: [
    helmRelease(cluster, "longhorn", cluster.namespaces.longhorn, {
      persistence: { defaultClass: true, defaultClassReplicaCount: 3 },
      defaultSettings: {
        // Nodes carry node.longhorn.io/create-default-disk=true (set by the NixOS k3s module).
        createDefaultDiskLabeledNodes: true,
        defaultDataPath: "/var/lib/longhorn",
        backupstorePollInterval: 300,
        replicaSoftAntiAffinity: true,
        replicaAutoBalance: "best-effort",
      },
    }),
  ],
  secretRefs: [],
});
