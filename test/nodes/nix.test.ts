/**
 * The real Nix evaluator (Debian nix-bin) on everything nixlab emits for nodes: every
 * .nix file parses, and the flake and each module, evaluated against the example's node
 * JSON (nixpkgs and the other inputs replaced by stand-ins), give the expected options.
 */
import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync, rmSync } from "node:fs";
import { join, relative } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { exampleCluster, fixturesDir, nixInstantiate, renderExample, repoRoot, writeBuild } from "./support.ts";

const cluster = await exampleCluster();
const result = renderExample(cluster);
const build = writeBuild(result);
afterAll(() => rmSync(build, { recursive: true, force: true }));

const nixFiles = [
  ...readdirSync(join(repoRoot, "nix"))
    .filter((f) => f.endsWith(".nix"))
    .map((f) => join(repoRoot, "nix", f)),
  ...result.files.filter((f) => f.path.endsWith(".nix")).map((f) => join(build, f.path)),
  ...readdirSync(fixturesDir).map((f) => join(fixturesDir, f)),
];

describe("nix-instantiate --parse", () => {
  const label = (f: string) => (f.startsWith(build) ? `build/${relative(build, f)}` : relative(repoRoot, f));
  it.each(nixFiles.map((f) => [label(f), f]))("parses %s", (_, file) => {
    expect(() => nixInstantiate(["--parse", file])).not.toThrow();
  });

  it("covers the flake, every module and every host's hardware configuration", () => {
    const emitted = result.files.filter((f) => f.path.endsWith(".nix")).map((f) => f.path);
    expect(emitted).toContain("flake.nix");
    expect(emitted.filter((p) => p.startsWith("hosts/"))).toHaveLength(3);
    expect(emitted.filter((p) => p.startsWith("nix/")).length).toBeGreaterThanOrEqual(8);
  });
});

