/**
 * `nodes apply` against a stand-in nixos-rebuild on PATH that records every call (with
 * start and end times), sleeps a little, and fails for the node named in an env var.
 */
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Command } from "commander";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { registerNodes } from "../../src/cli/nodes.ts";
import { readBuildSpecs } from "../../src/nodes/build-dir.ts";
import { applyNodes, rebuildArgs } from "../../src/nodes/rollout.ts";
import { exampleCluster, renderExample, writeBuild } from "./support.ts";

const work = mkdtempSync(join(tmpdir(), "nixlab-apply-"));
const bin = join(work, "bin");
const build = writeBuild(renderExample(await exampleCluster()));
const specs = readBuildSpecs(build);
let calls = join(work, "calls-0.log");
let runNo = 0;

const standIn = `#!/usr/bin/env bash
# Stand-in nixos-rebuild: records its arguments, start and end (ns), then succeeds unless
# the host is the one in NIXLAB_FAKE_FAIL.
flake="$3"; host="\${flake##*#}"
echo "start $host $(date +%s%N) $*" >> "$NIXLAB_FAKE_CALLS"
echo "building the system configuration of $host..."
sleep "\${NIXLAB_FAKE_SLEEP:-0.3}"
echo "end $host $(date +%s%N)" >> "$NIXLAB_FAKE_CALLS"
if [ "$host" = "\${NIXLAB_FAKE_FAIL:-}" ]; then
  echo "error: builder for '/nix/store/xyz-nixos-system-$host' failed" >&2
  exit 3
fi
echo "activation of $host finished"
`;

beforeAll(() => {
  mkdirSync(bin);
  writeFileSync(join(bin, "nixos-rebuild"), standIn);
  chmodSync(join(bin, "nixos-rebuild"), 0o755);
});
afterAll(() => {
  rmSync(work, { recursive: true, force: true });
  rmSync(build, { recursive: true, force: true });
});

const savedEnv = { ...process.env };
function fresh(env: Record<string, string> = {}): void {
  calls = join(work, `calls-${++runNo}.log`);
  process.env.PATH = `${bin}:${savedEnv.PATH}`;
  process.env.NIXLAB_FAKE_CALLS = calls;
  delete process.env.NIXLAB_FAKE_FAIL;
  Object.assign(process.env, env);
}
afterEach(() => {
  process.env = { ...savedEnv };
  process.exitCode = undefined;
  vi.restoreAllMocks();
});

interface Call {
  host: string;
  start: number;
  end: number;
  args: string[];
}
function recorded(): Call[] {
  const lines = readFileSync(calls, "utf8").trim().split("\n");
  const out = new Map<string, Call>();
  for (const line of lines) {
    const [kind, host, time, ...args] = line.split(" ");
    const t = Number(BigInt(time!) / 1000n) / 1000;
    if (kind === "start") out.set(host!, { host: host!, start: t, end: Number.NaN, args });
    else out.get(host!)!.end = t;
  }
  return [...out.values()];
}
function maxConcurrent(cs: Call[]): number {
  const events = cs.flatMap((c) => [
    [c.start, 1],
    [c.end, -1],
  ]);
  events.sort((a, b) => a[0]! - b[0]! || a[1]! - b[1]!);
  let now = 0;
  let max = 0;
  for (const [, d] of events) {
    now += d!;
    max = Math.max(max, now);
  }
  return max;
}

