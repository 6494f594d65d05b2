// The schema validator the catalog tests rely on: it must accept correct objects of
// every kind nixlab renders and catch the mistakes the apiserver would silently drop
// or reject. Runs against the real schemas fetched by scripts/setup.d/15-schemas.sh.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, test } from "vitest";
import { parseAllDocuments } from "yaml";
import { defaultSchemaPaths, type K8sValidator, loadK8sValidator, schemasPresent } from "../support/k8s-schema.ts";

const present = schemasPresent();
const e2e = process.env.NIXLAB_E2E === "1";

if (!present && e2e) {
  test("Kubernetes schemas are installed (NIXLAB_E2E=1 never skips)", () => {
    throw new Error("schemas missing under .testbed/; run: bash scripts/setup.d/15-schemas.sh");
  });
}

type Obj = Record<string, unknown>;
const clone = <T>(o: T): T => structuredClone(o);

const labels = { "app.kubernetes.io/name": "web", "app.kubernetes.io/part-of": "nixlab" };
const podSpec = {
  serviceAccountName: "web",
  securityContext: {
    runAsNonRoot: true,
    runAsUser: 1000,
    fsGroup: 1000,
    seccompProfile: { type: "RuntimeDefault" },
  },
  containers: [
    {
      name: "web",
      image: "docker.io/library/nginx:1.27.3@sha256:0a399eb16751829e1af26fea27b20c3ec28d7ab1fb72182879dcae1cca21206a",
      args: ["--port", "8080"],
      ports: [{ name: "http", containerPort: 8080, protocol: "TCP" }],
      env: [
        { name: "TZ", value: "Europe/Berlin" },
        { name: "PASSWORD", valueFrom: { secretKeyRef: { name: "web-secrets", key: "password" } } },
      ],
      envFrom: [{ configMapRef: { name: "web-config" } }],
      resources: { requests: { cpu: "100m", memory: "128Mi" }, limits: { cpu: 1, memory: "256Mi" } },
      readinessProbe: { httpGet: { path: "/healthz", port: "http" }, periodSeconds: 10 },
      livenessProbe: { tcpSocket: { port: 8080 }, initialDelaySeconds: 5 },
      securityContext: {
        allowPrivilegeEscalation: false,
        readOnlyRootFilesystem: true,
        capabilities: { drop: ["ALL"], add: ["NET_BIND_SERVICE"] },
      },
      volumeMounts: [{ name: "data", mountPath: "/data" }],
    },
  ],
  volumes: [{ name: "data", persistentVolumeClaim: { claimName: "web-data" } }],
  nodeSelector: { "kubernetes.io/os": "linux" },
  tolerations: [{ key: "node-role.kubernetes.io/master", operator: "Exists", effect: "NoSchedule" }],
};
const template = { metadata: { labels, annotations: { "nixlab.dev/config-hash": "3f2a9c" } }, spec: podSpec };

const deployment = {
  apiVersion: "apps/v1",
  kind: "Deployment",
  metadata: { name: "web", namespace: "apps", labels },
  spec: {
    replicas: 2,
    revisionHistoryLimit: 3,
    selector: { matchLabels: { ...labels } },
    strategy: { type: "RollingUpdate", rollingUpdate: { maxSurge: "25%", maxUnavailable: 0 } },
    template,
  },
};

const clusterIssuer = {
  apiVersion: "cert-manager.io/v1",
  kind: "ClusterIssuer",
  metadata: { name: "letsencrypt" },
  spec: {
    acme: {
      email: "admin@example.org",
      server: "https://acme-v02.api.letsencrypt.org/directory",
      privateKeySecretRef: { name: "letsencrypt-account-key" },
      solvers: [
        { dns01: { cloudflare: { apiTokenSecretRef: { name: "cloudflare-api-token", key: "api-token" } } } },
        { http01: { ingress: { ingressClassName: "nginx" } }, selector: { dnsZones: ["example.org"] } },
      ],
    },
  },
};

