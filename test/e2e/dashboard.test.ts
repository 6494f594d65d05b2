/**
 * `nixlab dashboard` in a real browser (Debian's Chromium through playwright-core), on a
 * private testbed with the example's whole catalog deployed once: every group with its
 * live state, the DAG drawn with a node per group and an edge per dependency, a group
 * made not ready showing its reason without a reload, the last deploy's change set, a
 * screenshot that is not blank (UPDATE_SCREENSHOT=1 writes docs/dashboard.png), no
 * request to anything but the dashboard's own server, and the page saying so when the
 * API is stopped. Private, because this test stops the API.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { HttpKube } from "../../src/deploy/http-kube.ts";
import { sopsSource } from "../../src/deploy/secrets.ts";
import { type LoadedPlan, loadPlan } from "../../src/plan/load.ts";
import { type HelmStandIn, installCrds, startHelmStandIn } from "../../testbed/helm-standin.ts";
import { deployFiles } from "../deploy/fixture.ts";
import { type Browser, chromiumPath, distinctColours, launchBrowser } from "../support/browser.ts";
import { spawnCli } from "./cli.ts";
import { connectKube, crdDir, e2eRequired, kubeconfig, privateTestbed, root } from "./testbed.ts";

const tbDir = join(root, ".testbed/dashboard");
const example = join(root, "examples/homelab");
const hasChromium = existsSync(chromiumPath);

/** Starts `nixlab dashboard` and resolves with its URL once it listens. */
function startDashboard(
  args: string[],
  cwd: string,
): Promise<{ child: ChildProcess; url: string; output: () => string }> {
  const child = spawn(process.execPath, [join(root, "bin/nixlab.js"), "dashboard", ...args], {
    cwd,
    env: { ...process.env, NO_COLOR: "1" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  const output = () => out;
  return new Promise((resolve, reject) => {
    const onData = (d: Buffer) => {
      out += d.toString();
      const url = /^dashboard (http:\/\/\S+) /m.exec(out)?.[1];
      if (url) resolve({ child, url, output });
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", onData);
    child.once("exit", (code) => reject(new Error(`nixlab dashboard exited (${code}): ${out}`)));
  });
}

describe.skipIf(!kubeconfig || (!hasChromium && !e2eRequired))("nixlab dashboard in a browser", () => {
  let dir: string;
  let kube: HttpKube;
  let standin: HelmStandIn;
  let plan: LoadedPlan;
  let dashboard: Awaited<ReturnType<typeof startDashboard>>;
  let browser: Browser;
  const requests: string[] = [];
  let navigations = 0;

  const state = (group: string) => browser.page.getAttribute(`svg.dag g.node[data-group="${group}"]`, "data-state");

  beforeAll(async () => {
    if (!hasChromium) throw new Error(`NIXLAB_E2E=1 but ${chromiumPath} is missing: run scripts/setup.d/00-apt.sh`);
    dir = mkdtempSync(join(tmpdir(), "nixlab-e2e-dashboard-"));
    privateTestbed(tbDir, "down.sh");
    const kc = privateTestbed(tbDir, "up.sh");
    kube = connectKube(kc);
    await installCrds(kube, crdDir, ["helm.cattle.io_"]);
    // Two of the example's three nodes join (kwok makes them Ready); node3 is still being installed.
    for (const name of ["node1", "node2"]) {
      await kube.create({
        apiVersion: "v1",
        kind: "Node",
        metadata: {
          name,
          annotations: { "kwok.x-k8s.io/node": "fake" },
          labels: { "kubernetes.io/hostname": name, type: "kwok" },
        },
      });
    }
    const project = join(dir, "homelab");
    mkdirSync(project);
    for (const f of ["nixlab.yaml", "secrets.yaml", "age-key.txt", ".sops.yaml"])
      cpSync(join(example, f), join(project, f));
    const build = await spawnCli(["build", "--no-nodes"], { cwd: project });
    expect(build.code, build.stderr).toBe(0);
    const planPath = join(project, "build/deploy-plan.json");
    plan = await loadPlan(planPath);
    standin = startHelmStandIn({ kube, plan: plan.plan, crdDir });
    const secrets = sopsSource(join(project, "secrets.yaml"), { ageKeyFile: join(project, "age-key.txt") });
    const report = await deployFiles({ kube, planPath, stateDir: join(project, ".nixlab/state"), secrets });
    expect(report.result, JSON.stringify(report.groups)).toBe("ok");
    dashboard = await startDashboard(["--port", "0", "--kubeconfig", kc], project);
    browser = await launchBrowser();
    browser.page.on("request", (r) => requests.push(r.url()));
    browser.page.on("framenavigated", (f) => {
      if (f === browser.page.mainFrame()) navigations++;
    });
    await browser.page.goto(dashboard.url);
    await browser.page.waitForSelector("body[data-loaded] svg.dag");
  }, 300_000);

  afterAll(async () => {
    await browser?.close();
    dashboard?.child.kill("SIGKILL");
    await standin?.stop().catch(() => {});
    kube?.close();
    try {
      privateTestbed(tbDir, "down.sh");
    } catch {
      // Nothing to stop when it never came up.
    }
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test("every group shows with its live state; the SVG has a node per group and an edge per dependency", async () => {
    const { page } = browser;
    const groups = plan.plan.groups;
    const nodes = await page.$$eval("svg.dag g.node", (els) => els.map((e) => e.getAttribute("data-group")));
    expect(nodes.sort()).toEqual(groups.map((g) => g.name).sort());
    const edges = await page.$$eval("svg.dag path.edge", (els) => els.map((e) => e.getAttribute("data-edge")));
    expect(edges.sort()).toEqual(groups.flatMap((g) => g.dependsOn.map((d) => `${d}->${g.name}`)).sort());
    for (const g of groups) expect(await state(g.name), g.name).toBe("ready");
    expect(await page.textContent("#groups")).toContain(`${groups.length} ready`);
    // The rest of the page: nodes from the cluster file with k3s's view, VPN users, no API banner.
    expect(await page.textContent('tr[data-node="node1"]')).toContain("Ready");
    expect(await page.textContent('tr[data-node="node3"]')).toContain("not in the cluster");
    expect(await page.$$eval("tr[data-vpn-user]", (els) => els.length)).toBeGreaterThan(0);
    expect(await page.$('[data-api="unreachable"]')).toBeNull();
  });

  test("a group's details: its charts, objects and the last deploy's change set", async () => {
    const { page } = browser;
    await page.click('svg.dag g.node[data-group="apps"]');
    const details = await page.textContent('[data-details="apps"]');
    expect(details).toContain("signal-proxy");
    expect(details).toContain("Deployment/signal-proxy/signal-proxy");
    expect(details).toMatch(/Deployment\/signal-proxy\/signal-proxy\s*created/);
  });

  test("a group made not ready shows the reason, without a reload", async () => {
    // Another manager makes the Signal proxy roll out a pod that stays unready for an hour.
    await kube.apply(
      {
        apiVersion: "apps/v1",
        kind: "Deployment",
        metadata: { name: "signal-proxy", namespace: "signal-proxy" },
        spec: { template: { metadata: { annotations: { "testbed.nixlab.dev/ready-delay": "1h" } } } },
      },
      { manager: "dashboard-test" },
    );
    await expect.poll(() => state("apps"), { timeout: 60_000, interval: 500 }).toBe("not-ready");
    const reason = await browser.page.textContent('svg.dag g.node[data-group="apps"] title');
    expect(reason).toMatch(/apps: not ready \(Deployment\/signal-proxy\/signal-proxy: .+\)/);
    expect(await browser.page.textContent('tr[data-group="apps"]')).toContain("Deployment/signal-proxy/signal-proxy");
    // An object of ours deleted by hand is drift.
    expect(await browser.page.textContent("#drift")).toContain("None");
    await kube.delete({ apiVersion: "v1", kind: "Service", namespace: "signal-proxy", name: "signal-proxy" });
    await expect
      .poll(() => browser.page.textContent("#drift"), { timeout: 30_000, interval: 500 })
      .toMatch(/apps\s*Service\/signal-proxy\/signal-proxy\s*missing/);
    for (const g of plan.plan.groups.filter((x) => x.name !== "apps"))
      expect(await state(g.name), g.name).toBe("ready");
    expect(navigations).toBe(1);
  }, 90_000);

  test("a screenshot is taken and is not blank", async () => {
    const png = await browser.page.screenshot({ fullPage: true });
    writeFileSync(join(dir, "dashboard.png"), png);
    if (process.env.UPDATE_SCREENSHOT === "1") writeFileSync(join(root, "docs/dashboard.png"), png);
    expect(png.subarray(1, 4).toString()).toBe("PNG");
    expect(await distinctColours(browser.context, png)).toBeGreaterThan(50);
  });

  test("the page requested nothing but its own server", () => {
    const origin = new URL(dashboard.url).origin;
    expect(requests.length).toBeGreaterThan(3);
    expect(requests.filter((u) => new URL(u).origin !== origin)).toEqual([]);
  });

  test("with the API stopped, the page says so and shows the last recorded states", async () => {
    privateTestbed(tbDir, "restart.sh", "stop", "apiserver");
    const banner = browser.page.locator('[data-api="unreachable"]');
    await banner.waitFor({ timeout: 30_000 });
    expect(await banner.textContent()).toMatch(/The Kubernetes API at https:\/\/127\.0\.0\.1:\d+ is unreachable/);
    await expect
      .poll(() => browser.page.getAttribute('svg.dag g.node[data-group="apps"]', "class"), { timeout: 15_000 })
      .toContain("recorded");
    expect(await state("core-infrastructure")).toBe("ready");
    expect(navigations).toBe(1);
  }, 60_000);

  test("Ctrl-C stops the dashboard cleanly", async () => {
    const exited = new Promise<number | null>((resolve) => dashboard.child.once("exit", resolve));
    dashboard.child.kill("SIGINT");
    expect(await exited, dashboard.output()).toBe(0);
  });
});
