/**
 * `nixlab doctor`'s cluster checks against the real testbed API server: its kubeconfig
 * loads, the API answers, k3s's HelmChart kind is served; an unknown context and a port
 * nobody listens on fail with their fixes. Through the CLI, with `-o json`.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { newSshKeyPair } from "../../src/nodes/node-keys.ts";
import { runCli } from "../support/cli.ts";
import { kubeconfig, testbedKube } from "./testbed.ts";

const suite = kubeconfig ? describe : describe.skip;
let dir: string;

suite("nixlab doctor against the testbed", () => {
  beforeAll(async () => {
    (await testbedKube()).close();
    dir = mkdtempSync(join(tmpdir(), "ux-doctor-e2e-"));
    writeFileSync(join(dir, "pw"), "a long password");
    const init = await runCli([
      "init",
      join(dir, "project"),
      "--yes",
      "--domain",
      "lab.example.net",
      "--lan",
      "192.168.9.0/24",
      "--username",
      "alice",
      "--ssh-key",
      newSshKeyPair("alice@test").publicKey,
      "--node",
      "node1:/dev/sda",
      "--password-file",
      join(dir, "pw"),
      "--age-key-file",
      join(dir, "project", "age-key.txt"),
    ]);
    expect(init.code, init.stderr).toBe(0);
  }, 120_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const doctor = async (...args: string[]) => {
    const r = await runCli(["doctor", "-o", "json", "--age-key-file", "age-key.txt", ...args], join(dir, "project"));
    const report = JSON.parse(r.stdout) as {
      ok: boolean;
      checks: Array<{ id: string; status: string; detail: string; fix?: string }>;
    };
    return { code: r.code, report, check: (id: string) => report.checks.find((c) => c.id === id)! };
  };

  it("finds the kubeconfig, reaches the API and sees the helm controller", async () => {
    const { code, report, check } = await doctor("--kubeconfig", kubeconfig!);
    expect(check("kubeconfig").status).toBe("ok");
    expect(check("api-reachable")).toMatchObject({ status: "ok", detail: expect.stringMatching(/^Kubernetes v1\.34/) });
    expect(check("helm-controller").status).toBe("ok");
    // Not ready to deploy (no hardware configs, no build): the report says so and exits 1.
    expect(report.ok).toBe(false);
    expect(code).toBe(1);
    expect(check("build-fresh")).toMatchObject({ status: "fail", fix: "nixlab build" });
  });

  it("an unknown context fails the kubeconfig check and skips the others", async () => {
    const { check } = await doctor("--kubeconfig", kubeconfig!, "--context", "no-such-context");
    expect(check("kubeconfig")).toMatchObject({
      status: "fail",
      detail: expect.stringMatching(/context "no-such-context" is not in .*: Known contexts: /),
    });
    expect(check("api-reachable").status).toBe("skip");
  });

  it("an API server nobody answers for fails the reachability check", async () => {
    const config = readFileSync(kubeconfig!, "utf8").replace(
      /server: https:\/\/127\.0\.0\.1:\d+/,
      "server: https://127.0.0.1:9",
    );
    writeFileSync(join(dir, "closed.kubeconfig"), config);
    const { check } = await doctor("--kubeconfig", join(dir, "closed.kubeconfig"));
    expect(check("kubeconfig").status).toBe("ok");
    expect(check("api-reachable")).toMatchObject({
      status: "fail",
      detail: expect.stringContaining("does not answer"),
    });
    expect(check("helm-controller").status).toBe("skip");
  });
});
