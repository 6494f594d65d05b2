/** Issue 9: no rendered workload is privileged or mounts the host's kernel modules; WireGuard gets NET_ADMIN only. */
import { parseAllDocuments } from "yaml";
import { describe, expect, it } from "vitest";
import { nodeSpec } from "../../src/nodes/spec.ts";
import { renderCluster } from "../../src/render/build.ts";
import { exampleCluster } from "../support/example.ts";

const workloadKinds = new Set(["Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob", "Pod", "ReplicaSet"]);

/** Every object rendered, with HelmChart values parsed too (they become the chart's workloads). */
function renderedObjects(cluster = exampleCluster()): Array<{ where: string; value: any }> {
  return renderCluster(cluster)
    .files.filter((f) => f.path.endsWith(".yaml"))
    .flatMap((f) =>
      parseAllDocuments(f.content).flatMap((d) => {
        const o = d.toJS();
        const out = [{ where: `${f.path} ${o.kind}/${o.metadata?.name}`, value: o }];
        if (o.kind === "HelmChart" && o.spec?.valuesContent)
          out.push({
            where: `${f.path} values of ${o.metadata.name}`,
            value: parseAllDocuments(o.spec.valuesContent)[0]!.toJS(),
          });
        return out;
      }),
    );
}

/** Paths in `value` where `test` holds, e.g. `spec.template.spec.containers[0].securityContext.privileged`. */
function findPaths(value: unknown, test: (key: string, v: unknown) => boolean, path = ""): string[] {
  if (Array.isArray(value)) return value.flatMap((v, i) => findPaths(v, test, `${path}[${i}]`));
  if (value === null || typeof value !== "object") return [];
  return Object.entries(value).flatMap(([k, v]) => [
    ...(test(k, v) ? [`${path}.${k}`] : []),
    ...findPaths(v, test, `${path}.${k}`),
  ]);
}

describe("no privileged workload, no host kernel modules (issue 9)", () => {
  const variants = {
    example: exampleCluster(),
    "own groups and many users": exampleCluster((v) => {
      v.vpnGroups = { ops: { allow: ["cluster"] } };
      v.wireguardUsers.olga = { ip: "10.0.100.7", publicKeySecret: "olga_key", group: "ops" };
    }),
  };

  for (const [name, cluster] of Object.entries(variants)) {
    it(`${name}: every rendered object and chart's values`, () => {
      const objects = renderedObjects(cluster);
      expect(objects.filter((o) => workloadKinds.has(o.value.kind)).length).toBeGreaterThan(3);
      const bad = objects.flatMap((o) =>
        findPaths(
          o.value,
          (k, v) =>
            (k === "privileged" && v === true) ||
            (k === "hostPath" &&
              typeof v === "object" &&
              v !== null &&
              String((v as any).path).startsWith("/lib/modules")) ||
            (k === "add" && Array.isArray(v) && v.includes("SYS_MODULE")),
        ).map((p) => `${o.where}: ${p}`),
      );
      expect(bad).toEqual([]);
    });
  }

  it("WireGuard's container gets NET_ADMIN only; forwarding comes from the pod's sysctl the kubelet allows", () => {
    const dep = renderedObjects().find(
      (o) => o.value.kind === "Deployment" && o.value.metadata.name === "wireguard",
    )!.value;
    const pod = dep.spec.template.spec;
    const wg = pod.containers.find((c: any) => c.name === "wireguard");
    expect(wg.securityContext).toEqual({ privileged: false, capabilities: { add: ["NET_ADMIN"] } });
    expect(pod.securityContext.sysctls).toEqual([{ name: "net.ipv4.ip_forward", value: "1" }]);
    expect(pod.volumes.filter((v: any) => v.hostPath)).toEqual([]);
    // The peer reconciler (issue 10) configures the same wg0 and firewall: NET_ADMIN only too.
    const reconciler = pod.containers.find((c: any) => c.name === "reconciler");
    expect(reconciler.securityContext).toEqual({
      privileged: false,
      allowPrivilegeEscalation: false,
      capabilities: { add: ["NET_ADMIN"] },
    });
    const others = [...pod.containers, ...pod.initContainers].filter(
      (x: any) => x.name !== "wireguard" && x.name !== "reconciler",
    );
    for (const c of others) expect(c.securityContext?.capabilities?.add ?? [], c.name).toEqual([]);
    const cluster = exampleCluster();
    for (const node of cluster.nodes)
      expect(nodeSpec(cluster, node).k3s.extraFlags, node.name).toContain(
        "--kubelet-arg=allowed-unsafe-sysctls=net.ipv4.ip_forward",
      );
  });
});

describe("Pi-hole's admin UI is never plain HTTP on a host name the public port-forward reaches (issue 9)", () => {
  it("the chart's Ingress is off; pihole.<domain> is HTTPS-only and answers private addresses only", () => {
    const objects = renderedObjects();
    const piholeValues = objects.find((o) => o.where.includes("values of pihole"))!.value;
    expect(piholeValues.ingress).toEqual({ enabled: false });
    const ingresses = objects.filter((o) => o.value.kind === "Ingress").map((o) => o.value);
    const pihole = ingresses.filter((i) =>
      i.spec.rules.some((r: any) => r.http.paths.some((p: any) => p.backend.service.name.startsWith("pihole"))),
    );
    expect(pihole.map((i) => i.spec.rules[0].host)).toEqual(["pihole.home.example.com"]);
    for (const i of pihole) {
      expect(i.spec.tls[0].hosts).toEqual([i.spec.rules[0].host]);
      expect(i.metadata.annotations["nginx.ingress.kubernetes.io/ssl-redirect"]).toBe("true");
      expect(i.metadata.annotations["nginx.ingress.kubernetes.io/whitelist-source-range"]).toBe(
        "10.0.0.0/8,172.16.0.0/12,192.168.0.0/16",
      );
    }
    // The source range means something only because the controller believes no client X-Forwarded-For.
    const nginx = objects.find((o) => o.where.includes("values of ingress-nginx"))!.value;
    expect(nginx.controller.config["use-forwarded-headers"]).toBe("false");
  });
});
