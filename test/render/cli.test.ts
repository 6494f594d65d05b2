import { describe, expect, it } from "vitest";
import { runCli } from "../support/cli.ts";
import { exampleYaml } from "../support/example.ts";

// picocolors colours output when CI is set; assertions read plain text.
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching ANSI colour codes is the point
const plain = (s: string) => s.replace(/\x1b\[[0-9;]*m/g, "");

describe("nixlab check, plan and graph", () => {
  it("check prints a one-line summary, or JSON", async () => {
    const text = await runCli(["check", "-c", exampleYaml]);
    expect(text.code).toBe(0);
    expect(plain(text.stdout)).toMatch(
      /^ok .*nixlab\.yaml: 3 nodes \(master node1\), 3 VPN users, 20 charts in 9 groups\n$/,
    );
    const json = JSON.parse((await runCli(["check", "-c", exampleYaml, "--json"])).stdout);
    expect(json).toMatchObject({ ok: true, nodes: 3, master: "node1", vpnUsers: 3, charts: 20, groups: 9 });
  });

  it("plan shows the groups step by step with charts, secrets and waits", async () => {
    const { code, stdout } = await runCli(["plan", "-c", exampleYaml]);
    expect(code).toBe(0);
    const text = plain(stdout);
    expect(text).toContain("Deploy plan for home.example.com: 9 groups, 20 charts, 8 namespaces");
    expect(text).toContain("── step 3 (2 groups in parallel) ──");
    expect(text).toMatch(/dns-services {2}after networking-services/);
    expect(text).toMatch(/externaldns-pihole +helm external-dns 1\.21\.1 +→ dns-system/);
    expect(text).toContain("wait   Deployment dns-system/externaldns-pihole-external-dns ≤120s");
    expect(text).toContain("secret wireguard-system/wireguard-secrets");
    expect(text).toContain("hook nextcloud-sso after apps: occ as www-data in nextcloud/nextcloud");
    const json = JSON.parse((await runCli(["plan", "-c", exampleYaml, "--json"])).stdout);
    expect(json.kind).toBe("DeployPlan");
  });

  it("graph draws the DAG in mermaid and dot", async () => {
    const mermaid = (await runCli(["graph", "-c", exampleYaml])).stdout;
    expect(mermaid.split("\n")[0]).toBe("graph TD");
    expect(mermaid).toContain("g_core_config --> g_networking_services");
    expect(mermaid).toContain("g_external_dns --> g_external_ingress");
    const dot = (await runCli(["graph", "-c", exampleYaml, "-o", "dot"])).stdout;
    expect((await runCli(["graph", "-c", exampleYaml, "--format", "dot"])).stdout).toBe(dot);
    expect(dot).toContain('"core-infrastructure" -> "core-config";');
    const bad = await runCli(["graph", "-c", exampleYaml, "-o", "svg"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("Allowed choices are mermaid, dot");
  });

  it("graph --flow measures which fields reach which outputs", async () => {
    const flow = (await runCli(["graph", "-c", exampleYaml, "--flow", "-o", "dot"])).stdout;
    expect(flow).toContain('"vars.domain" -> "manifests/pihole-external-ingress.yaml";');
    expect(flow).toContain('"vars.piholeIp" -> "manifests/pihole.yaml";');
    expect(flow).toContain('"vars.wireguardUsers" -> "manifests/wireguard-config.yaml";');
    expect(flow).toContain('"vars.metallbPool" -> "manifests/metallb-config.yaml";');
    // The time zone reaches the WireGuard container's TZ and nothing else in the catalog.
    expect(flow.split("\n").filter((l) => l.startsWith('  "vars.timezone" ->'))).toEqual([
      '  "vars.timezone" -> "manifests/wireguard-deployment.yaml";',
    ]);
    expect(flow).not.toContain('"vars.piholeIp" -> "manifests/longhorn.yaml"');
  });

  it("every command has --help", async () => {
    for (const cmd of ["check", "build", "plan", "graph"]) {
      const r = await runCli([cmd, "--help"]);
      expect(r.code, cmd).toBe(0);
      expect(r.stdout, cmd).toContain("--config");
    }
  });
});
