/**
 * The example cluster's whole catalog on the real testbed: cold deploy to ready, a no-op
 * redeploy that writes nothing, and one changed value re-applying exactly its group.
 * k3s's helm controller is the only stand-in (testbed/helm-standin.ts).
 */
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { diffPlan } from "../../src/deploy/diff.ts";
import type { HttpKube } from "../../src/deploy/http-kube.ts";
import { loadPlan } from "../../src/plan/load.ts";
import { type SecretSource, sopsSource } from "../../src/deploy/secrets.ts";
import { type HelmStandIn, startHelmStandIn } from "../../testbed/helm-standin.ts";
import { type CountingProxy, startCountingProxy } from "./counting-proxy.ts";
import { deployFiles } from "../deploy/fixture.ts";
import { connectKube, crdDir, kubeconfig, root, testbedKube } from "./testbed.ts";

const example = join(root, "examples/homelab");

describe.skipIf(!kubeconfig)("example catalog on the testbed", () => {
  let dir: string;
  let planPath: string;
  let stateDir: string;
  let kube: HttpKube;
  let standin: HelmStandIn;
  let secrets: SecretSource;
  let proxy: CountingProxy;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "nixlab-e2e-catalog-"));
    const build = spawnSync(
      process.execPath,
      [
        join(root, "bin/nixlab.js"),
        "build",
        "--config",
        join(example, "nixlab.yaml"),
        "--out",
        join(dir, "build"),
        "--no-nodes",
      ],
      { encoding: "utf8" },
    );
    expect(build.status, build.stderr).toBe(0);
    planPath = join(dir, "build/deploy-plan.json");
    stateDir = join(dir, "state");
    kube = await testbedKube();
    const { plan } = await loadPlan(planPath);
    standin = startHelmStandIn({ kube, plan, crdDir });
    secrets = sopsSource(join(example, "secrets.yaml"), { ageKeyFile: join(example, "age-key.txt") });
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

  test("the whole catalog deploys and every group reaches ready; SSO is configured as www-data", async () => {
    const dkube = connectKube(kubeconfig!);
    try {
      const report = await deployFiles({ kube: dkube, planPath, stateDir, secrets });
      expect(
        report.groups.filter((g) => g.phase !== "ready").map((g) => `${g.name}: ${g.phase} ${g.message ?? ""}`),
      ).toEqual([]);
      expect(report.result).toBe("ok");
      expect(report.exitCode).toBe(0);
      expect(report.counts.failed).toBe(0);
      const hook = report.hooks.find((h) => h.name === "nextcloud-sso");
      expect(hook?.status).toBe("configured");
      const log = readFileSync(join(root, ".testbed/run/exec/occ-log.jsonl"), "utf8")
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l) as { user: string; cmd: string });
      expect(new Set(log.map((l) => l.user))).toEqual(new Set(["www-data"]));
      // Every setting is read back after being set (defect 32: not just "is the app enabled").
      expect(log.filter((l) => l.cmd === "config:app:get").length).toBe(6);
      const state = JSON.parse(readFileSync(join(stateDir, "state.json"), "utf8"));
      for (const g of Object.values(state.groups) as Array<{ status: string }>) expect(g.status).toBe("ready");
    } finally {
      dkube.close();
    }
  }, 240_000);

  test("a second deploy sends 0 write requests and reports every object unchanged", async () => {
    const pkube = connectKube(proxy.kubeconfig);
    try {
      proxy.reset();
      const report = await deployFiles({ kube: pkube, planPath, stateDir, secrets });
      expect(proxy.counts.writePaths).toEqual([]);
      expect(proxy.counts.writes).toBe(0);
      expect(report.requests.writes).toBe(0);
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
    const dkube = connectKube(kubeconfig!);
    try {
      const report = await deployFiles({ kube: dkube, planPath, stateDir, secrets: changed });
      expect(report.result).toBe("ok");
      expect(report.groups.filter((g) => g.applied).map((g) => g.name)).toEqual(["external-dns"]);
      const secret = await dkube.get({
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
      const back = await deployFiles({ kube: dkube, planPath, stateDir, secrets });
      expect(back.groups.filter((g) => g.applied).map((g) => g.name)).toEqual(["external-dns"]);
    } finally {
      dkube.close();
    }
  }, 120_000);

  test("nixlab diff: nothing after a deploy; a changed Secret shows as changed, its value never", async () => {
    const dkube = connectKube(kubeconfig!);
    try {
      const same = (await diffPlan({ plan: await loadPlan(planPath), kube: dkube, secrets })).objects;
      expect(same.filter((d) => d.action !== "unchanged").map((d) => `${d.object}\n${d.diff}`)).toEqual([]);
      const changed: SecretSource = {
        description: "changed token",
        get: async (name) =>
          name === "cloudflare_token" ? Buffer.from("visible-only-as-size") : await secrets.get(name),
      };
      const diffs = (
        await diffPlan({ plan: await loadPlan(planPath), kube: dkube, secrets: changed, only: ["external-dns"] })
      ).objects;
      const secret = diffs.find((d) => d.object === "Secret/dns-system/cloudflare-api-token");
      expect(secret?.action).toBe("change");
      expect(secret?.diff).toMatch(/\+ {2}api-token: <hidden, 20 bytes, new value>/);
      expect(JSON.stringify(diffs)).not.toContain("visible-only");
      expect(JSON.stringify(diffs)).not.toContain(Buffer.from("visible-only-as-size").toString("base64"));
    } finally {
      dkube.close();
    }
  }, 60_000);

  test("nixlab status reads the state and the cluster without writing", async () => {
    proxy.reset();
    // Asynchronous: the proxy serves from this process, so it must not be blocked.
    const child = spawn(
      process.execPath,
      [
        join(root, "bin/nixlab.js"),
        "status",
        "--kubeconfig",
        proxy.kubeconfig,
        "--plan",
        planPath,
        "--state",
        stateDir,
        "--json",
      ],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    const status = { stdout: "", stderr: "", status: -1 };
    child.stdout.on("data", (d: Buffer) => (status.stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (status.stderr += d.toString()));
    status.status = await new Promise<number>((r) => child.once("exit", (c) => r(c ?? -1)));
    expect(status.status, status.stderr).toBe(0);
    expect(proxy.counts.writes).toBe(0);
    const parsed = JSON.parse(status.stdout) as { groups: Array<{ name: string; status: string; drift: boolean }> };
    expect(parsed.groups.map((g) => [g.name, g.status, g.drift])).toEqual(
      parsed.groups.map((g) => [g.name, "ready", false]),
    );
    expect(existsSync(join(stateDir, "deploy.lock"))).toBe(false);
  }, 60_000);
});
