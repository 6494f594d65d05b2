import { parse, parseAllDocuments } from "yaml";
import { describe, expect, it } from "vitest";
import { renderCluster } from "../../src/render/build.ts";
import { buildCatalog } from "../../src/services/catalog.ts";
import type { HelmRelease } from "../../src/services/types.ts";
import { deepMerge } from "../../src/services/util.ts";
import { exampleCluster } from "../support/example.ts";

const cluster = exampleCluster();
const { plan, files } = renderCluster(cluster);
const manifest = (key: string) =>
  parseAllDocuments(files.find((f) => f.path === `manifests/${key}.yaml`)!.content).map((d) => d.toJS());
const values = (key: string) =>
  (buildCatalog(cluster).releases.find((r) => r.key === key) as HelmRelease).values as any;
const allObjects = files
  .filter((f) => f.path.endsWith(".yaml"))
  .flatMap((f) => parseAllDocuments(f.content).map((d) => d.toJS()));

describe("deploy groups (services.md §5)", () => {
  it("keeps the seed's groups, charts and dependencies", () => {
    expect(plan.groups.map((g) => [g.name, g.charts, g.dependsOn])).toEqual([
      ["core-infrastructure", ["longhorn", "metallb"], []],
      ["core-config", ["metallb-config"], ["core-infrastructure"]],
      ["networking-services", ["ingress-nginx", "pihole"], ["core-config"]],
      ["dns-services", ["externaldns-pihole"], ["networking-services"]],
      ["external-access", ["cert-manager"], ["core-config"]],
      ["external-dns", ["externaldns-cloudflare", "cert-manager-issuers", "cloudflare-ddns"], ["external-access"]],
      ["external-ingress", ["pihole-external-ingress"], ["external-dns", "networking-services"]],
      [
        "vpn-services",
        ["wireguard-config", "wireguard-caddy-cert", "wireguard-storage", "wireguard-deployment", "wireguard-service"],
        ["core-config", "external-access"],
      ],
      [
        "apps",
        ["signal-proxy", "nextcloud", "nextcloud-network-policy", "nextcloud-sso-gate"],
        ["core-config", "networking-services", "external-access"],
      ],
    ]);
  });

  it("waits only for workloads that are really deployed, in their real namespaces (defect 6)", () => {
    const waits = plan.groups.flatMap((g) => g.waitFor.map((w) => `${w.kind} ${w.namespace}/${w.name}`));
    expect(waits).toContain("Deployment dns-system/externaldns-pihole-external-dns");
    expect(waits).toContain("Deployment dns-system/cert-manager");
    expect(waits).toContain("Deployment dns-system/cert-manager-webhook");
    expect(waits).toContain("Deployment dns-system/externaldns-cloudflare-external-dns");
    for (const g of plan.groups) {
      for (const w of g.waitFor) {
        if (w.kind === "HelmChart") {
          expect(g.charts).toContain(w.name);
          continue;
        }
        // Raw manifests: the object is in this group; Helm charts: the chart installs into that namespace.
        const own = allObjects.some(
          (o) => o.kind === w.kind && o.metadata.name === w.name && o.metadata.namespace === w.namespace,
        );
        const helm = plan.charts.some(
          (c) => g.charts.includes(c.key) && c.kind === "helm" && c.namespace === w.namespace,
        );
        expect(own || helm, `${g.name}: ${w.kind} ${w.namespace}/${w.name}`).toBe(true);
      }
    }
    for (const ns of new Set(plan.groups.flatMap((g) => g.waitFor.map((w) => w.namespace)))) {
      expect([...plan.namespaces, "kube-system"]).toContain(ns);
    }
  });

  it("gives every chart and group a content hash and covers secrets by name only", () => {
    for (const c of plan.charts) expect(c.hash).toMatch(/^[0-9a-f]{64}$/);
    for (const g of plan.groups) expect(g.hash).toMatch(/^[0-9a-f]{64}$/);
    const wg = plan.secrets.find((s) => s.name === "wireguard-secrets")!;
    expect(wg.keys.map((k) => k.key)).toEqual([
      "server-private-key",
      "server-public-key",
      "sso-token",
      "wg-server-endpoint",
    ]);
    expect(wg.group).toBe("vpn-services");
    expect(wg.restart).toEqual([
      { apiVersion: "apps/v1", kind: "Deployment", name: "wireguard", namespace: "wireguard-system" },
    ]);
    // Peers' keys roll nothing: the reconciler in the pod applies them.
    const peers = plan.secrets.find((s) => s.name === "wireguard-peers")!;
    expect(peers.keys.map((k) => k.key)).toEqual(["alice_wg_public_key", "bob_wg_public_key", "carol_wg_public_key"]);
    expect(peers.restart).toEqual([]);
  });

  it("changes only the hashes of the groups a change reaches", () => {
    const other = renderCluster(
      exampleCluster((v) => {
        v.wireguardUsers.carol.allowedIPs = "192.168.1.0/24";
      }),
    ).plan;
    const changed = plan.groups.filter((g, i) => g.hash !== other.groups[i]!.hash).map((g) => g.name);
    expect(changed).toEqual(["vpn-services"]);
  });
});

