/**
 * The local dashboard's data without a cluster: the plan and the cluster file are read,
 * and the page is told the truth about the API (not configured, or unreachable with why).
 * With a cluster: test/e2e/dashboard.test.ts.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { localSnapshot } from "../../src/dashboard/data.ts";
import { HttpKube } from "../../src/deploy/http-kube.ts";
import { runCli } from "../support/cli.ts";
import { exampleYaml } from "../support/example.ts";

let dir: string;
let planPath: string;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "nixlab-dashboard-local-"));
  const built = await runCli(["build", "--config", exampleYaml, "--out", join(dir, "build"), "--no-nodes"]);
  expect(built.code, built.stderr).toBe(0);
  planPath = join(dir, "build/deploy-plan.json");
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const facts = async () => ({
  clusterFile: {
    nodes: [{ name: "node1", hostname: "node1", role: "server" as const, tags: [] }],
    users: [],
  },
});

describe("the local dashboard without a cluster", () => {
  it("no kubeconfig: the page says so; states are unknown, not invented", async () => {
    const snap = await localSnapshot(
      {
        planPath,
        stateDir: join(dir, "state"),
        clusterFile: null,
        kube: { error: "no kubeconfig" },
        apiTimeoutMs: 1000,
      },
      facts,
      Date.parse("2026-11-29T12:00:00Z"),
    );
    expect(snap.title).toBe("home.example.com");
    expect(snap.api).toEqual({ state: "not-configured", server: null, message: "no kubeconfig" });
    expect(snap.groups.map((g) => g.state)).toEqual(snap.groups.map(() => "unknown"));
    expect(snap.groups.every((g) => !g.live)).toBe(true);
    expect(snap.certificates.note).toMatch(/could not be asked/);
    expect(snap.nodes.items).toEqual([{ name: "node1", hostname: "node1", role: "server", tags: [], ready: null }]);
  });

  it("an API that refuses connections is reported unreachable with the reason, within the timeout", async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const port = (closed.address() as { port: number }).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const kube = new HttpKube({
      files: [],
      context: "test",
      server: `https://127.0.0.1:${port}`,
      tls: {},
      auth: { plugin: false },
      merged: { clusters: [], users: [], contexts: [] },
    });
    const started = Date.now();
    try {
      const snap = await localSnapshot(
        { planPath, stateDir: join(dir, "state"), clusterFile: null, kube, apiTimeoutMs: 1500 },
        facts,
        Date.now(),
      );
      expect(snap.api.state).toBe("unreachable");
      expect(snap.api.server).toBe(`https://127.0.0.1:${port}`);
      expect(snap.api.message).toMatch(/ECONNREFUSED|refused/);
      expect(Date.now() - started).toBeLessThan(10_000);
    } finally {
      kube.close();
    }
  });
});

describe("nixlab dashboard's input errors", () => {
  it("a bad --port and a missing plan are refused with exit 2, naming what to fix", async () => {
    const port = await runCli(["dashboard", "--port", "http", "--plan", planPath]);
    expect(port.code).toBe(2);
    expect(port.stderr).toContain("--port must be a port number (0–65535), got http");
    const missing = await runCli(["dashboard", "--plan", join(dir, "nope/deploy-plan.json")]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/cannot read the deploy plan .*nope\/deploy-plan\.json/);
    expect(missing.stderr).toContain("nixlab build");
  });
});
