/** Pi-hole: the LAN's DNS server (and the VPN DNS's upstream) at piholeIp. */
import type { Service } from "../types.ts";
import { helmRelease, image, splitImage } from "../util.ts";

export const piholeAdminSecret = "pihole-admin";

export const pihole: Service = (cluster) => {
  const { piholeIp, upstreamDns, domain } = cluster.config;
  const ns = cluster.namespaces.pihole;
  const { repository, tag } = splitImage(image(cluster, "pihole"));
  return {
    releases: [
      helmRelease(
        cluster,
        "pihole",
        ns,
        {
          image: { repository, tag },
          DNS1: upstreamDns,
          persistentVolumeClaim: { enabled: true },
          replicaCount: cluster.config.replicas,
          monitoring: { enabled: false, serviceMonitor: { enabled: false } },
          // No chart Ingress: it served the admin UI over plain HTTP for any Host header
          // that reaches the ingress controller, the public port-forward included (issue 9).
          // pihole.<domain> (pihole-external-ingress) is HTTPS-only and LAN/VPN-only.
          ingress: { enabled: false },
          serviceWeb: {
            type: "LoadBalancer",
            loadBalancerIP: piholeIp,
            annotations: { "metallb.io/allow-shared-ip": "pihole-svc" },
          },
          serviceDns: {
            type: "LoadBalancer",
            loadBalancerIP: piholeIp,
            annotations: { "metallb.io/allow-shared-ip": "pihole-svc" },
          },
          // The web UI and API are password-protected with the pihole_password secret
          // (defect 22: the original ran them without a password).
          admin: { enabled: true, existingSecret: piholeAdminSecret, passwordKey: "password" },
          dnsmasq: {
            // nextcloud.<domain> → the VPN address is answered by the VPN's own DNS only
            // (defect 25); LAN clients get the ingress address from ExternalDNS.
            customDnsEntries: [`address=/pihole.home/${piholeIp}`],
            additionalHostsEntries: [
              `${piholeIp} pihole.home`,
              `${piholeIp} pihole.test`,
              `${piholeIp} pihole.${domain}`,
            ],
          },
        },
        [piholeAdminSecret],
      ),
    ],
    secretRefs: [
      {
        name: "pihole-admin-secret",
        secretName: piholeAdminSecret,
        secretKey: "password",
        namespace: ns,
        sopsSecret: "pihole_password",
      },
    ],
  };
};
