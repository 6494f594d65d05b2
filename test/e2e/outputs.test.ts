/**
 * Outputs a user can trust (issue 13), each observed on the real testbed through the real
 * CLI where the user sees it: status and deploy against an API that does not answer,
 * --only, log lines and the terminal table, a HelmChart whose install Job never comes,
 * diff's exit codes and pruning, --json on errors, kubeconfig merging, closed pipes;
 * and drift: a field changed by another field manager is reported and taken back.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { HttpKube } from "../../src/deploy/http-kube.ts";
import { inventoryRef } from "../../src/deploy/inventory.ts";
import type { KObject } from "../../src/deploy/objects.ts";
import { plainProgress } from "../../src/deploy/progress-plain.ts";
import { FileStateStore } from "../../src/deploy/state.ts";
import { deployStatus } from "../../src/deploy/status.ts";
import { loadPlan } from "../../src/plan/load.ts";
import { configMap, deployFiles, deployment, writePlan } from "../deploy/fixture.ts";
import { requireTool } from "../support/peers.ts";
import { spawnCli } from "./cli.ts";
import { type CountingProxy, startCountingProxy } from "./counting-proxy.ts";
import { kubeconfig, root, testbedKube } from "./testbed.ts";
import { renderScreen } from "./terminal.ts";

describe.skipIf(!kubeconfig)("outputs a user can trust, on the testbed", () => {
  let dir: string;
  let kube: HttpKube;
  let deadKubeconfig: string;
  const run = Date.now().toString(36);
  const ns = (what: string) => `e2e-${what}-${run}`;
  const cli = (args: string[], plan: string, state: string, more: string[] = []) =>
    spawnCli([...args, "--kubeconfig", kubeconfig!, "--plan", plan, "--state", state, ...more]);

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "nixlab-e2e-outputs-"));
    kube = await testbedKube();
    // A kubeconfig whose server refuses connections: a port that was just free.
    const server = net.createServer();
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const port = (server.address() as net.AddressInfo).port;
    await new Promise((r) => server.close(r));
    deadKubeconfig = join(dir, "dead.kubeconfig");
    writeFileSync(
      deadKubeconfig,
      readFileSync(kubeconfig!, "utf8").replace(
        /server: https:\/\/127\.0\.0\.1:\d+/,
        `server: https://127.0.0.1:${port}`,
      ),
    );
  });
  afterAll(() => {
    kube?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test("1. status with an unreachable API says so and exits 1, never calling an object missing; a state dir of another cluster is noticed", async () => {
    const n = ns("status");
    const plan = writePlan(join(dir, "status"), [{ name: "app", charts: { app: [configMap(n, "cfg", { a: "1" })] } }]);
    const state = join(dir, "status/state");
    expect((await cli(["deploy"], plan, state)).code).toBe(0);
    const down = await spawnCli([
      "status",
      "--kubeconfig",
      deadKubeconfig,
      "--plan",
      plan,
      "--state",
      state,
      "--api-timeout",
      "1",
    ]);
    expect(down.code).toBe(1);
    expect(down.stderr).toMatch(/error: cannot reach https:\/\/127\.0\.0\.1:\d+: connection refused .*ECONNREFUSED/);
    expect(`${down.stdout}${down.stderr}`).not.toMatch(/missing|drift/);
    const json = await spawnCli([
      "status",
      "--kubeconfig",
      deadKubeconfig,
      "--plan",
      plan,
      "--state",
      state,
      "--api-timeout",
      "1",
      "--json",
    ]);
    expect(JSON.parse(json.stdout)).toMatchObject({ command: "status", result: "error", exitCode: 1 });

    const ok = await cli(["status", "--json"], plan, state);
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({ command: "status", result: "in-sync", exitCode: 0 });
    // The same state dir, recorded against another cluster (another kube-system uid).
    const file = join(state, "state.json");
    writeFileSync(
      file,
      JSON.stringify({ ...JSON.parse(readFileSync(file, "utf8")), cluster: "uid-of-another-cluster" }),
    );
    const foreign = await cli(["status", "--json"], plan, state);
    expect(foreign.code).toBe(1);
    const report = JSON.parse(foreign.stdout);
    expect(report.warnings[0]).toMatch(/describes another cluster/);
    expect(report.groups[0]).toMatchObject({ name: "app", status: "unknown", inCluster: "applied", drift: [] });
  }, 60_000);

  test("2. deploy --only G exits 0 when G is ready; the other groups are 'not selected', with when they were ready", async () => {
    const n = ns("only");
    const plan = writePlan(join(dir, "only"), [
      { name: "base", charts: { base: [configMap(n, "base", { a: "1" })] } },
      { name: "app", dependsOn: ["base"], charts: { app: [configMap(n, "app", { b: "2" })] } },
    ]);
    const state = join(dir, "only/state");
    expect((await cli(["deploy"], plan, state)).code).toBe(0);
    const only = await cli(["deploy", "--only", "app", "--json"], plan, state);
    expect(only.code).toBe(0);
    const report = JSON.parse(only.stdout);
    expect(report.result).toBe("ok");
    expect(report.groups.find((g: { name: string }) => g.name === "base")).toMatchObject({
      phase: "not-selected",
      message: expect.stringMatching(/^not selected \(ready since \d{4}-/),
    });
    const text = await cli(["deploy", "--only", "app", "--log-format", "plain"], plan, state);
    expect(text.stdout).toMatch(/deploy complete \(1 groups not selected\)/);
    expect(text.stdout).not.toMatch(/not deployed yet|blocked/);
  }, 60_000);

  test("4a. plain logs name every object waited for with its reason, and repeat it while it waits", async () => {
    const n = ns("plain");
    const plan = writePlan(join(dir, "plain"), [
      {
        name: "slow",
        charts: { app: [deployment(n, "one", { readyDelay: "4s" }), deployment(n, "two", { readyDelay: "5s" })] },
      },
    ]);
    const out = new PassThrough();
    let log = "";
    out.on("data", (d: Buffer) => (log += d.toString()));
    const sink = plainProgress(out, { repeatMs: 1000, throttleMs: 200 });
    const report = await deployFiles({
      kube,
      planPath: plan,
      stateDir: join(dir, "plain/state"),
      sink: (e) => sink.onEvent(e),
    });
    sink.stop();
    expect(report.result).toBe("ok");
    for (const name of ["one", "two"]) {
      const lines = log.split("\n").filter((l: string) => l.includes(`Deployment/${n}/${name}`));
      expect(
        lines.some((l) => /waiting for Deployment\/\S+: \d\/1 (available|updated)/.test(l)),
        log,
      ).toBe(true);
      expect(
        lines.some((l) => /still waiting for Deployment\/\S+: /.test(l)),
        log,
      ).toBe(true);
      expect(lines.at(-1)).toMatch(/ ready$/);
      // Never silent for longer than the repeat interval (plus a tick).
      const times = lines.map((l: string) => Number(/^\[\s*([\d.]+)s\]/.exec(l)![1]));
      for (let i = 1; i < times.length; i++) expect(times[i]! - times[i - 1]!).toBeLessThan(2.2);
    }
  }, 60_000);

  test("4b. on a terminal the live table never redraws over the verdict, and no line wraps", async (ctx) => {
    // util-linux's script(1) gives the CLI a real pseudo-terminal.
    const script = requireTool("script", ctx);
    const n = ns("tty");
    const long = `a-deployment-with-a-rather-long-name-${run}`;
    const plan = writePlan(join(dir, "tty"), [
      { name: "first", charts: { one: [deployment(n, long, { readyDelay: "2s" })] } },
      { name: "second", dependsOn: ["first"], charts: { two: [configMap(n, "two", { a: "1" })] } },
    ]);
    const args = ["deploy", "--kubeconfig", kubeconfig!, "--plan", plan, "--state", join(dir, "tty/state")];
    const command = `stty cols 60 rows 40; exec ${[process.execPath, join(root, "bin/nixlab.js"), ...args].map((a) => `'${a}'`).join(" ")}`;
    const raw = execFileSync(script, ["-qfec", command, "/dev/null"], {
      env: { ...process.env, NO_COLOR: "1" },
      encoding: "utf8",
    });
    const screen = renderScreen(raw, 60);
    const lines = screen.filter((l) => l.trim() !== "");
    expect(lines.at(-1)).toMatch(/^deploy complete in [\d.]+s \(\d+ writes, \d+ reads\)$/);
    // The table's final frame stands above the summary, one line per group.
    expect(lines.filter((l) => /^✓ (first|second) /.test(l))).toHaveLength(2);
    // No cursor movement back up after the verdict was printed.
    const tail = raw.slice(raw.lastIndexOf("deploy complete"));
    expect(
      tail
        .split("\u001b[")
        .slice(1)
        .some((seq) => /^\d+F/.test(seq)),
    ).toBe(false);
  }, 60_000);

  test("5. an unreachable API: the reason at once and on every retry, then a clear failure; TLS and auth failures stop at once", async (ctx) => {
    const openssl = requireTool("openssl", ctx);
    const plan = writePlan(join(dir, "unreachable"), [
      { name: "app", charts: { app: [configMap(ns("x"), "x", { a: "1" })] } },
    ]);
    const refused = await spawnCli([
      "deploy",
      "--kubeconfig",
      deadKubeconfig,
      "--plan",
      plan,
      "--state",
      join(dir, "unreachable/state"),
      "--api-timeout",
      "3",
    ]);
    expect(refused.code).toBe(1);
    // Given up after the 3 s budget: the last retry is logged (elapsed time) before 3.5 s.
    const lastRetry =
      refused.stderr
        .split("\n")
        .filter((l) => l.includes("retrying in"))
        .at(-1) ?? "";
    expect(Number(/^\[\s*([\d.]+)s\]/.exec(lastRetry)?.[1])).toBeLessThan(3.5);
    expect(refused.ms).toBeLessThan(30_000);
    const retries = refused.stderr.split("\n").filter((l) => /connection refused .*; retrying in [\d.]+s$/.test(l));
    expect(retries.length).toBeGreaterThanOrEqual(3);
    expect(refused.stderr).toMatch(/^\[\s*0\.\ds\] cannot reach https:\/\/127\.0\.0\.1:\d+: connection refused/m);
    expect(refused.stderr).toMatch(/error: .*gave up after 3 s \(--api-timeout\)/);
    for (const command of ["diff", "status"]) {
      const r = await spawnCli(
        [command, "--kubeconfig", deadKubeconfig, "--plan", plan, "--api-timeout", "1", "--skip-secrets"].filter(
          (a) => command === "diff" || a !== "--skip-secrets",
        ),
      );
      expect(r.code, r.stderr).toBe(command === "diff" ? 2 : 1);
      expect(r.stderr).toMatch(/connection refused .*; retrying in [\d.]+s\n/);
    }

    // TLS: a certificate authority that did not sign the server's certificate.
    const ca = join(dir, "other-ca");
    execFileSync(
      openssl,
      [
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "1",
        "-subj",
        "/CN=other",
        "-keyout",
        `${ca}.key`,
        "-out",
        `${ca}.crt`,
      ],
      { stdio: "ignore" },
    );
    const tlsKc = join(dir, "tls.kubeconfig");
    writeFileSync(
      tlsKc,
      readFileSync(kubeconfig!, "utf8").replace(/certificate-authority: .*/, `certificate-authority: ${ca}.crt`),
    );
    const tls = await spawnCli([
      "deploy",
      "--kubeconfig",
      tlsKc,
      "--plan",
      plan,
      "--state",
      join(dir, "unreachable/state"),
      "--api-timeout",
      "30",
    ]);
    expect(tls.code).toBe(1);
    expect(tls.ms).toBeLessThan(15_000);
    expect(tls.stderr).toMatch(/TLS failed/);
    expect(tls.stderr).not.toMatch(/retrying/);
    // Auth: a token the apiserver does not know.
    const authKc = join(dir, "auth.kubeconfig");
    writeFileSync(
      authKc,
      readFileSync(kubeconfig!, "utf8").replace(
        /client-certificate: .*\n\s*client-key: .*/,
        "token: not-a-valid-token",
      ),
    );
    const auth = await spawnCli([
      "deploy",
      "--kubeconfig",
      authKc,
      "--plan",
      plan,
      "--state",
      join(dir, "unreachable/state"),
      "--api-timeout",
      "30",
    ]);
    expect(auth.code).toBe(1);
    expect(auth.ms).toBeLessThan(15_000);
    expect(auth.stderr).not.toMatch(/retrying/);
    expect(auth.stderr).toMatch(/refused our credentials/);
  }, 90_000);

  test("6. a HelmChart whose install Job never appears: what is missing and the likely cause", async () => {
    const n = ns("helm");
    const chart: KObject = {
      apiVersion: "helm.cattle.io/v1",
      kind: "HelmChart",
      metadata: { name: "nojob", namespace: n },
      spec: { repo: "https://charts.invalid", chart: "nothing", version: "1.0.0" },
    };
    const plan = writePlan(join(dir, "helm"), [{ name: "charts", timeoutSeconds: 3, charts: { nojob: [chart] } }]);
    const r = await cli(["deploy", "--json"], plan, join(dir, "helm/state"));
    expect(r.code).toBe(4);
    const group = JSON.parse(r.stdout).groups[0];
    expect(group.phase).toBe("not-ready");
    expect(group.message).toMatch(
      new RegExp(
        `HelmChart/${n}/nojob: timed out: HelmChart/${n}/nojob exists, but its install Job helm-install-nojob does not: is k3s's helm controller running\\?`,
      ),
    );
  }, 60_000);

  test("8. diff shows what prune would delete; exit codes as kubectl diff's; --json has one shape, errors included", async () => {
    const n = ns("diff");
    const v1 = writePlan(join(dir, "diff-v1"), [
      { name: "app", charts: { app: [configMap(n, "keep", { a: "1" }), configMap(n, "old", { b: "2" })] } },
    ]);
    const v2 = writePlan(join(dir, "diff-v2"), [{ name: "app", charts: { app: [configMap(n, "keep", { a: "1" })] } }]);
    const state = join(dir, "diff/state");
    const first = await cli(["diff", "--json"], v1, state);
    expect(first.code).toBe(1);
    expect(JSON.parse(first.stdout)).toMatchObject({
      command: "diff",
      result: "differences",
      exitCode: 1,
      counts: { create: 2 },
    });
    expect((await cli(["deploy"], v1, state)).code).toBe(0);
    const none = await cli(["diff", "--json"], v1, state);
    expect(none.code).toBe(0);
    expect(JSON.parse(none.stdout)).toMatchObject({ result: "no-differences", exitCode: 0 });
    const prune = await cli(["diff"], v2, state);
    expect(prune.code).toBe(1);
    expect(prune.stdout).toMatch(
      new RegExp(
        `# ConfigMap/${n}/old: no longer rendered: a full deploy deletes it\\n--- live ConfigMap/${n}/old\\n\\+\\+\\+ /dev/null`,
      ),
    );
    expect(prune.stdout).toMatch(/0 to create, 0 to change, 1 to delete, 1 unchanged, 0 failed\n$/);
    // An object the server rejects: exit 2.
    const bad = writePlan(join(dir, "diff-bad"), [
      {
        name: "app",
        charts: {
          app: [
            {
              apiVersion: "apps/v1",
              kind: "Deployment",
              metadata: { name: "nosel", namespace: n },
              spec: { template: {} },
            },
          ],
        },
      },
    ]);
    const invalid = await cli(["diff", "--json"], bad, state);
    expect(invalid.code).toBe(2);
    expect(JSON.parse(invalid.stdout)).toMatchObject({
      command: "diff",
      result: "error",
      exitCode: 2,
      counts: { failed: 1 },
    });
    // A command that stops before it starts still answers --json.
    for (const command of ["deploy", "diff", "status"]) {
      const r = await cli(
        [command, "--json", ...(command === "status" ? [] : ["--only", "nope"])],
        v2,
        state,
        command === "status" ? ["--context", "nope"] : [],
      );
      expect(r.code).toBe(2);
      expect(JSON.parse(r.stdout)).toMatchObject({
        command,
        result: "error",
        exitCode: 2,
        error: { message: expect.any(String) },
      });
    }
  }, 90_000);

  test("9. kubeconfig like kubectl: KUBECONFIG files merged, a missing one skipped; an unknown context names the known ones", async () => {
    const n = ns("kc");
    const plan = writePlan(join(dir, "kc"), [{ name: "app", charts: { app: [configMap(n, "a", { a: "1" })] } }]);
    const text = readFileSync(kubeconfig!, "utf8");
    const [head, rest] = text.split(/^contexts:/m) as [string, string];
    const a = join(dir, "a.kubeconfig");
    const b = join(dir, "b.kubeconfig");
    writeFileSync(a, head);
    writeFileSync(b, `apiVersion: v1\nkind: Config\ncontexts:${rest}`);
    const env = { KUBECONFIG: [join(dir, "missing.kubeconfig"), a, b].join(":") };
    const merged = await spawnCli(["deploy", "--plan", plan, "--state", join(dir, "kc/state")], { env });
    expect(merged.code, merged.stderr).toBe(0);
    const unknown = await spawnCli(["status", "--plan", plan, "--state", join(dir, "kc/state"), "--context", "nope"], {
      env,
    });
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(
      /context "nope" is not in the merged kubeconfig \(.*a\.kubeconfig, .*b\.kubeconfig\)\nKnown contexts: testbed\./,
    );
    expect(unknown.stderr).not.toMatch(/k3s\.yaml/);
  }, 60_000);

  test("10. a closed pipe (`| head`) ends status and secrets list quietly", async () => {
    const n = ns("pipe");
    const plan = writePlan(join(dir, "pipe"), [{ name: "app", charts: { app: [configMap(n, "a", { a: "1" })] } }]);
    const state = join(dir, "pipe/state");
    expect((await cli(["deploy"], plan, state)).code).toBe(0);
    const status = await spawnCli(["status", "--kubeconfig", kubeconfig!, "--plan", plan, "--state", state], {
      closeStdout: true,
    });
    expect(status.stderr).toBe("");
    expect(status.code).toBe(0);
    const example = join(root, "examples/homelab");
    const list = await spawnCli(
      ["secrets", "list", "--file", join(example, "secrets.yaml"), "--age-key-file", join(example, "age-key.txt")],
      { closeStdout: true },
    );
    expect(list.stderr).toBe("");
    expect(list.code).toBe(0);
  }, 60_000);
});

