/**
 * The in-cluster dashboard as rendered: off by default (nothing of it in the output),
 * and when on, its objects (golden files: UPDATE_GOLDEN=1 rewrites them), the sign-in
 * proxy's routes and DNS name, read-only RBAC, and device Secrets only for users whose
 * config the cluster file shares. Schema validation: test/render/schema.test.ts.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import type { Site } from "../../src/dashboard/site.ts";
import { renderCluster } from "../../src/render/build.ts";
import { ConfigError } from "../../src/config/load.ts";
import { dashboardWarnings } from "../../src/services/dashboard/dashboard.ts";
import { requiredSecrets } from "../../src/services/required-secrets.ts";
import { exampleCluster, root } from "../support/example.ts";

const code = "// the dashboard's bundle\n";
const goldenDir = join(root, "test/golden/dashboard");
const enabled = () =>
  exampleCluster((v) => {
    v.dashboard = { enabled: true };
    v.wireguardUsers.bob.dashboardConfig = true;
  });
const file = (files: Array<{ path: string; content: string }>, path: string) =>
  files.find((f) => f.path === path)?.content;
const objects = (text: string | undefined) => parseAllDocuments(text ?? "").map((d) => d.toJS());

describe("the in-cluster dashboard", () => {
  it("is off by default: nothing of it is rendered", () => {
    const { files, plan } = renderCluster(exampleCluster());
    expect(plan.groups.map((g) => g.name)).not.toContain("dashboard");
    expect(files.map((f) => f.content).join("\n")).not.toMatch(/dashboard/i);
    expect(requiredSecrets(exampleCluster()).map((r) => r.name)).not.toContain("dashboard_sso_token");
  });

  it("matches the golden files (UPDATE_GOLDEN=1 rewrites them)", () => {
    const { files } = renderCluster(enabled(), { dashboardCode: code });
    const wg = objects(file(files, "manifests/wireguard-config.yaml"))[0];
    const golden: Record<string, string> = {
      "dashboard-rbac.yaml": file(files, "manifests/dashboard-rbac.yaml")!,
      "dashboard.yaml": file(files, "manifests/dashboard.yaml")!,
      Caddyfile: wg.data.Caddyfile,
      Corefile: wg.data.Corefile,
    };
    for (const [name, content] of Object.entries(golden)) {
      const path = join(goldenDir, name);
      if (process.env.UPDATE_GOLDEN === "1" || !existsSync(path)) {
        mkdirSync(goldenDir, { recursive: true });
        writeFileSync(path, content);
      }
      expect(content, name).toBe(readFileSync(path, "utf8"));
    }
  });

  it("its own group after the VPN, waiting for its Deployment; the pod's code is the bundle", () => {
    const { plan, files } = renderCluster(enabled(), { dashboardCode: code });
    expect(plan.groups.find((g) => g.name === "dashboard")).toMatchObject({
      dependsOn: ["vpn-services"],
      charts: ["dashboard-rbac", "dashboard"],
      waitFor: [{ kind: "Deployment", name: "nixlab-dashboard", namespace: "nixlab-dashboard" }],
    });
    const cm = objects(file(files, "manifests/dashboard.yaml")).find((o) => o.kind === "ConfigMap");
    expect(cm.data["dashboard.mjs"]).toBe(code);
    const site = JSON.parse(cm.data["site.json"]) as Site;
    expect(site.plan.groups.map((g) => g.name)).toEqual(plan.groups.map((g) => g.name));
    expect(site.plan.charts.map((c) => c.key)).toEqual(plan.charts.map((c) => c.key));
    // Only bob's config is shared; it is a template, never a key.
    expect(site.users.filter((u) => u.configTemplate).map((u) => u.name)).toEqual(["bob"]);
    expect(site.users.find((u) => u.name === "bob")!.configTemplate).toContain(
      "PrivateKey = __PASTE_BOB_PRIVATE_KEY_HERE__",
    );
    expect(site.users.find((u) => u.name === "alice")).toMatchObject({ admin: true, person: "nextcloud:alice" });
    // Every inventory the deploy writes is readable by name, and nothing else in kube-system.
    expect(Object.keys(site.inventories)).toEqual(plan.groups.map((g) => g.name));
  });

  it("RBAC: get and list of status-bearing kinds, never Secrets or ConfigMaps in general, never writes", () => {
    const { files } = renderCluster(enabled(), { dashboardCode: code });
    const rbac = objects(file(files, "manifests/dashboard-rbac.yaml"));
    const rules = rbac.filter((o) => o.kind === "ClusterRole" || o.kind === "Role").flatMap((r) => r.rules);
    for (const r of rules) {
      expect(
        r.verbs.every((v: string) => v === "get" || v === "list"),
        JSON.stringify(r),
      ).toBe(true);
      if (r.resources.includes("secrets") || r.resources.includes("configmaps")) {
        expect(r.verbs).toEqual(["get"]);
        expect(r.resourceNames.length).toBeGreaterThan(0);
      }
    }
    const secrets = rules.find((r) => r.resources.includes("secrets"));
    expect(secrets.resourceNames).toEqual(["device-bob"]);
    const clusterWide = rbac
      .find((o) => o.kind === "ClusterRole")
      .rules.flatMap((r: { resources: string[] }) => r.resources);
    expect(clusterWide).not.toContain("secrets");
    expect(clusterWide).not.toContain("configmaps");
    expect(clusterWide).not.toContain("pods");
  });

  it("device Secrets only for shared users; the token and the private keys are required secrets", () => {
    const { plan } = renderCluster(enabled(), { dashboardCode: code });
    const ns = plan.secrets.filter((s) => s.namespace === "nixlab-dashboard");
    expect(ns.map((s) => [s.name, s.keys.map((k) => `${k.key}<-${k.sopsSecret}`)])).toEqual([
      ["device-bob", ["private-key<-bob_wg_private_key", "public-key<-bob_wg_public_key"]],
      [
        "nixlab-dashboard",
        [
          "server-endpoint<-wireguard_server_endpoint",
          "server-public-key<-wireguard_server_public_key",
          "token<-dashboard_sso_token",
        ],
      ],
    ]);
    const required = requiredSecrets(enabled()).map((r) => r.name);
    expect(required).toEqual(expect.arrayContaining(["dashboard_sso_token", "bob_wg_private_key"]));
    expect(required).not.toContain("alice_wg_private_key");
  });

  it("the sign-in proxy routes dashboard.<domain> by VPN address and adds the token; guests get no route", () => {
    const { files } = renderCluster(enabled(), { dashboardCode: code });
    const wg = objects(file(files, "manifests/wireguard-config.yaml"))[0];
    const caddy: string = wg.data.Caddyfile;
    expect(caddy).toMatch(/@dash_alice \{\n\t\thost dashboard\.home\.example\.com\n\t\tremote_ip 10\.0\.100\.2\n\t\}/);
    expect(caddy).toContain('header_up X-Nixlab-User "bob"');
    expect(caddy).toContain("header_up X-Nixlab-Dashboard-Token {$NIXLAB_DASHBOARD_TOKEN}");
    // carol is a guest: her group does not reach the sign-in proxy, so the dashboard is not hers to open.
    expect(caddy).not.toContain("@dash_carol");
    // The dashboard's routes come before Nextcloud's, which match any host.
    expect(caddy.indexOf("@dash_unknown")).toBeLessThan(caddy.indexOf("@vpn_alice"));
    expect(wg.data.Corefile).toContain("10.0.100.1 dashboard.home.example.com");
    expect(wg.data["caddy-run.sh"]).toContain(
      "NIXLAB_DASHBOARD_TOKEN must be the hex token of secret dashboard_sso_token",
    );
    const cert = objects(file(files, "manifests/wireguard-caddy-cert.yaml"))[0];
    expect(cert.spec.dnsNames).toEqual(["nextcloud.home.example.com", "dashboard.home.example.com"]);
  });

  it("check: a private key secret that is another user's public key secret is an error naming both", () => {
    let error: unknown;
    try {
      exampleCluster((v) => {
        v.wireguardUsers.bob.dashboardConfig = true;
        v.wireguardUsers.carol.publicKeySecret = "bob_wg_private_key";
      });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).details.join("\n")).toMatch(
      /wireguardUsers\.bob\.dashboardConfig.*secret "bob_wg_private_key", which is the public key secret of "carol"[\s\S]*fix: rename wireguardUsers\.carol\.publicKeySecret/,
    );
  });

  it("check warns about a shared config nobody can see", () => {
    expect(dashboardWarnings(exampleCluster((v) => (v.wireguardUsers.bob.dashboardConfig = true)))).toEqual([
      "wireguardUsers.bob.dashboardConfig has no effect: the in-cluster dashboard is off (dashboard.enabled)",
    ]);
    const guest = exampleCluster((v) => {
      v.dashboard = { enabled: true };
      v.wireguardUsers.carol.dashboardConfig = true;
    });
    expect(dashboardWarnings(guest)).toEqual([expect.stringMatching(/^carol cannot open the dashboard.*group guests/)]);
    expect(dashboardWarnings(enabled())).toEqual([]);
  });
});
