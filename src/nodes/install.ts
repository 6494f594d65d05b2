/**
 * `nixlab nodes install <host>`: the first install of a node, run as root on the
 * machine booted from the NixOS installer, with the build directory copied onto it.
 * disko partitions and mounts the disk under /mnt, the age key goes to /mnt/persist,
 * then nixos-install installs the node's configuration.
 */
import { spawn } from "node:child_process";
import { resolve } from "node:path";
import type { NodeSpec } from "./spec.ts";

export interface InstallStep {
  /** What the step does, for people. */
  title: string;
  argv: string[];
}

export interface InstallOptions {
  buildDir: string;
  /** The age private key file that decrypts secrets.yaml. */
  ageKeyFile: string;
  /** Where disko mounts the new system (disko's default). */
  root?: string;
}

export function installSteps(spec: NodeSpec, options: InstallOptions): InstallStep[] {
  const flake = `path:${resolve(options.buildDir)}`;
  const root = options.root ?? "/mnt";
  const keyTarget = `${root}${spec.sops.ageKeyFile}`;
  const keyDir = keyTarget.slice(0, keyTarget.lastIndexOf("/"));
  return [
    {
      title: `erase ${spec.disk.device}, partition it (GPT, BIOS boot, ESP, LVM with btrfs) and mount it on ${root}`,
      argv: [
        "nix",
        "--extra-experimental-features",
        "nix-command flakes",
        "run",
        `${flake}#disko`,
        "--",
        "--mode",
        "destroy,format,mount",
        "--yes-wipe-all-disks",
        "--flake",
        `${flake}#${spec.hostname}`,
      ],
    },
    {
      title: "create the directory of the age key on /persist",
      argv: ["install", "-d", "-m", "0700", keyDir],
    },
    {
      title: `copy the age key to ${spec.sops.ageKeyFile} (owner-only)`,
      argv: ["install", "-m", "0400", resolve(options.ageKeyFile), keyTarget],
    },
    {
      title: `install ${spec.hostname}'s NixOS configuration`,
      argv: ["nixos-install", "--root", root, "--flake", `${flake}#${spec.hostname}`, "--no-root-passwd"],
    },
  ];
}

/** Runs one step with the terminal attached; resolves its exit code, or null when it could not start. */
export function runInstallStep(argv: string[]): Promise<number | null> {
  return new Promise((done) => {
    const child = spawn(argv[0]!, argv.slice(1), { stdio: "inherit" });
    child.on("error", () => done(null));
    child.on("close", (code) => done(code));
  });
}
