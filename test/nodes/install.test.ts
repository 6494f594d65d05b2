/**
 * `nodes install` from the admin's machine: the dry run lists the keys it creates and
 * the recipients it adds; with --yes it gives each node its own age identity and SSH
 * host key on /persist (streamed over a stand-in ssh that runs the script here, with
 * stand-in nix and nixos-install), and each node's new identity decrypts exactly its
 * secrets: the master every secret, a worker only its own (checked with nixlab and the
 * real sops).
 */
import { execFileSync, spawnSync } from "node:child_process";
import {
  chmodSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { Command } from "commander";
import { afterAll, afterEach, describe, expect, it, vi } from "vitest";
import { registerNodes } from "../../src/cli/nodes.ts";
import { loadCluster } from "../../src/config/load.ts";
import { UserError } from "../../src/errors.ts";
import { renderNodeFiles } from "../../src/nodes/render.ts";
import { parseIdentities } from "../../src/secrets/age.ts";
import { openSecrets } from "../../src/secrets/file.ts";
import { isPlaceholder } from "../../src/secrets/project.ts";
import { requiredSecrets } from "../../src/services/required-secrets.ts";
import { requireTool } from "../support/peers.ts";
import { exampleDir, fakeEngine, repoRoot } from "./support.ts";

const work = mkdtempSync(join(tmpdir(), "nixlab-install-"));
const lab = join(work, "lab");
for (const f of ["nixlab.yaml", ".sops.yaml", "secrets.yaml", "secrets.agents.yaml", "age-key.txt", "hosts"]) {
  cpSync(join(exampleDir, f), join(lab, f), { recursive: true });
}
const adminKey = join(lab, "age-key.txt");
const cluster = await loadCluster({ config: join(lab, "nixlab.yaml") });
// The example leaves the secrets only the user knows as placeholders; install refuses those.
const adminIds = await parseIdentities(readFileSync(adminKey, "utf8"), "admin");
const labSecrets = await openSecrets(join(lab, "secrets.yaml"), adminIds);
for (const name of labSecrets.keys()) if (isPlaceholder(labSecrets.get(name))) labSecrets.set(name, `filled-${name}`);
await labSecrets.save();
const build = join(work, "build");
for (const file of renderNodeFiles(cluster, {
  clusterDir: lab,
  readHardwareConfig: (h) => readFileSync(join(lab, "hosts", h, "hardware-configuration.nix"), "utf8"),
  readClusterFile: (p) => (p === "flake.lock" ? null : readFileSync(join(lab, p), "utf8")),
  engineBundle: fakeEngine,
}).files) {
  mkdirSync(dirname(join(build, file.path)), { recursive: true });
  writeFileSync(join(build, file.path), file.content);
}

const bin = join(work, "bin");
const calls = join(work, "calls.log");
mkdirSync(bin);
const tool = (name: string, body: string) => {
  writeFileSync(join(bin, name), `#!/usr/bin/env bash\n${body}\n`);
  chmodSync(join(bin, name), 0o755);
};
// ssh runs the remote command here; nix (disko) and nixos-install only record their arguments.
tool("ssh", `echo "ssh \${@:1:$#-1}" >> "${calls}"\nexec sh -c "\${@: -1}"`);
tool("nix", `echo "nix $*" >> "${calls}"`);
tool("nixos-install", `echo "nixos-install $*" >> "${calls}"\nexit $((NIXLAB_FAKE_INSTALL_EXIT + 0))`);

const savedEnv = { ...process.env };
afterEach(() => {
  process.env = { ...savedEnv };
  vi.restoreAllMocks();
  rmSync(calls, { force: true });
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

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
const common = ["--config", join(lab, "nixlab.yaml"), "--build", build, "--age-key-file", adminKey];
const mountOf = (host: string) => join(work, `mnt-${host}`);
const install = (host: string, extra: string[] = []) => {
  process.env.PATH = `${bin}:${savedEnv.PATH}`;
  return cli([
    "nodes",
    "install",
    host,
    ...common,
    "--target",
    "root@installer.local",
    "--mount",
    mountOf(host),
    ...extra,
  ]);
};

describe("nixlab nodes install: dry run", () => {
  it("lists the keys it creates and the recipient it adds, and touches nothing", async () => {
    const sopsBefore = readFileSync(join(lab, ".sops.yaml"), "utf8");
    const error = await install("node2").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UserError);
    const e = error as UserError;
    expect(e.message).toBe("not installing node2: this ERASES /dev/sda on root@installer.local");
    const details = e.details.join("\n");
    expect(details).toContain("an age identity -> /persist/etc/sops-nix/keys.txt (0400)");
    expect(details).toContain("an ed25519 SSH host key -> /persist/etc/ssh/ssh_host_ed25519_key");
    expect(details).toContain(`recipient it adds to ${join(lab, ".sops.yaml")}`);
    expect(details).toContain("node2's new age recipient as &node_node2, in the rule for secrets.agents.yaml");
    expect(details).toContain(
      "re-encrypted for: age1zz0x2e0l9jh84f0ej340gy503p6ftekdfvdpyf34jc9q84t6zupqknk8ug, node2's new key",
    );
    expect(details).toContain("read user_password, k3s_token (and not open secrets.yaml)");
    expect(details).toContain(
      `nixos-install --root ${mountOf("node2")} --flake "path:$d/build#node2" --no-root-passwd`,
    );
    expect(readFileSync(join(lab, ".sops.yaml"), "utf8")).toBe(sopsBefore);
    expect(() => readFileSync(calls)).toThrow();
  });
});

describe("nixlab nodes install --yes", () => {
  const identityOf = async (host: string) =>
    (await parseIdentities(readFileSync(join(mountOf(host), "persist/etc/sops-nix/keys.txt"), "utf8"), host))[0]!;

  it("installs every node with keys of its own on /persist", async () => {
    for (const host of ["node1", "node2", "node3"]) {
      const text = await install(host, ["--yes"]);
      expect(text).toContain(`${host} is installed`);
      expect(text).toMatch(new RegExp(`${host}\\.local ssh-ed25519 AAAA\\S+ root@${host}`));
      const log = readFileSync(calls, "utf8");
      expect(log).toContain("ssh root@installer.local");
      expect(log).toMatch(
        new RegExp(
          `nix .* run path:/tmp/nixlab-install\\.\\w+/build#disko -- --mode destroy,format,mount --yes-wipe-all-disks --root-mountpoint ${mountOf(host)} --flake path:/tmp/nixlab-install\\.\\w+/build#${host}`,
        ),
      );
      expect(log).toMatch(
        new RegExp(
          `nixos-install --root ${mountOf(host)} --flake path:/tmp/nixlab-install\\.\\w+/build#${host} --no-root-passwd`,
        ),
      );
      rmSync(calls);
      const persist = join(mountOf(host), "persist/etc");
      expect(statSync(join(persist, "sops-nix/keys.txt")).mode & 0o777).toBe(0o400);
      expect(statSync(join(persist, "sops-nix")).mode & 0o777).toBe(0o700);
      expect(statSync(join(persist, "ssh/ssh_host_ed25519_key")).mode & 0o777).toBe(0o600);
      // The real ssh-keygen reads the host key and derives the public key written beside it.
      const pub = execFileSync("ssh-keygen", ["-y", "-f", join(persist, "ssh/ssh_host_ed25519_key")], {
        encoding: "utf8",
      });
      expect(readFileSync(join(persist, "ssh/ssh_host_ed25519_key.pub"), "utf8").startsWith(pub.trim())).toBe(true);
    }
    const keys = await Promise.all(["node1", "node2", "node3"].map(identityOf));
    expect(new Set(keys.map((k) => k.recipient)).size).toBe(3);
    const sops = readFileSync(join(lab, ".sops.yaml"), "utf8");
    for (const [i, host] of ["node1", "node2", "node3"].entries())
      expect(sops).toContain(`&node_${host} ${keys[i]!.recipient}`);
    // The build directory got the re-encrypted files, as `build` would copy them.
    expect(readFileSync(join(build, "secrets.agents.yaml"), "utf8")).toBe(
      readFileSync(join(lab, "secrets.agents.yaml"), "utf8"),
    );
    expect(readFileSync(join(build, "secrets.yaml"), "utf8")).toBe(readFileSync(join(lab, "secrets.yaml"), "utf8"));
  });

  it("the master's new identity reads every secret", async () => {
    const file = await openSecrets(join(lab, "secrets.yaml"), [await identityOf("node1")]);
    for (const req of requiredSecrets(cluster)) expect(typeof file.get(req.name), req.name).toBe("string");
    await expect(openSecrets(join(lab, "secrets.agents.yaml"), [await identityOf("node1")])).rejects.toThrow();
  });

  it("a worker's new identity reads only its own secrets, and the real sops agrees", async (ctx) => {
    // sops is built into .testbed/bin by the setup (test/secrets/helpers.ts finds it the same way).
    const built = join(repoRoot, ".testbed/bin/sops");
    const sops = existsSync(built) ? built : requireTool("sops", ctx);
    for (const host of ["node2", "node3"]) {
      const id = await identityOf(host);
      const agents = await openSecrets(join(lab, "secrets.agents.yaml"), [id]);
      expect(agents.keys().sort()).toEqual(["k3s_token", "user_password"]);
      const master = await openSecrets(join(lab, "secrets.yaml"), adminIds);
      expect(agents.get("k3s_token")).toBe(master.get("k3s_token"));
      await expect(openSecrets(join(lab, "secrets.yaml"), [id])).rejects.toThrow(/none of your age keys can decrypt/);
      const keyFile = join(mountOf(host), "persist/etc/sops-nix/keys.txt");
      const env = { ...process.env, SOPS_AGE_KEY_FILE: keyFile, HOME: work };
      const ok = spawnSync(sops, ["decrypt", join(lab, "secrets.agents.yaml")], { encoding: "utf8", env });
      expect(ok.status, ok.stderr).toBe(0);
      expect(ok.stdout).toContain("k3s_token:");
      const denied = spawnSync(sops, ["decrypt", join(lab, "secrets.yaml")], { encoding: "utf8", env });
      expect(denied.status).not.toBe(0);
    }
  });

  it("installing again replaces the node's recipient, and a failing step is reported", async () => {
    const before = (await identityOf("node3")).recipient;
    process.env.NIXLAB_FAKE_INSTALL_EXIT = "7";
    await expect(install("node3", ["--yes"])).rejects.toThrow(
      /installing node3 failed on root@installer.local \(exit code 7\)/,
    );
    const after = (await identityOf("node3")).recipient;
    expect(after).not.toBe(before);
    const sops = readFileSync(join(lab, ".sops.yaml"), "utf8");
    expect(sops).toContain(`&node_node3 ${after}`);
    expect(sops).not.toContain(before);
    await expect(openSecrets(join(lab, "secrets.agents.yaml"), [await identityOf("node3")])).resolves.toBeDefined();
  });

  it("needs a known host", async () => {
    await expect(install("node9", ["--yes"])).rejects.toThrow(/no node node9/);
  });
});