describe("applyNodes", () => {
  it("runs nixos-rebuild per node with the flake, target host and remote sudo", async () => {
    fresh();
    const lines: string[] = [];
    const outcomes = await applyNodes({
      buildDir: build,
      nodes: specs,
      goal: "switch",
      limit: 4,
      logDir: join(work, "logs-a"),
      print: (l) => lines.push(l),
    });
    expect(outcomes.map((o) => o.ok)).toEqual([true, true, true]);
    const cs = recorded().sort((a, b) => a.host.localeCompare(b.host));
    expect(cs.map((c) => c.args)).toEqual(
      ["node1", "node2", "node3"].map((h) => [
        "switch",
        "--flake",
        `path:${build}#${h}`,
        "--target-host",
        `alice@${h}.local`,
        "--use-remote-sudo",
      ]),
    );
    expect(rebuildArgs(build, specs[0]!, "dry-activate")[0]).toBe("dry-activate");
    expect(lines[0]).toBe(`switch: 3 nodes, up to 3 at a time; logs in ${join(work, "logs-a")}`);
    expect(lines.at(-1)).toBe("summary: 3 of 3 ok");
  });

  it("never runs more than --limit at once, reports a failed node and keeps every log", async () => {
    fresh({ NIXLAB_FAKE_FAIL: "node2" });
    const lines: string[] = [];
    const logDir = join(work, "logs-b");
    const outcomes = await applyNodes({
      buildDir: build,
      nodes: specs,
      goal: "boot",
      limit: 2,
      logDir,
      print: (l) => lines.push(l),
    });
    const cs = recorded();
    expect(cs).toHaveLength(3);
    expect(maxConcurrent(cs)).toBe(2);
    expect(outcomes.map((o) => [o.hostname, o.ok, o.exitCode])).toEqual([
      ["node1", true, 0],
      ["node2", false, 3],
      ["node3", true, 0],
    ]);
    const failed = outcomes[1]!;
    expect(failed.reason).toBe("error: builder for '/nix/store/xyz-nixos-system-node2' failed");
    // One progress line per node, between the header and the summary.
    expect(lines).toHaveLength(5);
    const progress = lines.slice(1, 4);
    expect(progress.filter((l) => /\bnode2\s+FAILED\b/.test(l))).toHaveLength(1);
    expect(progress.find((l) => l.includes("node2"))).toContain(`(log: ${join(logDir, "node2.log")})`);
    expect(progress.filter((l) => /\s+ok\s+\d+\.\ds$/.test(l))).toHaveLength(2);
    expect(lines[4]).toBe("summary: 2 ok, 1 failed (node2)");
    const log = readFileSync(join(logDir, "node2.log"), "utf8");
    expect(log).toContain(`$ nixos-rebuild boot --flake path:${build}#node2`);
    expect(log).toContain("building the system configuration of node2...");
    expect(log).toContain("failed");
    expect(log).toContain("# exit: 3");
    expect(readFileSync(join(logDir, "node1.log"), "utf8")).toContain("activation of node1 finished");
  });

  it("runs strictly one after another with --limit 1", async () => {
    fresh({ NIXLAB_FAKE_SLEEP: "0.1" });
    await applyNodes({
      buildDir: build,
      nodes: specs,
      goal: "test",
      limit: 1,
      logDir: join(work, "logs-c"),
      print: () => {},
    });
    expect(maxConcurrent(recorded())).toBe(1);
  });

  it("reports a missing nixos-rebuild as a failure of every node", async () => {
    fresh();
    const outcomes = await applyNodes({
      buildDir: build,
      nodes: specs.slice(0, 1),
      goal: "switch",
      limit: 2,
      logDir: join(work, "logs-d"),
      print: () => {},
      command: join(work, "no-such-nixos-rebuild"),
    });
    expect(outcomes[0]!.ok).toBe(false);
    expect(outcomes[0]!.reason).toContain("not found on PATH");
  });
});

describe("nixlab nodes apply (CLI)", () => {
  async function cli(args: string[]): Promise<string> {
    const out: string[] = [];
    vi.spyOn(process.stdout, "write").mockImplementation((chunk) => {
      out.push(String(chunk));
      return true;
    });
    const program = new Command("nixlab").exitOverride();
    registerNodes(program);
    for (const c of program.commands) c.exitOverride();
    await program.parseAsync(args, { from: "user" });
    vi.restoreAllMocks();
    return out.join("");
  }

  it("selects @worker, passes the goal, exits non-zero when a node failed", async () => {
    fresh({ NIXLAB_FAKE_FAIL: "node3", NIXLAB_FAKE_SLEEP: "0.05" });
    const logDir = join(work, "logs-cli");
    const text = await cli([
      "nodes",
      "apply",
      "--on",
      "@worker",
      "--goal",
      "dry-activate",
      "--limit",
      "1",
      "--build",
      build,
      "--log-dir",
      logDir,
    ]);
    const cs = recorded();
    expect(cs.map((c) => c.host)).toEqual(["node2", "node3"]);
    expect(cs.every((c) => c.args[0] === "dry-activate")).toBe(true);
    expect(text).toContain("summary: 1 ok, 1 failed (node3)");
    expect(process.exitCode).toBe(1);
  });

  it("exits 0 when every selected node succeeded", async () => {
    fresh({ NIXLAB_FAKE_SLEEP: "0.05" });
    const text = await cli([
      "nodes",
      "apply",
      "--on",
      "node1",
      "--no-health-gate",
      "--build",
      build,
      "--log-dir",
      join(work, "logs-cli2"),
    ]);
    expect(recorded().map((c) => c.host)).toEqual(["node1"]);
    expect(text).toContain("summary: 1 of 1 ok");
    expect(process.exitCode ?? 0).toBe(0);
  });

  it("rejects an unknown goal and a bad --limit", async () => {
    fresh();
    vi.spyOn(process.stderr, "write").mockImplementation(() => true);
    await expect(cli(["nodes", "apply", "--goal", "reboot", "--build", build])).rejects.toThrow(
      /Allowed choices are switch, boot, test, dry-activate/,
    );
    await expect(cli(["nodes", "apply", "--limit", "0", "--build", build])).rejects.toThrow(/at least 1/);
  });

  it("says to run build first when the build directory is empty", async () => {
    fresh();
    await expect(cli(["nodes", "apply", "--build", join(work, "nothing")])).rejects.toThrow(/holds no NixOS build/);
  });
});
