/** `nixlab vpn access` and what `check` says about VPN access and its secret. */
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { stringify } from "yaml";
import { describe, expect, it } from "vitest";
import { runCli } from "../support/cli.ts";
import { exampleValue, exampleYaml } from "../support/example.ts";

// biome-ignore lint/suspicious/noControlCharactersInRegex: matching ANSI colour codes is the point
const plain = (s: string) => s.replace(/\x1b\[[0-9;]*m/g, "");

function clusterDir(edit: (v: Record<string, any>) => void, secretsYaml?: string): string {
  const dir = mkdtempSync(join(tmpdir(), "nixlab-vpn-"));
  const v = exampleValue();
  edit(v);
  writeFileSync(join(dir, "nixlab.yaml"), stringify(v));
  if (secretsYaml !== undefined) writeFileSync(join(dir, "secrets.yaml"), secretsYaml);
  return dir;
}

describe("nixlab vpn access", () => {
  it("prints the group matrix, one subject's deciding rules, or JSON", async () => {
    const matrix = await runCli(["vpn", "access", "-c", exampleYaml]);
    expect(matrix.code).toBe(0);
    const lines = plain(matrix.stdout).split("\n");
    expect(lines[2]).toMatch(/^GROUP +MEMBERS +vpn-dns +nextcloud +pihole +ingress +lan +internet +cluster +vpn$/);
    expect(lines.find((l) => l.startsWith("guests"))).toMatch(
      /^guests +carol +allow +deny +deny +deny +deny +allow +deny +deny$/,
    );
    expect(lines.find((l) => l.startsWith("friends"))).toContain("tcp 80,443");

    const carol = plain((await runCli(["vpn", "access", "carol", "-c", exampleYaml])).stdout);
    expect(carol).toContain("carol: group guests (the internet only)");
    expect(carol).toContain("rules (built-in): deny nothing; allow internet; everything else is dropped");
    expect(carol).toMatch(/nextcloud +deny +denied by default: no rule of group guests allows it/);
    expect(carol).toMatch(/internet +allow +allowed by built-in guests\.allow\[0\] "internet"/);

    const json = JSON.parse((await runCli(["vpn", "access", "alice", "-o", "json", "-c", exampleYaml])).stdout);
    expect(json.lan).toBe("192.168.1.0/24");
    expect(json.destinations.find((d: any) => d.name === "nextcloud")).toMatchObject({
      addresses: ["10.0.100.1/32"],
      protocols: ["tcp"],
      ports: "443",
    });
    expect(json.rows).toHaveLength(1);
    expect(json.rows[0]).toMatchObject({ from: "alice", kind: "user", group: "admin" });
    expect(json.rows[0].cells.find((c: any) => c.to === "cluster")).toMatchObject({
      verdict: "deny",
      parts: [{ action: "drop", rule: "default: no rule of group admin allows it" }],
    });
  });

  it("names what it does not know, with exit 2", async () => {
    const unknown = await runCli(["vpn", "access", "karol", "-c", exampleYaml]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('"karol" is neither a VPN user nor a group');
    expect(unknown.stderr).toContain('did you mean "carol"?');
    const format = await runCli(["vpn", "access", "-o", "xml", "-c", exampleYaml]);
    expect(format.code).toBe(2);
    expect(format.stderr).toContain("Allowed choices are table, json, yaml");
  });
});

describe("check and build on VPN access", () => {
  it("refuse a file whose vpnTests fail (exit 2, the test and the deciding rule), and build writes nothing", async () => {
    const dir = clusterDir((v) => {
      v.vpnTests.push({ from: "bob", to: "cluster", expect: "allow" });
    });
    for (const cmd of [["check"], ["build", "--out", join(dir, "build")]]) {
      const r = await runCli([...cmd, "-c", join(dir, "nixlab.yaml")]);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain("vpnTests[3] (nixlab.yaml:");
      expect(r.stderr).toContain(
        "bob → cluster is denied, the test expects allow: denied by default: no rule of group family allows it",
      );
    }
  });

  it("warn about a user without a group, and name a missing secret with the command that adds it", async () => {
    const example = readFileSync(join(exampleYaml, "../secrets.yaml"), "utf8");
    // The key names of a SOPS file are clear text: drop one, keep the rest.
    const withoutToken = example.replace(/^nextcloud_sso_token:.*\n/m, "");
    expect(withoutToken).not.toBe(example);
    const dir = clusterDir((v) => {
      delete v.wireguardUsers.carol.group;
    }, withoutToken);
    copyFileSync(join(exampleYaml, "../age-key.txt"), join(dir, "age-key.txt"));
    const r = await runCli(["check", "-c", join(dir, "nixlab.yaml")]);
    expect(r.code).toBe(0);
    const err = plain(r.stderr);
    expect(err).toContain(
      "warning: secrets.yaml has no nextcloud_sso_token (the VPN's Nextcloud sign-in proxy and the gate in front of Nextcloud); run `nixlab secrets init` to add it",
    );
    expect(err).toContain("warning: wireguardUsers.carol has no group, so it is in guests (the internet only)");
  });
});
