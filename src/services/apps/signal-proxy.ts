/** Signal TLS proxy at signal.<domain>: ingress TLS passthrough to nginx's stream proxy. */
import { defaultIssuer } from "../dns/cert-manager.ts";
import type { Service } from "../types.ts";
import { configHashAnnotation, image, meta } from "../util.ts";

export const signalHosts = [
  "chat.signal.org",
  "storage.signal.org",
  "cdn.signal.org",
  "cdn2.signal.org",
  "cdn3.signal.org",
  "cdsi.signal.org",
  "contentproxy.signal.org",
  "grpc.chat.signal.org",
  "sfu.voip.signal.org",
  "svr2.signal.org",
  "svrb.signal.org",
  "updates.signal.org",
  "updates2.signal.org",
];

export function signalNginxConf(): string {
  const width = Math.max(...signalHosts.map((h) => h.length));
  return `error_log stderr info;

events {
    worker_connections 4096;
}

stream {
    log_format proxy '$remote_addr [$time_local] $protocol $status $bytes_sent $bytes_received $session_time';
    access_log /dev/stdout proxy;

    resolver 1.1.1.1 8.8.8.8 valid=300s;
    resolver_timeout 10s;

    # Outer TLS, terminated with the signal.<domain> certificate.
    server {
        listen 443 ssl;
        ssl_certificate /etc/ssl/signal/tls.crt;
        ssl_certificate_key /etc/ssl/signal/tls.key;
        ssl_protocols TLSv1.2 TLSv1.3;
        proxy_pass 127.0.0.1:4433;
        proxy_connect_timeout 30s;
        proxy_timeout 600s;
    }

    # Inner TLS from the Signal app: routed by SNI to Signal's servers only.
    map $ssl_preread_server_name $signal_upstream {
${signalHosts.map((h) => `        ${h.padEnd(width)} ${h}:443;`).join("\n")}
        ${"default".padEnd(width)} 127.0.0.1:9;
    }

    server {
        listen 127.0.0.1:4433;
        ssl_preread on;
        proxy_pass $signal_upstream;
        proxy_connect_timeout 30s;
        proxy_timeout 600s;
    }
}
`;
}

/**
 * nginx never rereads certificates by itself: reload every 6 hours so a renewed
 * certificate is served long before the old one expires (defect 29).
 */
const runScript = `nginx -c /etc/nginx/signal/nginx.conf -g 'daemon off;' &
pid=$!
trap 'kill "$pid"' TERM INT
( while sleep 21600; do nginx -c /etc/nginx/signal/nginx.conf -s reload; done ) &
wait "$pid"
`;

export const signalProxy: Service = (cluster) => {
  const ns = cluster.namespaces.signalProxy;
  const host = `signal.${cluster.config.domain}`;
  const labels = { app: "signal-proxy" };
  const data = { "nginx.conf": signalNginxConf() };
  return {
    releases: [
      {
        key: "signal-proxy",
        kind: "manifests",
        namespace: ns,
        secrets: [],
        objects: [
          {
            apiVersion: "cert-manager.io/v1",
            kind: "Certificate",
            metadata: meta("signal-proxy-tls", ns),
            spec: {
              dnsNames: [host],
              secretName: "signal-proxy-tls",
              issuerRef: { kind: "ClusterIssuer", name: defaultIssuer },
            },
          },
          { apiVersion: "v1", kind: "ConfigMap", metadata: meta("signal-proxy-config", ns), data },
          {
            apiVersion: "apps/v1",
            kind: "Deployment",
            metadata: meta("signal-proxy", ns, { labels }),
            // No replicas: the HorizontalPodAutoscaler owns the count (defect 34).
            spec: {
              selector: { matchLabels: labels },
              template: {
                metadata: { labels, annotations: configHashAnnotation(data) },
                spec: {
                  containers: [
                    {
                      name: "signal-proxy",
                      image: image(cluster, "signalProxy"),
                      command: ["/bin/sh", "-c", runScript],
                      ports: [{ name: "tcp", containerPort: 443, protocol: "TCP" }],
                      resources: {
                        requests: { cpu: "10m", memory: "16Mi" },
                        limits: { cpu: "100m", memory: "64Mi" },
                      },
                      // A directory mount (not subPath) so config updates reach the pod.
                      volumeMounts: [
                        { name: "config", mountPath: "/etc/nginx/signal", readOnly: true },
                        { name: "tls", mountPath: "/etc/ssl/signal", readOnly: true },
                      ],
                    },
                  ],
                  volumes: [
                    { name: "config", configMap: { name: "signal-proxy-config" } },
                    { name: "tls", secret: { secretName: "signal-proxy-tls" } },
                  ],
                },
              },
            },
          },
          {
            apiVersion: "v1",
            kind: "Service",
            metadata: meta("signal-proxy", ns),
            spec: {
              type: "ClusterIP",
              selector: labels,
              ports: [{ name: "tcp", port: 443, targetPort: 443, protocol: "TCP" }],
            },
          },
          {
            apiVersion: "networking.k8s.io/v1",
            kind: "Ingress",
            metadata: meta("signal-proxy", ns, {
              annotations: { "nginx.ingress.kubernetes.io/ssl-passthrough": "true" },
            }),
            spec: {
              ingressClassName: "nginx",
              rules: [
                {
                  host,
                  http: {
                    paths: [
                      {
                        path: "/",
                        pathType: "Prefix",
                        backend: { service: { name: "signal-proxy", port: { number: 443 } } },
                      },
                    ],
                  },
                },
              ],
            },
          },
          {
            apiVersion: "autoscaling/v2",
            kind: "HorizontalPodAutoscaler",
            metadata: meta("signal-proxy", ns),
            spec: {
              scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: "signal-proxy" },
              minReplicas: 1,
              maxReplicas: 5,
              metrics: [
                {
                  type: "Resource",
                  resource: { name: "memory", target: { type: "Utilization", averageUtilization: 75 } },
                },
                {
                  type: "Resource",
                  resource: { name: "cpu", target: { type: "Utilization", averageUtilization: 70 } },
                },
              ],
            },
          },
        ],
      },
    ],
    secretRefs: [],
  };
};
