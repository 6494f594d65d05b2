import { existsSync, mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runCli } from "../support/cli.ts";

const dir = join(import.meta.dirname, "../fixtures/invalid");
const fixtures = readdirSync(dir)
  .filter((f) => f.endsWith(".yaml"))
  .sort();

describe("nixlab check on broken cluster files", () => {
  it("has at least 25 fixtures", () => {
    expect(fixtures.length).toBeGreaterThanOrEqual(25);
  });

  for (const name of fixtures) {
    it(name, async () => {
      const file = join(dir, name);
      const [path, message] = readFileSync(file, "utf8").split("\n")[0]!.replace("# expect: ", "").split(" | ");
      const result = await runCli(["check", "--config", file]);
      expect(result.code).toBe(2);
      expect(result.stdout).toBe("");
      expect(result.stderr).toContain(path);
      expect(result.stderr).toContain(message);
      // Every problem comes with a fix, and never with a stack trace.
      if (!name.startsWith("yaml-")) expect(result.stderr).toMatch(/fix: \S/);
      expect(result.stderr).not.toMatch(/\n\s+at .+:\d+:\d+/);
    });
  }

  it("build on a broken file writes nothing", async () => {
    const out = join(mkdtempSync(join(tmpdir(), "nixlab-")), "build");
    const result = await runCli(["build", "--config", join(dir, "two-masters.yaml"), "--out", out]);
    expect(result.code).toBe(2);
    expect(existsSync(out)).toBe(false);
  });

  it("reports every problem of a file at once", async () => {
    const text = readFileSync(join(import.meta.dirname, "../../examples/homelab/nixlab.yaml"), "utf8")
      .replace("disk: /dev/sda", "disk: sda")
      .replace("ip: 10.0.100.4", "ip: 10.0.100.2")
      .replace("domain: home.example.com", "domian: home.example.com");
    const tmp = mkdtempSync(join(tmpdir(), "nixlab-"));
    const file = join(tmp, "nixlab.yaml");
    (await import("node:fs")).writeFileSync(file, text);
    const result = await runCli(["check"], tmp);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("4 problems");
    expect(result.stderr).toContain("nodes.node2.disk (nixlab.yaml:16:11)");
    expect(result.stderr).toContain('did you mean "domain"');
    expect(result.stderr).toContain("domain (nixlab.yaml:");
    expect(result.stderr).toContain("wireguardUsers.carol.ip");
  });

  it("says where to start when there is no cluster file", async () => {
    const result = await runCli(["check"], mkdtempSync(join(tmpdir(), "nixlab-")));
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("no cluster file in");
    expect(result.stderr).toContain("--config");
  });
});
