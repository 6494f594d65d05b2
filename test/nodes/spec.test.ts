import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { buildCluster } from "../../src/cluster/model.ts";
import { clusterConfigSchema } from "../../src/config/schema.ts";
import { requiredSecrets } from "../../src/services/required-secrets.ts";
import { deviceUnitName, nodeSpec, nodeSpecProblems, nodeSpecSchema, nodeSpecs } from "../../src/nodes/spec.ts";
import { exampleCluster, renderExample } from "./support.ts";

const cluster = await exampleCluster();
const specs = nodeSpecs(cluster);
const byHost = (h: string) => specs.find((s) => s.hostname === h)!;

describe("node specs of the example cluster", () => {
  it("are valid against the schema", () => {
    for (const spec of specs) expect(nodeSpecSchema.parse(spec)).toEqual(spec);
  });

  it("make node1 the k3s server with --cluster-init and the disabled components", () => {
    const k3s = byHost("node1").k3s;
    expect(byHost("node1").role).toBe("server");
    expect(k3s.serverAddr).toBeNull();
    expect(k3s.extraFlags).toEqual([
      "--cluster-init",
      "--tls-san=node1",
      "--tls-san=node1.local",
      "--disable=servicelb",
      "--disable=traefik",
      "--disable=local-storage",
      "--write-kubeconfig-mode=0640",
      "--write-kubeconfig-group=kubeconfig",
      "--node-label=node.longhorn.io/create-default-disk=true",
      "--kubelet-arg=allowed-unsafe-sysctls=net.ipv4.ip_forward",
    ]);
  });

  it("make the workers agents joining https://node1.local:6443 (mDNS), with only their own secrets file", () => {
    for (const host of ["node2", "node3"]) {
      const spec = byHost(host);
      expect(spec.role).toBe("agent");
      expect(spec.k3s.serverAddr).toBe("https://node1.local:6443");
      expect(spec.sops.file).toBe("secrets.agents.yaml");
      expect(spec.sops.secrets.map((x) => x.name).sort()).toEqual(["k3s_token", "user_password"]);
      expect(spec.k3s.extraFlags).toEqual([
        "--node-label=node.longhorn.io/create-default-disk=true",
        "--kubelet-arg=allowed-unsafe-sysctls=net.ipv4.ip_forward",
      ]);
      expect(spec.k3s.kubeconfig).toBeNull();
      expect(spec.deploy).toBeNull();
    }
  });

  it("keep the kubeconfig to root and the cluster user's group (not world-readable)", () => {
    const spec = byHost("node1");
    expect(spec.k3s.kubeconfig).toEqual({
      path: "/etc/rancher/k3s/k3s.yaml",
      mode: "0640",
      group: "kubeconfig",
    });
    expect(spec.user.extraGroups).toContain("kubeconfig");
    expect(byHost("node2").user.extraGroups).not.toContain("kubeconfig");
  });

  it("declare every required secret on the master, one per enabled VPN user, all 0400", () => {
    const master = byHost("node1").sops.secrets;
    const names = master.map((s) => s.name);
    expect(names).toEqual([
      "user_password",
      ...requiredSecrets(cluster)
        .map((s) => s.name)
        .filter((n) => n !== "user_password"),
    ]);
    for (const user of cluster.vpn.enabledUsers) expect(names).toContain(user.publicKeySecret);
    for (const s of master) {
      expect(s.mode).toBe("0400");
      expect(s.owner).toBe("root");
    }
    expect(master.find((s) => s.name === "user_password")!.neededForUsers).toBe(true);
    expect(master.filter((s) => s.neededForUsers).map((s) => s.name)).toEqual(["user_password"]);
  });

  it("give agents only what the host itself needs", () => {
    expect(byHost("node2").sops.secrets.map((s) => s.name)).toEqual(["user_password", "k3s_token"]);
  });

  it("lay the disk out as the seed does", () => {
    const disk = byHost("node1").disk;
    expect(disk.device).toBe("/dev/nvme0n1");
    expect(disk.biosBootSize).toBe("1M");
    expect(disk.espSize).toBe("500M");
    expect(byHost("node3").disk.espSize).toBe("1G");
    expect(disk.subvolumes).toEqual([
      { name: "/root", mountpoint: "/", mountOptions: [] },
      { name: "/persist", mountpoint: "/persist", mountOptions: ["noatime"] },
      { name: "/nix", mountpoint: "/nix", mountOptions: ["noatime"] },
    ]);
    expect(byHost("node1").rollback).toEqual({
      device: "/dev/root_vg/root",
      deviceUnit: "dev-root_vg-root.device",
      keepDays: 30,
    });
  });

  it("persist the seed's list, and the deploy state on the master only", () => {
    const dirs = (h: string) => byHost(h).persistence.directories.map((d) => d.directory);
    expect(dirs("node2")).toEqual([
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
    ]);
    expect(dirs("node1")).toEqual([...dirs("node2"), "/var/lib/nixlab"]);
    expect(byHost("node1").persistence.files).toEqual(["/etc/machine-id", "/etc/adjtime"]);
    expect(byHost("node1").persistence.userDirectories.map((d) => d.directory)).toEqual([
      "Code",
      "Documents",
      ".ssh",
      ".gnupg",
      ".config",
      ".local",
      ".config/sops",
    ]);
    expect(byHost("node1").ssh.hostKeys.map((k) => k.path)).toEqual([
      "/persist/etc/ssh/ssh_host_ed25519_key",
      "/persist/etc/ssh/ssh_host_rsa_key",
    ]);
  });

  it("target <user>@<hostname>.local with the node's tags", () => {
    expect(byHost("node2").deployment).toEqual({ targetHost: "node2.local", targetUser: "alice" });
    expect(byHost("node2").tags).toEqual(["worker", "storage"]);
  });
});