describe("evaluating the build with the real evaluator", () => {
  const out: any = JSON.parse(
    nixInstantiate(["--eval", "--strict", "--json", join(fixturesDir, "eval-build.nix"), "--arg", "build", build]),
  );

  it("reads every node JSON with builtins.fromJSON into nixosConfigurations and the colmena hive", () => {
    expect(out.hosts).toEqual(["node1", "node2", "node3"]);
    expect(out.colmenaNodes).toEqual(["node1", "node2", "node3"]);
    expect(out.colmenaHiveIsTheHive).toBe(true);
    expect(out.nodes.node2.colmena).toEqual({
      targetHost: "node2.local",
      targetUser: "alice",
      tags: ["worker", "storage"],
    });
    expect(out.nodes.node1.system).toBe("x86_64-linux");
    expect(out.disko["x86_64-linux"]).toBe("disko-x86_64-linux");
    for (const host of out.hosts) {
      const modules: string[] = out.nodes[host].modules;
      expect(modules.slice(0, 3)).toEqual(["disko-module", "sops-module", "impermanence-module"]);
      expect(modules[3]).toBe(join(build, "nix/node.nix"));
      expect(modules[4]).toBe(join(build, `hosts/${host}/hardware-configuration.nix`));
      expect(out.nodes[host].colmenaImports).toEqual(modules);
    }
  });

  it("disko: GPT, 1 MiB BIOS boot, ESP vfat on /boot, LVM root_vg/root with btrfs subvolumes", () => {
    const devices = out.nodes.node1.disk.disko.devices;
    expect(devices.disk.main.device).toBe("/dev/nvme0n1");
    const parts = devices.disk.main.content.partitions;
    expect(devices.disk.main.content.type).toBe("gpt");
    expect(parts.boot).toEqual({ size: "1M", type: "EF02", priority: 1 });
    expect(parts.ESP).toEqual({
      size: "500M",
      type: "EF00",
      content: { type: "filesystem", format: "vfat", mountpoint: "/boot", mountOptions: ["umask=0077"] },
    });
    expect(parts.root).toEqual({ size: "100%", content: { type: "lvm_pv", vg: "root_vg" } });
    const lv = devices.lvm_vg.root_vg.lvs.root;
    expect(lv.size).toBe("100%FREE");
    expect(lv.content.subvolumes).toEqual({
      "/root": { mountpoint: "/" },
      "/persist": { mountpoint: "/persist", mountOptions: ["noatime"] },
      "/nix": { mountpoint: "/nix", mountOptions: ["noatime"] },
    });
    expect(out.nodes.node1.disk.fileSystems["/persist"].neededForBoot).toBe(true);
    expect(out.nodes.node3.disk.disko.devices.disk.main.content.partitions.ESP.size).toBe("1G");
  });

  it("rollback: an initrd service before sysroot.mount whose script is nix/rollback.sh", () => {
    const { boot } = out.nodes.node2.rollback;
    const svc = boot.initrd.systemd.services.rollback;
    expect(svc.script).toBe(readFileSync(join(repoRoot, "nix/rollback.sh"), "utf8"));
    expect(svc.before).toEqual(["sysroot.mount"]);
    expect(svc.after).toEqual(["dev-root_vg-root.device"]);
    expect(svc.requires).toEqual(["dev-root_vg-root.device"]);
    expect(svc.wantedBy).toEqual(["initrd.target"]);
    expect(svc.environment).toEqual({
      NIXLAB_ROLLBACK_DEVICE: "/dev/root_vg/root",
      NIXLAB_ROLLBACK_KEEP_DAYS: "30",
    });
    expect(boot.initrd.systemd.enable).toBe(true);
    expect(boot.initrd.services.lvm.enable).toBe(true);
  });

  it("impermanence: the seed's directories, files and per-user directories under /persist", () => {
    const p = out.nodes.node1.impermanence.environment.persistence["/persist"];
    expect(p.hideMounts).toBe(true);
    expect(p.directories).toContain("/var/lib/rancher/k3s");
    expect(p.directories).toContainEqual({ directory: "/var/lib/nixlab", mode: "0700" });
    expect(p.files).toEqual(["/etc/machine-id", "/etc/adjtime"]);
    expect(p.users.alice.directories).toContainEqual({ directory: ".ssh", mode: "0700" });
    expect(p.users.alice.directories).toContain("Documents");
  });

  it("sops: the age key on /persist, every secret owner-only 0400", () => {
    const sops = out.nodes.node1.sops;
    expect(sops.age.keyFile).toBe("/persist/etc/sops-nix/keys.txt");
    expect(sops.age.sshKeyPaths).toEqual([]);
    expect(sops.defaultSopsFile).toBe(join(build, "secrets.yaml"));
    expect(sops.defaultSopsFormat).toBe("yaml");
    const secrets = Object.entries(sops.secrets) as Array<[string, { mode: string; owner: string }]>;
    expect(secrets.length).toBeGreaterThan(12);
    for (const [, s] of secrets) expect(s.mode).toBe("0400");
    expect(sops.secrets.user_password).toEqual({ owner: "root", mode: "0400", neededForUsers: true });
    expect(Object.keys(sops.secrets)).toEqual(
      expect.arrayContaining(["alice_wg_public_key", "bob_wg_public_key", "carol_wg_public_key"]),
    );
    expect(Object.keys(out.nodes.node3.sops.secrets).sort()).toEqual(["k3s_token", "user_password"]);
  });

  it("k3s: server flags on the master, agent with serverAddr elsewhere, token from sops, openiscsi", () => {
    const master = out.nodes.node1.k3s;
    expect(master.services.k3s).toEqual({
      enable: true,
      role: "server",
      tokenFile: "/run/secrets/k3s_token",
      extraFlags:
        "--cluster-init --tls-san=node1 --tls-san=node1.local --disable=servicelb --disable=traefik --disable=local-storage --write-kubeconfig-mode=0640 --write-kubeconfig-group=kubeconfig --node-label=node.longhorn.io/create-default-disk=true --kubelet-arg=allowed-unsafe-sysctls=net.ipv4.ip_forward",
    });
    expect(master.users.groups).toEqual({ kubeconfig: {} });
    expect(master.services.openiscsi.enable).toBe(true);
    const agent = out.nodes.node2.k3s;
    expect(agent.services.k3s.role).toBe("agent");
    expect(agent.services.k3s.serverAddr).toBe("https://node1.local:6443");
    expect(agent.users.groups).toEqual({});
  });

  it("base: hostname, firewall forced off, host keys on /persist, key-only SSH, the user", () => {
    const base = out.nodes.node2.base;
    expect(base.networking.hostName).toBe("node2");
    expect(base.networking.firewall.enable).toEqual({ _type: "override", priority: 50, content: false });
    expect(base.services.openssh.hostKeys[0]).toEqual({
      path: "/persist/etc/ssh/ssh_host_ed25519_key",
      type: "ed25519",
    });
    expect(base.services.openssh.settings.PasswordAuthentication).toBe(false);
    expect(base.users.users.alice.hashedPasswordFile).toBe("/run/secrets/user_password");
    expect(base.users.users.alice.openssh.authorizedKeys.keys[0]).toMatch(/^ssh-ed25519 /);
    expect(base.time.timeZone).toBe("Europe/Berlin");
    // NetworkManager leaves k3s's CNI interfaces alone.
    expect(base.networking.networkmanager.unmanaged).toEqual([
      "interface-name:cni0",
      "interface-name:flannel*",
      "interface-name:veth*",
    ]);
    // GRUB keeps as many generations as the ESP holds: 7 on node2's 500M, 16 on node3's 1G.
    expect(base.boot.loader.grub.configurationLimit).toBe(7);
    expect(out.nodes.node3.base.boot.loader.grub.configurationLimit).toBe(16);
  });

  it("deploy: only on the master, a oneshot running the release, restarted without blocking after the secrets", () => {
    expect(out.nodes.node2.deployEnabled).toBe(false);
    expect(out.nodes.node1.deployEnabled).toBe(true);
    const d = out.nodes.node1.deploy;
    const svc = d.systemd.services["nixlab-deploy"];
    expect(svc.serviceConfig).toEqual({
      Type: "oneshot",
      ExecStart: "/run/nixlab/release/deploy",
      TimeoutStartSec: 3600,
    });
    expect(svc.after).toContain("k3s.service");
    expect(svc.restartIfChanged).toBe(false);
    expect(svc.unitConfig.DefaultDependencies).toBe(false);
    expect(svc.environment.KUBECONFIG).toBe("/etc/rancher/k3s/k3s.yaml");
    expect(d.systemd.timers["nixlab-deploy"].timerConfig.OnUnitInactiveSec).toBe("15min");
    expect(svc.after).toContain("sops-install-secrets.service");
    // No dependency on sops-nix's activation step by name: with sops.useSystemdActivation
    // (implied by systemd-sysusers or userborn) that step does not exist.
    const activation = d.system.activationScripts["nixlab-release"];
    expect(activation.deps).toEqual(["specialfs"]);
    expect(activation.text).not.toContain("systemctl");
    expect(activation.text).toContain('if [ "$(readlink /run/nixlab/release');
    // The trigger: restarted by a switch only when the release changed, after the secrets
    // unit (systemd activation) and only queueing the deploy (--no-block).
    const trigger = d.systemd.services["nixlab-release"];
    expect(trigger.restartTriggers).toEqual(["/nix/store/stub-nixlab-release"]);
    expect(trigger.after).toEqual(["sops-install-secrets.service", "k3s.service"]);
    expect(trigger.wantedBy).toEqual(["multi-user.target"]);
    expect(trigger.serviceConfig).toEqual({
      Type: "oneshot",
      RemainAfterExit: true,
      ExecStart: "/nix/store/stub-systemd/bin/systemctl restart --no-block nixlab-deploy.service",
    });
    const script: string = out.nodes.node1.releaseScript;
    expect(script).toMatch(
      /exec \/nix\/store\/stub-node\/bin\/node \$out\/nixlab\.mjs deploy --plan \$out\/deploy-plan\.json --secrets-dir '\/run\/secrets' --state '\/var\/lib\/nixlab' --api-timeout 300 --log-format plain/,
    );
    // The unit's arguments are ones the real CLI accepts (it then fails on the missing
    // plan or cluster, never on an unknown option).
    const args = /nixlab\.mjs (deploy .*)$/m
      .exec(script)![1]!
      .replaceAll("'", "")
      .replaceAll("$out", "/nonexistent")
      .split(" ");
    const cli = spawnSync(process.execPath, [join(repoRoot, "bin/nixlab.js"), ...args], {
      encoding: "utf8",
      env: { ...process.env, NO_COLOR: "1", KUBECONFIG: "/nonexistent/kubeconfig" },
    });
    expect(cli.stderr).not.toMatch(/unknown option|too many arguments|missing required/);
    expect(cli.stderr).toMatch(/^error: /);
    // The plan, manifests and engine come from the build directory, copied into the store.
    expect(script).toMatch(/cp \/nix\/store\/[a-z0-9]{32}-deploy-plan\.json \$out\/deploy-plan\.json/);
    expect(script).toMatch(/cp -r \/nix\/store\/[a-z0-9]{32}-manifests \$out\/manifests/);
    expect(script).toMatch(/cp \/nix\/store\/[a-z0-9]{32}-nixlab\.mjs \$out\/nixlab\.mjs/);
  });
});
