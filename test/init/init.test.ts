/**
 * `nixlab init` as a new user runs it: in a real terminal (tmux) answering the wizard,
 * and with flags only, from an empty directory to a cluster that passes `check` and
 * `secrets check`, with PATH holding only Node.js and nixlab.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { discoverIdentities } from "../../src/secrets/identities.ts";
import { openSecrets } from "../../src/secrets/file.ts";
import { wireguardPublicKey } from "../../src/secrets/generate.ts";
import { verifyCryptHash } from "../../src/secrets/password-hash.ts";
import { requireTool } from "../support/peers.ts";
import { nodeOnlyPath, openTerminal, type Terminal } from "../support/terminal.ts";

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const f of cleanups.splice(0)) f();
});

function sandbox(): { dir: string; home: string; project: string; bin: string } {
  const dir = mkdtempSync(join(tmpdir(), "ux-init-"));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const bin = nodeOnlyPath(dir);
  mkdirSync(join(dir, "home"));
  return { dir, home: join(dir, "home"), project: join(dir, "project"), bin };
}

/** Runs nixlab with only `bin` on PATH and HOME=`home` (no terminal). */
function nixlab(
  s: { bin: string; home: string },
  cwd: string,
  args: string[],
  input?: string,
  env: Record<string, string> = {},
) {
  return spawnSync(join(s.bin, "nixlab"), args, {
    cwd,
    encoding: "utf8",
    ...(input !== undefined ? { input } : {}),
    env: { PATH: s.bin, HOME: s.home, NO_COLOR: "1", ...env },
  });
}

