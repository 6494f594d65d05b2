/** cert-manager and the Let's Encrypt ClusterIssuers (DNS-01 through Cloudflare). */
import type { K8sObject, Service } from "../types.ts";
import { helmRelease, meta } from "../util.ts";
import { cloudflareTokenSecret } from "./externaldns.ts";

export const acmeServers = {
  "letsencrypt-staging": "https://acme-staging-v02.api.letsencrypt.org/directory",
  "letsencrypt-prod": "https://acme-v02.api.letsencrypt.org/directory",
} as const;
export const defaultIssuer = "letsencrypt-prod";

export const certManager: Service = (cluster) => {
  const ns = cluster.namespaces.dns;
  const issuer = (name: keyof typeof acmeServers): K8sObject => ({
    apiVersion: "cert-manager.io/v1",
    kind: "ClusterIssuer",
    metadata: meta(name),
    spec: {
      acme: {
        server: acmeServers[name],
        // A real field, from the cluster file (the original's emailSecretRef is not one: defect 11).
        ...(cluster.config.acmeEmail ? { email: cluster.config.acmeEmail } : {}),
        privateKeySecretRef: { name },
        solvers: [{ dns01: { cloudflare: { apiTokenSecretRef: { name: cloudflareTokenSecret, key: "api-token" } } } }],
      },
    },
  });
  return {
    releases: [
      helmRelease(cluster, "cert-manager", ns, {
        crds: { enabled: true, keep: true },
        prometheus: { enabled: false, servicemonitor: { enabled: false } },
        resources: { requests: { cpu: "100m", memory: "128Mi" }, limits: { cpu: "200m", memory: "256Mi" } },
        // Keeps leader election inside the release namespace instead of kube-system.
        global: { leaderElection: { namespace: ns } },
        startupapicheck: { timeout: "5m" },
        webhook: { timeoutSeconds: 30 },
      }),
      {
        key: "cert-manager-issuers",
        kind: "manifests",
        namespace: ns,
        secrets: [cloudflareTokenSecret],
        objects: [issuer("letsencrypt-staging"), issuer("letsencrypt-prod")],
      },
    ],
    secretRefs: [
      {
        name: "cloudflare-api-token-secret",
        secretName: cloudflareTokenSecret,
        secretKey: "api-token",
        namespace: ns,
        sopsSecret: "cloudflare_token",
      },
    ],
  };
};
