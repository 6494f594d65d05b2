/** `nodes install`: refuses without --yes, then runs disko, the age key copy and nixos-install. */
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Command } from "commander";
import { afterAll, afterEach, describe, expect, it, vi } from "vitest";
import { registerNodes } from "../../src/cli/nodes.ts";
import { UserError } from "../../src/errors.ts";
import { readBuildSpecs } from "../../src/nodes/build-dir.ts";
import { installSteps } from "../../src/nodes/install.ts";
import { exampleCluster, renderExample, writeBuild } from "./support.ts";

const work = mkdtempSync(join(tmpdir(), "nixlab-install-"));
const build = writeBuild(renderExample(await exampleCluster()));
const ageKey = join(work, "age.key");
writeFileSync(ageKey, "AGE-SECRET-KEY-1STANDIN\n");
const bin = join(work, "bin");
const calls = join(work, "calls.log");
mkdirSync(bin);
// Stand-ins for every command install runs: each records its name and arguments.
for (const tool of ["nix", "install", "nixos-install"]) {
  writeFileSync(
    join(bin, tool),
    `#!/usr/bin/env bash\necho "${tool} $*" >> "${calls}"\n${tool === "nixos-install" ? "exit $((NIXLAB_FAKE_INSTALL_EXIT + 0))" : ""}\n`,
  );
  chmodSync(join(bin, tool), 0o755);
}

const savedEnv = { ...process.env };
afterEach(() => {
  process.env = { ...savedEnv };
  vi.restoreAllMocks();
  rmSync(calls, { force: true });
});
afterAll(() => {
  rmSync(work, { recursive: true, force: true });
  rmSync(build, { recursive: true, force: true });
});

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
  return out.join("");
}

describe("installSteps", () => {
  it("partitions with the flake's disko, installs the age key owner-only, then nixos-install", () => {
    const spec = readBuildSpecs(build).find((s) => s.hostname === "node2")!;
    const steps = installSteps(spec, { buildDir: build, ageKeyFile: ageKey });
    expect(steps.map((s) => s.argv)).toEqual([
      [
        "nix",
        "--extra-experimental-features",
        "nix-command flakes",
        "run",
        `path:${build}#disko`,
        "--",
        "--mode",
        "destroy,format,mount",
        "--yes-wipe-all-disks",
        "--flake",
        `path:${build}#node2`,
      ],
      ["install", "-d", "-m", "0700", "/mnt/persist/etc/sops-nix"],
      ["install", "-m", "0400", ageKey, "/mnt/persist/etc/sops-nix/keys.txt"],
      ["nixos-install", "--root", "/mnt", "--flake", `path:${build}#node2`, "--no-root-passwd"],
    ]);
    expect(steps[0]!.title).toContain("erase /dev/sda");
  });
});

describe("nixlab nodes install", () => {
  it("refuses to wipe the disk without --yes and shows what it would run", async () => {
    process.env.PATH = `${bin}:${savedEnv.PATH}`;
    const error = await cli(["nodes", "install", "node1", "--build", build, "--age-key-file", ageKey]).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(UserError);
    const e = error as UserError;
    expect(e.message).toBe("not installing node1: this ERASES /dev/nvme0n1 on this machine");
    expect(e.details.join("\n")).toContain(`nixos-install --root /mnt --flake path:${build}#node1 --no-root-passwd`);
    expect(() => readFileSync(calls)).toThrow();
  });

  it("needs an age key and a known host", async () => {
    delete process.env.SOPS_AGE_KEY_FILE;
    process.env.XDG_CONFIG_HOME = join(work, "no-config");
    await expect(cli(["nodes", "install", "node1", "--build", build, "--yes"])).rejects.toThrow(/no age key given/);
    await expect(
      cli(["nodes", "install", "node9", "--build", build, "--yes", "--age-key-file", ageKey]),
    ).rejects.toThrow(/no node node9/);
  });

  it("with --yes runs every step in order, as root", async () => {
    process.env.PATH = `${bin}:${savedEnv.PATH}`;
    const run = cli(["nodes", "install", "node3", "--build", build, "--age-key-file", ageKey, "--yes"]);
    if (process.getuid?.() !== 0) {
      await expect(run).rejects.toThrow(/must run as root/);
      return;
    }
    const text = await run;
    expect(
      readFileSync(calls, "utf8")
        .trim()
        .split("\n")
        .map((l) => l.split(" ")[0]),
    ).toEqual(["nix", "install", "install", "nixos-install"]);
    expect(text).toContain("==> 1/4 erase /dev/sda");
    expect(text).toContain("node3 is installed");
  });

  it("stops at the first failing step", async () => {
    process.env.PATH = `${bin}:${savedEnv.PATH}`;
    process.env.NIXLAB_FAKE_INSTALL_EXIT = "7";
    const expected = process.getuid?.() === 0 ? /step 4 failed \(exit code 7\): nixos-install/ : /must run as root/;
    await expect(
      cli(["nodes", "install", "node3", "--build", build, "--age-key-file", ageKey, "--yes"]),
    ).rejects.toThrow(expected);
  });
});
