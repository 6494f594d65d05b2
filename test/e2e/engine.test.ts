/**
 * Engine guarantees on the real testbed with small plans in their own namespaces:
 * byte-exact secrets, one deploy at a time, kill-and-rerun convergence, Jobs (ours
 * recreated on template change, the user's never touched).
 */
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { HttpKube } from "../../src/deploy/http-kube.ts";
import { DirSecretSource } from "../../src/deploy/secrets.ts";
import { ExitCode, UserError } from "../../src/errors.ts";
import { configMap, deployment, job, writePlan, deployFiles } from "../deploy/fixture.ts";
import { connectKube, kubeconfig, root, testbedKube } from "./testbed.ts";

describe.skipIf(!kubeconfig)("deploy engine on the testbed", () => {
  let dir: string;
  let kube: HttpKube;
  const run = Date.now().toString(36);
  const ns = (what: string) => `e2e-${what}-${run}`;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "nixlab-e2e-engine-"));
    kube = await testbedKube();
  });
  afterAll(() => {
    kube?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test("a secret value with quotes, newlines, unicode and raw bytes lands byte-exact", async () => {
    const value = Buffer.concat([
      Buffer.from("he said \"hi\" \\ 'there'\n\tsecond line\r\n", "utf8"),
      Buffer.from("ünïcødé ✓ 🚀 ${HOME} $(id)", "utf8"),
      Buffer.from([0x00, 0xff, 0xfe, 0x0a, 0x0a]),
    ]);
    const secretsDir = join(dir, "run-secrets");
    mkdirSync(join(secretsDir, "nested"), { recursive: true });
    writeFileSync(join(secretsDir, "nested/weird"), value);
    writeFileSync(join(secretsDir, "plain"), "no trailing newline");
    const n = ns("secrets");
    const planPath = writePlan(
      join(dir, "secrets"),
      [{ name: "app", charts: { cfg: [configMap(n, "cfg", { a: "1" })] } }],
      [
        {
          name: "creds",
          namespace: n,
          group: "app",
          keys: [
            { key: "plain", sopsSecret: "plain" },
            { key: "weird", sopsSecret: "nested/weird" },
          ],
        },
      ],
    );
    const report = await deployFiles({
      kube,
      planPath,
      stateDir: join(dir, "secrets/state"),
      secrets: new DirSecretSource(secretsDir),
    });
    expect(report.result).toBe("ok");
    const live = await kube.get({ apiVersion: "v1", kind: "Secret", namespace: n, name: "creds" });
    expect(Buffer.from(live!.data.weird, "base64").equals(value)).toBe(true);
    expect(Buffer.from(live!.data.plain, "base64").toString("utf8")).toBe("no trailing newline");
    // No value in anything the engine reports.
    expect(JSON.stringify(report)).not.toContain("second line");
    expect(readFileSync(join(dir, "secrets/state/state.json"), "utf8")).not.toContain("trailing");
  });

  test("two concurrent deploys: one runs, the other exits at once with a clear message (or waits with --wait-lock)", async () => {
    const n = ns("lock");
    const planPath = writePlan(join(dir, "lock"), [
      { name: "slow", charts: { app: [deployment(n, "slow", { readyDelay: "2s" })] } },
    ]);
    const stateDir = join(dir, "lock/state");
    const kube2 = connectKube(kubeconfig!);
    try {
      const [a, b] = await Promise.allSettled([
        deployFiles({ kube, planPath, stateDir }),
        new Promise((r) => setTimeout(r, 300)).then(() => deployFiles({ kube: kube2, planPath, stateDir })),
      ]);
      expect(a.status).toBe("fulfilled");
      expect(b.status).toBe("rejected");
      const error = (b as PromiseRejectedResult).reason as UserError;
      expect(error).toBeInstanceOf(UserError);
      expect(error.exitCode).toBe(ExitCode.busy);
      expect(error.message).toMatch(/another deploy is running \(pid \d+ on .+, started .+\)/);
      // With a lock budget the second one waits for the first and then finds nothing to do.
      const first = deployFiles({ kube, planPath, stateDir: join(dir, "lock/state2") });
      await new Promise((r) => setTimeout(r, 300));
      const second = await deployFiles({
        kube: kube2,
        planPath,
        stateDir: join(dir, "lock/state2"),
        lockWaitMs: 30_000,
      });
      expect((await first).result).toBe("ok");
      expect(second.result).toBe("ok");
      expect(second.requests.writes).toBe(0);
    } finally {
      kube2.close();
    }
  }, 60_000);

  test("killing the engine mid-deploy and re-running converges", async () => {
    const n = ns("kill");
    const planPath = writePlan(join(dir, "kill"), [
      { name: "first", charts: { one: [deployment(n, "one", { readyDelay: "3s" })] } },
      {
        name: "second",
        dependsOn: ["first"],
        charts: { two: [configMap(n, "two", { x: "y" }), deployment(n, "two")] },
      },
    ]);
    const stateDir = join(dir, "kill/state");
    const args = [
      join(root, "bin/nixlab.js"),
      "deploy",
      "--kubeconfig",
      kubeconfig!,
      "--plan",
      planPath,
      "--state",
      stateDir,
    ];
    const child = spawn(process.execPath, [...args, "--log-format", "plain"], { stdio: ["ignore", "pipe", "pipe"] });
    let log = "";
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`never reached the wait: ${log}`)), 20_000);
      child.stderr.on("data", (d: Buffer) => {
        log += d.toString();
        if (/group first waiting/.test(log)) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
    child.kill("SIGKILL");
    await new Promise((r) => child.once("exit", r));
    const killed = JSON.parse(readFileSync(join(stateDir, "state.json"), "utf8"));
    expect(killed.groups.first.status).toBe("applying");
    expect(killed.groups.second).toBeUndefined();

    const rerun = spawn(process.execPath, [...args, "--json"], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    rerun.stdout.on("data", (d: Buffer) => (out += d.toString()));
    const code = await new Promise((r) => rerun.once("exit", r));
    expect(code).toBe(0);
    const report = JSON.parse(out) as { result: string; groups: Array<{ name: string; phase: string }> };
    expect(report.result).toBe("ok");
    expect(report.groups.map((g) => [g.name, g.phase])).toEqual([
      ["first", "ready"],
      ["second", "ready"],
    ]);
    const state = JSON.parse(readFileSync(join(stateDir, "state.json"), "utf8"));
    expect([state.groups.first.status, state.groups.second.status]).toEqual(["ready", "ready"]);
  }, 60_000);

  test("our Job with a changed template is recreated; Jobs the user created are never touched", async () => {
    const n = ns("jobs");
    await kube.apply({ apiVersion: "v1", kind: "Namespace", metadata: { name: n } }, { manager: "someone" });
    const userJob = await kube.create(job(n, "user-backup", "backup"), { manager: "kubectl-create" });
    const squatter = await kube.create(job(n, "taken", "mine"), { manager: "kubectl-create" });
    const build = (arg: string, withTaken: boolean) =>
      writePlan(join(dir, `jobs-${arg}`), [
        { name: "migrate", charts: { m: [job(n, "migrate", arg), ...(withTaken ? [job(n, "taken", "ours")] : [])] } },
      ]);
    const stateDir = join(dir, "jobs/state");
    const r1 = await deployFiles({ kube, planPath: build("v1", false), stateDir });
    expect(r1.result).toBe("ok");
    const ours1 = await kube.get({ apiVersion: "batch/v1", kind: "Job", namespace: n, name: "migrate" });

    const r2 = await deployFiles({ kube, planPath: build("v2", false), stateDir });
    expect(r2.result).toBe("ok");
    const entry = r2.changes.find((c) => c.object === `Job/${n}/migrate`);
    expect(entry?.action).toBe("configured");
    expect(entry?.message).toMatch(/recreated/);
    const ours2 = await kube.get({ apiVersion: "batch/v1", kind: "Job", namespace: n, name: "migrate" });
    expect(ours2!.metadata.uid).not.toBe(ours1!.metadata.uid);
    expect(ours2!.spec.template.spec.containers[0].args).toEqual(["v2"]);

    // A plan Job whose name a user's Job already holds fails clearly and leaves it alone.
    const r3 = await deployFiles({ kube, planPath: build("v2", true), stateDir });
    expect(r3.result).toBe("failed");
    expect(r3.changes.find((c) => c.object === `Job/${n}/taken`)?.message).toMatch(/nixlab did not create/);

    for (const [name, before] of [
      ["user-backup", userJob],
      ["taken", squatter],
    ] as const) {
      const after = await kube.get({ apiVersion: "batch/v1", kind: "Job", namespace: n, name });
      expect(after?.metadata.uid).toBe(before.metadata.uid);
      expect(after?.spec.template.spec.containers[0].args).toEqual(before.spec.template.spec.containers[0].args);
    }
  }, 90_000);

  test("objects no longer rendered are pruned; what nixlab did not create is left alone", async () => {
    const n = ns("prune");
    const stateDir = join(dir, "prune/state");
    const v1 = writePlan(join(dir, "prune-v1"), [
      {
        name: "app",
        charts: {
          cfg: [configMap(n, "keep", { a: "1" }), configMap(n, "old", { b: "2" }), configMap(n, "adopted", { c: "3" })],
        },
      },
    ]);
    expect((await deployFiles({ kube, planPath: v1, stateDir })).result).toBe("ok");
    const user = await kube.create(configMap(n, "users-own", { u: "1" }), { manager: "kubectl-create" });
    // Someone took "adopted" over (label removed): it is no longer ours to delete.
    await kube.request(
      "PATCH",
      await kube.pathOf({ apiVersion: "v1", kind: "ConfigMap", namespace: n, name: "adopted" }),
      {
        body: { metadata: { labels: { "app.kubernetes.io/managed-by": null } } },
        contentType: "application/merge-patch+json",
      },
    );
    const v2 = writePlan(join(dir, "prune-v2"), [{ name: "app", charts: { cfg: [configMap(n, "keep", { a: "1" })] } }]);
    const report = await deployFiles({ kube, planPath: v2, stateDir });
    expect(report.result).toBe("ok");
    const byObject = Object.fromEntries(report.changes.map((c) => [c.object, c.action]));
    expect(byObject[`ConfigMap/${n}/old`]).toBe("deleted");
    expect(byObject[`ConfigMap/${n}/adopted`]).toBe("skipped");
    expect(byObject[`ConfigMap/${n}/keep`]).toBe("unchanged");
    const cm = (name: string) => kube.get({ apiVersion: "v1", kind: "ConfigMap", namespace: n, name });
    expect(await cm("old")).toBeNull();
    expect(await cm("adopted")).not.toBeNull();
    expect((await cm("users-own"))?.metadata.uid).toBe(user.metadata.uid);
    // Pruning is done once: the next run has nothing to delete and writes nothing.
    const again = await deployFiles({ kube, planPath: v2, stateDir });
    expect(again.requests.writes).toBe(0);
    expect(again.changes.every((c) => c.action === "unchanged")).toBe(true);
  }, 60_000);
});
