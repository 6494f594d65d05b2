import { parseAllDocuments } from "yaml";
import { beforeAll, describe, expect, it } from "vitest";
import { renderCluster } from "../../src/render/build.ts";
import { type K8sValidator, loadK8sValidator, schemasPresent } from "../support/k8s-schema.ts";
import { exampleCluster } from "../support/example.ts";

let validator: K8sValidator | undefined;

beforeAll(async () => {
  if (schemasPresent()) validator = await loadK8sValidator();
  else if (process.env.NIXLAB_E2E === "1") throw new Error("Kubernetes schemas missing: run npm run setup");
});

function objectsOf(cluster: ReturnType<typeof exampleCluster>) {
  return renderCluster(cluster, { dashboardCode: "// the dashboard's bundle\n" })
    .files.filter((f) => f.path.endsWith(".yaml"))
    .flatMap((f) => parseAllDocuments(f.content).map((d) => ({ file: f.path, object: d.toJS() })));
}

describe("every rendered object passes the Kubernetes OpenAPI and CRD schemas", () => {
  const variants: Record<string, ReturnType<typeof exampleCluster>> = {
    example: exampleCluster(),
    "users with dashes, disabled users, overrides and own services": exampleCluster((v) => {
      v.wireguardUsers["dave-y"] = {
        ip: "10.0.100.9",
        publicKeySecret: "dave_y_key",
        allowedIPs: "192.168.1.0/24",
        nextcloudUser: "dave.y@home",
      };
      v.wireguardUsers.bob.enabled = false;
      delete v.acmeEmail;
      v.namespaces = { dns: "dns", nextcloud: "cloud" };
      v.charts = {
        longhorn: { version: "1.11.3", values: { persistence: { defaultClassReplicaCount: 2 } } },
      };
      v.images = { caddy: "caddy:2.10.0-alpine" };
      v.groups = {
        extras: {
          dependsOn: ["apps"],
          waitFor: [{ kind: "Deployment", name: "whoami", namespace: "whoami" }],
        },
      };
      v.services = {
        whoami: {
          group: "extras",
          namespace: "whoami",
          manifests: [{ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "whoami" }, data: { a: "b" } }],
        },
        grafana: {
          group: "extras",
          namespace: "monitoring",
          helm: { repo: "https://grafana.github.io/helm-charts", chart: "grafana", version: "9.0.0" },
        },
      };
    }),
  };

  variants["the in-cluster dashboard, with device configs"] = exampleCluster((v) => {
    v.dashboard = { enabled: true };
    v.wireguardUsers.bob.dashboardConfig = true;
  });

  for (const [name, cluster] of Object.entries(variants)) {
    it(name, (ctx) => {
      if (!validator) return ctx.skip("schemas not installed");
      const objects = objectsOf(cluster);
      expect(objects.length).toBeGreaterThan(20);
      const errors = objects.flatMap(({ file, object }) => validator!.validate(object).map((e) => `${file}: ${e}`));
      expect(errors).toEqual([]);
    });
  }
});