describe("Helm charts as k3s HelmChart objects", () => {
  it("pins repo, chart and version and carries the values", () => {
    const [hc] = manifest("longhorn");
    expect(hc).toMatchObject({
      apiVersion: "helm.cattle.io/v1",
      kind: "HelmChart",
      metadata: { name: "longhorn", namespace: "kube-system" },
      spec: {
        repo: "https://charts.longhorn.io/",
        chart: "longhorn",
        version: "1.11.2",
        targetNamespace: "longhorn-system",
      },
    });
    expect(parse(hc.spec.valuesContent)).toEqual({
      persistence: { defaultClass: true, defaultClassReplicaCount: 3 },
      defaultSettings: {
        createDefaultDiskLabeledNodes: true,
        defaultDataPath: "/var/lib/longhorn",
        backupstorePollInterval: 300,
        replicaSoftAntiAffinity: true,
        replicaAutoBalance: "best-effort",
      },
    });
  });

  it("deep-merges user values over nixlab's, overrides winning (defect 1)", () => {
    expect(deepMerge({ a: 1, b: { x: 1, y: 2 } }, { a: 2, b: { x: 9, z: 3 }, c: 4 })).toEqual({
      a: 2,
      b: { x: 9, y: 2, z: 3 },
      c: 4,
    });
    expect(deepMerge({ a: { b: 1 }, l: [1, 2] }, { a: null, l: [3] })).toEqual({ l: [3] });
    const c = exampleCluster((v) => {
      v.charts = {
        "cert-manager": {
          version: "v1.20.3",
          values: { prometheus: { enabled: true }, webhook: { replicaCount: 2 } },
        },
      };
    });
    const cm = buildCatalog(c).releases.find((r) => r.key === "cert-manager") as HelmRelease;
    expect(cm.chart.version).toBe("v1.20.3");
    expect((cm.values as any).prometheus).toEqual({ enabled: true, servicemonitor: { enabled: false } });
    expect((cm.values as any).webhook).toEqual({ timeoutSeconds: 30, replicaCount: 2 });
  });
});

