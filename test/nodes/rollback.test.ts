/**
 * nix/rollback.sh against a real btrfs filesystem on a loop device, laid out as the
 * seed's disk: top-level subvolumes root, persist, nix and old_roots/<time> entries.
 * Needs root and loop devices; with NIXLAB_E2E=1 a missing capability fails the run.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";

const script = new URL("../../nix/rollback.sh", import.meta.url).pathname;
const day = 86_400;
// 2026-03-15 12:00:00 UTC
const now = 1_773_576_000;

function missingCapability(): string | null {
  if (process.getuid?.() !== 0) return "not root";
  for (const tool of ["losetup", "mkfs.btrfs", "btrfs", "mount"]) {
    if (spawnSync("sh", ["-c", `command -v ${tool}`]).status !== 0) return `${tool} not installed`;
  }
  const probe = spawnSync("losetup", ["--find"], { encoding: "utf8" });
  if (probe.status !== 0) return `no free loop device: ${probe.stderr.trim()}`;
  return null;
}

const missing = missingCapability();
const required = process.env.NIXLAB_E2E === "1";

const sh = (cmd: string, args: string[]): string => execFileSync(cmd, args, { encoding: "utf8" });

interface Volume {
  dir: string;
  device: string;
  top: string;
}

const cleanups: Array<() => void> = [];
afterEach(() => {
  while (cleanups.length > 0) {
    try {
      cleanups.pop()!();
    } catch {
      // Best effort: a failed test may have left things half set up.
    }
  }
});

/** A fresh btrfs on a loop device, mounted at its top level on `top`. */
function makeVolume(): Volume {
  const dir = mkdtempSync(join(tmpdir(), "nixlab-rollback-"));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const image = join(dir, "disk.img");
  sh("truncate", ["-s", "256M", image]);
  const device = sh("losetup", ["--find", "--show", image]).trim();
  cleanups.push(() => sh("losetup", ["-d", device]));
  sh("mkfs.btrfs", ["-q", "-f", device]);
  const top = join(dir, "top");
  mkdirSync(top);
  mount(device, top);
  return { dir, device, top };
}

function mount(device: string, at: string): void {
  sh("mount", ["-t", "btrfs", "-o", "subvolid=5", device, at]);
  cleanups.push(() => sh("umount", [at]));
}

function umountTop(v: Volume): void {
  sh("umount", [v.top]);
  // Drop the matching cleanup: it was done here.
  const i = cleanups.length - 1;
  cleanups.splice(i, 1);
}

const subvolume = (path: string): void => {
  sh("btrfs", ["subvolume", "create", path]);
};
const isSubvolume = (path: string): boolean => statSync(path).ino === 256;
const subvolumeId = (path: string): string => {
  const m = /Subvolume ID:\s+(\d+)/.exec(sh("btrfs", ["subvolume", "show", path]));
  return m![1]!;
};
const stampOf = (epoch: number): string =>
  new Date(epoch * 1000)
    .toISOString()
    .replace("T", "_")
    .replace(/\.\d+Z$/, "");

