/**
 * The dashboard on a private testbed (this file stops its API) with the example's whole
 * catalog deployed once, with the in-cluster dashboard turned on and bob's config shared:
 *
 * - `nixlab dashboard` in a real browser (Debian's Chromium through playwright-core):
 *   every group with its live state, the DAG with a node per group and an edge per
 *   dependency, a group made not ready showing its reason without a reload, the last
 *   deploy's change set, a screenshot that is not blank (UPDATE_SCREENSHOT=1 writes
 *   docs/dashboard.png), no request to anything but its own server, and the page saying
 *   so when the API is stopped;
 * - the in-cluster dashboard's bundle, run as the rendered ServiceAccount against the
 *   real API server: what its RBAC lets it read and refuses, and a non-admin's answers
 *   holding nothing of anyone else.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { parseAllDocuments, parseDocument } from "yaml";
import { ApiError } from "../../src/deploy/client.ts";
import { HttpKube as HttpKubeClient } from "../../src/deploy/http-kube.ts";
import type { HttpKube } from "../../src/deploy/http-kube.ts";
import { loadKubeconfig } from "../../src/deploy/kubeconfig.ts";
import { type SecretSource, sopsSource } from "../../src/deploy/secrets.ts";
import { type LoadedPlan, loadPlan } from "../../src/plan/load.ts";
import { wireguardPrivateKey, wireguardPublicKey } from "../../src/secrets/generate.ts";
import { type HelmStandIn, installCrds, startHelmStandIn } from "../../testbed/helm-standin.ts";
import { deployFiles } from "../deploy/fixture.ts";
import { type Browser, chromiumPath, distinctColours, launchBrowser } from "../support/browser.ts";
import { spawnCli } from "./cli.ts";
import { connectKube, crdDir, e2eRequired, kubeconfig, privateTestbed, root } from "./testbed.ts";

const tbDir = join(root, ".testbed/dashboard");
const example = join(root, "examples/homelab");
const hasChromium = existsSync(chromiumPath);

interface Started {
  child: ChildProcess;
  url: string;
  output: () => string;
}

/** Runs node with `argv` and resolves with the URL it prints (`pattern`'s group) once it listens. */
function startServer(argv: string[], pattern: RegExp, cwd: string, env: NodeJS.ProcessEnv = {}): Promise<Started> {
  const child = spawn(process.execPath, argv, {
    cwd,
    env: { ...process.env, NO_COLOR: "1", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  const output = () => out;
  return new Promise((resolve, reject) => {
    const onData = (d: Buffer) => {
      out += d.toString();
      const url = pattern.exec(out)?.[1];
      if (url) resolve({ child, url, output });
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", onData);
    child.once("exit", (code) => reject(new Error(`${argv.join(" ")} exited (${code}): ${out}`)));
  });
}

/** `nixlab dashboard ARGS…` in `cwd`. */
const startDashboard = (args: string[], cwd: string) =>
  startServer([join(root, "bin/nixlab.js"), "dashboard", ...args], /^dashboard (http:\/\/\S+) /m, cwd);

describe.skipIf(!kubeconfig || (!hasChromium && !e2eRequired))("nixlab dashboard in a browser", () => {
  let dir: string;
  let kube: HttpKube;
  let standin: HelmStandIn;
  let plan: LoadedPlan;
  let dashboard: Started;
  let project = "";
  let kc = "";
  let secrets: SecretSource;
  const dashboardToken = randomBytes(32).toString("hex");
  const bobKey = wireguardPrivateKey();
  let browser: Browser;
  const requests: string[] = [];
  let navigations = 0;

  const state = (group: string) => browser.page.getAttribute(`svg.dag g.node[data-group="${group}"]`, "data-state");

  beforeAll(async () => {
    if (!hasChromium) throw new Error(`NIXLAB_E2E=1 but ${chromiumPath} is missing: run scripts/setup.d/00-apt.sh`);
    dir = mkdtempSync(join(tmpdir(), "nixlab-e2e-dashboard-"));
    privateTestbed(tbDir, "down.sh");
    kc = privateTestbed(tbDir, "up.sh");
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
    project = join(dir, "homelab");
    mkdirSync(project);
    for (const f of ["nixlab.yaml", "secrets.yaml", "age-key.txt", ".sops.yaml"])
      cpSync(join(example, f), join(project, f));
    // The in-cluster dashboard on, and bob's own config shared with it.
    const doc = parseDocument(readFileSync(join(project, "nixlab.yaml"), "utf8"));
    doc.set("dashboard", { enabled: true });
    doc.setIn(["wireguardUsers", "bob", "dashboardConfig"], true);
    writeFileSync(join(project, "nixlab.yaml"), doc.toString());
    const build = await spawnCli(["build", "--no-nodes"], { cwd: project });
    expect(build.code, build.stderr).toBe(0);
    const planPath = join(project, "build/deploy-plan.json");
    plan = await loadPlan(planPath);
    standin = startHelmStandIn({ kube, plan: plan.plan, crdDir });
    // The example's secrets, plus what the dashboard needs: its token and bob's key pair.
    const sops = sopsSource(join(project, "secrets.yaml"), { ageKeyFile: join(project, "age-key.txt") });
    const extra: Record<string, string> = {
      dashboard_sso_token: dashboardToken,
      bob_wg_private_key: bobKey,
      bob_wg_public_key: wireguardPublicKey(bobKey),
    };
    secrets = {
      description: "the example's secrets and the dashboard's",
      get: async (name) => (name in extra ? Buffer.from(extra[name]!) : await sops.get(name)),
    };
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

  /** A client that is the in-cluster dashboard's ServiceAccount (a token from the TokenRequest API). */
  async function dashboardAccount(): Promise<{ sa: HttpKubeClient; token: string; ca: Buffer }> {
    const answer = await kube.request<{ status: { token: string } }>(
      "POST",
      "/api/v1/namespaces/nixlab-dashboard/serviceaccounts/nixlab-dashboard/token",
      { body: { apiVersion: "authentication.k8s.io/v1", kind: "TokenRequest", spec: { expirationSeconds: 3600 } } },
    );
    const admin = loadKubeconfig({ kubeconfig: kc });
    const ca = admin.tls.ca!;
    const sa = new HttpKubeClient({ ...admin, tls: { ca }, auth: { token: answer.status.token, plugin: false } });
    return { sa, token: answer.status.token, ca };
  }

  const status = (p: Promise<unknown>) =>
    p.then(
      () => 200,
      (e: unknown) => (e instanceof ApiError ? e.status : -1),
    );

  test("the in-cluster dashboard's ServiceAccount may read what the page needs, and no Secret but shared devices'", async () => {
    const { sa } = await dashboardAccount();
    try {
      const secret = (namespace: string, name: string) => sa.get({ apiVersion: "v1", kind: "Secret", namespace, name });
      expect(await status(secret("nixlab-dashboard", "device-bob"))).toBe(200);
      expect(await status(secret("nixlab-dashboard", "nixlab-dashboard"))).toBe(403);
      expect(await status(secret("wireguard-system", "wireguard-secrets"))).toBe(403);
      expect(await status(secret("nextcloud", "nextcloud-admin"))).toBe(403);
      expect(await status(sa.list("v1", "Secret"))).toBe(403);
      expect(await status(sa.list("v1", "ConfigMap"))).toBe(403);
      const inventory = readFileSync(join(project, "build/manifests/dashboard-rbac.yaml"), "utf8").match(
        /nixlab-inventory\.[0-9a-f]+\.apps/,
      )![0];
      const cm = (namespace: string, name: string) => sa.get({ apiVersion: "v1", kind: "ConfigMap", namespace, name });
      expect(await status(cm("kube-system", inventory))).toBe(200);
      expect(await status(cm("kube-system", "extension-apiserver-authentication"))).toBe(403);
      expect(await status(cm("wireguard-system", "wireguard-config"))).toBe(403);
      for (const [apiVersion, kind] of [
        ["v1", "Node"],
        ["apps/v1", "Deployment"],
        ["batch/v1", "Job"],
        ["helm.cattle.io/v1", "HelmChart"],
      ] as const) {
        expect(await status(sa.list(apiVersion, kind)), kind).toBe(200);
      }
      expect(await status(sa.list("v1", "Pod"))).toBe(403);
      const write = { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "x", namespace: "nixlab-dashboard" } };
      expect(await status(sa.apply(write))).toBe(403);
      expect(
        await status(
          sa.delete({ apiVersion: "v1", kind: "Secret", namespace: "nixlab-dashboard", name: "device-bob" }),
        ),
      ).toBe(403);
    } finally {
      sa.close();
    }
  });

  test("the in-cluster dashboard's bundle, as its ServiceAccount: the admin sees the cluster; bob only his own device", async () => {
    const { token, ca } = await dashboardAccount();
    const app = join(dir, "app");
    const serviceAccount = join(dir, "serviceaccount");
    mkdirSync(app);
    mkdirSync(serviceAccount);
    const rendered = parseAllDocuments(readFileSync(join(project, "build/manifests/dashboard.yaml"), "utf8")).map((d) =>
      d.toJS(),
    );
    const data = rendered.find((o) => o.kind === "ConfigMap").data as Record<string, string>;
    writeFileSync(join(app, "dashboard.mjs"), data["dashboard.mjs"]!);
    writeFileSync(join(app, "site.json"), data["site.json"]!);
    writeFileSync(join(serviceAccount, "token"), token);
    writeFileSync(join(serviceAccount, "ca.crt"), ca);
    const server = await kube.get({
      apiVersion: "v1",
      kind: "Secret",
      namespace: "nixlab-dashboard",
      name: "nixlab-dashboard",
    });
    const value = (key: string) => Buffer.from(server!.data[key], "base64").toString();
    const api = new URL(loadKubeconfig({ kubeconfig: kc }).server);
    const pod = await startServer([join(app, "dashboard.mjs")], /listening on (http:\/\/\S+)/, dir, {
      KUBERNETES_SERVICE_HOST: api.hostname,
      KUBERNETES_SERVICE_PORT: api.port,
      NIXLAB_SERVICEACCOUNT_DIR: serviceAccount,
      NIXLAB_SITE: join(app, "site.json"),
      NIXLAB_DASHBOARD_TOKEN: value("token"),
      NIXLAB_SERVER_PUBLIC_KEY: value("server-public-key"),
      NIXLAB_SERVER_ENDPOINT: value("server-endpoint"),
      NIXLAB_DEVICES_NAMESPACE: "nixlab-dashboard",
      HOST: "127.0.0.1",
      PORT: "0",
    });
    try {
      const ask = async (path: string, user: string | null) => {
        const headers: Record<string, string> = user
          ? { "X-Nixlab-User": user, "X-Nixlab-Dashboard-Token": dashboardToken }
          : {};
        const res = await fetch(new URL(path, pod.url), { headers });
        return { status: res.status, text: await res.text() };
      };
      const admin = await ask("/api/snapshot", "alice");
      expect(admin.status, admin.text).toBe(200);
      const snap = JSON.parse(admin.text) as { api: { state: string }; groups: Array<{ name: string; state: string }> };
      expect(snap.api.state).toBe("reachable");
      expect(snap.groups.map((g) => [g.name, g.state])).toEqual(plan.plan.groups.map((g) => [g.name, "ready"]));

      expect((await ask("/api/me", null)).status).toBe(403);
      expect((await ask("/api/snapshot", "bob")).status).toBe(403);
      const bodies: string[] = [];
      for (const path of ["/api/me", "/api/me/devices", "/api/me/devices/bob/config", "/api/me/devices/bob/qr.svg"]) {
        const r = await ask(path, "bob");
        expect(r.status, `${path}: ${r.text}`).toBe(200);
        bodies.push(r.text);
      }
      for (const path of ["/api/me/devices/alice/config", "/api/me/devices/carol/qr.svg"]) {
        expect((await ask(path, "bob")).status).toBe(404);
      }
      expect(bodies[2]).toContain(`PrivateKey = ${bobKey}`);
      expect(bodies[2]).toContain(`PublicKey = ${value("server-public-key")}`);
      const all = bodies.join("\n");
      for (const other of ["alice", "carol", "10.0.100.2", "10.0.100.4"]) expect(all).not.toContain(other);
      // alice's config is not shared: she sees her device, but no config.
      const alice = JSON.parse((await ask("/api/me/devices", "alice")).text);
      expect(alice.devices).toMatchObject([{ name: "alice", config: null }]);

      // bob's page in the browser: his device, its QR code, nothing else, nothing from elsewhere.
      const page = await browser.context.newPage();
      const seen: string[] = [];
      page.on("request", (r) => seen.push(r.url()));
      await page.setExtraHTTPHeaders({ "X-Nixlab-User": "bob", "X-Nixlab-Dashboard-Token": dashboardToken });
      await page.goto(pod.url);
      await page.waitForSelector('body[data-loaded="devices"]');
      expect(await page.$$eval("article.device", (els) => els.map((e) => e.getAttribute("data-device")))).toEqual([
        "bob",
      ]);
      // The QR code is an image the page loads after the devices: wait until it has loaded (or failed).
      await page.waitForFunction('document.querySelector("img.qr")?.complete === true');
      expect(
        await page.$eval("img.qr", (img) => (img as unknown as { naturalWidth: number }).naturalWidth),
      ).toBeGreaterThan(100);
      const text = (await page.textContent("main")) ?? "";
      expect(text).toContain("10.0.100.3");
      for (const other of ["alice", "carol", "10.0.100.2", "10.0.100.4"]) expect(text).not.toContain(other);
      if (process.env.UPDATE_SCREENSHOT === "1") {
        writeFileSync(join(root, "docs/dashboard-devices.png"), await page.screenshot({ fullPage: true }));
      }
      expect(seen.filter((u) => new URL(u).origin !== new URL(pod.url).origin)).toEqual([]);
      await page.close();
    } finally {
      const exited = new Promise((resolve) => pod.child.once("exit", resolve));
      pod.child.kill("SIGTERM");
      expect(await exited).toBe(0);
    }
  }, 60_000);

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
    expect(await banner.textContent()).toMatch(/Cannot read the cluster at https:\/\/127\.0\.0\.1:\d+: .*ECONNREFUSED/);
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