describe("defects of the original fixed in the rendered catalog (services.md §7)", () => {
  it("21: no client can send X-Remote-User to Nextcloud except through the VPN proxy and its gate", () => {
    const nginx = values("ingress-nginx").controller;
    expect(nginx.proxySetHeaders).toEqual({ "X-Remote-User": "" });
    expect(nginx.config["enable-underscores-in-headers"]).toBe("false");
    expect(nginx.config["use-forwarded-headers"]).toBe("false");
    const [web, gate] = manifest("nextcloud-network-policy");
    expect(web.kind).toBe("NetworkPolicy");
    // Nextcloud's web pods: the ingress controller (blanks the header), the token gate, and themselves.
    expect(web.spec.ingress).toEqual([
      {
        from: [
          { namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "nginx-system" } } },
          { podSelector: { matchLabels: { app: "nextcloud-sso-gate" } } },
          {
            podSelector: {
              matchLabels: { "app.kubernetes.io/name": "nextcloud", "app.kubernetes.io/component": "app" },
            },
          },
        ],
      },
    ]);
    // The gate: only the WireGuard pod (where the sign-in proxy runs), on its port.
    expect(gate.spec.podSelector).toEqual({ matchLabels: { app: "nextcloud-sso-gate" } });
    expect(gate.spec.ingress).toEqual([
      {
        from: [
          {
            namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "wireguard-system" } },
            podSelector: { matchLabels: { app: "wireguard" } },
          },
        ],
        ports: [{ port: 8080, protocol: "TCP" }],
      },
    ]);
    // Both proxies read the token from a Secret filled from nextcloud_sso_token, never from a ConfigMap.
    for (const name of ["wireguard-secrets", "nextcloud-sso-gate"])
      expect(plan.secrets.find((s) => s.name === name)!.keys).toContainEqual(
        expect.objectContaining({ sopsSecret: "nextcloud_sso_token" }),
      );
    const [wgConfig] = manifest("wireguard-config");
    expect(wgConfig.data.Caddyfile).toContain("header_up X-Nixlab-Sso-Token {$NIXLAB_SSO_TOKEN}");
    expect(wgConfig.data.Caddyfile).toContain("http://nextcloud-sso-gate.nextcloud.svc.cluster.local:8080");
  });

  it("22: Pi-hole's admin UI and API use the pihole_password secret", () => {
    expect(values("pihole").admin).toEqual({
      enabled: true,
      existingSecret: "pihole-admin",
      passwordKey: "password",
    });
    expect(plan.secrets.find((s) => s.name === "pihole-admin")!.keys).toEqual([
      { key: "password", sopsSecret: "pihole_password" },
    ]);
    expect(values("externaldns-pihole").env[1].valueFrom.secretKeyRef).toEqual({
      name: "pihole-api",
      key: "password",
    });
  });

  it("23: snippet annotations are off", () => {
    expect(values("ingress-nginx").controller.config["allow-snippet-annotations"]).toBe("false");
    expect(values("ingress-nginx").controller.config["annotations-risk-level"]).not.toBe("Critical");
    for (const o of allObjects) {
      for (const key of Object.keys(o.metadata.annotations ?? {})) expect(key).not.toMatch(/snippet/);
    }
  });

  it("25: nextcloud.<domain> → the VPN address only in the VPN's DNS", () => {
    expect(values("pihole").dnsmasq.customDnsEntries.join()).not.toContain("nextcloud");
    const [cm] = manifest("wireguard-config");
    expect(cm.data.Corefile).toContain("10.0.100.1 nextcloud.home.example.com");
    expect(cm.data.Corefile).toContain("forward . 192.168.1.250");
    expect(cm.data["client-alice.conf"]).toContain("DNS = 10.0.100.1");
  });

  it("26: only chart keys external-dns has, and no LAN record on public DNS", () => {
    const cf = values("externaldns-cloudflare");
    expect(cf).not.toHaveProperty("args");
    expect(cf.rbac).toEqual({ create: true });
    expect(cf.extraArgs).toContain("--annotation-filter=nixlab.dev/public-dns=true");
    expect(cf.extraArgs).toContain("--cloudflare-proxied");
    expect(values("externaldns-pihole")).not.toHaveProperty("txtOwnerId");
    expect(cf.podSecurityContext).toEqual({ fsGroup: 65534 });
    expect(cf).not.toHaveProperty("securityContext");
  });

  it("28, 29, 30, 31: WireGuard's init creates its directory, server config changes roll the pod and peers do not, no ACME dependency, no dead env", () => {
    const [cm] = manifest("wireguard-config");
    expect(cm.data["setup.sh"]).toContain("set -eu");
    expect(cm.data["setup.sh"]).toContain('mkdir -p "$out/wg_confs"');
    const [dep] = manifest("wireguard-deployment");
    expect(dep.spec.template.metadata.annotations["nixlab.dev/config-hash"]).toMatch(/^[0-9a-f]{16}$/);
    expect(dep.spec.template.spec.volumes.find((v: any) => v.name === "nextcloud-tls").secret.optional).toBe(true);
    const env = dep.spec.template.spec.containers[0].env.map((e: any) => e.name);
    expect(env).toEqual(["PUID", "PGID", "TZ", "USE_COREDNS"]);
    expect(dep.spec.template.spec.securityContext).toEqual({
      sysctls: [{ name: "net.ipv4.ip_forward", value: "1" }],
    });
    const deploymentOf = (edit: (v: Record<string, any>) => void) =>
      renderCluster(exampleCluster(edit)).files.find((f) => f.path === "manifests/wireguard-deployment.yaml")!.content;
    const current = files.find((f) => f.path === "manifests/wireguard-deployment.yaml")!.content;
    // The server's own config rolls the pod ...
    expect(deploymentOf((v) => (v.piholeIp = "192.168.1.251"))).not.toBe(current);
    // ... peers never do: a new user, an SSO route, an expiry, a disabled user, a group change.
    for (const peersOnly of [
      (v: Record<string, any>) => (v.wireguardUsers.dave = { ip: "10.0.100.9", publicKeySecret: "dave_key" }),
      (v: Record<string, any>) => (v.wireguardUsers.bob.nextcloudUser = "bobby"),
      (v: Record<string, any>) => (v.wireguardUsers.carol.expires = "2030-01-01"),
      (v: Record<string, any>) => (v.wireguardUsers.bob.enabled = false),
      (v: Record<string, any>) => (v.wireguardUsers.bob.group = "friends"),
    ])
      expect(deploymentOf(peersOnly)).toBe(current);
  });

  it("34: the signal-proxy Deployment leaves replicas to its HPA", () => {
    const dep = manifest("signal-proxy").find((o) => o.kind === "Deployment");
    expect(dep.spec).not.toHaveProperty("replicas");
    expect(dep.spec.template.spec.containers[0].volumeMounts.every((m: any) => m.subPath === undefined)).toBe(true);
  });

  it("35: every image nixlab renders is pinned", () => {
    const images: string[] = [];
    const walk = (v: unknown) => {
      if (Array.isArray(v)) v.forEach(walk);
      else if (v && typeof v === "object") {
        for (const [k, x] of Object.entries(v)) {
          if (k === "image" && typeof x === "string") images.push(x);
          else walk(x);
        }
      }
    };
    walk(allObjects);
    expect(images.length).toBeGreaterThanOrEqual(6);
    for (const image of images) expect(image, image).toMatch(/:(?!latest$)[A-Za-z0-9._-]*\d[A-Za-z0-9._-]*$/);
    expect(values("pihole").image).toEqual({ repository: "pihole/pihole", tag: "2025.11.1" });
  });

  it("33: the PostgreSQL superuser password comes from the same Secret; externalDatabase uses the chart's key", () => {
    const nc = values("nextcloud");
    expect(nc.postgresql.global.postgresql.auth.secretKeys).toEqual({
      userPasswordKey: "password",
      adminPasswordKey: "postgres-password",
    });
    expect(nc.externalDatabase.user).toBe("nextcloud");
    expect(nc.externalDatabase).not.toHaveProperty("username");
    expect(plan.secrets.find((s) => s.name === "nextcloud-db")!.keys.map((k) => k.key)).toEqual([
      "db-username",
      "password",
      "postgres-password",
    ]);
  });

  it("11: the ClusterIssuers use only cert-manager's fields (email from acmeEmail)", () => {
    const [staging, prod] = manifest("cert-manager-issuers");
    expect(staging.metadata.name).toBe("letsencrypt-staging");
    expect(prod.spec.acme).toEqual({
      server: "https://acme-v02.api.letsencrypt.org/directory",
      email: "admin@example.com",
      privateKeySecretRef: { name: "letsencrypt-prod" },
      solvers: [{ dns01: { cloudflare: { apiTokenSecretRef: { name: "cloudflare-api-token", key: "api-token" } } } }],
    });
  });

  it("32: the SSO hook runs occ as www-data and checks every setting", () => {
    expect(plan.hooks).toEqual([
      {
        name: "nextcloud-sso",
        after: "apps",
        target: { namespace: "nextcloud", deployment: "nextcloud", container: "nextcloud" },
        runAs: "www-data",
        occ: {
          apps: ["user_saml"],
          settings: [
            { app: "user_saml", key: "type", value: "environment-variable" },
            { app: "user_saml", key: "general-uid_mapping", value: "HTTP_X_REMOTE_USER" },
            { app: "user_saml", key: "general-require_provisioned_account", value: "0" },
          ],
        },
      },
    ]);
  });

  it("36: user names cannot collide with or break generated keys", () => {
    const [cm] = manifest("wireguard-config");
    expect(Object.keys(cm.data).sort()).toEqual([
      "Caddyfile",
      "Corefile",
      "caddy-run.sh",
      "client-alice.conf",
      "client-bob.conf",
      "client-carol.conf",
      "firewall.nft",
      "peers",
      "reconcile.sh",
      "setup.sh",
      "wg0.conf.template",
    ]);
    const attempt = () =>
      exampleCluster((v) => {
        v.wireguardUsers.Alice = { ...v.wireguardUsers.alice, ip: "10.0.100.20", publicKeySecret: "alice2" };
      });
    expect(attempt).toThrow("1 problem");
    try {
      attempt();
    } catch (error) {
      expect((error as { details: string[] }).details.join("\n")).toContain(
        "wireguardUsers.Alice: user name is not usable",
      );
    }
  });
});