describe("nixlab init in a terminal", () => {
  it("walks a new user from an empty directory to a cluster that passes check and secrets check", async (ctx) => {
    requireTool("tmux", ctx);
    const s = sandbox();
    mkdirSync(s.project);
    const term: Terminal = openTerminal(s.project, { HOME: s.home, PATH: s.bin, TERM: "xterm-256color" });
    cleanups.push(() => term.close());
    const answer = async (prompt: RegExp, text: string, lines = 3) => {
      await term.waitForPrompt(prompt, lines);
      term.line(text);
    };

    term.line("command -v wg openssl mkpasswd sops age ssh-keygen; echo tools=$?");
    await term.waitFor(/^tools=1$/m);
    term.line("nixlab init");
    // A bad answer is explained with the check's own message, and asked again.
    await answer(/Your domain/, "home_example");
    await term.waitFor(/"home_example" is not a valid domain name; use a lowercase DNS name/);
    term.keys("C-u");
    term.line("home.example.org");
    await answer(/Let's Encrypt/, "");
    await answer(/login name on the nodes/, "alice");
    await answer(/No SSH key .* Create ~\/\.ssh\/id_ed25519/, "");
    await answer(/Your LAN/, "192.168.7.0/24");
    await answer(/MetalLB address range .*\(192\.168\.7\.192\/26\)/, "");
    await answer(/Pi-hole forwards to .*\(192\.168\.7\.1\)/, "");
    await answer(/Name of the master node/, "");
    await answer(/Disk of node1/, "/dev/nvme0n1");
    await answer(/Name of another node/, "node2");
    await answer(/Disk of node2/, "");
    await answer(/Name of another node/, "");
    await answer(/first VPN user/, "grandma");
    await answer(/Access group of grandma/, "", 7); // admin, the first choice
    await answer(/Another VPN user/, "bob");
    await term.waitForPrompt(/Access group of bob/, 7);
    term.keys("Down", "Enter"); // family is the default; one down is friends
    await answer(/Another VPN user/, "");
    await answer(/Time zone/, "Europe/Berlin");
    await answer(/Login password/, "correct horse battery");
    await answer(/same password again/, "correct horse battery");
    await answer(/Cloudflare API token/, "cf-token-from-the-dashboard");
    await term.waitForPrompt(/Where should the new age key/, 5);
    term.keys("Enter"); // the usual sops location
    const done = await term.waitFor(/next:\n\s+nixlab doctor/);

    // Hidden input stays hidden.
    expect(done).not.toContain("correct horse battery");
    expect(done).not.toContain("cf-token-from-the-dashboard");
    expect(done).toMatch(/created age key .*home\/\.config\/sops\/age\/keys\.txt/);
    expect(statSync(join(s.home, ".config/sops/age/keys.txt")).mode & 0o777).toBe(0o600);
    expect(statSync(join(s.home, ".ssh/id_ed25519")).mode & 0o777).toBe(0o600);

    term.line("nixlab check >/dev/null; echo check=$?; nixlab secrets check; echo secrets=$?");
    const checked = await term.waitFor(/secrets=\d/);
    expect(checked).toMatch(/^check=0$/m);
    expect(checked).toMatch(/ok .*secrets\.yaml: all \d+ required secrets are set/);
    expect(checked).toMatch(/^secrets=0$/m);

    const yaml = readFileSync(join(s.project, "nixlab.yaml"), "utf8");
    expect(yaml.split("\n")[0]).toMatch(/^# yaml-language-server: \$schema=.*schema\/nixlab\.schema\.json$/);
    expect(yaml).toContain("metallbPool: 192.168.7.192/26");
    expect(yaml).toMatch(/bob:\n\s+ip: 10\.0\.100\.3\n\s+group: friends/);
    expect(yaml).toContain(readFileSync(join(s.home, ".ssh/id_ed25519.pub"), "utf8").trim());
    const identities = await discoverIdentities({ env: { HOME: s.home } });
    const secrets = await openSecrets(join(s.project, "secrets.yaml"), identities);
    expect(verifyCryptHash("correct horse battery", secrets.getString("user_password"))).toBe(true);
    expect(secrets.getString("cloudflare_token")).toBe("cf-token-from-the-dashboard");
  }, 240_000);
});

describe("nixlab init over an existing nixlab.yaml, in a terminal", () => {
  it("asks before replacing it; the default answer keeps it and writes nothing", async (ctx) => {
    requireTool("tmux", ctx);
    const s = sandbox();
    mkdirSync(s.project);
    writeFileSync(join(s.project, "nixlab.yaml"), "# mine\n");
    const term = openTerminal(s.project, { HOME: s.home, PATH: s.bin, TERM: "xterm-256color" });
    cleanups.push(() => term.close());
    term.line("nixlab init; echo rc=$?");
    await term.waitForPrompt(/nixlab\.yaml exists\. Replace it\? \(y\/N\)/);
    term.keys("Enter");
    const screen = await term.waitFor(/^rc=\d+$/m);
    expect(screen).toMatch(/already exists; nothing was written/);
    expect(screen).toMatch(/^rc=1$/m);
    expect(readFileSync(join(s.project, "nixlab.yaml"), "utf8")).toBe("# mine\n");
    expect(spawnSync("ls", ["-A", s.project, s.home]).stdout.toString()).not.toMatch(/secrets|sops|\.ssh|\.config/);
  }, 120_000);
});

describe("nixlab init with flags only", () => {
  const flags = [
    "--yes",
    "--domain",
    "lab.example.net",
    "--lan",
    "10.20.0.0/16",
    "--node",
    "alpha:/dev/disk/by-path/pci-0000:00:1f.2-ata-1",
    "--node",
    "beta:/dev/nvme0n1:master",
    "--vpn-user",
    "carol:family",
    "--password-file",
    "-",
  ];

  it("needs no terminal and no tool but Node.js, and its cluster passes check and secrets check", async () => {
    const s = sandbox();
    writeFileSync(join(s.dir, "cf"), "cloudflare-token\n");
    const r = nixlab(
      s,
      s.dir,
      ["init", "project", ...flags, "--cloudflare-token-file", join(s.dir, "cf")],
      "a long password\n",
    );
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(r.stdout.trimEnd().split("\n").slice(-3)).toEqual(["next:", "  cd project", "  nixlab doctor"]);
    const check = nixlab(s, s.project, ["check"]);
    expect(check.status, check.stderr).toBe(0);
    expect(check.stdout).toMatch(/2 nodes \(master beta\), 1 VPN user/);
    const secretsCheck = nixlab(s, s.project, ["secrets", "check"]);
    expect(secretsCheck.status, secretsCheck.stderr).toBe(0);
    const yaml = readFileSync(join(s.project, "nixlab.yaml"), "utf8");
    expect(yaml).toContain("metallbPool: 10.20.255.192/26");
    expect(yaml).toContain("upstreamDns: 10.20.0.1");
    const secrets = await openSecrets(
      join(s.project, "secrets.yaml"),
      await discoverIdentities({ env: { HOME: s.home } }),
    );
    expect(verifyCryptHash("a long password", secrets.getString("user_password"))).toBe(true);
    expect(secrets.getString("k3s_token")).toMatch(/^[0-9a-f]{64}$/);
    expect(secrets.getString("carol_wg_public_key")).toMatch(/^[A-Za-z0-9+/]{43}=$/);
    // carol's private key is kept for her client config, in a file only the admin's key opens.
    const kept = await openSecrets(
      join(s.project, "vpn-clients.yaml"),
      await discoverIdentities({ env: { HOME: s.home } }),
    );
    expect(wireguardPublicKey(kept.getString("carol"))).toBe(secrets.getString("carol_wg_public_key"));
    expect(kept.recipients()).toEqual(secrets.recipients());
    expect(statSync(join(s.project, "vpn-clients.yaml")).mode & 0o777).toBe(0o600);
    expect(readFileSync(join(s.project, ".sops.yaml"), "utf8")).toMatch(/path_regex: \(\^\|\/\)vpn-clients\\\.yaml\$/);
  });

  it("without the Cloudflare token leaves it for later and says how to set it", () => {
    const s = sandbox();
    const r = nixlab(s, s.dir, ["init", "project", ...flags], "a long password");
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/next:\n\s+nixlab secrets set cloudflare_token .*\n\s+cd project\n\s+nixlab doctor/);
    const check = nixlab(s, s.project, ["secrets", "check"]);
    expect(check.status).toBe(1);
    expect(check.stderr).toContain("placeholder: cloudflare_token");
  });

  it("never replaces an existing nixlab.yaml without --force, and keeps existing secrets", async () => {
    const s = sandbox();
    expect(nixlab(s, s.dir, ["init", "project", ...flags], "a long password").status).toBe(0);
    const before = readFileSync(join(s.project, "nixlab.yaml"), "utf8");
    const identities = await discoverIdentities({ env: { HOME: s.home } });
    const token = (await openSecrets(join(s.project, "secrets.yaml"), identities)).getString("k3s_token");

    const again = nixlab(s, s.dir, ["init", "project", ...flags, "--domain", "other.example.net"], "a long password");
    expect(again.status).toBe(1);
    expect(again.stderr).toContain("nixlab.yaml already exists; nothing was written");
    expect(again.stderr).toContain("--force");
    expect(readFileSync(join(s.project, "nixlab.yaml"), "utf8")).toBe(before);

    const forced = nixlab(
      s,
      s.dir,
      ["init", "project", ...flags, "--domain", "other.example.net", "--force"],
      "a long password",
    );
    expect(forced.status, forced.stderr).toBe(0);
    expect(readFileSync(join(s.project, "nixlab.yaml"), "utf8")).toContain("domain: other.example.net");
    expect((await openSecrets(join(s.project, "secrets.yaml"), identities)).getString("k3s_token")).toBe(token);
  });

  it("stops before any question when another cluster file is in the directory", () => {
    const s = sandbox();
    mkdirSync(s.project);
    writeFileSync(join(s.project, "nixlab.config.ts"), "export default {};\n");
    const r = nixlab(s, s.project, ["init", "--domain", "a.example.net"]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("already has nixlab.config.ts, which nixlab reads before nixlab.yaml");
    expect(spawnSync("ls", ["-A", s.project]).stdout.toString()).toBe("nixlab.config.ts\n");
  });

  it("names the flag when an answer is wrong or missing, and writes nothing", () => {
    const s = sandbox();
    const bad = nixlab(s, s.dir, ["init", "project", ...flags, "--domain", "not a domain"], "a long password");
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('--domain "not a domain": "not a domain" is not a valid domain name');
    const missing = nixlab(s, s.dir, ["init", "project", "--domain", "a.example.net"]);
    expect(missing.status).toBe(2);
    expect(missing.stderr).toMatch(/nixlab init needs --username \(or --yes to take/);
    expect(spawnSync("ls", ["-A", s.home]).stdout.toString()).toBe("");
  });
});

describe("login password hash", () => {
  it("is the SHA-512 crypt the real openssl passwd -6 and mkpasswd compute", async (ctx) => {
    requireTool("openssl", ctx);
    requireTool("mkpasswd", ctx);
    const { sha512CryptHash } = await import("../../src/secrets/password-hash.ts");
    for (const password of ["correct horse battery", "ünïcödé pässwörd", "x".repeat(80)]) {
      const hash = sha512CryptHash(password);
      const salt = hash.split("$")[2]!;
      const openssl = spawnSync("openssl", ["passwd", "-6", "-salt", salt, "-stdin"], {
        input: password,
        encoding: "utf8",
      });
      expect(openssl.stdout.trim()).toBe(hash);
      const mkpasswd = spawnSync("mkpasswd", ["-m", "sha-512", "-S", salt, "-s"], {
        input: password,
        encoding: "utf8",
      });
      expect(mkpasswd.stdout.trim()).toBe(hash);
    }
  });
});
