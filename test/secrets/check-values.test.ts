// `secrets check` checks what the values are, not only that they exist (WireGuard keys are
// 32 bytes of base64 and the server's public key belongs to its private key, the user
// password is a crypt hash, tokens are one word), and `nixlab check` fails for a VPN
// user whose key secret is missing. Real `wg` and `openssl` make the good values.
import { execFileSync, spawnSync } from "node:child_process";
import { cpSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadCluster } from "../../src/config/load.ts";
import { checkRequired, createSecrets, openSecrets, parseIdentities } from "../../src/secrets/index.ts";
import { requiredSecrets } from "../../src/services/required-secrets.ts";
import { findTool } from "../support/peers.ts";
import { repoRoot, removeTempDirs, requireTools, tempDir } from "./helpers.ts";

afterAll(removeTempDirs);
const haveWg = Boolean(findTool("wg") && findTool("openssl"));
if (!haveWg && process.env.NIXLAB_E2E === "1") throw new Error("wg and openssl are needed; run npm run setup");
const suite = requireTools() && haveWg ? describe : describe.skip;

suite("secrets check validates values; check needs every VPN user's key", () => {
  let dir: string;
  let env: Record<string, string>;
  let fills: Record<string, string>;
  let ageRecipient: string;
  const run = (args: string[], input = "") => {
    const r = spawnSync(process.execPath, [join(repoRoot, "bin/nixlab.js"), ...args], {
      cwd: dir,
      env,
      input,
      encoding: "utf8",
    });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
  };
  const wgKey = () => execFileSync("wg", ["genkey"], { encoding: "utf8" }).trim();
  const wgPub = (key: string) => execFileSync("wg", ["pubkey"], { input: key, encoding: "utf8" }).trim();

  beforeAll(() => {
    const root = tempDir("nixlab-check-values-");
    dir = join(root, "project");
    mkdirSync(dir);
    mkdirSync(join(root, "home"));
    for (const f of ["nixlab.yaml", "hosts"])
      cpSync(join(repoRoot, "examples/homelab", f), join(dir, f), { recursive: true });
    env = { PATH: process.env.PATH ?? "", HOME: join(root, "home"), NO_COLOR: "1" };
    expect(run(["secrets", "init"]).status).toBe(0);
    const hash = execFileSync("openssl", ["passwd", "-6", "-salt", "nixlabsalt", "correct horse"], {
      encoding: "utf8",
    }).trim();
    fills = {
      user_password: hash,
      cloudflare_token: "cf-token-0123456789",
      alice_wg_public_key: wgPub(wgKey()),
      bob_wg_public_key: wgPub(wgKey()),
      carol_wg_public_key: wgPub(wgKey()),
    };
    for (const [name, value] of Object.entries(fills)) expect(run(["secrets", "set", name], value).status).toBe(0);
    ageRecipient = /public key: (age1\w+)/.exec(
      readFileSync(join(env.HOME!, ".config/sops/age/keys.txt"), "utf8"),
    )![1]!;
    const ok = run(["secrets", "check"]);
    expect(ok.status, ok.stderr).toBe(0);
  });

  it("the checks, value by value (pure: checkRequired on an in-memory file)", async () => {
    const cluster = await loadCluster({ cwd: dir });
    const requirements = requiredSecrets(cluster);
    const file = createSecrets(join(dir, "scratch.yaml"), { keyGroups: [[ageRecipient]] });
    const good = wgKey();
    const hash = execFileSync("openssl", ["passwd", "-6", "-salt", "nixlabsalt", "correct horse"], {
      encoding: "utf8",
    }).trim();
    const valid: Record<string, () => string> = {
      "wireguard-key": () => wgPub(wgKey()),
      "crypt-hash": () => hash,
      token: () => "tok",
      endpoint: () => "vpn.example.com:51820",
      text: () => "a b",
    };
    const problems = (overrides: Record<string, string>) => {
      const values: Record<string, string> = {
        wireguard_server_private_key: good,
        wireguard_server_public_key: wgPub(good),
        ...overrides,
      };
      for (const r of requirements) file.set(r.name, values[r.name] ?? valid[r.format]!());
      return checkRequired(file, requirements).invalid.map(({ req, problem }) => `${req.name} ${problem}`);
    };
    expect(problems({})).toEqual([]);
    const notAKey =
      "is not a WireGuard key (32 bytes in base64: 44 characters ending in =, as `wg genkey` and `wg pubkey` print)";
    const notAHash = "is not a password hash in crypt format ($6$…, $y$…); make one with `mkpasswd -m sha-512`";
    const notAWord = "is blank or has whitespace or control characters in it";
    const notAHost = "is not a host name or IP address (with an optional :port)";
    expect(
      problems({
        alice_wg_public_key: "hunter2",
        bob_wg_public_key: `${wgPub(wgKey()).slice(0, -2)}==`,
        carol_wg_public_key: Buffer.alloc(31, 1).toString("base64"),
        wireguard_server_public_key: wgPub(wgKey()),
        user_password: "correct horse battery staple",
        k3s_token: "   ",
        cloudflare_token: "tok\u0007en",
        nextcloud_admin_username: "two words",
        pihole_password: " \n\t",
        wireguard_server_endpoint: "https://vpn.example.com",
      }),
    ).toEqual([
      `user_password ${notAHash}`,
      `k3s_token ${notAWord}`,
      `cloudflare_token ${notAWord}`,
      "pihole_password is blank",
      "wireguard_server_public_key is not the public key of wireguard_server_private_key",
      `wireguard_server_endpoint ${notAHost}`,
      `nextcloud_admin_username ${notAWord}`,
      `alice_wg_public_key ${notAKey}`,
      `bob_wg_public_key ${notAKey}`,
      `carol_wg_public_key ${notAKey}`,
    ]);
    expect(problems({ wireguard_server_private_key: `${good} extra` })).toEqual([
      `wireguard_server_private_key ${notAKey}`,
    ]);
    for (const endpoint of ["vpn.example.com", "203.0.113.7:51820", "[2001:db8::1]:51820", "host"])
      expect(problems({ wireguard_server_endpoint: endpoint })).toEqual([]);
    for (const endpoint of ["vpn.example.com:99999", "a b", "[not-ip]:1", "-bad-.example"])
      expect(problems({ wireguard_server_endpoint: endpoint })).toEqual([`wireguard_server_endpoint ${notAHost}`]);
  });

  it("secrets check reports invalid values by name, never printing them", () => {
    const bad = { user_password: "plain password here", alice_wg_public_key: "not-a-wireguard-key" };
    for (const [name, value] of Object.entries(bad)) expect(run(["secrets", "set", name], value).status).toBe(0);
    const r = run(["secrets", "check"]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("invalid: user_password is not a password hash in crypt format");
    expect(r.stderr).toContain("invalid: alice_wg_public_key is not a WireGuard key");
    for (const value of Object.values(bad)) expect(r.stderr + r.stdout).not.toContain(value);
    for (const name of Object.keys(bad)) expect(run(["secrets", "set", name], fills[name]).status).toBe(0);
  });

  it("nixlab check fails for a VPN user whose key secret is missing, naming the user", async () => {
    expect(run(["check"]).status).toBe(0);
    const keyFile = join(env.HOME!, ".config/sops/age/keys.txt");
    const file = await openSecrets(
      join(dir, "secrets.yaml"),
      await parseIdentities(readFileSync(keyFile, "utf8"), keyFile),
    );
    const saved = file.get("bob_wg_public_key");
    expect(file.delete("bob_wg_public_key")).toBe(true);
    await file.save();
    const r = run(["check"]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("error: secrets.yaml lacks the public key of 1 VPN user");
    expect(r.stderr).toContain("missing: bob_wg_public_key (WireGuard peer bob)");
    expect(run(["build"]).status).toBe(2);
    file.set("bob_wg_public_key", saved!);
    await file.save();
    expect(run(["check"]).status).toBe(0);
  });
});