function runRollback(v: Volume, nowEpoch: number): { status: number | null; stdout: string; stderr: string } {
  const mnt = join(v.dir, "mnt");
  const r = spawnSync("bash", [script], {
    encoding: "utf8",
    env: {
      PATH: process.env.PATH,
      NIXLAB_ROLLBACK_DEVICE: v.device,
      NIXLAB_ROLLBACK_MOUNT: mnt,
      NIXLAB_ROLLBACK_NOW: String(nowEpoch),
    },
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe.runIf(missing === null || required)("rollback.sh on a real btrfs volume", () => {
  it("has every capability it needs", () => {
    expect(missing).toBeNull();
  });

  it("retires the root, creates an empty one, expires old roots with nested subvolumes, keeps the rest", () => {
    const v = makeVolume();
    const { top } = v;
    subvolume(join(top, "root"));
    writeFileSync(join(top, "root", "scratch.txt"), "written during the last session");
    // A subvolume nested in the live root (as systemd-nspawn or docker make them).
    subvolume(join(top, "root", "machines"));
    subvolume(join(top, "persist"));
    mkdirSync(join(top, "persist", "etc", "ssh"), { recursive: true });
    writeFileSync(join(top, "persist", "etc", "ssh", "ssh_host_ed25519_key"), "host key");
    subvolume(join(top, "nix"));
    mkdirSync(join(top, "nix", "store"));
    writeFileSync(join(top, "nix", "store", "marker"), "store");
    mkdirSync(join(top, "old_roots"));
    // Expired: 40 days, with subvolumes nested two levels deep.
    const expired = join(top, "old_roots", stampOf(now - 40 * day));
    subvolume(expired);
    subvolume(join(expired, "var-lib-machines"));
    subvolume(join(expired, "var-lib-machines", "inner"));
    mkdirSync(join(expired, "plain-dir"));
    subvolume(join(expired, "plain-dir", "deep"));
    // Names that would trip up word splitting, globbing or a greedy " path " match.
    subvolume(join(expired, "a path with spaces"));
    subvolume(join(expired, "a path with spaces", "*"));
    // Expired, named in the seed's format (day without a leading zero).
    const seedName = "2025-9-5_08:00:00";
    subvolume(join(top, "old_roots", seedName));
    // Recent: 10 days and 29 days, both stay (with their nested subvolume).
    const recent = join(top, "old_roots", stampOf(now - 10 * day));
    subvolume(recent);
    subvolume(join(recent, "nested"));
    const edge = join(top, "old_roots", stampOf(now - 29 * day));
    subvolume(edge);
    const persistId = subvolumeId(join(top, "persist"));
    const nixId = subvolumeId(join(top, "nix"));
    umountTop(v);

    const r = runRollback(v, now);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);

    mount(v.device, top);
    const oldRoots = readdirSync(join(top, "old_roots")).sort();
    const retired = stampOf(now);
    expect(oldRoots).toEqual([stampOf(now - 29 * day), stampOf(now - 10 * day), retired].sort());
    // The previous root, with its content and nested subvolume, is now the newest old root.
    expect(readFileSync(join(top, "old_roots", retired, "scratch.txt"), "utf8")).toBe(
      "written during the last session",
    );
    expect(isSubvolume(join(top, "old_roots", retired, "machines"))).toBe(true);
    // A fresh, empty root subvolume.
    expect(isSubvolume(join(top, "root"))).toBe(true);
    expect(readdirSync(join(top, "root"))).toEqual([]);
    // The recent old root keeps its nested subvolume.
    expect(isSubvolume(join(recent, "nested"))).toBe(true);
    // Nothing of the expired ones is left anywhere in the filesystem.
    const list = sh("btrfs", ["subvolume", "list", top]);
    expect(list).not.toContain(stampOf(now - 40 * day));
    expect(list).not.toContain(seedName);
    expect(list).not.toContain("var-lib-machines");
    expect(list).not.toContain("spaces");
    // /persist and /nix untouched: same subvolumes, same content.
    expect(subvolumeId(join(top, "persist"))).toBe(persistId);
    expect(subvolumeId(join(top, "nix"))).toBe(nixId);
    expect(readFileSync(join(top, "persist", "etc", "ssh", "ssh_host_ed25519_key"), "utf8")).toBe("host key");
    expect(readFileSync(join(top, "nix", "store", "marker"), "utf8")).toBe("store");
    expect(r.stdout).toContain(`previous root kept as old_roots/${retired}`);
    expect(r.stdout).toContain(`deleted old_roots/${seedName}`);
  });

  it("works on the first boot, when there is no root yet", () => {
    const v = makeVolume();
    subvolume(join(v.top, "persist"));
    subvolume(join(v.top, "nix"));
    umountTop(v);

    const r = runRollback(v, now);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);

    mount(v.device, v.top);
    expect(isSubvolume(join(v.top, "root"))).toBe(true);
    expect(readdirSync(v.top).sort()).toEqual(["nix", "persist", "root"]);
  });

  it("keeps both roots of two boots within the same second", () => {
    const v = makeVolume();
    subvolume(join(v.top, "root"));
    writeFileSync(join(v.top, "root", "first"), "1");
    umountTop(v);

    expect(runRollback(v, now).status).toBe(0);
    mount(v.device, v.top);
    writeFileSync(join(v.top, "root", "second"), "2");
    umountTop(v);
    expect(runRollback(v, now).status).toBe(0);

    mount(v.device, v.top);
    const stamp = stampOf(now);
    expect(readdirSync(join(v.top, "old_roots")).sort()).toEqual([stamp, `${stamp}.1`]);
    expect(readdirSync(join(v.top, "old_roots", stamp))).toEqual(["first"]);
    expect(readdirSync(join(v.top, "old_roots", `${stamp}.1`))).toEqual(["second"]);
  });

  it("refuses a malformed NIXLAB_ROLLBACK_NOW without touching the volume", () => {
    const v = makeVolume();
    subvolume(join(v.top, "root"));
    umountTop(v);
    const r = spawnSync("bash", [script], {
      encoding: "utf8",
      env: {
        PATH: process.env.PATH,
        NIXLAB_ROLLBACK_DEVICE: v.device,
        NIXLAB_ROLLBACK_MOUNT: join(v.dir, "mnt"),
        NIXLAB_ROLLBACK_NOW: "yesterday",
      },
    });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("epoch seconds");
    mount(v.device, v.top);
    expect(readdirSync(v.top)).toEqual(["root"]);
  });
});