// One correct object of every kind nixlab renders.
const valid: Obj[] = [
  { apiVersion: "v1", kind: "Namespace", metadata: { name: "apps", labels } },
  {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name: "web-config", namespace: "apps" },
    data: { "nginx.conf": "events {}\n", TZ: "Europe/Berlin" },
  },
  {
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name: "web-secrets", namespace: "apps" },
    type: "Opaque",
    data: { password: Buffer.from("hunter2").toString("base64") },
    stringData: { user: "admin" },
  },
  {
    apiVersion: "v1",
    kind: "Service",
    metadata: {
      name: "web",
      namespace: "apps",
      annotations: { "metallb.universe.tf/loadBalancerIPs": "10.0.0.53" },
    },
    spec: {
      type: "LoadBalancer",
      selector: labels,
      externalTrafficPolicy: "Local",
      ports: [
        { name: "dns-udp", port: 53, targetPort: 53, protocol: "UDP" },
        { name: "dns-tcp", port: 53, targetPort: "dns-tcp", protocol: "TCP" },
      ],
    },
  },
  deployment,
  {
    apiVersion: "apps/v1",
    kind: "StatefulSet",
    metadata: { name: "db", namespace: "apps" },
    spec: {
      serviceName: "db",
      replicas: 1,
      selector: { matchLabels: labels },
      template,
      volumeClaimTemplates: [
        {
          metadata: { name: "data" },
          spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "10Gi" } } },
        },
      ],
      persistentVolumeClaimRetentionPolicy: { whenDeleted: "Retain", whenScaled: "Retain" },
    },
  },
  {
    apiVersion: "apps/v1",
    kind: "DaemonSet",
    metadata: { name: "agent", namespace: "monitoring" },
    spec: { selector: { matchLabels: labels }, updateStrategy: { type: "RollingUpdate" }, template },
  },
  {
    apiVersion: "batch/v1",
    kind: "CronJob",
    metadata: { name: "backup", namespace: "apps" },
    spec: {
      schedule: "0 3 * * *",
      timeZone: "Europe/Berlin",
      concurrencyPolicy: "Forbid",
      successfulJobsHistoryLimit: 3,
      jobTemplate: {
        spec: { backoffLimit: 2, template: { spec: { ...podSpec, restartPolicy: "OnFailure" } } },
      },
    },
  },
  {
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: { name: "migrate", namespace: "apps" },
    spec: { ttlSecondsAfterFinished: 600, template: { spec: { ...podSpec, restartPolicy: "Never" } } },
  },
  {
    apiVersion: "v1",
    kind: "PersistentVolumeClaim",
    metadata: { name: "web-data", namespace: "apps" },
    spec: {
      accessModes: ["ReadWriteOnce"],
      storageClassName: "local-path",
      resources: { requests: { storage: "5Gi" } },
    },
  },
  {
    apiVersion: "networking.k8s.io/v1",
    kind: "Ingress",
    metadata: {
      name: "web",
      namespace: "apps",
      annotations: { "cert-manager.io/cluster-issuer": "letsencrypt" },
    },
    spec: {
      ingressClassName: "nginx",
      tls: [{ hosts: ["web.example.org"], secretName: "web-tls" }],
      rules: [
        {
          host: "web.example.org",
          http: {
            paths: [
              {
                path: "/",
                pathType: "Prefix",
                backend: { service: { name: "web", port: { name: "http" } } },
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
    metadata: { name: "web", namespace: "apps" },
    spec: {
      scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: "web" },
      minReplicas: 1,
      maxReplicas: 4,
      metrics: [
        {
          type: "Resource",
          resource: { name: "cpu", target: { type: "Utilization", averageUtilization: 80 } },
        },
      ],
    },
  },
  {
    apiVersion: "networking.k8s.io/v1",
    kind: "NetworkPolicy",
    metadata: { name: "web", namespace: "apps" },
    spec: {
      podSelector: { matchLabels: labels },
      policyTypes: ["Ingress"],
      ingress: [
        {
          from: [
            { namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "ingress-nginx" } } },
            { ipBlock: { cidr: "10.0.100.0/24" } },
          ],
          ports: [{ protocol: "TCP", port: 8080 }],
        },
      ],
    },
  },
  {
    apiVersion: "v1",
    kind: "ServiceAccount",
    metadata: { name: "web", namespace: "apps" },
    automountServiceAccountToken: false,
  },
  {
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "Role",
    metadata: { name: "web", namespace: "apps" },
    rules: [{ apiGroups: [""], resources: ["configmaps"], verbs: ["get", "list", "watch"] }],
  },
  {
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "RoleBinding",
    metadata: { name: "web", namespace: "apps" },
    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "web" },
    subjects: [{ kind: "ServiceAccount", name: "web", namespace: "apps" }],
  },
  {
    apiVersion: "helm.cattle.io/v1",
    kind: "HelmChart",
    metadata: { name: "cert-manager", namespace: "kube-system" },
    spec: {
      repo: "https://charts.jetstack.io",
      chart: "cert-manager",
      version: "v1.20.3",
      targetNamespace: "cert-manager",
      createNamespace: true,
      valuesContent: "crds:\n  enabled: true\n",
      values: { crds: { enabled: true }, extraArgs: ["--dns01-recursive-nameservers-only"] },
    },
  },
  {
    apiVersion: "cert-manager.io/v1",
    kind: "Certificate",
    metadata: { name: "wildcard", namespace: "ingress-nginx" },
    spec: {
      secretName: "wildcard-tls",
      dnsNames: ["example.org", "*.example.org"],
      duration: "2160h",
      renewBefore: "360h",
      issuerRef: { name: "letsencrypt", kind: "ClusterIssuer", group: "cert-manager.io" },
      privateKey: { algorithm: "ECDSA", size: 256, rotationPolicy: "Always" },
    },
  },
  clusterIssuer,
  {
    apiVersion: "cert-manager.io/v1",
    kind: "ClusterIssuer",
    metadata: { name: "selfsigned" },
    spec: { selfSigned: {} },
  },
  {
    apiVersion: "metallb.io/v1beta1",
    kind: "IPAddressPool",
    metadata: { name: "default", namespace: "metallb-system" },
    spec: { addresses: ["192.168.1.200-192.168.1.250", "10.0.0.0/28"], autoAssign: true },
  },
  {
    apiVersion: "metallb.io/v1beta1",
    kind: "L2Advertisement",
    metadata: { name: "default", namespace: "metallb-system" },
    spec: { ipAddressPools: ["default"] },
  },
];

describe.skipIf(!present)("Kubernetes schema validator", () => {
  let v: K8sValidator;
  beforeAll(async () => {
    v = await loadK8sValidator();
  });

  /** Errors for a copy of `base` changed by `mutate`. */
  const errorsAfter = (base: Obj, mutate: (o: Obj) => void): string[] => {
    const o = clone(base);
    mutate(o);
    return v.validate(o);
  };
  // biome-ignore lint/suspicious/noExplicitAny: tests reach into deliberately untyped fixtures
  const at = (o: Obj): any => o;

  describe("accepts a correct object of every rendered kind", () => {
    test.each(valid.map((o) => [`${o.apiVersion} ${o.kind}`, o] as const))("%s", (_name, obj) => {
      expect(v.validate(obj)).toEqual([]);
    });
  });

  test("the fetched CRDs cover every custom kind nixlab renders", () => {
    expect(v.crdKinds).toEqual(
      expect.arrayContaining([
        "cert-manager.io/v1/Certificate",
        "cert-manager.io/v1/ClusterIssuer",
        "helm.cattle.io/v1/HelmChart",
        "helm.cattle.io/v1/HelmChartConfig",
        "metallb.io/v1beta1/IPAddressPool",
        "metallb.io/v1beta1/L2Advertisement",
      ]),
    );
    const sources = JSON.parse(readFileSync(join(defaultSchemaPaths.openapiDir, "../sources.json"), "utf8"));
    expect(Object.keys(sources).sort()).toEqual([
      "github.com/cert-manager/cert-manager",
      "github.com/k3s-io/helm-controller",
      "go.universe.tf/metallb",
      "k8s.io/kubernetes",
    ]);
  });

  test("every fetched CRD is itself a valid apiextensions.k8s.io/v1 CustomResourceDefinition", () => {
    const crdDir = defaultSchemaPaths.crdDir;
    const files = readdirSync(crdDir).filter((f) => f.endsWith(".yaml"));
    expect(files.length).toBeGreaterThanOrEqual(6);
    for (const file of files) {
      for (const doc of parseAllDocuments(readFileSync(join(crdDir, file), "utf8"))) {
        const crd = doc.toJS() as Obj;
        expect(crd.kind, file).toBe("CustomResourceDefinition");
        expect(v.validate(crd), file).toEqual([]);
      }
    }
  });

  describe("unknown fields are errors at every depth", () => {
    test("top level", () => {
      expect(errorsAfter(deployment, (o) => (o.specs = {}))).toEqual([
        "apps/v1 Deployment apps/web: .specs: unknown field (not in the schema; the apiserver would drop it)",
      ]);
    });
    test("in metadata", () => {
      expect(errorsAfter(deployment, (o) => (at(o).metadata.label = { a: "b" }))).toEqual([
        "apps/v1 Deployment apps/web: .metadata.label: unknown field (not in the schema; the apiserver would drop it)",
      ]);
    });
    test("capabilities in a PodSecurityContext (they belong to the container's SecurityContext)", () => {
      const errors = errorsAfter(
        deployment,
        (o) => (at(o).spec.template.spec.securityContext.capabilities = { drop: ["ALL"] }),
      );
      expect(errors).toEqual([
        "apps/v1 Deployment apps/web: .spec.template.spec.securityContext.capabilities: unknown field (not in the schema; the apiserver would drop it)",
      ]);
    });
    test("deep inside a container, several at once", () => {
      const errors = errorsAfter(deployment, (o) => {
        const c = at(o).spec.template.spec.containers[0];
        c.readinessProbe.httpGet.scheme = "HTTP"; // known
        c.readinessProbe.httpGet.hostname = "x"; // unknown
        c.resources.request = { cpu: "1" }; // typo of requests
      });
      expect(errors).toEqual([
        "apps/v1 Deployment apps/web: .spec.template.spec.containers[0].readinessProbe.httpGet.hostname: unknown field (not in the schema; the apiserver would drop it)",
        "apps/v1 Deployment apps/web: .spec.template.spec.containers[0].resources.request: unknown field (not in the schema; the apiserver would drop it)",
      ]);
    });
    test("in a custom resource's metadata, validated as the real ObjectMeta", () => {
      expect(errorsAfter(clusterIssuer, (o) => (at(o).metadata.annotation = {}))).toEqual([
        "cert-manager.io/v1 ClusterIssuer letsencrypt: .metadata.annotation: unknown field (not in the schema; the apiserver would drop it)",
      ]);
    });
    test("emailSecretRef in a cert-manager ACME issuer", () => {
      expect(errorsAfter(clusterIssuer, (o) => (at(o).spec.acme.emailSecretRef = { name: "email" }))).toEqual([
        "cert-manager.io/v1 ClusterIssuer letsencrypt: .spec.acme.emailSecretRef: unknown field (not in the schema; the apiserver would drop it)",
      ]);
    });
    test("inside a CRD list item", () => {
      const errors = errorsAfter(
        clusterIssuer,
        (o) => (at(o).spec.acme.solvers[1].http01.ingress.class_name = "nginx"),
      );
      expect(errors).toEqual([
        "cert-manager.io/v1 ClusterIssuer letsencrypt: .spec.acme.solvers[1].http01.ingress.class_name: unknown field (not in the schema; the apiserver would drop it)",
      ]);
    });
    test("but not under x-kubernetes-preserve-unknown-fields (HelmChart values)", () => {
      const helmChart = valid.find((o) => o.kind === "HelmChart")!;
      expect(errorsAfter(helmChart, (o) => (at(o).spec.values.anything = { goes: [1, "two"] }))).toEqual([]);
      expect(errorsAfter(helmChart, (o) => (at(o).spec.valuesContents = "x: 1"))).toEqual([
        "helm.cattle.io/v1 HelmChart kube-system/cert-manager: .spec.valuesContents: unknown field (not in the schema; the apiserver would drop it)",
      ]);
    });
  });

  describe("types, formats and required fields", () => {
    test("wrong type", () => {
      expect(errorsAfter(deployment, (o) => (at(o).spec.replicas = "2"))).toEqual([
        'apps/v1 Deployment apps/web: .spec.replicas: must be integer, got string "2"',
      ]);
      const pool = valid.find((o) => o.kind === "IPAddressPool")!;
      expect(errorsAfter(pool, (o) => (at(o).spec.addresses = "192.168.1.200-192.168.1.250"))).toEqual([
        'metallb.io/v1beta1 IPAddressPool metallb-system/default: .spec.addresses: must be array, got string "192.168.1.200-192.168.1.250"',
      ]);
    });
    test("int32 out of range", () => {
      expect(errorsAfter(deployment, (o) => (at(o).spec.replicas = 2 ** 31))).toEqual([
        'apps/v1 Deployment apps/web: .spec.replicas: must match format "int32" (got integer 2147483648)',
      ]);
    });
    test("missing required fields, built-in and CRD", () => {
      expect(errorsAfter(deployment, (o) => delete at(o).spec.template.spec.containers[0].name)).toEqual([
        "apps/v1 Deployment apps/web: .spec.template.spec.containers[0].name: required field is missing",
      ]);
      const service = valid.find((o) => o.kind === "Service")!;
      expect(errorsAfter(service, (o) => delete at(o).spec.ports[0].port)).toEqual([
        "v1 Service apps/web: .spec.ports[0].port: required field is missing",
      ]);
      const cert = valid.find((o) => o.kind === "Certificate")!;
      expect(errorsAfter(cert, (o) => delete at(o).spec.secretName)).toEqual([
        "cert-manager.io/v1 Certificate ingress-nginx/wildcard: .spec.secretName: required field is missing",
      ]);
      expect(errorsAfter(cert, (o) => delete at(o).metadata.name)).toEqual([
        "cert-manager.io/v1 Certificate ingress-nginx/<no name>: .metadata.name: required field is missing (name or generateName is required)",
      ]);
    });
    test("bad int-or-string", () => {
      const service = valid.find((o) => o.kind === "Service")!;
      expect(errorsAfter(service, (o) => (at(o).spec.ports[0].targetPort = true))).toEqual([
        "v1 Service apps/web: .spec.ports[0].targetPort: must be integer or string, got boolean true",
      ]);
      expect(errorsAfter(deployment, (o) => (at(o).spec.strategy.rollingUpdate.maxSurge = 1.5))).toEqual([
        "apps/v1 Deployment apps/web: .spec.strategy.rollingUpdate.maxSurge: must be integer or string, got number 1.5",
      ]);
      expect(
        errorsAfter(deployment, (o) => (at(o).spec.template.spec.containers[0].resources.limits.cpu = { cores: 1 })),
      ).toEqual([
        'apps/v1 Deployment apps/web: .spec.template.spec.containers[0].resources.limits.cpu: must be string or number, got {"cores":1}',
      ]);
    });
    test("enum in a CRD", () => {
      const cert = valid.find((o) => o.kind === "Certificate")!;
      expect(errorsAfter(cert, (o) => (at(o).spec.privateKey.algorithm = "DSA"))).toEqual([
        'cert-manager.io/v1 Certificate ingress-nginx/wildcard: .spec.privateKey.algorithm: "DSA" is not one of ["RSA","ECDSA","Ed25519"]',
      ]);
    });
    test("null where the schema is not nullable, and invalid base64 in Secret data", () => {
      const secret = valid.find((o) => o.kind === "Secret")!;
      expect(
        errorsAfter(secret, (o) => {
          at(o).metadata.creationTimestamp = null;
          at(o).data.password = "hunter2!";
        }),
      ).toEqual([
        'v1 Secret apps/web-secrets: .data.password: must match format "byte" (got string "hunter2!")',
        "v1 Secret apps/web-secrets: .metadata.creationTimestamp: must be string, got null",
      ]);
    });
    test("duplicate keys in a map-type list (the apiserver's server-side apply rejects them)", () => {
      expect(
        errorsAfter(deployment, (o) => {
          const c = at(o).spec.template.spec.containers[0];
          c.env.push({ name: "TZ", value: "UTC" });
        }),
      ).toEqual([
        "apps/v1 Deployment apps/web: .spec.template.spec.containers[0].env[2]: duplicate entry for key name (same as item 0) in a map-type list",
      ]);
    });
    test("label keys with dots are quoted in paths", () => {
      expect(errorsAfter(deployment, (o) => (at(o).spec.selector.matchLabels["app.kubernetes.io/name"] = 3))).toEqual([
        'apps/v1 Deployment apps/web: .spec.selector.matchLabels["app.kubernetes.io/name"]: must be string, got integer 3',
      ]);
    });
  });

  describe("nothing unknown is silently valid", () => {
    test("unknown kind in a known group/version", () => {
      expect(v.validate({ apiVersion: "apps/v1", kind: "Deploymnet", metadata: { name: "x" } })).toEqual([
        'apps/v1 Deploymnet x: unknown kind "Deploymnet" in apps/v1',
      ]);
    });
    test("unknown apiVersion, built-in or custom", () => {
      expect(v.validate({ ...deployment, apiVersion: "extensions/v1beta1" })).toEqual([
        'extensions/v1beta1 Deployment apps/web: unknown apiVersion "extensions/v1beta1" (no OpenAPI spec and no CRD for it)',
      ]);
      expect(v.validate({ ...clusterIssuer, apiVersion: "cert-manager.io/v1alpha2" })).toEqual([
        'cert-manager.io/v1alpha2 ClusterIssuer letsencrypt: unknown apiVersion "cert-manager.io/v1alpha2" (no OpenAPI spec and no CRD for it)',
      ]);
    });
    test("a namespace on a cluster-scoped kind, built-in or custom (the apiserver clears it)", () => {
      expect(
        v.validate({ apiVersion: "v1", kind: "Namespace", metadata: { name: "apps", namespace: "apps" } }),
      ).toEqual([
        "v1 Namespace apps/apps: .metadata.namespace: set on a cluster-scoped kind (the apiserver would drop it)",
      ]);
      expect(v.validate({ ...clusterIssuer, metadata: { name: "letsencrypt", namespace: "cert-manager" } })).toEqual([
        "cert-manager.io/v1 ClusterIssuer cert-manager/letsencrypt: .metadata.namespace: set on a cluster-scoped kind (the apiserver would drop it)",
      ]);
    });
    test("no apiVersion/kind, or not an object", () => {
      expect(v.validate({ metadata: { name: "x" } })).toEqual([
        "<no apiVersion> <no kind> x: apiVersion and kind must both be strings",
      ]);
      expect(v.validate([deployment])).toEqual([`(object): not a Kubernetes object: ${JSON.stringify([deployment])}`]);
    });
    test("CEL rules it cannot evaluate are reported, not passed", () => {
      const peer = {
        apiVersion: "metallb.io/v1beta2",
        kind: "BGPPeer",
        metadata: { name: "router", namespace: "metallb-system" },
        spec: { myASN: 64500, peerASN: 64501, peerAddress: "192.168.1.1", connectTime: "5s" },
      };
      const errors = v.validate(peer);
      expect(errors).toHaveLength(2);
      expect(errors[0]).toMatch(
        /^metallb\.io\/v1beta2 BGPPeer metallb-system\/router: \.spec\.connectTime: has a CEL rule/,
      );
      // Transition rules (oldSelf) never run on create: the HelmChart driver rule does not count.
      const { connectTime: _, ...spec } = peer.spec;
      expect(v.validate({ ...peer, spec })).toEqual([]);
    });
  });
});
