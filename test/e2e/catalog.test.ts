/**
 * The example cluster's whole catalog on the real testbed, the way a user runs it: a
 * project directory (nixlab.yaml, secrets.yaml, the age key), `nixlab build`, then
 * `nixlab deploy` with no flags but the kubeconfig: a cold deploy to ready, a no-op
 * redeploy that writes nothing, one changed value re-applying exactly its group, diff
 * and status, and a build that no longer matches the cluster file refused by every
 * command. k3s's helm controller is the only stand-in (testbed/helm-standin.ts).
 */
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { diffPlan } from "../../src/deploy/diff.ts";
import type { HttpKube } from "../../src/deploy/http-kube.ts";
import { type SecretSource, sopsSource } from "../../src/deploy/secrets.ts";
import { loadPlan } from "../../src/plan/load.ts";
import { type HelmStandIn, startHelmStandIn } from "../../testbed/helm-standin.ts";
import { deployFiles } from "../deploy/fixture.ts";
import { spawnCli } from "./cli.ts";
import { type CountingProxy, startCountingProxy } from "./counting-proxy.ts";
import { connectKube, crdDir, kubeconfig, root, testbedKube } from "./testbed.ts";

const example = join(root, "examples/homelab");

describe.skipIf(!kubeconfig)("example catalog on the testbed", () => {
  let dir: string;
  let project: string;
  let planPath: string;
  let stateDir: string;
  let kube: HttpKube;
  let standin: HelmStandIn;
  let secrets: SecretSource;
  let proxy: CountingProxy;
  let env: Record<string, string>;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "nixlab-e2e-catalog-"));
    project = join(dir, "homelab");
    mkdirSync(project);
    for (const f of ["nixlab.yaml", "secrets.yaml", "age-key.txt", ".sops.yaml"])
      cpSync(join(example, f), join(project, f));
    env = { SOPS_AGE_KEY_FILE: join(project, "age-key.txt") };
    const build = await spawnCli(["build", "--no-nodes"], { cwd: project, env });
    expect(build.code, build.stderr).toBe(0);
    planPath = join(project, "build/deploy-plan.json");
    stateDir = join(project, ".nixlab/state");
    kube = await testbedKube();
    const { plan } = await loadPlan(planPath);
    standin = startHelmStandIn({ kube, plan, crdDir });
    secrets = sopsSource(join(project, "secrets.yaml"), { ageKeyFile: env.SOPS_AGE_KEY_FILE });
    proxy = await startCountingProxy(kubeconfig!, join(dir, "proxy.kubeconfig"));
    // The occ shim keeps its state in kwok's exec workDir: start from a fresh Nextcloud.
    const execDir = join(root, ".testbed/run/exec");
    for (const f of ["occ-state.json", "occ-log.jsonl"]) rmSync(join(execDir, f), { force: true });
  });

  afterAll(async () => {
    await standin?.stop();
    await proxy?.close();
    kube?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test("`nixlab deploy` in the project finds the plan and secrets.yaml next to the cluster file; every group reaches ready; SSO is configured as www-data", async () => {
    const r = await spawnCli(["deploy", "--kubeconfig", kubeconfig!, "--api-timeout", "30", "--json"], {
      cwd: project,
      env,
    });
    expect(r.code, r.stderr.slice(-2000)).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report.groups.filter((g: { phase: string }) => g.phase !== "ready")).toEqual([]);
    expect(report).toMatchObject({ command: "deploy", result: "ok", exitCode: 0, counts: { failed: 0 } });
    expect(report.hooks.find((h: { name: string }) => h.name === "nextcloud-sso")?.status).toBe("configured");
    const log = readFileSync(join(root, ".testbed/run/exec/occ-log.jsonl"), "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { user: string; cmd: string });
    expect(new Set(log.map((l) => l.user))).toEqual(new Set(["www-data"]));
    // Every setting is read back after being set (defect 32: not just "is the app enabled").
    expect(log.filter((l) => l.cmd === "config:app:get").length).toBe(6);
    const state = JSON.parse(readFileSync(join(stateDir, "state.json"), "utf8"));
    for (const g of Object.values(state.groups) as Array<{ status: string }>) expect(g.status).toBe("ready");
  }, 300_000);

  test("a second deploy sends 0 write (and 0 dry-run) requests and reports every object unchanged", async () => {
    const pkube = connectKube(proxy.kubeconfig);
    try {
      proxy.reset();
      const start = performance.now();
      const report = await deployFiles({ kube: pkube, planPath, stateDir, secrets });
      const ms = performance.now() - start;
      process.stderr.write(
        `no-op deploy of the example catalog, in process: ${ms.toFixed(0)} ms, ${proxy.counts.reads} reads\n`,
      );
      expect(proxy.counts.writePaths).toEqual([]);
      expect(proxy.counts.dryRuns).toBe(0);
      expect(report.requests).toMatchObject({ writes: 0, dryRuns: 0 });
      expect(report.result).toBe("ok");
      expect(report.changes.length).toBeGreaterThan(30);
      expect(report.changes.filter((c) => c.action !== "unchanged")).toEqual([]);
      expect(report.groups.every((g) => g.phase === "unchanged" && !g.applied)).toBe(true);
    } finally {
      pkube.close();
    }
  }, 120_000);

  test("changing one value re-applies exactly the groups whose hash changed, and rolls its readers", async () => {
    const changed: SecretSource = {
      description: "changed token",
      get: async (name) => (name === "cloudflare_token" ? Buffer.from("a-rotated-token") : await secrets.get(name)),
    };
    const report = await deployFiles({ kube, planPath, stateDir, secrets: changed });
    expect(report.result).toBe("ok");
    expect(report.groups.filter((g) => g.applied).map((g) => g.name)).toEqual(["external-dns"]);
    const secret = await kube.get({
      apiVersion: "v1",
      kind: "Secret",
      namespace: "dns-system",
      name: "cloudflare-api-token",
    });
    expect(Buffer.from(secret!.data["api-token"], "base64").toString()).toBe("a-rotated-token");
    const configured = report.changes.filter((c) => c.action === "configured").map((c) => c.object);
    expect(configured).toEqual(
      expect.arrayContaining([
        "Secret/dns-system/cloudflare-api-token",
        "Deployment/dns-system/externaldns-cloudflare-external-dns",
      ]),
    );
    // Back to the original value: the same single group again.
    const back = await deployFiles({ kube, planPath, stateDir, secrets });
    expect(back.groups.filter((g) => g.applied).map((g) => g.name)).toEqual(["external-dns"]);
  }, 120_000);

  test("nixlab diff: nothing after a deploy; a changed Secret shows as changed, its value never; Secrets are never dropped silently", async () => {
    const plan = await loadPlan(planPath);
    const same = await diffPlan({ plan, kube, secrets });
    expect(same.objects.filter((d) => d.action !== "unchanged").map((d) => `${d.object}\n${d.diff}`)).toEqual([]);
    expect(same.exitCode).toBe(0);
    const changed: SecretSource = {
      description: "changed token",
      get: async (name) =>
        name === "cloudflare_token" ? Buffer.from("visible-only-as-size") : await secrets.get(name),
    };
    const diffs = (await diffPlan({ plan, kube, secrets: changed, only: ["external-dns"] })).objects;
    const secret = diffs.find((d) => d.object === "Secret/dns-system/cloudflare-api-token");
    expect(secret?.action).toBe("change");
    expect(secret?.diff).toMatch(/\+ {2}api-token: <hidden, 20 bytes, new value>/);
    expect(JSON.stringify(diffs)).not.toContain("visible-only");
    expect(JSON.stringify(diffs)).not.toContain(Buffer.from("visible-only-as-size").toString("base64"));

    // A build copied away from its project: no secrets.yaml to be found.
    const lonely = join(dir, "lonely");
    cpSync(join(project, "build"), join(lonely, "build"), { recursive: true });
    const args = ["diff", "--kubeconfig", kubeconfig!, "--plan", join(lonely, "build/deploy-plan.json")];
    const refused = await spawnCli(args, { cwd: lonely });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/need \d+ Kubernetes Secrets built from SOPS values, but no secrets were found/);
    const skipped = await spawnCli([...args, "--skip-secrets"], { cwd: lonely });
    expect(skipped.code).toBe(0);
    const secretCount = plan.plan.secrets.length;
    expect(skipped.stdout.match(/^skipped Secret\/\S+: values not compared \(--skip-secrets\)$/gm)).toHaveLength(
      secretCount,
    );
    expect(skipped.stdout).toMatch(new RegExp(`, ${secretCount} skipped, 0 failed\\n$`));
  }, 120_000);

  test("nixlab status reads the state and the cluster without writing", async () => {
    proxy.reset();
    const status = await spawnCli(["status", "--kubeconfig", proxy.kubeconfig, "--json"], { cwd: project });
    expect(status.code, status.stderr).toBe(0);
    expect(proxy.counts.writes).toBe(0);
    const parsed = JSON.parse(status.stdout) as {
      result: string;
      groups: Array<{ name: string; status: string; drift: unknown[] }>;
    };
    expect(parsed.result).toBe("in-sync");
    expect(parsed.groups.map((g) => [g.name, g.status, g.drift])).toEqual(
      parsed.groups.map((g) => [g.name, "ready", []]),
    );
    expect(existsSync(join(stateDir, "deploy.lock"))).toBe(false);
  }, 60_000);

  test("a build older than the cluster file is refused by deploy, diff and status; after a rebuild plan and build agree", async () => {
    const file = join(project, "nixlab.yaml");
    const original = readFileSync(file, "utf8");
    writeFileSync(file, original.replace("timezone: Europe/Berlin", "timezone: Europe/Paris"));
    try {
      for (const command of ["deploy", "diff", "status"]) {
        const r = await spawnCli([command, "--kubeconfig", kubeconfig!], { cwd: project, env });
        expect(r.code, `${command}: ${r.stderr}`).toBe(2);
        expect(r.stderr).toMatch(/build\/deploy-plan\.json is stale: nixlab\.yaml changed since it was built/);
      }
      expect((await spawnCli(["build", "--no-nodes"], { cwd: project, env })).code).toBe(0);
      const planned = JSON.parse((await spawnCli(["plan", "--json"], { cwd: project })).stdout);
      expect(planned.hash).toBe(JSON.parse(readFileSync(planPath, "utf8")).hash);
      expect(planned.source).toEqual(JSON.parse(readFileSync(planPath, "utf8")).source);
      // What plan shows is what diff compares: the new timezone, in the one workload that reads it.
      const diff = await spawnCli(["diff", "--kubeconfig", kubeconfig!, "--json"], { cwd: project, env });
      expect(diff.code, diff.stderr).toBe(1);
      const changed = JSON.parse(diff.stdout).objects.filter((o: { action: string }) => o.action !== "unchanged");
      expect(changed.map((o: { object: string }) => o.object)).toEqual(["Deployment/wireguard-system/wireguard"]);
      expect(changed[0].diff).toMatch(/\+\s+value: Europe\/Paris/);
    } finally {
      writeFileSync(file, original);
      await spawnCli(["build", "--no-nodes"], { cwd: project, env });
    }
  }, 120_000);
});
