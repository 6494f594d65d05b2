/** cloudflare-ddns: keeps vpn.<domain> and signal.<domain> pointed at the home's public IP. */
import type { Service } from "../types.ts";
import { configHashAnnotation, image, meta } from "../util.ts";
import { ddnsScript } from "./ddns-script.ts";
import { cloudflareTokenSecret } from "./externaldns.ts";

export const ddns: Service = (cluster) => {
  const ns = cluster.namespaces.dns;
  const { domain } = cluster.config;
  const scriptConfig = { "ddns.py": ddnsScript };
  return {
    releases: [
      {
        key: "cloudflare-ddns",
        kind: "manifests",
        namespace: ns,
        secrets: [cloudflareTokenSecret],
        objects: [
          { apiVersion: "v1", kind: "ConfigMap", metadata: meta("cloudflare-ddns", ns), data: scriptConfig },
          {
            apiVersion: "batch/v1",
            kind: "CronJob",
            metadata: meta("cloudflare-ddns", ns),
            spec: {
              schedule: "*/5 * * * *",
              concurrencyPolicy: "Forbid",
              successfulJobsHistoryLimit: 1,
              failedJobsHistoryLimit: 1,
              jobTemplate: {
                spec: {
                  backoffLimit: 2,
                  activeDeadlineSeconds: 240,
                  template: {
                    metadata: { annotations: configHashAnnotation(scriptConfig) },
                    spec: {
                      restartPolicy: "OnFailure",
                      // The token file is group-readable by the job's user only.
                      securityContext: { fsGroup: 65534 },
                      containers: [
                        {
                          name: "ddns",
                          image: image(cluster, "ddns"),
                          command: ["python3", "/app/ddns.py"],
                          env: [
                            { name: "DDNS_ZONE_HINT", value: domain },
                            { name: "DDNS_RECORDS", value: `vpn.${domain},signal.${domain}` },
                            { name: "DDNS_TOKEN_FILE", value: "/secrets/api-token" },
                          ],
                          securityContext: {
                            runAsNonRoot: true,
                            runAsUser: 65534,
                            allowPrivilegeEscalation: false,
                            readOnlyRootFilesystem: true,
                          },
                          volumeMounts: [
                            { name: "cf-token", mountPath: "/secrets", readOnly: true },
                            { name: "script", mountPath: "/app", readOnly: true },
                          ],
                        },
                      ],
                      volumes: [
                        {
                          name: "cf-token",
                          secret: { secretName: cloudflareTokenSecret, defaultMode: 0o440 },
                        },
                        { name: "script", configMap: { name: "cloudflare-ddns" } },
                      ],
                    },
                  },
                },
              },
            },
          },
        ],
      },
    ],
    secretRefs: [],
  };
};
