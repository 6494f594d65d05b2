/**
 * The flake inputs every build pins: the revisions nixlab knows work, bumped deliberately
 * (docs/nodes.md, "Pinning"). nix/flake.nix spells the same pins out literally (flake
 * inputs cannot be computed); test/nodes/inputs.test.ts proves the two agree.
 *
 * A pinned input carries the commit (`rev`) and the NAR hash of its tree (`narHash`,
 * what `nix flake prefetch github:<owner>/<repo>/<rev>` prints), so Nix verifies what it
 * fetched and can reuse a store copy offline. `ref` inputs follow a branch: Nix locks
 * them in flake.lock on the first evaluation (keep that lock next to the cluster file).
 */

/** The NixOS release the nodes run. */
export const nixosRelease = "26.05";

export interface PinnedInput {
  /** The input's name in flake.nix. */
  name: string;
  owner: string;
  repo: string;
  /** A branch Nix resolves and locks on first use (null when `rev` pins it). */
  ref: string | null;
  /** The pinned commit, or null for a branch input. */
  rev: string | null;
  /** SRI sha256 of the NAR of the commit's tree, or null for a branch input. */
  narHash: string | null;
  /** Commit date of `rev` (UTC day), for people. */
  date: string | null;
  /** Why this revision (or branch), and what it was checked against. */
  reason: string;
}

export const pinnedInputs: readonly PinnedInput[] = [
  {
    name: "nixpkgs",
    owner: "NixOS",
    repo: "nixpkgs",
    ref: `nixos-${nixosRelease}`,
    rev: null,
    narHash: null,
    date: null,
    reason:
      "the current stable release. Its revision is not pinned here: nixlab could not verify a commit of the " +
      "branch and its hash from its build machine, so Nix locks the branch head in flake.lock on the first " +
      "evaluation (keep that flake.lock next to the cluster file to hold it)",
  },
  {
    name: "sops-nix",
    owner: "Mic92",
    repo: "sops-nix",
    ref: null,
    rev: "56b24064fdcaedca53553b1a6d607fd23b613a24",
    narHash: "sha256-478kKQBvK6SYTOdN2h9jhKJv94nbXRbFMfuL1WshErg=",
    date: "2026-06-22",
    reason:
      "main after the February 2026 change that needs Go 1.25 and dropped nixos-25.05; its CI tests " +
      "nixos-25.11 and nixpkgs-unstable, between which 26.05 lies. Has sops.useSystemdActivation",
  },
  {
    name: "disko",
    owner: "nix-community",
    repo: "disko",
    ref: null,
    rev: "878ec37d6a8f52c6c801d0e2a2ad554c75b9353c",
    narHash: "sha256-qWKbLUJpavIpvOdX1fhHYm0WGerytFHRoh9lVck6Bh0=",
    date: "2026-03-14",
    reason:
      "after v1.13.0; adds subvol= to btrfs subvolume mounts itself and sets boot.loader.grub.devices " +
      "from the disk (so a /dev/disk/by-id path reaches GRUB)",
  },
  {
    name: "impermanence",
    owner: "nix-community",
    repo: "impermanence",
    ref: null,
    rev: "7b1d382faf603b6d264f58627330f9faa5cba149",
    narHash: "sha256-03+JxvzmfwRu+5JafM0DLbxgHttOQZkUtDWBmeUkN8Y=",
    date: "2026-01-27",
    reason:
      "asserts neededForBoot on the persistent storage (nixlab sets it for /persist); its home-manager " +
      "input is only for its own tests, so it is left empty",
  },
  {
    name: "colmena",
    owner: "zhaofengli",
    repo: "colmena",
    ref: null,
    rev: "5bf4ce6a24adba74a5184f4a9bef01d545a09473",
    narHash: "sha256-ypTPb2eKcOBbOoyvPV0j4ZOXs4kayo73/2KI456QnE0=",
    date: "2025-08-15",
    reason:
      "only for lib.makeHive, which builds the colmenaHive output (hive schema v0.5) current colmena " +
      "reads; older colmena reads the plain colmena output",
  },
];
