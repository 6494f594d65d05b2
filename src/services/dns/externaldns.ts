/** ExternalDNS twice: LAN records into Pi-hole, opted-in public records into Cloudflare. */
import type { Service } from "../types.ts";
import { helmRelease } from "../util.ts";

export const cloudflareTokenSecret = "cloudflare-api-token";
export const piholeApiSecret = "pihole-api";
/** Objects with this annotation set to "true" are published on public DNS (defect 26). */
export const publicDnsAnnotation = "nixlab.dev/public-dns";

/** Only keys the external-dns chart 1.21 has (defect 26: args, rbac.rules, cloudflare.proxied were ignored). */
const base = (serviceAccount: string) => ({
  deploymentStrategy: { type: "Recreate" },
  // The original put fsGroup in the container securityContext, where it is not a field.
  podSecurityContext: { fsGroup: 65534 },
  sources: ["service", "ingress"],
  policy: "upsert-only",
  logLevel: "debug",
  serviceAccount: { create: true, name: serviceAccount },
  rbac: { create: true },
});

export const externalDns: Service = (cluster) => {
  const { domain, piholeIp } = cluster.config;
  const ns = cluster.namespaces.dns;
  return {
    releases: [
      helmRelease(
        cluster,
        "externaldns-pihole",
        ns,
        {
          ...base("external-dns-pihole"),
          provider: { name: "pihole" },
          // Pi-hole has no TXT records: ownership cannot be tracked, so no --txt-owner-id.
          registry: "noop",
          env: [
            { name: "EXTERNAL_DNS_PIHOLE_SERVER", value: `http://${piholeIp}` },
            {
              name: "EXTERNAL_DNS_PIHOLE_PASSWORD",
              valueFrom: { secretKeyRef: { name: piholeApiSecret, key: "password" } },
            },
          ],
          extraArgs: ["--pihole-api-version=6"],
        },
        [piholeApiSecret],
      ),
      helmRelease(
        cluster,
        "externaldns-cloudflare",
        ns,
        {
          ...base("external-dns-cloudflare"),
          provider: { name: "cloudflare" },
          registry: "txt",
          txtOwnerId: domain,
          domainFilters: [domain],
          env: [
            {
              name: "CF_API_TOKEN",
              valueFrom: { secretKeyRef: { name: cloudflareTokenSecret, key: "api-token" } },
            },
          ],
          extraArgs: [
            `--exclude-domains=signal.${domain}`,
            `--exclude-domains=nextcloud.${domain}`,
            // Publish only what is marked public, so LAN addresses never reach public DNS.
            `--annotation-filter=${publicDnsAnnotation}=true`,
            "--cloudflare-proxied",
          ],
        },
        [cloudflareTokenSecret],
      ),
    ],
    secretRefs: [
      {
        name: "pihole-api-secret",
        secretName: piholeApiSecret,
        secretKey: "password",
        namespace: ns,
        sopsSecret: "pihole_password",
      },
    ],
  };
};
