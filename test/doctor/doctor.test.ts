/**
 * `nixlab doctor`: a project `nixlab init` wrote, made ready (hardware configs, a build),
 * passes every check; then each failure doctor can report is produced once, on real
 * files, keys and SOPS files, and its line and fix asserted.
 */
import { chmodSync, cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { UserError } from "../../src/errors.ts";
import { type CheckId, type CheckResult, checkIds, type DoctorInputs, runDoctor } from "../../src/doctor/checks.ts";
import { writeProject } from "../../src/init/project.ts";
import type { InitAnswers } from "../../src/init/wizard.ts";
import { newSshKeyPair } from "../../src/nodes/node-keys.ts";
import { createAgeKeyFile } from "../../src/secrets/project.ts";
import { discoverIdentities } from "../../src/secrets/identities.ts";
import { openSecrets } from "../../src/secrets/file.ts";
import { sha512CryptHash } from "../../src/secrets/password-hash.ts";
import { runCli } from "../support/cli.ts";

let base: string;
const temps: string[] = [];
const tmp = () => {
  const dir = mkdtempSync(join(tmpdir(), "ux-doctor-"));
  temps.push(dir);
  return dir;
};

const answers: InitAnswers = {
  cluster: {
    username: "alice",
    timezone: "UTC",
    clusterSshKey: newSshKeyPair("alice@test").publicKey,
    domain: "lab.example.net",
    metallbPool: "192.168.5.192/26",
    nginxIp: "192.168.5.193",
    wireguardIp: "192.168.5.194",
    piholeIp: "192.168.5.250",
    upstreamDns: "192.168.5.1",
    nodes: [
      { name: "node1", disk: "/dev/nvme0n1", master: true },
      { name: "node2", disk: "/dev/sdb", master: false },
    ],
    vpnUsers: [{ name: "carol", group: "family" }],
  },
  passwordHash: sha512CryptHash("a long password"),
  cloudflareToken: "cf-token",
};

beforeAll(async () => {
  base = join(tmp(), "project");
  await writeProject(
    base,
    { ...answers, ageKeyFile: join(base, "age-key.txt") },
    {
      replace: false,
      defaultAgeKeyPath: "/nonexistent/keys.txt",
    },
  );
  for (const host of ["node1", "node2"]) {
    mkdirSync(join(base, "hosts", host), { recursive: true });
    writeFileSync(join(base, "hosts", host, "hardware-configuration.nix"), "{ ... }: { }\n");
  }
  const built = await runCli(["build", "--no-nodes"], base);
  expect(built.code, built.stderr).toBe(0);
  const tools = join(base, "..", "tools");
  mkdirSync(tools);
  for (const tool of ["nixos-rebuild", "nix", "ssh"]) writeFileSync(join(tools, tool), "#!/bin/sh\n", { mode: 0o755 });
}, 120_000);

afterAll(() => {
  for (const dir of temps) rmSync(dir, { recursive: true, force: true });
});

/** A copy of the ready project, changed by `edit`. */
function project(edit: (dir: string) => void | Promise<void> = () => {}): Promise<string> {
  const dir = join(tmp(), "project");
  cpSync(base, dir, { recursive: true });
  return Promise.resolve(edit(dir)).then(() => dir);
}

const healthy = {
  describe: "context default → https://127.0.0.1:6443",
  version: async () => "v1.34.4",
  serves: async () => true,
  close: () => {},
};

function inputs(dir: string, change: Partial<DoctorInputs> = {}): DoctorInputs {
  return {
    cwd: dir,
    ageKeyFile: join(dir, "age-key.txt"),
    buildDir: join(dir, "build"),
    env: {},
    which: (tool) => (["nixos-rebuild", "nix", "ssh"].includes(tool) ? `/usr/bin/${tool}` : null),
    connect: async () => healthy,
    ...change,
  };
}

const byId = (results: CheckResult[]) => new Map(results.map((r) => [r.id, r]));

async function failure(dir: string, id: CheckId, change: Partial<DoctorInputs> = {}): Promise<CheckResult> {
  const results = await runDoctor(inputs(dir, change));
  const result = byId(results).get(id)!;
  expect(result.status, JSON.stringify(result)).toBe("fail");
  expect(result.fix).toBeTruthy();
  return result;
}

async function editSecrets(dir: string, file: string, edit: (s: Awaited<ReturnType<typeof openSecrets>>) => void) {
  const s = await openSecrets(join(dir, file), await discoverIdentities({ ageKeyFile: join(dir, "age-key.txt") }));
  edit(s);
  await s.save();
}

describe("nixlab doctor", () => {
  it("passes every check on a ready project", async () => {
    const results = await runDoctor(inputs(base));
    expect(results.map((r) => r.id)).toEqual([...checkIds]);
    expect(results.filter((r) => r.status !== "ok")).toEqual([]);
  });

  it("cluster file invalid: names the field and its fix, and skips what needs it", async () => {
    const dir = await project((d) => {
      const path = join(d, "nixlab.yaml");
      writeFileSync(path, readFileSync(path, "utf8").replace("domain: lab.example.net", "domain: lab_example"));
    });
    const r = await failure(dir, "cluster-file");
    expect(r.detail).toMatch(
      /nixlab\.yaml: 1 problem: domain \(nixlab\.yaml:\d+:\d+\): "lab_example" is not a valid domain name/,
    );
    expect(r.fix).toContain("use a lowercase DNS name");
    const all = byId(await runDoctor(inputs(dir)));
    expect(all.get("hardware-configs")!.status).toBe("skip");
    expect(all.get("build-fresh")!.status).toBe("skip");
  });

  it("hardware config missing", async () => {
    const dir = await project((d) => rmSync(join(d, "hosts/node2"), { recursive: true }));
    const r = await failure(dir, "hardware-configs");
    expect(r.detail).toBe("missing: hosts/node2/hardware-configuration.nix");
    expect(r.fix).toContain("nixos-generate-config --show-hardware-config --no-filesystems");
  });

  it("no age key anywhere", async () => {
    const dir = await project((d) => rmSync(join(d, "age-key.txt")));
    const r = await failure(dir, "age-key", { ageKeyFile: undefined, env: { HOME: join(dir, "nohome") } });
    expect(r.detail).toBe("no age key found");
    expect(r.fix).toBe("run nixlab init (it makes one), or export SOPS_AGE_KEY_FILE=/path/to/keys.txt");
  });

  it("the key init put beside the cluster file, not exported", async () => {
    const dir = await project();
    const r = await failure(dir, "age-key", { ageKeyFile: undefined, env: { HOME: join(dir, "nohome") } });
    expect(r.fix).toBe(`export SOPS_AGE_KEY_FILE=${join(dir, "age-key.txt")}`);
  });

  it("age key file named but missing", async () => {
    const dir = await project();
    const r = await failure(dir, "age-key", {
      ageKeyFile: undefined,
      env: { SOPS_AGE_KEY_FILE: join(dir, "gone.txt") },
    });
    expect(r.detail).toMatch(/cannot read the age key file .*gone\.txt \(ENOENT\)/);
  });

  it("age key readable by others", async () => {
    const dir = await project((d) => chmodSync(join(d, "age-key.txt"), 0o644));
    const r = await failure(dir, "age-key-mode");
    expect(r.detail).toMatch(/age-key\.txt is mode 0644: others can read your key/);
    expect(r.fix).toBe(`chmod 600 ${join(dir, "age-key.txt")}`);
  });

  it("a key that cannot decrypt the secrets", async () => {
    const dir = await project(async (d) => {
      await createAgeKeyFile(join(d, "other-key.txt"));
    });
    const r = await failure(dir, "secrets-decrypt", { ageKeyFile: join(dir, "other-key.txt") });
    expect(r.detail).toMatch(/none of your age keys can decrypt .*secrets\.yaml/);
    expect(r.fix).toContain("updatekeys");
  });

  it("no secrets file", async () => {
    const dir = await project((d) => rmSync(join(d, "secrets.yaml")));
    const r = await failure(dir, "secrets-decrypt");
    expect(r.fix).toContain("nixlab secrets init");
  });

  it("a required secret still a placeholder", async () => {
    const dir = await project((d) => editSecrets(d, "secrets.yaml", (s) => s.set("cloudflare_token", "REPLACE_ME")));
    const r = await failure(dir, "secrets-complete");
    expect(r.detail).toBe("cloudflare_token still REPLACE_ME");
    expect(r.fix).toBe("nixlab secrets set cloudflare_token (and each other one listed)");
  });

  it("a required secret missing", async () => {
    const dir = await project((d) => editSecrets(d, "secrets.yaml", (s) => s.delete("nextcloud_redis_password")));
    const r = await failure(dir, "secrets-complete");
    expect(r.detail).toBe("nextcloud_redis_password missing");
    expect(r.fix).toContain("nixlab secrets init");
  });

  it("a login password that is not a crypt hash", async () => {
    const dir = await project((d) => editSecrets(d, "secrets.yaml", (s) => s.set("user_password", "hunter2")));
    const r = await failure(dir, "secrets-well-formed");
    expect(r.detail).toContain("user_password is not a password hash in crypt format");
    expect(r.fix).toBe("nixlab secrets set user_password");
  });

  it("a WireGuard server public key that does not belong to the private key", async () => {
    const dir = await project((d) =>
      editSecrets(d, "secrets.yaml", (s) =>
        s.set("wireguard_server_public_key", Buffer.alloc(32, 7).toString("base64")),
      ),
    );
    const r = await failure(dir, "secrets-well-formed");
    expect(r.detail).toContain("is not the public key of wireguard_server_private_key");
  });

  it("a VPN user's public key that is not a key", async () => {
    const dir = await project((d) => editSecrets(d, "secrets.yaml", (s) => s.set("carol_wg_public_key", "not-a-key")));
    const r = await failure(dir, "secrets-well-formed");
    expect(r.detail).toMatch(/^carol_wg_public_key is not a WireGuard key/);
    expect(r.fix).toBe("nixlab secrets set carol_wg_public_key");
  });

  it("a value stored in clear in the agents' secrets file", async () => {
    const dir = await project((d) => {
      const path = join(d, "secrets.agents.yaml");
      writeFileSync(path, `extra_token: in-clear\n${readFileSync(path, "utf8")}`);
    });
    const r = await failure(dir, "secrets-well-formed");
    expect(r.detail).toMatch(/^not fully SOPS-encrypted: secrets\.agents\.yaml: .*extra_token/);
    expect(r.fix).toContain("restore the file from version control");
  });

  it(".sops.yaml lists a recipient the file is not encrypted to", async () => {
    const dir = await project((d) => {
      const path = join(d, ".sops.yaml");
      writeFileSync(
        path,
        readFileSync(path, "utf8").replace(
          // The rule of secrets.yaml (vpn-clients.yaml has one of its own).
          /(secrets\\\.yaml\$\n\s+age: )(age1\w+)$/m,
          "$1$2,age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p",
        ),
      );
    });
    const r = await failure(dir, "sops-rules");
    expect(r.detail).toContain("not yet encrypted to age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p");
    expect(r.fix).toContain("nixlab secrets updatekeys");
  });

  it("no .sops.yaml", async () => {
    const dir = await project((d) => rmSync(join(d, ".sops.yaml")));
    const r = await failure(dir, "sops-rules");
    expect(r.detail).toMatch(/^no \.sops\.yaml at or above/);
  });

  it("agents' secrets out of step with secrets.yaml", async () => {
    const dir = await project((d) => editSecrets(d, "secrets.yaml", (s) => s.set("k3s_token", "f".repeat(64))));
    const r = await failure(dir, "agent-secrets");
    expect(r.detail).toBe("secrets.agents.yaml has other values than secrets.yaml for k3s_token");
    expect(r.fix).toContain("nixlab build");
  });

  it("agents' secrets missing", async () => {
    const dir = await project((d) => rmSync(join(d, "secrets.agents.yaml")));
    const r = await failure(dir, "agent-secrets");
    expect(r.detail).toContain("secrets.agents.yaml is missing");
  });

  it("a build older than the cluster file", async () => {
    const dir = await project((d) => {
      const path = join(d, "nixlab.yaml");
      writeFileSync(path, readFileSync(path, "utf8").replace("upstreamDns: 192.168.5.1", "upstreamDns: 192.168.5.2"));
    });
    const r = await failure(dir, "build-fresh");
    expect(r.detail).toMatch(/deploy-plan\.json is older than the cluster file/);
    expect(r.fix).toBe("nixlab build");
  });

  it("no build", async () => {
    const dir = await project((d) => rmSync(join(d, "build"), { recursive: true }));
    const r = await failure(dir, "build-fresh");
    expect(r.detail).toMatch(/^no .*build\/deploy-plan\.json$/);
  });

  it("no usable kubeconfig", async () => {
    const dir = await project();
    const r = await failure(dir, "kubeconfig", {
      connect: async () => {
        throw new UserError('context "lab" is not in /home/u/.kube/config', { details: ["Known contexts: default."] });
      },
    });
    expect(r.detail).toBe('context "lab" is not in /home/u/.kube/config: Known contexts: default.');
  });

  it("an API server that does not answer", async () => {
    const dir = await project();
    const r = await failure(dir, "api-reachable", {
      connect: async () => ({
        ...healthy,
        version: async () => {
          throw new Error("connect ECONNREFUSED 127.0.0.1:6443");
        },
      }),
    });
    expect(r.detail).toContain("does not answer: connect ECONNREFUSED");
  });

  it("a cluster without k3s's helm controller", async () => {
    const dir = await project();
    const r = await failure(dir, "helm-controller", {
      connect: async () => ({ ...healthy, serves: async () => false }),
    });
    expect(r.detail).toContain("does not serve helm.cattle.io/v1 HelmChart");
  });

  it("nodes apply tools missing from PATH", async () => {
    const dir = await project();
    const r = await failure(dir, "node-tools", { which: (tool) => (tool === "ssh" ? "/usr/bin/ssh" : null) });
    expect(r.detail).toBe("not on PATH: nixos-rebuild, nix");
  });
});
