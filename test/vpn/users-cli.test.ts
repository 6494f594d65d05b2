// `nixlab vpn` end to end: the real CLI process on a copy of the example cluster, its
// output checked by the real peers (wg, wg-quick, sops, zbarimg, nix-instantiate).
import { execFileSync } from "node:child_process";
import { statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import { loadCluster } from "../../src/config/load.ts";
import { findLeaks, requireTools, tools } from "../secrets/helpers.ts";
import { requireTool, run } from "../support/peers.ts";
import { type Project, privateKeyOf, project, writeFile } from "./support.ts";

const projects: Project[] = [];
const fresh = (kind: "yaml" | "ts" | "nix" = "yaml") => {
  const p = project(kind);
  projects.push(p);
  return p;
};
afterAll(() => {
  for (const p of projects) p.remove();
});

const available = requireTools();
const suite = available ? describe : describe.skip;
const exampleKey = "age1zz0x2e0l9jh84f0ej340gy503p6ftekdfvdpyf34jc9q84t6zupqknk8ug";
/** The end of the example's last VPN user (vpnTests follow it). */
const lastUserEnd = "    description: Guest tablet, no Nextcloud\n    enabled: true\n";
/** `text` with `lines` inserted after the example's last VPN user. */
const afterLastUser = (text: string, lines: string) => text.replace(lastUserEnd, `${lastUserEnd}${lines}`);

/** Exit 2, exactly one line on stderr, nothing on stdout. */
function expectBadInput(r: { status: number; stdout: string; stderr: string }, pattern: RegExp): void {
  expect(r.stderr.trim().split("\n"), r.stderr).toHaveLength(1);
  expect(r.stderr).toMatch(pattern);
  expect(r.status).toBe(2);
  expect(r.stdout).toBe("");
}

suite("nixlab vpn add: from a name to a working config", { timeout: 180_000 }, () => {
  it("makes keys whose public half (real wg pubkey) is what SOPS holds; the config passes wg-quick strip", (ctx) => {
    const wg = requireTool("wg", ctx);
    const wgQuick = requireTool("wg-quick", ctx);
    const p = fresh();
    const before = p.read("nixlab.yaml");
    const r = p.run(["vpn", "add", "dave", "--group", "family", "--description", "Dave's phone: #1"]);
    expect(r.stderr).toContain("added VPN user dave: 10.0.100.5, group family");
    expect(r.status).toBe(0);
    const config = r.stdout;
    const priv = privateKeyOf(config);
    const pub = run(wg, ["pubkey"], { input: `${priv}\n` }).stdout.trim();
    expect(p.sopsGet("secrets.yaml", "dave_wg_public_key")).toBe(pub);
    // The kept private key is in its own file, encrypted to the admin's key only.
    expect(p.sopsGet("vpn-clients.yaml", "dave")).toBe(priv);
    expect(p.read("vpn-clients.yaml").match(/recipient: (age1\w+)/g)).toEqual([`recipient: ${exampleKey}`]);
    expect(p.read("secrets.yaml")).not.toContain("dave_wg_private_key");
    expect(p.read(".sops.yaml")).toContain("path_regex: (^|/)vpn-clients\\.yaml$");
    // The client config: the server's key and endpoint from SOPS, port 51820, the VPN's DNS.
    expect(config).toBe(
      [
        "[Interface]",
        `PrivateKey = ${priv}`,
        "Address = 10.0.100.5/32",
        "DNS = 10.0.100.1",
        "",
        "[Peer]",
        `PublicKey = ${p.sopsGet("secrets.yaml", "wireguard_server_public_key")}`,
        "Endpoint = vpn.home.example.com:51820",
        "AllowedIPs = 0.0.0.0/0",
        "PersistentKeepalive = 25",
        "",
      ].join("\n"),
    );
    writeFileSync(join(p.dir, "wg0.conf"), config, { mode: 0o600 });
    const stripped = run(wgQuick, ["strip", join(p.dir, "wg0.conf")]);
    expect(stripped.stderr).toBe("");
    expect(stripped.status).toBe(0);
    // The cluster file gained exactly the new entry.
    expect(p.read("nixlab.yaml")).toBe(
      afterLastUser(
        before,
        `  dave:\n    ip: 10.0.100.5\n    group: family\n    publicKeySecret: dave_wg_public_key\n    allowedIPs: 0.0.0.0/0\n    description: "Dave's phone: #1"\n    enabled: true\n`,
      ),
    );
    // The private key is on stdout only: never in stderr, nor in any file in clear.
    expect(findLeaks([priv], [p.dir], { stderr: r.stderr }).filter((l) => !l.includes("wg0.conf"))).toEqual([]);
  });

  it("writes the QR code as PNG that zbarimg reads back byte for byte, and SVG and .conf, all 0600", (ctx) => {
    const zbarimg = requireTool("zbarimg", ctx);
    const p = fresh();
    const added = p.run(["vpn", "add", "erin", "--out", "erin.png"]);
    expect(added.status, added.stderr).toBe(0);
    const decoded = run(zbarimg, ["--raw", "-q", join(p.dir, "erin.png")]);
    expect(decoded.status).toBe(0);
    expect(decoded.stdout).toBe(`${added.stdout}\n`);
    for (const out of ["again.png", "erin.svg", "erin.conf"]) {
      const shown = p.run(["vpn", "show", "erin", "--out", out]);
      expect(shown.status, shown.stderr).toBe(0);
      expect(shown.stdout).toBe(added.stdout);
      expect(statSync(join(p.dir, out)).mode & 0o777).toBe(0o600);
    }
    expect(run(zbarimg, ["--raw", "-q", join(p.dir, "again.png")]).stdout).toBe(`${added.stdout}\n`);
    expect(p.read("erin.conf")).toBe(added.stdout);
    expect(p.read("erin.svg")).toMatch(/^<svg /);
    // An existing file is never replaced without --force.
    expectBadInput(p.run(["vpn", "show", "erin", "--out", "erin.conf"]), /--out erin\.conf exists; pass --force/);
  });

  it("keeps the YAML file's comments and layout through add and remove (add then remove restores it byte for byte)", () => {
    const p = fresh();
    const commented = p
      .read("nixlab.yaml")
      .replace("  bob:\n", "  # Bob is my brother\n  bob:   # his phone\n")
      .replace("wireguardUsers:\n", "wireguardUsers:   # people on the VPN\n")
      .concat("# the end\n");
    writeFile(p, "nixlab.yaml", commented);
    expect(p.run(["vpn", "add", "dave"]).status).toBe(0);
    const dave =
      "  dave:\n    ip: 10.0.100.5\n    publicKeySecret: dave_wg_public_key\n    allowedIPs: 0.0.0.0/0\n    enabled: true\n";
    expect(p.read("nixlab.yaml")).toBe(afterLastUser(commented, dave));
    const removed = p.run(["vpn", "remove", "bob", "--yes"]);
    expect(removed.status, removed.stderr).toBe(0);
    expect(removed.stderr).toContain("nixlab.yaml: wireguardUsers.bob removed");
    expect(removed.stderr).toContain("secrets.yaml: bob_wg_public_key removed");
    const text = p.read("nixlab.yaml");
    for (const c of ["# people on the VPN", "# Bob is my brother", "# the end", "# The bundled example"])
      expect(text).toContain(c);
    expect(text).not.toContain("bob:");
    expect(p.run(["vpn", "remove", "dave", "--yes"]).status).toBe(0);
    expect(p.read("nixlab.yaml")).toBe(
      commented.replace(
        "  bob:   # his phone\n    ip: 10.0.100.3\n    group: family\n    publicKeySecret: bob_wg_public_key\n    allowedIPs: 192.168.1.0/24, 10.0.100.0/24\n    nextcloudUser: bob\n    description: Bob's phone\n    enabled: true\n",
        "",
      ),
    );
    expect(() => p.sopsGet("secrets.yaml", "dave_wg_public_key")).toThrow();
    expect(() => p.sopsGet("vpn-clients.yaml", "dave")).toThrow();
  });

  it("edits a JSON cluster file in place: add then remove gives back the same bytes", () => {
    const p = fresh();
    const value = parse(p.read("nixlab.yaml"));
    const json = JSON.stringify(value, null, 4).replace(
      '"tags": [\n                "master",\n                "storage"\n            ]',
      '"tags": ["master", "storage"]',
    );
    writeFile(p, "nixlab.json", `${json}\n`);
    const args = ["-c", "nixlab.json"];
    const added = p.run(["vpn", "add", "dave", "--expires", "2031-01-31", ...args]);
    expect(added.status, added.stderr).toBe(0);
    expect(p.read("nixlab.json")).toContain('"tags": ["master", "storage"]');
    expect(p.read("nixlab.json")).toContain('        "dave": {\n            "ip": "10.0.100.5",');
    expect(p.run(["vpn", "remove", "dave", "--yes", ...args]).status).toBe(0);
    expect(p.read("nixlab.json")).toBe(`${json}\n`);
  });
});

suite("nixlab vpn: bad input is one line, exit 2, and changes no file", { timeout: 180_000 }, () => {
  it.each([
    [
      ["add", "zoe", "--group", "vip"],
      /^error: --group: "vip" is not a VPN group; use one of admin, family, friends, guests, or define it under vpnGroups\n$/,
    ],
    [["add", "alice"], /VPN user alice already exists \(10\.0\.100\.2\); `nixlab vpn rotate alice` gives it a new key/],
    [["add", "zoe", "--ip", "10.0.100.3"], /--ip 10\.0\.100\.3 is already the address of VPN user bob/],
    [["add", "Zoe"], /VPN user name "Zoe": user name is not usable.*use 1–32 lowercase letters/],
    [["add", "zoe", "--expires", "2026-02-30"], /--expires: "2026-02-30" is not a date; write the last day/],
    [
      ["add", "zoe", "--allowed-ips", "everything"],
      /--allowed-ips: "everything" is not a comma-separated list of CIDRs/,
    ],
    [["add", "zoe", "--nextcloud-user", "a b"], /--nextcloud-user: "a b" is not a Nextcloud user id/],
    [["add", "zoe", "--out", "zoe.jpg"], /--out zoe\.jpg: use a \.conf, \.png or \.svg file name/],
    [["add", "zoe", "-f", "nope.yaml"], /nope\.yaml does not exist; create it with `nixlab secrets init`/],
    [["show", "zoe"], /there is no VPN user zoe in nixlab\.yaml; `nixlab vpn list` shows them/],
    [["rotate", "zoe"], /there is no VPN user zoe/],
    [["disable", "zoe"], /there is no VPN user zoe/],
    [["remove", "zoe", "--yes"], /there is no VPN user zoe and no key of one/],
    [["remove", "alice"], /not asking without a terminal; pass --yes to confirm/],
  ])("vpn %j", (args, pattern) => {
    const p = fresh();
    const before = p.snapshot();
    expectBadInput(p.run(["vpn", ...args]), pattern);
    expect(p.snapshot()).toEqual(before);
  });

  it("refuses without the age key, with a broken cluster file, and when the subnet is full", () => {
    const p = fresh();
    const before = p.snapshot();
    const otherKey = join(p.dir, "home-other.txt");
    execFileSync(tools.ageKeygen!, ["-o", otherKey], { stdio: "pipe" });
    expectBadInput(p.run(["vpn", "add", "zoe"], { SOPS_AGE_KEY_FILE: otherKey }), /none of your age keys can decrypt/);
    writeFile(p, "nixlab.yaml", `${p.read("nixlab.yaml")}  broken: [\n`);
    const broken = p.run(["vpn", "add", "zoe"]);
    expect(broken.status).toBe(2);
    expect(broken.stderr).toMatch(/^error: nixlab\.yaml is not valid YAML\n {2}nixlab\.yaml:\d+:\d+: /);
    writeFile(p, "nixlab.yaml", before["nixlab.yaml"]!);
    expect(p.snapshot()).toEqual({ ...before, "home-other.txt": p.snapshot()["home-other.txt"] });
    const full = parse(before["nixlab.yaml"]!);
    for (let i = 5; i <= 254; i++)
      full.wireguardUsers[`u${i}`] = { ip: `10.0.100.${i}`, publicKeySecret: `u${i}_key`, enabled: i % 2 === 0 };
    writeFile(p, "nixlab.yaml", stringify(full));
    const fullBefore = p.snapshot();
    expectBadInput(
      p.run(["vpn", "add", "zoe"]),
      /the VPN subnet 10\.0\.100\.0\/24 is full: all 253 user addresses are taken/,
    );
    expect(p.snapshot()).toEqual(fullBefore);
  });
});

suite("nixlab vpn: the rest of a user's life", { timeout: 180_000 }, () => {
  it("list, disable, enable, rotate, show, and --no-keep shown once", () => {
    const p = fresh();
    expect(
      p.run(["vpn", "add", "dave", "--group", "guests", "--expires", "2031-01-31", "--nextcloud-user", "dave"]).status,
    ).toBe(0);
    const list = p.run(["vpn", "list"]);
    expect(list.stdout).toContain("dave   10.0.100.5  guests  yes      2031-01-31  dave       ?");
    expect(list.stderr).toContain("handshakes unknown (?): no kubeconfig (pass --kubeconfig)");
    const json = JSON.parse(p.run(["vpn", "list", "-o", "json", "--offline"]).stdout);
    expect(json.users.find((u: { name: string }) => u.name === "dave")).toEqual({
      name: "dave",
      address: "10.0.100.5",
      group: "guests",
      enabled: true,
      expires: "2031-01-31",
      expired: false,
      nextcloudUser: "dave",
      description: "",
    });
    expect(p.run(["vpn", "disable", "dave"]).stderr).toContain("nixlab.yaml: wireguardUsers.dave.enabled set to false");
    expect(p.read("nixlab.yaml")).toContain('    expires: "2031-01-31"\n    enabled: false\n');
    expect(p.run(["vpn", "disable", "dave"]).stderr).toContain("dave is already disabled; nothing changed");
    expect(p.run(["check"]).status).toBe(0);
    expect(p.run(["vpn", "enable", "dave"]).status).toBe(0);
    const shown = p.run(["vpn", "show", "dave"]).stdout;
    const withQr = p.run(["vpn", "show", "dave", "--qr"]).stdout;
    expect(withQr.startsWith(`${shown}\n${String.fromCharCode(27)}[47m`)).toBe(true);
    expect(withQr).toContain("▄▄▄▄▄▄▄");
    const rotated = p.run(["vpn", "rotate", "dave"]);
    expect(rotated.status, rotated.stderr).toBe(0);
    expect(privateKeyOf(rotated.stdout)).not.toBe(privateKeyOf(shown));
    expect(p.run(["vpn", "show", "dave"]).stdout).toBe(rotated.stdout);
    // --no-keep: printed once, never stored, and show says how to get a new one.
    const once = p.run(["vpn", "add", "erin", "--no-keep"]);
    expect(once.stderr).toContain("not kept:");
    expect(() => p.sopsGet("vpn-clients.yaml", "erin")).toThrow();
    expectBadInput(
      p.run(["vpn", "show", "erin"]),
      /erin's private key was not kept.*`nixlab vpn rotate erin` issues a new config/,
    );
    expect(p.run(["vpn", "rotate", "dave", "--no-keep"]).status).toBe(0);
    expectBadInput(p.run(["vpn", "show", "dave"]), /dave's private key was not kept/);
  });

  it("secrets init and check name the real command for a user without a key, and that command fixes it", () => {
    const p = fresh();
    writeFile(
      p,
      "nixlab.yaml",
      afterLastUser(p.read("nixlab.yaml"), "  frank:\n    ip: 10.0.100.9\n    publicKeySecret: frank_wg_public_key\n"),
    );
    const init = p.run(["secrets", "init"]);
    expect(init.stderr).toContain(
      "fill in frank_wg_public_key: the public key of frank's WireGuard client (`nixlab vpn rotate frank` makes a key pair and prints the config)",
    );
    expect(p.run(["secrets", "check"]).stderr).toContain("`nixlab vpn rotate frank`");
    expect(p.run(["vpn", "rotate", "frank"]).status).toBe(0);
    // Only the example's own placeholder (the Cloudflare token) is left.
    const check = p.run(["secrets", "check"]);
    expect(check.stderr).toContain("1 required secret(s) not ready\n  placeholder: cloudflare_token");
    expect(check.stderr).not.toContain("frank");
  });

  it("check warns about users who expire within 7 days", () => {
    const p = fresh();
    const soon = new Date(Date.now() + 3 * 86_400_000).toISOString().slice(0, 10);
    expect(p.run(["vpn", "add", "gina", "--expires", soon]).status).toBe(0);
    const check = p.run(["check"]);
    expect(check.status).toBe(0);
    expect(check.stderr).toMatch(new RegExp(`warning: VPN user gina expires on ${soon} \\(within [34] days\\)`));
  });
});

suite("nixlab vpn with TypeScript and Nix cluster files: the printed snippet, pasted, is the user", {
  timeout: 180_000,
}, () => {
  it.for(["ts", "nix"] as const)("%s", async (kind, ctx) => {
    const p = fresh(kind);
    const file = kind === "ts" ? "nixlab.config.ts" : "vars.nix";
    if (kind === "ts") {
      // A cluster file that needs no package resolution outside the repo.
      writeFile(
        p,
        file,
        p.read(file).replace('import { defineConfig } from "nixlab";\n', "const defineConfig = (c: unknown) => c;\n"),
      );
    }
    const before = p.read(file);
    const r = p.run(["vpn", "add", "dave", "--group", "family", "--description", 'say "hi" ${x}']);
    expect(r.status, r.stderr).toBe(0);
    expect(p.read(file)).toBe(before);
    const lines = r.stderr.split("\n");
    const start = lines.findIndex((l) => l.startsWith(`paste this into wireguardUsers in ${file}`)) + 1;
    const end = lines.findIndex((l, i) => i > start && l.startsWith(kind === "ts" ? "    }," : "    };"));
    const pasted = lines.slice(start, end + 1).join("\n");
    const anchor = kind === "ts" ? "  wireguardUsers: {\n" : "  wireguardUsers = {\n";
    writeFile(p, file, before.replace(anchor, `${anchor}${pasted}\n`));
    const cluster = await loadCluster({ config: join(p.dir, file) });
    const dave = cluster.vpn.users.find((u) => u.name === "dave")!;
    expect(dave).toMatchObject({
      ip: "10.0.100.5",
      group: "family",
      publicKeySecret: "dave_wg_public_key",
      description: 'say "hi" ${x}',
    });
    if (kind === "nix") {
      const nix = requireTool("nix-instantiate", ctx);
      const home = join(p.dir, "home");
      const evaluated = run(
        nix,
        ["--eval", "--strict", "--json", "--store", "dummy://", "-A", "wireguardUsers.dave", join(p.dir, file)],
        {
          env: { ...process.env, HOME: home, NIX_STATE_DIR: join(home, "nix") },
        },
      );
      expect(JSON.parse(evaluated.stdout)).toMatchObject({ ip: "10.0.100.5", description: 'say "hi" ${x}' });
    }
    // With the entry pasted, the user's config can be shown again.
    const shown = p.run(["vpn", "show", "dave"]);
    expect(shown.status, shown.stderr).toBe(0);
    expect(shown.stdout).toBe(r.stdout);
    // Removing: the entry goes first, by hand; then the keys.
    const refused = p.run(["vpn", "remove", "dave", "--yes"]);
    expect(refused.status).toBe(1);
    expect(refused.stderr).toContain(`delete wireguardUsers.dave there, then run \`nixlab vpn remove dave\` again`);
    writeFile(p, file, before);
    const removed = p.run(["vpn", "remove", "dave", "--yes"]);
    expect(removed.stderr).toContain("secrets.yaml: dave_wg_public_key removed");
    expect(removed.status).toBe(0);
  });
});
