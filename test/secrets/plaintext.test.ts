// A secrets file that is not fully SOPS-encrypted is refused by `check` and `build` and
// never copied into build/ (from where it would reach every node's world-readable Nix
// store). Files are encrypted by the real sops, with its own unencrypted_* rules.
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { inspectEncryption } from "../../src/secrets/inspect.ts";
import { runCli } from "../support/cli.ts";
import { exampleCluster, root } from "../support/example.ts";
import { renderNodeFiles } from "../../src/nodes/render.ts";
import { requiredSecrets } from "../../src/services/required-secrets.ts";
import { findLeaks, removeTempDirs, requireTools, sops } from "./helpers.ts";

afterAll(removeTempDirs);
const available = requireTools();
const suite = available ? describe : describe.skip;

// biome-ignore lint/suspicious/noControlCharactersInRegex: matching ANSI colour codes is the point
const plain = (s: string) => s.replace(/\x1b\[[0-9;]*m/g, "");

/** The example project in a fresh directory; its secrets.yaml decrypted with the example key. */
function project(): { dir: string; plaintext: string } {
  const dir = mkdtempSync(join(tmpdir(), "nixlab-plaintext-"));
  for (const f of ["nixlab.yaml", "secrets.yaml", "secrets.agents.yaml", ".sops.yaml", "age-key.txt", "hosts"])
    cpSync(join(root, "examples/homelab", f), join(dir, f), { recursive: true });
  const d = sops(["decrypt", join(dir, "secrets.yaml")], { SOPS_AGE_KEY_FILE: join(dir, "age-key.txt") });
  expect(d.status, d.stderr).toBe(0);
  return { dir, plaintext: d.stdout };
}

suite("secrets files that are not fully encrypted", () => {
  const dirs: string[] = [];
  afterAll(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  /** `check` and `build` both refuse, exit 2, name the problem, and write no build/. */
  async function expectRefused(dir: string, problem: string, leaked: string[]): Promise<void> {
    for (const command of ["check", "build"]) {
      const r = await runCli([command], dir);
      expect(r.code, `${command}: ${r.stderr}`).toBe(2);
      expect(plain(r.stderr)).toContain("error: secrets.yaml is not fully SOPS-encrypted");
      expect(plain(r.stderr)).toContain(problem);
      expect(findLeaks(leaked, [], { stderr: r.stderr, stdout: r.stdout })).toEqual([]);
    }
    expect(existsSync(join(dir, "build"))).toBe(false);
  }

  it("a plaintext secrets.yaml: check and build refuse it, nothing is copied", async () => {
    const { dir, plaintext } = project();
    dirs.push(dir);
    writeFileSync(join(dir, "secrets.yaml"), plaintext);
    const token = /^k3s_token: (.+)$/m.exec(plaintext)![1]!;
    await expectRefused(dir, "it is not encrypted (it has no `sops` section)", [token]);
  });

  it("a value added in clear to an encrypted file (and a clear comment) is refused", async () => {
    const { dir } = project();
    dirs.push(dir);
    const encrypted = readFileSync(join(dir, "secrets.yaml"), "utf8");
    writeFileSync(join(dir, "secrets.yaml"), `extra_password: hunter2-in-clear\n${encrypted}`);
    await expectRefused(dir, "the value at extra_password is in clear text", ["hunter2-in-clear"]);
    writeFileSync(join(dir, "secrets.yaml"), `# the old token was hunter2-in-clear\n${encrypted}`);
    await expectRefused(dir, "a comment at the top level is in clear text", ["hunter2-in-clear"]);
  });

  it("a secret the cluster uses, left in clear by the file's own sops rule, is refused", async () => {
    const { dir, plaintext } = project();
    dirs.push(dir);
    const key = join(dir, "age-key.txt");
    const recipient = /public key: (age1\w+)/.exec(readFileSync(key, "utf8"))![1]!;
    writeFileSync(join(dir, "secrets.yaml"), plaintext);
    const e = sops(
      ["encrypt", "-i", "--age", recipient, "--unencrypted-regex", "^k3s_token$", join(dir, "secrets.yaml")],
      { SOPS_AGE_KEY_FILE: key },
    );
    expect(e.status, e.stderr).toBe(0);
    const token = /^k3s_token: (.+)$/m.exec(plaintext)![1]!;
    expect(readFileSync(join(dir, "secrets.yaml"), "utf8")).toContain(token);
    await expectRefused(dir, "k3s_token is left in clear text by the file's own rules", [token]);
  });

  it("values sops leaves in clear on purpose (unencrypted_suffix) are accepted; the build copies only ciphertext", async () => {
    const { dir, plaintext } = project();
    dirs.push(dir);
    const key = join(dir, "age-key.txt");
    const recipient = /public key: (age1\w+)/.exec(readFileSync(key, "utf8"))![1]!;
    writeFileSync(join(dir, "secrets.yaml"), `${plaintext}note_unencrypted: rotated every spring\n`);
    const e = sops(["encrypt", "-i", "--age", recipient, join(dir, "secrets.yaml")], { SOPS_AGE_KEY_FILE: key });
    expect(e.status, e.stderr).toBe(0);
    expect(inspectEncryption(readFileSync(join(dir, "secrets.yaml"), "utf8"), "secrets.yaml").problems).toEqual([]);
    const r = await runCli(["build"], dir);
    expect(r.code, r.stderr).toBe(0);
    const values = plaintext
      .split("\n")
      .flatMap((l) => /^\w*(?:password|token|private_key): (.{8,})$/.exec(l)?.[1] ?? [])
      .filter((v) => v !== "REPLACE_ME");
    expect(values.length).toBeGreaterThan(5);
    expect(findLeaks(values, [join(dir, "build")])).toEqual([]);
  });

  it("renderNodeFiles never emits a plaintext secrets.yaml, even when called directly", () => {
    const cluster = exampleCluster();
    const result = renderNodeFiles(cluster, {
      clusterDir: "/x",
      readHardwareConfig: () => "{ }",
      readClusterFile: (p) => (p === "secrets.yaml" ? "k3s_token: abc\n" : null),
      engineBundle: "",
    });
    expect(result.files.map((f) => f.path)).not.toContain("secrets.yaml");
    expect(result.problems.join("\n")).toMatch(
      /secrets\.yaml \(in \/x\) is not fully SOPS-encrypted.*no `sops` section/,
    );
  });

  it("inspectEncryption reports damaged metadata and bad YAML without throwing", () => {
    const names = requiredSecrets(exampleCluster()).map((r) => r.name);
    expect(inspectEncryption("a: [", "s.yaml", names).problems[0]).toMatch(/not valid YAML .* cannot be checked/);
    expect(
      inspectEncryption("a: ENC[AES256_GCM,data:x,iv:y,tag:z,type:str]\nsops: {}\n", "s.yaml").problems[0],
    ).toMatch(/sops metadata is damaged/);
  });
});