describe.skipIf(!kubeconfig)("drift and the in-cluster inventory, on the testbed", () => {
  let dir: string;
  let kube: HttpKube;
  let proxy: CountingProxy;
  const run = Date.now().toString(36);

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "nixlab-e2e-drift-"));
    kube = await testbedKube();
    proxy = await startCountingProxy(kubeconfig!, join(dir, "proxy.kubeconfig"));
  });
  afterAll(async () => {
    await proxy?.close();
    kube?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test("a field changed by hand (another field manager) is drift: status and diff report it, deploy takes it back, then nothing is written", async () => {
    const n = `e2e-drift-${run}`;
    const plan = writePlan(join(dir, "drift"), [
      { name: "app", charts: { app: [configMap(n, "settings", { mode: "ours", other: "x" })] } },
    ]);
    const state = join(dir, "drift/state");
    const args = (command: string) => [
      command,
      "--kubeconfig",
      proxy.kubeconfig,
      "--plan",
      plan,
      "--state",
      state,
      "--json",
    ];
    expect((await spawnCli(args("deploy"))).code).toBe(0);
    const ref = { apiVersion: "v1", kind: "ConfigMap", namespace: n, name: "settings" };
    // What `kubectl patch configmap settings -p '{"data":{"mode":"theirs"}}'` sends.
    await kube.request("PATCH", await kube.pathOf(ref), {
      query: { fieldManager: "kubectl-patch" },
      body: { data: { mode: "theirs" } },
      contentType: "application/merge-patch+json",
    });

    const status = await spawnCli(args("status"));
    expect(status.code).toBe(4);
    expect(JSON.parse(status.stdout).groups[0].drift).toEqual([
      {
        object: `ConfigMap/${n}/settings`,
        problem: "changed",
        detail: "fields nixlab sets were changed by kubectl-patch",
      },
    ]);
    proxy.reset();
    const diff = await spawnCli(args("diff"));
    expect(diff.code).toBe(1);
    const change = JSON.parse(diff.stdout).objects.find(
      (o: { object: string }) => o.object === `ConfigMap/${n}/settings`,
    );
    expect(change.action).toBe("change");
    expect(change.diff).toMatch(/-\s+mode: theirs\n\+\s+mode: ours/);
    expect(proxy.counts.writes).toBe(0);
    expect(proxy.counts.dryRuns).toBeGreaterThan(0);

    const fixed = await spawnCli(args("deploy"));
    expect(fixed.code).toBe(0);
    const report = JSON.parse(fixed.stdout);
    expect(report.changes.find((c: { object: string }) => c.object === `ConfigMap/${n}/settings`).action).toBe(
      "configured",
    );
    const live = await kube.get(ref);
    expect(live?.data).toEqual({ mode: "ours", other: "x" });
    expect(live?.metadata.managedFields?.find((f) => f.manager === "nixlab")?.fieldsV1).toMatchObject({
      "f:data": { "f:mode": {} },
    });

    proxy.reset();
    const again = await spawnCli(args("deploy"));
    expect(JSON.parse(again.stdout).changes.every((c: { action: string }) => c.action === "unchanged")).toBe(true);
    expect(proxy.counts.writes).toBe(0);
    expect(proxy.counts.dryRuns).toBe(0);
    expect((await spawnCli(args("status"))).code).toBe(0);
  }, 90_000);

  test("the inventory lives in the cluster: a deploy from a fresh state dir writes nothing when in sync, and prunes exactly what nixlab owns", async () => {
    const n = `e2e-inv-${run}`;
    const v1 = writePlan(join(dir, "inv-v1"), [
      { name: "inv", charts: { inv: [configMap(n, "keep", { a: "1" }), configMap(n, "gone", { b: "2" })] } },
    ]);
    const v2 = writePlan(join(dir, "inv-v2"), [{ name: "inv", charts: { inv: [configMap(n, "keep", { a: "1" })] } }]);
    expect((await deployFiles({ kube, planPath: v1, stateDir: join(dir, "machine-a") })).result).toBe("ok");
    const inventory = await kube.get(inventoryRef(n, "inv"));
    expect(JSON.parse(inventory?.data.objects).map((o: { name: string }) => o.name)).toEqual(["gone", "keep"]);
    const users = await kube.create(configMap(n, "users-own", { u: "1" }), { manager: "kubectl-create" });

    // Another machine, no state dir: nothing to write while the cluster is in sync.
    const pkube = (await import("./testbed.ts")).connectKube(proxy.kubeconfig);
    try {
      proxy.reset();
      const b = await deployFiles({ kube: pkube, planPath: v1, stateDir: join(dir, "machine-b") });
      expect(b.result).toBe("ok");
      expect(proxy.counts.writes).toBe(0);
    } finally {
      pkube.close();
    }
    // And status from a machine that never deployed sees the cluster in sync.
    const status = await deployStatus({
      plan: await loadPlan(v1),
      store: new FileStateStore(join(dir, "machine-z")),
      kube,
    });
    expect(status.result).toBe("in-sync");
    expect(status.groups.map((g) => [g.status, g.inCluster])).toEqual([["unrecorded", "applied"]]);
    // A third machine with the next plan prunes what nixlab applied, and only that.
    const c = await deployFiles({ kube, planPath: v2, stateDir: join(dir, "machine-c") });
    expect(c.changes.filter((x) => x.action === "deleted").map((x) => x.object)).toEqual([`ConfigMap/${n}/gone`]);
    expect(await kube.get({ apiVersion: "v1", kind: "ConfigMap", namespace: n, name: "gone" })).toBeNull();
    expect(
      (await kube.get({ apiVersion: "v1", kind: "ConfigMap", namespace: n, name: "users-own" }))?.metadata.uid,
    ).toBe(users.metadata.uid);
    expect(
      JSON.parse((await kube.get(inventoryRef(n, "inv")))?.data.objects).map((o: { name: string }) => o.name),
    ).toEqual(["keep"]);
  }, 90_000);
});