describe("node specs of other clusters", () => {
  const make = (over: Record<string, unknown>) =>
    buildCluster(
      clusterConfigSchema.parse({
        username: "bob",
        clusterSshKey: "ssh-ed25519 AAAA bob@laptop",
        nodes: { a: { hostname: "alpha", master: true, disk: "/dev/disk/by-id/ata-X_1" } },
        domain: "example.org",
        metallbPool: "10.0.0.0/28",
        piholeIp: "10.0.0.2",
        wireguardIp: "10.0.0.3",
        nginxIp: "10.0.0.4",
        upstreamDns: "10.0.0.1",
        ...over,
      }),
      "<inline>",
    );

  it("declare no secret for a disabled VPN user", () => {
    const c = make({
      wireguardUsers: {
        on: { ip: "10.0.100.2", publicKeySecret: "on_key" },
        off: { ip: "10.0.100.3", publicKeySecret: "off_key", enabled: false },
      },
    });
    const names = nodeSpec(c, c.master).sops.secrets.map((s) => s.name);
    expect(names).toContain("on_key");
    expect(names).not.toContain("off_key");
  });

  it("report a spec that does not fit the schema instead of emitting it", () => {
    const c = make({ username: "Bad User" });
    const problems = nodeSpecProblems(nodeSpec(c, c.master), "node a");
    expect(problems.some((p) => p.startsWith("node a: user.name"))).toBe(true);
    expect(renderExample(c).problems.some((p) => p.includes("user.name"))).toBe(true);
  });

  it("a single-node cluster is a server with no agents", () => {
    const c = make({});
    expect(nodeSpecs(c).map((s) => s.role)).toEqual(["server"]);
  });
});

describe("deviceUnitName", () => {
  it("escapes like systemd-escape --path", () => {
    for (const path of [
      "/dev/root_vg/root",
      "/dev/disk/by-id/ata-Samsung_SSD_870-x",
      "/dev/mapper/vg-lv",
      "/dev/a b",
    ]) {
      const expected = execFileSync("systemd-escape", ["--path", "--suffix=device", path], {
        encoding: "utf8",
      }).trim();
      expect(deviceUnitName(path)).toBe(expected);
    }
  });
});
