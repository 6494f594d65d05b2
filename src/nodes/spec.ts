/**
 * NodeSpec: every per-node fact of the NixOS side, computed here and written to
 * build/nodes/<hostname>.json. The static modules in nix/ only read it
 * (builtins.fromJSON); no Nix source is ever built from user input.
 */
import { z } from "zod";
import type { Cluster, NodeInfo } from "../cluster/model.ts";
import { requiredSecrets } from "../services/required-secrets.ts";

export const nodeSpecVersion = 1;

/** The group that may read the k3s admin kubeconfig (the cluster user is in it). */
export const kubeconfigGroup = "kubeconfig";
export const kubeconfigPath = "/etc/rancher/k3s/k3s.yaml";
export const persistRoot = "/persist";
export const ageKeyFile = "/persist/etc/sops-nix/keys.txt";
/** Where the master keeps the deploy engine's state (persisted across the root wipe). */
export const deployStateDir = "/var/lib/nixlab";

const hostnameRe = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
// k3s flags end up on one ExecStart line: no whitespace or quotes can sneak in.
const flagRe = /^--[a-z][a-z0-9-]*(=[A-Za-z0-9_./:=,@+-]+)?$/;
const absPath = z.string().regex(/^\/[A-Za-z0-9._@+:/-]*$/, "an absolute path of safe characters");
const relPath = z
  .string()
  .regex(/^[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*$/, "a relative path of safe characters")
  .refine((p) => !p.split("/").some((part) => part === "." || part === ".."), "a path inside the build directory");
const unixName = z.string().regex(/^[a-z_][a-z0-9_-]{0,31}$/, "a Unix user or group name");
const secretName = z.string().regex(/^[A-Za-z0-9_.-]+$/, "a SOPS key name");

const persistedDir = z.strictObject({
  directory: z.string().min(1),
  mode: z
    .string()
    .regex(/^0[0-7]{3}$/)
    .optional(),
});

export const nodeSpecSchema = z.strictObject({
  version: z.literal(nodeSpecVersion),
  name: z.string().min(1),
  hostname: z.string().regex(hostnameRe, "a hostname (RFC 1123 label)"),
  system: z.enum(["x86_64-linux", "aarch64-linux"]),
  role: z.enum(["server", "agent"]),
  master: z.boolean(),
  tags: z.array(z.string().regex(/^[A-Za-z0-9_.-]+$/)),
  timezone: z.string().regex(/^[A-Za-z0-9_+/-]+$/),
  stateVersion: z.string().regex(/^\d\d\.\d\d$/),
  user: z.strictObject({
    name: unixName,
    sshKeys: z.array(z.string().min(1)),
    extraGroups: z.array(unixName),
  }),
  deployment: z.strictObject({ targetHost: z.string().min(1), targetUser: unixName }),
  disk: z.strictObject({
    device: absPath,
    biosBootSize: z.string(),
    espSize: z.string().regex(/^\d+[KMGT]$/),
    espMountpoint: absPath,
    espMountOptions: z.array(z.string()),
    volumeGroup: z.string(),
    logicalVolume: z.string(),
    subvolumes: z.array(z.strictObject({ name: absPath, mountpoint: absPath, mountOptions: z.array(z.string()) })),
  }),
  rollback: z.strictObject({
    device: absPath,
    /** The systemd device unit of `device`, which the initrd service waits for. */
    deviceUnit: z.string().regex(/^[A-Za-z0-9_.\\:-]+\.device$/),
    keepDays: z.number().int().positive(),
  }),
  persistence: z.strictObject({
    root: absPath,
    directories: z.array(persistedDir),
    files: z.array(absPath),
    userDirectories: z.array(persistedDir),
  }),
  ssh: z.strictObject({
    hostKeys: z.array(
      z.strictObject({ path: absPath, type: z.enum(["ed25519", "rsa"]), bits: z.number().int().optional() }),
    ),
  }),
  k3s: z.strictObject({
    role: z.enum(["server", "agent"]),
    /** null on the server; agents join it. */
    serverAddr: z.string().url().nullable(),
    tokenSecret: secretName,
    extraFlags: z.array(z.string().regex(flagRe, "a k3s flag without spaces or quotes")),
    kubeconfig: z.strictObject({ path: absPath, mode: z.string(), group: unixName }).nullable(),
  }),
  sops: z.strictObject({
    /** Relative to the build directory (copied there from next to the cluster file). */
    file: relPath,
    format: z.literal("yaml"),
    ageKeyFile: absPath,
    secrets: z.array(
      z.strictObject({
        name: secretName,
        owner: unixName,
        mode: z.literal("0400"),
        neededForUsers: z.boolean(),
      }),
    ),
  }),
  /** The master's deploy engine; null on agents. */
  deploy: z
    .strictObject({
      engine: relPath,
      plan: relPath,
      manifests: relPath,
      stateDir: absPath,
      secretsDir: absPath,
      kubeconfig: absPath,
      timeoutSeconds: z.number().int().positive(),
    })
    .nullable(),
});

export type NodeSpec = z.output<typeof nodeSpecSchema>;

/** The seed's impermanence list (seed-architecture.md, "What persists"), plus our deploy state. */
const persistedDirectories = [
  "/etc/nixos",
  "/var/log",
  "/var/lib/nixos",
  "/etc/NetworkManager/system-connections",
  "/var/lib/NetworkManager",
  "/var/lib/kubelet",
  "/var/lib/rancher/k3s",
  "/etc/rancher",
  "/var/lib/longhorn",
  "/var/lib/csi",
  "/var/lib/docker",
];
const persistedFiles = ["/etc/machine-id", "/etc/adjtime"];
const persistedUserDirectories = [
  { directory: "Code" },
  { directory: "Documents" },
  { directory: ".ssh", mode: "0700" },
  { directory: ".gnupg", mode: "0700" },
  { directory: ".config" },
  { directory: ".local" },
  { directory: ".config/sops", mode: "0700" },
];

/** systemd-escape --path: the device unit name systemd gives a device path. */
export function deviceUnitName(path: string): string {
  const trimmed = path.replace(/^\/+|\/+$/g, "").replace(/\/+/g, "/");
  if (trimmed === "") return "-.device";
  const escaped = [...trimmed]
    .map((ch, i) => {
      if (ch === "/") return "-";
      if (/[A-Za-z0-9:_]/.test(ch) || (ch === "." && i > 0)) return ch;
      return [...Buffer.from(ch, "utf8")].map((b) => `\\x${b.toString(16).padStart(2, "0")}`).join("");
    })
    .join("");
  return `${escaped}.device`;
}

/** The k3s flags of a node (the seed's, with the kubeconfig made owner-and-group only). */
export function k3sFlags(node: NodeInfo): string[] {
  const common = [
    "--node-label=node.longhorn.io/create-default-disk=true",
    // The WireGuard pod forwards VPN traffic through this pod-level sysctl instead of
    // running privileged (issue 9); the kubelet refuses unsafe sysctls it was not told to allow.
    "--kubelet-arg=allowed-unsafe-sysctls=net.ipv4.ip_forward",
  ];
  if (!node.master) return common;
  return [
    "--cluster-init",
    "--disable=servicelb",
    "--disable=traefik",
    "--disable=local-storage",
    // The seed wrote it 0644, making every local user cluster-admin (services.md §7, 19).
    "--write-kubeconfig-mode=0640",
    `--write-kubeconfig-group=${kubeconfigGroup}`,
    ...common,
  ];
}

/** Secrets the host itself uses; agents get only these, the master everything. */
const hostSecrets = new Set(["k3s_token"]);

/** The NodeSpec of one node of `cluster`. Pure. */
export function nodeSpec(cluster: Cluster, node: NodeInfo): NodeSpec {
  const username = cluster.config.username;
  const lvDevice = "/dev/root_vg/root";
  const secrets = [
    // Decrypted before users exist: the hashed password of the user and of root.
    { name: "user_password", owner: "root", mode: "0400" as const, neededForUsers: true },
    ...requiredSecrets(cluster)
      // user_password is declared above (it must be decrypted before users exist).
      .filter((s) => s.name !== "user_password" && (node.master || hostSecrets.has(s.name)))
      .map((s) => ({
        name: s.name,
        owner: s.owner === "user" ? username : "root",
        // Owner-only for all of them: the seed's 0644 files were world-readable (§7, 20).
        mode: "0400" as const,
        neededForUsers: false,
      })),
  ];
  return {
    version: nodeSpecVersion,
    name: node.name,
    hostname: node.hostname,
    system: "x86_64-linux",
    role: node.role,
    master: node.master,
    tags: [...node.tags],
    timezone: cluster.config.timezone,
    stateVersion: "25.05",
    user: {
      name: username,
      sshKeys: [cluster.config.clusterSshKey],
      extraGroups: ["wheel", "networkmanager", ...(node.master ? [kubeconfigGroup] : [])],
    },
    deployment: { targetHost: `${node.hostname}.local`, targetUser: username },
    disk: {
      device: node.disk,
      biosBootSize: "1M",
      espSize: node.espSize,
      espMountpoint: "/boot",
      espMountOptions: ["umask=0077"],
      volumeGroup: "root_vg",
      logicalVolume: "root",
      subvolumes: [
        { name: "/root", mountpoint: "/", mountOptions: [] },
        { name: "/persist", mountpoint: "/persist", mountOptions: ["subvol=persist", "noatime"] },
        { name: "/nix", mountpoint: "/nix", mountOptions: ["subvol=nix", "noatime"] },
      ],
    },
    rollback: { device: lvDevice, deviceUnit: deviceUnitName(lvDevice), keepDays: 30 },
    persistence: {
      root: persistRoot,
      directories: [
        ...persistedDirectories.map((directory) => ({ directory })),
        ...(node.master ? [{ directory: deployStateDir, mode: "0700" }] : []),
      ],
      files: persistedFiles,
      userDirectories: persistedUserDirectories.map((d) => ({ ...d })),
    },
    ssh: {
      hostKeys: [
        { path: "/persist/etc/ssh/ssh_host_ed25519_key", type: "ed25519" },
        { path: "/persist/etc/ssh/ssh_host_rsa_key", type: "rsa", bits: 4096 },
      ],
    },
    k3s: {
      role: node.role,
      serverAddr: node.master ? null : cluster.serverAddr,
      tokenSecret: "k3s_token",
      extraFlags: k3sFlags(node),
      kubeconfig: node.master ? { path: kubeconfigPath, mode: "0640", group: kubeconfigGroup } : null,
    },
    sops: { file: "secrets.yaml", format: "yaml", ageKeyFile, secrets },
    deploy: node.master
      ? {
          engine: "engine/nixlab.mjs",
          plan: "deploy-plan.json",
          manifests: "manifests",
          stateDir: deployStateDir,
          secretsDir: "/run/secrets",
          kubeconfig: kubeconfigPath,
          timeoutSeconds: 3600,
        }
      : null,
  };
}

/** NodeSpecs of every node, in the cluster's node order. Pure. */
export function nodeSpecs(cluster: Cluster): NodeSpec[] {
  return cluster.nodes.map((node) => nodeSpec(cluster, node));
}

/** Problems of a spec against the schema, one line each (empty when valid). */
export function nodeSpecProblems(value: unknown, label: string): string[] {
  const result = nodeSpecSchema.safeParse(value);
  if (result.success) return [];
  return result.error.issues.map((issue) => `${label}: ${issue.path.join(".") || "(top level)"}: ${issue.message}`);
}
