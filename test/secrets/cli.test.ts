// `nixlab secrets …` end to end: the real CLI process, the real sops reading what
// it writes, one-line errors that leave the file untouched, and no plaintext
// anywhere but stdout of `get` (and the edit temp file while the editor runs).
import {
  chmodSync,
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadCluster } from "../../src/config/load.ts";
import { requiredSecrets } from "../../src/services/required-secrets.ts";
import { openSecrets, parseIdentities, wireguardPrivateKey, wireguardPublicKey } from "../../src/secrets/index.ts";
import {
  ageKeygen,
  findLeaks,
  nixlab,
  type Run,
  repoRoot,
  requireTools,
  sops,
  tempDir,
  removeTempDirs,
} from "./helpers.ts";

afterAll(removeTempDirs);

const available = requireTools();
const suite = available ? describe : describe.skip;

suite("nixlab secrets CLI", () => {
  let project: string;
  let home: string;
  let tmp: string;
  let env: Record<string, string>;
  let keyFile: string;
  const secretsFile = () => join(project, "secrets.yaml");
  /** Every plaintext secret the test knows; none may appear outside `get`'s stdout. */
  const secrets: string[] = [];
  /** The private runtime dir `edit` keeps its plaintext in (XDG_RUNTIME_DIR; /dev/shm is shared with other runs). */
  let runtime: string;

  function run(args: string[], input?: string, extraEnv: Record<string, string> = {}): Run {
    const r = nixlab(["secrets", ...args], { env: { ...env, ...extraEnv }, input, cwd: project });
    return r;
  }

  /** No secret in the project, HOME, TMPDIR, stderr (and stdout unless it is `get`). */
  function expectNoLeak(r: Run, stdoutMayHoldValue = false): void {
    const texts: Record<string, string> = { stderr: r.stderr };
    if (!stdoutMayHoldValue) texts.stdout = r.stdout;
    expect(findLeaks(secrets, [project, home, tmp], texts)).toEqual([]);
    expect(readdirSync(runtime), "edit temp dirs must be removed").toEqual([]);
  }

  function expectOneLineError(r: Run, pattern: RegExp): void {
    expect(r.status).not.toBe(0);
    expect(r.stdout).toBe("");
    const lines = r.stderr.trimEnd().split("\n");
    expect(lines, r.stderr).toHaveLength(1);
    expect(lines[0]).toMatch(/^error: /);
    expect(lines[0]).toMatch(pattern);
  }

  async function values(): Promise<Record<string, unknown>> {
    const file = await openSecrets(secretsFile(), await parseIdentities(readFileSync(keyFile, "utf8"), keyFile));
    return file.get([]) as Record<string, unknown>;
  }

  beforeAll(() => {
    const root = tempDir();
    project = join(root, "project");
    home = join(root, "home");
    tmp = join(root, "tmp");
    runtime = join(root, "runtime");
    for (const d of [project, home, tmp, runtime]) mkdirSync(d, { recursive: true, mode: 0o700 });
    cpSync(join(repoRoot, "examples/homelab/nixlab.yaml"), join(project, "nixlab.yaml"));
    cpSync(join(repoRoot, "examples/homelab/hosts"), join(project, "hosts"), { recursive: true });
    env = { HOME: home, TMPDIR: tmp, XDG_RUNTIME_DIR: runtime };
    keyFile = join(home, ".config/sops/age/keys.txt");
  });

  it("init creates the age key, .sops.yaml and every required secret; sops reads the result", async () => {
    const r = run(["init"]);
    expect(r.status, r.stderr).toBe(0);
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
    expect(statSync(secretsFile()).mode & 0o777).toBe(0o600);
    expect(readFileSync(join(project, ".sops.yaml"), "utf8")).toMatch(/path_regex: .*secrets.*\n\s+age: age1/);
    const cluster = await loadCluster({ cwd: project });
    const required = requiredSecrets(cluster).map((s) => s.name);
    const v = await values();
    expect(Object.keys(v)).toEqual(required);
    expect(v.k3s_token).toMatch(/^[0-9a-f]{64}$/);
    // The VPN sign-in proxy's token for the gate in front of Nextcloud (issue 9).
    expect(v.nextcloud_sso_token).toMatch(/^[0-9a-f]{64}$/);
    expect(v.cloudflare_token).toBe("REPLACE_ME");
    for (const [k, value] of Object.entries(v))
      if (typeof value === "string" && value !== "REPLACE_ME" && k.includes("password")) secrets.push(value);
    secrets.push(v.k3s_token as string, v.wireguard_server_private_key as string, v.nextcloud_sso_token as string);
    const d = sops(["decrypt", secretsFile()], { SOPS_AGE_KEY_FILE: keyFile, HOME: home });
    expect(d.status, d.stderr).toBe(0);
    expect(d.stdout).toContain(`k3s_token: ${v.k3s_token}`);
    expectNoLeak(r);
  });

  it("init again adds nothing and leaves the file as it was", () => {
    const before = readFileSync(secretsFile(), "utf8");
    const r = run(["init"]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/already present/);
    expect(readFileSync(secretsFile(), "utf8")).toBe(before);
    expectNoLeak(r);
  });

  it("check reports placeholders, set fills them from stdin, then check passes", async () => {
    const first = run(["check"]);
    expect(first.status).toBe(1);
    expect(first.stderr).toMatch(/placeholder: cloudflare_token/);
    expectNoLeak(first);
    const cluster = await loadCluster({ cwd: project });
    const placeholders = Object.entries(await values())
      .filter(([, v]) => v === "REPLACE_ME")
      .map(([k]) => k);
    // Each value in its format: a crypt hash, WireGuard keys for the VPN users, tokens otherwise.
    const valueFor = (name: string) =>
      name === "user_password"
        ? `$6$saltsalt$filled${Math.random().toString(36).slice(2)}markerhash`
        : name.endsWith("_wg_public_key")
          ? wireguardPublicKey(wireguardPrivateKey())
          : `filled-${name}-marker-${Math.random().toString(36).slice(2)}`;
    for (const name of placeholders) {
      const value = valueFor(name);
      secrets.push(value);
      const r = run(["set", name], `${value}\n`);
      expect(r.status, r.stderr).toBe(0);
      expectNoLeak(r);
    }
    const v = await values();
    for (const name of placeholders)
      expect(v[name]).toBe(secrets[secrets.length - placeholders.length + placeholders.indexOf(name)]);
    const ok = run(["check"]);
    expect(ok.status, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(new RegExp(`all ${requiredSecrets(cluster).length} required secrets are set`));
    expectNoLeak(ok);
  });

  it("get prints exactly the value; list prints names only", async () => {
    const v = await values();
    const g = run(["get", "k3s_token"]);
    expect(g.status, g.stderr).toBe(0);
    expect(g.stdout).toBe(v.k3s_token);
    expectNoLeak(g, true);
    const l = run(["list"]);
    expect(l.status).toBe(0);
    expect(l.stdout.trim().split("\n")).toEqual(Object.keys(v));
    expectNoLeak(l);
    const missing = run(["get", "no_such_secret"]);
    expectOneLineError(missing, /has no secret no_such_secret/);
  });

  it("set keeps multi-line values whole (an SSH key) and reads only stdin", async () => {
    const key = "-----BEGIN OPENSSH PRIVATE KEY-----\nmarker-ssh-body-line\n-----END OPENSSH PRIVATE KEY-----\n";
    secrets.push("marker-ssh-body-line");
    const r = run(["set", "private_ssh_key"], key);
    expect(r.status, r.stderr).toBe(0);
    expect((await values()).private_ssh_key).toBe(key);
    expectNoLeak(r);
  });

  function editorScript(name: string, body: string): string {
    const path = join(project, "..", name);
    writeFileSync(path, `#!/bin/sh\n${body}\n`);
    chmodSync(path, 0o755);
    return path;
  }

  it("edit saves the editor's change, keeps comments, and leaves no temp file", async () => {
    const info = join(project, "..", "edit-info");
    const editor = editorScript(
      "editor-change.sh",
      `stat -c '%a %n' "$1" > ${JSON.stringify(info)}\n${JSON.stringify(process.execPath)} -e 'const f=process.argv[1];const fs=require("fs");let t=fs.readFileSync(f,"utf8");t="# kept comment\\n"+t.replace(/^pihole_password: .*$/m,"pihole_password: edited-pihole-marker");fs.writeFileSync(f,t)' "$1"`,
    );
    secrets.push("edited-pihole-marker");
    const r = run(["edit"], undefined, { EDITOR: editor });
    expect(r.status, r.stderr).toBe(0);
    const [mode, tempPath] = readFileSync(info, "utf8").trim().split(" ");
    expect(mode).toBe("600");
    expect(tempPath!.startsWith(`${runtime}/nixlab-secrets-`)).toBe(true);
    expect(existsSync(tempPath!)).toBe(false);
    expect((await values()).pihole_password).toBe("edited-pihole-marker");
    expect(readFileSync(secretsFile(), "utf8")).toMatch(/^#ENC\[AES256_GCM/);
    const d = sops(["decrypt", secretsFile()], { SOPS_AGE_KEY_FILE: keyFile, HOME: home });
    expect(d.status, d.stderr).toBe(0);
    expect(d.stdout).toMatch(/^# kept comment\n/);
    expectNoLeak(r);
  });

  it("edit without changes does not rewrite the file", () => {
    const before = readFileSync(secretsFile(), "utf8");
    const r = run(["edit"], undefined, { EDITOR: "true" });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/no changes/);
    expect(readFileSync(secretsFile(), "utf8")).toBe(before);
    expectNoLeak(r);
  });

  it("edit re-opens the editor on a syntax error and saves the fixed text", async () => {
    const counter = join(project, "..", "edit-count");
    writeFileSync(counter, "");
    const editor = editorScript(
      "editor-fix.sh",
      `echo x >> ${JSON.stringify(counter)}\nif [ "$(wc -l < ${JSON.stringify(counter)})" -eq 1 ]; then printf 'broken: [unclosed\\n' >> "$1"; else sed -i 's/^broken: \\[unclosed$/fixed: after-reopen/' "$1"; fi`,
    );
    const r = run(["edit"], undefined, { EDITOR: editor });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/at line \d+, column \d+; .*reopening the editor/);
    expect(readFileSync(counter, "utf8").trim().split("\n")).toHaveLength(2);
    expect((await values()).fixed).toBe("after-reopen");
    expectNoLeak(r);
  });

  it("edit gives up, file untouched, when a syntax error is saved unchanged", () => {
    const before = readFileSync(secretsFile(), "utf8");
    const editor = editorScript(
      "editor-broken.sh",
      `case "$(tail -c 20 "$1")" in *unclosed*) ;; *) printf 'broken: [unclosed\\n' >> "$1";; esac`,
    );
    const r = run(["edit"], undefined, { EDITOR: editor });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/gave up, nothing was changed/);
    expect(readFileSync(secretsFile(), "utf8")).toBe(before);
    expectNoLeak(r);
  });

  it("updatekeys re-wraps the data key for the recipients in .sops.yaml", async () => {
    const second = join(project, "..", "second-key.txt");
    const recipient = ageKeygen(second);
    const config = join(project, ".sops.yaml");
    writeFileSync(config, readFileSync(config, "utf8").replace(/age: (age1\w+)/, `age: $1,${recipient}`));
    const before = await values();
    const unconfirmed = run(["updatekeys"]);
    expect(unconfirmed.status).toBe(1);
    expect(unconfirmed.stderr).toContain(`only in .sops.yaml: ${recipient}`);
    const r = run(["updatekeys", "--yes"]);
    expect(r.status, r.stderr).toBe(0);
    const d = sops(["decrypt", secretsFile()], { SOPS_AGE_KEY_FILE: second, HOME: home });
    expect(d.status, d.stderr).toBe(0);
    expect(await values()).toEqual(before);
    const again = run(["updatekeys"]);
    expect(again.stderr).toMatch(/already match/);
    expectNoLeak(r);
  });

  it("rotate re-encrypts every value with a new data key", async () => {
    const before = readFileSync(secretsFile(), "utf8");
    const valuesBefore = await values();
    const r = run(["rotate"]);
    expect(r.status, r.stderr).toBe(0);
    const after = readFileSync(secretsFile(), "utf8");
    const line = (t: string, k: string) => t.split("\n").find((l) => l.startsWith(`${k}:`));
    expect(line(after, "k3s_token")).not.toBe(line(before, "k3s_token"));
    expect(await values()).toEqual(valuesBefore);
    const d = sops(["decrypt", secretsFile()], { SOPS_AGE_KEY_FILE: keyFile, HOME: home });
    expect(d.status, d.stderr).toBe(0);
    expectNoLeak(r);
  });

  it("init on an existing file without .sops.yaml writes a rule for its recipients", async () => {
    const config = join(project, ".sops.yaml");
    const recipients = readFileSync(config, "utf8").match(/age1\w+/g)!;
    expect(recipients).toHaveLength(2);
    rmSync(config);
    const before = readFileSync(secretsFile(), "utf8");
    const r = run(["init"]);
    expect(r.status, r.stderr).toBe(0);
    expect(readFileSync(config, "utf8")).toContain(`age: ${recipients.join(",")}`);
    expect(readFileSync(secretsFile(), "utf8")).toBe(before);
    expect(run(["updatekeys"]).stderr).toMatch(/already match/);
    expectNoLeak(r);
  });

  describe("errors: one line, non-zero exit, file untouched", () => {
    function untouched(path: string, action: () => Run, pattern: RegExp): void {
      const before = readFileSync(path);
      const r = action();
      expectOneLineError(r, pattern);
      expect(readFileSync(path).equals(before)).toBe(true);
      expectNoLeak(r);
    }

    it("wrong key", () => {
      const other = join(project, "..", "other-key.txt");
      ageKeygen(other);
      untouched(
        secretsFile(),
        () => run(["set", "k3s_token", "--age-key-file", other], "new-value"),
        /none of your age keys can decrypt .*--age-key-file/,
      );
      untouched(
        secretsFile(),
        () =>
          run(["get", "k3s_token"], undefined, {
            HOME: join(project, "..", "empty-home"),
            SOPS_AGE_KEY_FILE: other,
          }),
        /none of your age keys/,
      );
    });

    it("missing key", () => {
      const emptyHome = join(project, "..", "empty-home");
      mkdirSync(emptyHome, { recursive: true });
      untouched(
        secretsFile(),
        () => run(["list"], undefined, { HOME: emptyHome }),
        /no age key found .*--age-key-file/,
      );
      untouched(
        secretsFile(),
        () => run(["list", "--age-key-file", join(emptyHome, "nope.txt")]),
        /cannot read the age key file/,
      );
    });

    it("truncated file", () => {
      const text = readFileSync(secretsFile(), "utf8");
      for (const cut of [0, 0.3, 0.6, 0.95]) {
        const path = join(project, `truncated-${cut}.yaml`);
        writeFileSync(path, text.slice(0, Math.floor(text.length * cut)));
        untouched(path, () => run(["set", "k3s_token", "--file", path], "x"), /restore it from version control/);
      }
    });

    it("non-SOPS file", () => {
      const path = join(project, "plain.yaml");
      writeFileSync(path, "k3s_token: plain-marker-value\n");
      untouched(path, () => run(["get", "k3s_token", "--file", path]), /is not a SOPS file .*sops encrypt/);
      const json = join(project, "plain.json");
      writeFileSync(json, "[1, 2]");
      untouched(json, () => run(["list", "--file", json]), /top level is not an object/);
    });

    it("tampered value and MAC", () => {
      const text = readFileSync(secretsFile(), "utf8");
      const valuePath = join(project, "tampered-value.yaml");
      writeFileSync(
        valuePath,
        text.replace(
          /^(k3s_token: ENC\[AES256_GCM,data:)(.)/m,
          (_m, p: string, c: string) => p + (c === "A" ? "B" : "A"),
        ),
      );
      untouched(valuePath, () => run(["list", "--file", valuePath]), /value of k3s_token fails authentication/);
      const macPath = join(project, "tampered-mac.yaml");
      writeFileSync(
        macPath,
        text.replace(/(mac: ENC\[AES256_GCM,data:)(.)/, (_m, p: string, c: string) => p + (c === "A" ? "B" : "A")),
      );
      untouched(macPath, () => run(["list", "--file", macPath]), /integrity check/);
    });
  });
});