describe("the seed's service values kept", () => {
  it("metallb-config, pihole-external-ingress, wireguard-service and signal-proxy objects", () => {
    expect(manifest("metallb-config").map((o) => [o.kind, o.metadata.name, o.spec])).toEqual([
      ["IPAddressPool", "pool", { addresses: ["192.168.1.192/26"] }],
      ["L2Advertisement", "pool", { ipAddressPools: ["pool"] }],
    ]);
    const [ing] = manifest("pihole-external-ingress");
    expect(ing.spec.tls).toEqual([{ hosts: ["pihole.home.example.com"], secretName: "pihole-external-tls-cert" }]);
    expect(ing.metadata.annotations["cert-manager.io/cluster-issuer"]).toBe("letsencrypt-prod");
    const [svc] = manifest("wireguard-service");
    expect(svc.spec).toMatchObject({
      type: "LoadBalancer",
      loadBalancerIP: "192.168.1.194",
      ports: [{ port: 51820, protocol: "UDP" }],
    });
    expect(manifest("signal-proxy").map((o) => o.kind)).toEqual([
      "Certificate",
      "ConfigMap",
      "Deployment",
      "Service",
      "Ingress",
      "HorizontalPodAutoscaler",
    ]);
    const pihole = values("pihole");
    expect(pihole.dnsmasq.additionalHostsEntries).toEqual([
      "192.168.1.250 pihole.home",
      "192.168.1.250 pihole.test",
      "192.168.1.250 pihole.home.example.com",
    ]);
    expect(pihole.DNS1).toBe("192.168.1.1");
  });
});
