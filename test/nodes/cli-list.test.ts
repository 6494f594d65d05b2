/** `nixlab nodes list` and reading specs back from a build directory. */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Command } from "commander";
import { afterAll, afterEach, describe, expect, it, vi } from "vitest";
import { registerNodes } from "../../src/cli/nodes.ts";
import { UserError } from "../../src/errors.ts";
import { readBuildSpecs } from "../../src/nodes/build-dir.ts";
import { nodeSpecSchema, nodeSpecs } from "../../src/nodes/spec.ts";
import { exampleCluster, exampleDir } from "./support.ts";

const work = mkdtempSync(join(tmpdir(), "nixlab-list-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));
afterEach(() => vi.restoreAllMocks());

async function cli(args: string[]): Promise<string> {
  const out: string[] = [];
  vi.spyOn(process.stdout, "write").mockImplementation((chunk) => {
    out.push(String(chunk));
    return true;
  });
  const program = new Command("nixlab").exitOverride();
  registerNodes(program);
  await program.parseAsync(args, { from: "user" });
  vi.restoreAllMocks();
  return out.join("");
}

describe("nixlab nodes list", () => {
  it("prints host, role, tags, disk and master URL", async () => {
    const text = await cli(["nodes", "list", "--config", join(exampleDir, "nixlab.config.ts")]);
    expect(text.split("\n")).toEqual([
      "HOST   ROLE    TAGS              DISK          MASTER",
      "node1  server  @master,@storage  /dev/nvme0n1  https://node1.local:6443",
      "node2  agent   @worker,@storage  /dev/sda      https://node1.local:6443",
      "node3  agent   @worker           /dev/sda      https://node1.local:6443",
      "",
    ]);
  });

  it("prints JSON with --json", async () => {
    const rows = JSON.parse(await cli(["nodes", "list", "--json", "--config", join(exampleDir, "nixlab.yaml")]));
    expect(rows.map((r: { hostname: string; role: string }) => `${r.hostname}:${r.role}`)).toEqual([
      "node1:server",
      "node2:agent",
      "node3:agent",
    ]);
    expect(rows[2]).toMatchObject({ tags: ["worker"], espSize: "1G", master: "https://node1.local:6443" });
  });
});

const spec = nodeSpecs(await exampleCluster())[0]!;

describe("node spec validation", () => {
  const tamper = (patch: (s: typeof spec) => void) => {
    const copy = structuredClone(spec);
    patch(copy);
    return nodeSpecSchema.safeParse(copy).success;
  };

  it("rejects values that could break out of the places the modules put them", () => {
    expect(tamper(() => {})).toBe(true);
    expect(tamper((s) => s.k3s.extraFlags.push("--node-label=a b"))).toBe(false);
    expect(tamper((s) => s.k3s.extraFlags.push("--token='x'"))).toBe(false);
    expect(
      tamper((s) => {
        s.hostname = 'node1"; rm -rf /';
      }),
    ).toBe(false);
    expect(
      tamper((s) => {
        s.hostname = "../etc";
      }),
    ).toBe(false);
    expect(
      tamper((s) => {
        s.deploy!.stateDir = "/var/lib/x y";
      }),
    ).toBe(false);
    expect(
      tamper((s) => {
        s.sops.secrets[0]!.mode = "0644" as "0400";
      }),
    ).toBe(false);
    expect(
      tamper((s) => {
        s.sops.file = "../secrets.yaml" as "secrets.yaml";
      }),
    ).toBe(false);
    expect(
      tamper((s) => {
        (s as Record<string, unknown>).extra = 1;
      }),
    ).toBe(false);
  });

  it("readBuildSpecs refuses a build whose node JSON does not validate", () => {
    const dir = join(work, "tampered");
    mkdirSync(join(dir, "nodes"), { recursive: true });
    writeFileSync(join(dir, "flake.nix"), "{ }\n");
    writeFileSync(join(dir, "nodes", "node1.json"), JSON.stringify({ ...spec, role: "boss" }));
    expect(() => readBuildSpecs(dir)).toThrow(UserError);
    expect(() => readBuildSpecs(dir)).toThrow(/not a node spec of this nixlab version/);
    writeFileSync(join(dir, "nodes", "node1.json"), "{");
    expect(() => readBuildSpecs(dir)).toThrow(/not valid JSON/);
    writeFileSync(join(dir, "nodes", "node1.json"), JSON.stringify(spec));
    expect(readBuildSpecs(dir).map((s) => s.hostname)).toEqual(["node1"]);
  });
});
