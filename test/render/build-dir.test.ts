// `nixlab build --out DIR`: only a directory nixlab wrote is ever replaced, and a build
// killed (SIGKILL, a real child process) between any two steps of the swap never leaves
// the user without a build directory once nixlab runs again.
import { spawnSync } from "node:child_process";
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { readBuildSpecs } from "../../src/nodes/build-dir.ts";
import { buildMarker, type SwapStep, writeBuildDir } from "../../src/render/write.ts";
import { runCli } from "../support/cli.ts";
import { root } from "../support/example.ts";

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** A copy of the example project (cluster file, hosts/, encrypted secrets, its age key) in a fresh directory. */
function project(): string {
  const dir = mkdtempSync(join(tmpdir(), "nixlab-build-dir-"));
  dirs.push(dir);
  for (const f of ["nixlab.yaml", "secrets.yaml", "secrets.agents.yaml", ".sops.yaml", "age-key.txt", "hosts"])
    cpSync(join(root, "examples/homelab", f), join(dir, f), { recursive: true });
  return dir;
}

/** Every file under `dir` with its content (relative path → text). */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    out[path.slice(dir.length + 1)] = readFileSync(path, "latin1");
  }
  return out;
}

// picocolors colours output when CI is set; assertions read plain text.
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching ANSI colour codes is the point
const plain = (s: string) => s.replace(/\x1b\[[0-9;]*m/g, "");

describe("build --out never replaces what nixlab did not write", () => {
  it("refuses a directory with a deploy-plan.json of the user's (the cluster file, the age key and .git survive)", async () => {
    const dir = project();
    mkdirSync(join(dir, ".git/objects"), { recursive: true });
    writeFileSync(join(dir, ".git/HEAD"), "ref: refs/heads/main\n");
    const plan = await runCli(["plan", "--json"], dir);
    expect(plan.code).toBe(0);
    writeFileSync(join(dir, "deploy-plan.json"), plan.stdout);
    const before = snapshot(dir);
    const r = await runCli(["build", "--out", "."], dir);
    expect(r.code).toBe(2);
    expect(plain(r.stderr)).toMatch(
      /^error: \. was not written by `nixlab build` \(it has no \.nixlab-build marker\)/m,
    );
    expect(snapshot(dir)).toEqual(before);
    expect(readdirSync(dir).filter((n) => n.includes("nixlab-"))).toEqual([]);
  });

  it("--out naming a file or a symlink is a clear error, and the file is untouched", async () => {
    const dir = project();
    const key = readFileSync(join(dir, "age-key.txt"), "utf8");
    const r = await runCli(["build", "--out", "age-key.txt"], dir);
    expect(r.code).toBe(2);
    expect(plain(r.stderr)).toContain("error: age-key.txt is a file, not a directory");
    expect(readFileSync(join(dir, "age-key.txt"), "utf8")).toBe(key);
    const nested = await runCli(["build", "--out", "age-key.txt/build"], dir);
    expect(nested.code).toBe(1);
    expect(plain(nested.stderr)).toMatch(/^error: cannot write the build directory age-key\.txt\/build \(EEXIST: /m);
    symlinkSync(join(dir, "hosts"), join(dir, "linked"));
    const link = await runCli(["build", "--out", "linked"], dir);
    expect(link.code).toBe(2);
    expect(plain(link.stderr)).toContain("error: linked is a symbolic link; nixlab does not replace it");
    expect(existsSync(join(dir, "hosts/node1/hardware-configuration.nix"))).toBe(true);
  });

  it("rebuilds its own directory (and the flake.lock Nix writes there) but refuses one holding a user's file", async () => {
    const dir = project();
    expect((await runCli(["build"], dir)).code).toBe(0);
    const marker = JSON.parse(readFileSync(join(dir, "build", buildMarker), "utf8"));
    expect(marker.files).toContain("deploy-plan.json");
    writeFileSync(join(dir, "build/flake.lock"), "{}\n");
    expect((await runCli(["build"], dir)).code).toBe(0);
    expect(existsSync(join(dir, "build/flake.lock"))).toBe(false);
    writeFileSync(join(dir, "build/manifests/notes.txt"), "mine\n");
    const r = await runCli(["build"], dir);
    expect(r.code).toBe(2);
    expect(plain(r.stderr)).toContain("build holds 1 file(s) nixlab did not write");
    expect(plain(r.stderr)).toContain("build/manifests/notes.txt");
    expect(readFileSync(join(dir, "build/manifests/notes.txt"), "utf8")).toBe("mine\n");
  });

  it("refuses an older nixlab's build directory (no marker) with the way out", async () => {
    const dir = project();
    mkdirSync(join(dir, "build/manifests"), { recursive: true });
    writeFileSync(join(dir, "build/deploy-plan.json"), "{}\n");
    const r = await runCli(["build"], dir);
    expect(r.code).toBe(2);
    expect(plain(r.stderr)).toContain("if it is the output of an older nixlab, delete it yourself (rm -r build)");
    expect(readFileSync(join(dir, "build/deploy-plan.json"), "utf8")).toBe("{}\n");
  });
});

describe("a build killed during the swap", () => {
  const steps: SwapStep[] = ["staged", "old-moved-aside", "new-moved-in", "old-removed"];

  /** Runs writeBuildDir in a child process that SIGKILLs itself right after `step`. */
  function killedWrite(out: string, step: SwapStep): void {
    const script = join(out, "..", "killed-build.mjs");
    writeFileSync(
      script,
      `import { writeBuildDir } from ${JSON.stringify(join(root, "src/render/write.ts"))};
writeBuildDir(${JSON.stringify(out)}, [{ path: "nodes/x.json", content: "{}" }, { path: "flake.nix", content: "{}" }], {
  onStep: (s) => { if (s === ${JSON.stringify(step)}) process.kill(process.pid, "SIGKILL"); },
});
`,
    );
    const r = spawnSync(process.execPath, [script], { encoding: "utf8" });
    expect(r.signal, r.stderr).toBe("SIGKILL");
  }

  for (const step of steps) {
    it(`after "${step}": the next run has a complete build directory and no leftovers`, async () => {
      const dir = project();
      expect((await runCli(["build"], dir)).code).toBe(0);
      const previous = snapshot(join(dir, "build"));
      killedWrite(join(dir, "build"), step);
      if (step === "old-moved-aside") {
        // The window between the two renames: build/ is gone until nixlab runs again,
        // and any nixlab command reading it (here: `nodes apply|install`) restores it first.
        expect(existsSync(join(dir, "build"))).toBe(false);
        const notes: string[] = [];
        expect(readBuildSpecs(join(dir, "build"), (n) => notes.push(n)).map((s) => s.hostname)).toEqual([
          "node1",
          "node2",
          "node3",
        ]);
        expect(notes).toEqual([
          `restored ${join(dir, "build")} from the build before an interrupted \`nixlab build\``,
          `removed the temporary directories of an interrupted \`nixlab build\` beside ${join(dir, "build")}`,
        ]);
        expect(snapshot(join(dir, "build"))).toEqual(previous);
      } else {
        expect(existsSync(join(dir, "build", buildMarker))).toBe(true);
      }
      const r = await runCli(["build"], dir);
      expect(r.code, r.stderr).toBe(0);
      if (step !== "old-removed" && step !== "old-moved-aside")
        expect(plain(r.stderr)).toContain("note: removed the temporary directories of an interrupted `nixlab build`");
      expect(snapshot(join(dir, "build"))).toEqual(previous);
      expect(readdirSync(dir).filter((n) => n.startsWith(".build."))).toEqual([]);
    });
  }

  it("leaves a live build's temporary directories alone", () => {
    const dir = project();
    writeBuildDir(join(dir, "build"), [{ path: "a", content: "1" }]);
    // A staging directory owned by this (live) process, as a concurrent build would have.
    const live = join(dir, `.build.nixlab-new-${process.ppid}-0123456789ab`);
    mkdirSync(live);
    writeFileSync(join(live, buildMarker), readFileSync(join(dir, "build", buildMarker)));
    writeBuildDir(join(dir, "build"), [{ path: "a", content: "2" }]);
    expect(existsSync(live)).toBe(true);
    expect(readFileSync(join(dir, "build/a"), "utf8")).toBe("2");
  });
});
