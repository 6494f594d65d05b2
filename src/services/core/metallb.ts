/** MetalLB: LoadBalancer addresses from metallbPool, announced over L2. */
import type { Service } from "../types.ts";
import { helmRelease, meta } from "../util.ts";

export const metallb: Service = (cluster) => {
  const ns = cluster.namespaces.metallb;
  return {
    releases: [
      // The original also set controller.metrics/speaker.metrics, which the chart does not
      // have (defect 11); only real chart keys are rendered.
      helmRelease(cluster, "metallb", ns, {
        prometheus: { serviceMonitor: { enabled: false }, prometheusRule: { enabled: false } },
      }),
      {
        key: "metallb-config",
        kind: "manifests",
        namespace: ns,
        secrets: [],
        objects: [
          {
            apiVersion: "metallb.io/v1beta1",
            kind: "IPAddressPool",
            metadata: meta("pool", ns),
            spec: { addresses: [cluster.config.metallbPool] },
          },
          {
            apiVersion: "metallb.io/v1beta1",
            kind: "L2Advertisement",
            metadata: meta("pool", ns),
            spec: { ipAddressPools: ["pool"] },
          },
        ],
      },
    ],
    secretRefs: [],
  };
};
