/**
 * The master's activation step, as the real evaluator renders it, run with bash: it
 * installs a new release link atomically, only when the release changed, and never
 * calls systemctl (the nixlab-release unit starts the deploy after the secrets; see
 * nix.test.ts). The release link's directory is pointed into a temporary directory.
 */
import { spawnSync } from "node:child_process";
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readlinkSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { exampleCluster, fixturesDir, nixInstantiate, renderExample, writeBuild } from "./support.ts";

const build = writeBuild(renderExample(await exampleCluster()));
const work = mkdtempSync(join(tmpdir(), "nixlab-activation-"));
afterAll(() => {
  rmSync(build, { recursive: true, force: true });
  rmSync(work, { recursive: true, force: true });
});

const evaluated = JSON.parse(
  nixInstantiate(["--eval", "--strict", "--json", join(fixturesDir, "eval-build.nix"), "--arg", "build", build]),
);
const text: string = evaluated.nodes.node1.deploy.system.activationScripts["nixlab-release"].text;

const systemctl = join(work, "systemctl");
const calls = join(work, "systemctl.calls");
const runDir = join(work, "run");
writeFileSync(systemctl, `#!/usr/bin/env bash\necho "$*" >> "${calls}"\nexit "\${FAKE_SYSTEMCTL_EXIT:-0}"\n`);
chmodSync(systemctl, 0o755);

function activate(release: string, systemctlExit = 0): { status: number | null; stdout: string } {
  const script = text
    .replaceAll("/nix/store/stub-systemd/bin/systemctl", systemctl)
    .replaceAll("/nix/store/stub-nixlab-release", release)
    .replaceAll("/run/nixlab", join(runDir, "nixlab"));
  // NixOS runs activation snippets in one bash script; -e makes any failure visible here.
  const r = spawnSync("bash", ["-e", "-c", script], {
    encoding: "utf8",
    env: { PATH: process.env.PATH, FAKE_SYSTEMCTL_EXIT: String(systemctlExit) },
  });
  return { status: r.status, stdout: r.stdout };
}
const restarts = (): string[] => (existsSync(calls) ? readFileSync(calls, "utf8").trim().split("\n") : []);

describe("the activation step of the master", () => {
  const releaseA = join(work, "store", "aaaa-nixlab-release");
  const releaseB = join(work, "store", "bbbb-nixlab-release");
  mkdirSync(releaseA, { recursive: true });
  mkdirSync(releaseB, { recursive: true });

  it("references the stand-in release it is run with, and no systemctl", () => {
    expect(text).toContain("/nix/store/stub-nixlab-release");
    expect(text).not.toContain("systemctl");
  });

  it("installs the first release", () => {
    const r = activate(releaseA);
    expect(r.status).toBe(0);
    expect(readlinkSync(join(runDir, "nixlab", "release"))).toBe(releaseA);
    expect(r.stdout).toContain(`installed deploy release ${releaseA}`);
    expect(restarts()).toEqual([]);
  });

  it("does nothing when the release is unchanged", () => {
    const r = activate(releaseA);
    expect(r.status).toBe(0);
    expect(r.stdout).toBe("");
  });

  it("switches the link atomically to a changed release", () => {
    expect(activate(releaseB).status).toBe(0);
    expect(readlinkSync(join(runDir, "nixlab", "release"))).toBe(releaseB);
    expect(existsSync(join(runDir, "nixlab", "release.new"))).toBe(false);
  });

  it("creates the link's directory during boot (an empty /run)", () => {
    rmSync(join(runDir, "nixlab"), { recursive: true, force: true });
    const r = activate(releaseA, 1);
    expect(r.status).toBe(0);
    expect(readlinkSync(join(runDir, "nixlab", "release"))).toBe(releaseA);
  });
});
