/** ingress-nginx: the cluster's HTTP(S) entry at nginxIp. */
import type { Service } from "../types.ts";
import { helmRelease } from "../util.ts";

/**
 * Request headers the controller blanks before proxying to any backend. An empty
 * proxy_set_header value makes nginx drop the header, so a client can never send the
 * identity header Nextcloud's VPN SSO trusts (defect 21). Only the VPN's sign-in proxy
 * sets it, through the token gate (apps/nextcloud-sso-gate.ts).
 */
export const strippedRequestHeaders = { "X-Remote-User": "" };

export const ingressNginx: Service = (cluster) => ({
  releases: [
    helmRelease(cluster, "ingress-nginx", cluster.namespaces.nginx, {
      controller: {
        service: {
          type: "LoadBalancer",
          loadBalancerIP: cluster.config.nginxIp,
          externalTrafficPolicy: "Local",
          annotations: { "metallb.io/allow-shared-ip": "nginx-svc" },
        },
        resources: { requests: { cpu: "200m", memory: "256Mi" }, limits: { cpu: "1000m", memory: "1Gi" } },
        config: {
          "keep-alive": "75",
          "keep-alive-requests": "100",
          "proxy-body-size": "50m",
          "server-tokens": "false",
          "ssl-protocols": "TLSv1.2 TLSv1.3",
          "ssl-ciphers": "HIGH:!aNULL:!MD5",
          // Clients' X-Forwarded-For is never believed: nothing trusted proxies in front of
          // the controller (MetalLB hands it the client's own address, externalTrafficPolicy
          // Local), and a forged one would defeat source-address rules (issue 9).
          "use-forwarded-headers": "false",
          "proxy-buffer-size": "16k",
          "client-header-buffer-size": "16k",
          "large-client-header-buffers": "4 16k",
          "enable-ocsp": "true",
          hsts: "true",
          "hsts-include-subdomains": "true",
          "hsts-max-age": "31536000",
          // Snippet annotations let anyone who can create an Ingress inject nginx
          // configuration (defect 23): off, and the risk level back to the default.
          "allow-snippet-annotations": "false",
          "annotations-risk-level": "High",
          // Headers with "_" would reach PHP as HTTP_X_REMOTE_USER too: keep them dropped.
          "enable-underscores-in-headers": "false",
        },
        proxySetHeaders: strippedRequestHeaders,
        ingressClassResource: {
          name: "nginx",
          enabled: true,
          default: true,
          controllerValue: "k8s.io/ingress-nginx",
          parameters: {},
        },
        ingressClass: "nginx",
        // The Signal proxy's Ingress passes TLS through untouched.
        extraArgs: { "enable-ssl-passthrough": "" },
        metrics: { enabled: false, serviceMonitor: { enabled: false } },
      },
    }),
  ],
  secretRefs: [],
});
