// vars.nix may read files only inside its own directory tree (symlinks and `..` resolved;
// /proc/self/environ would leak the environment the getEnv ban protects), and nothing
// rendered may carry private key material, whichever cluster file format put it there.
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import { evaluateNixFile, NixError } from "../../src/nix/index.ts";
import { privateKeyMaterial } from "../../src/render/private-keys.ts";
import { runCli } from "../support/cli.ts";
import { root } from "../support/example.ts";
import { ageKeygen, requireTools } from "../secrets/helpers.ts";

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** parent/ holds secret.txt; parent/project/ is the cluster file's directory. */
function layout(): { parent: string; project: string } {
  const parent = mkdtempSync(join(tmpdir(), "nixlab-file-access-"));
  dirs.push(parent);
  const project = join(parent, "project");
  mkdirSync(join(project, "sub"), { recursive: true });
  writeFileSync(join(parent, "secret.txt"), "outside-the-tree");
  writeFileSync(join(parent, "outside.nix"), '"imported-from-outside"');
  writeFileSync(join(project, "inside.txt"), "inside-the-tree");
  writeFileSync(join(project, "sub", "default.nix"), "{ v = builtins.readFile ../inside.txt; }");
  return { parent, project };
}

function evalIn(project: string, expression: string): unknown {
  writeFileSync(join(project, "vars.nix"), expression);
  return evaluateNixFile(join(project, "vars.nix"));
}

function refusal(project: string, expression: string): string {
  try {
    evalIn(project, expression);
  } catch (error) {
    expect(error).toBeInstanceOf(NixError);
    return (error as Error).message;
  }
  throw new Error(`${expression} was not refused`);
}

const confinedTo = (dir: string) => `a cluster file may only read files in its own directory tree, ${dir}`;

describe("vars.nix file access is confined to the cluster file's directory tree", () => {
  it("reads and imports inside the tree, relative or absolute, through symlinks that stay inside", () => {
    const { project } = layout();
    symlinkSync(join(project, "inside.txt"), join(project, "link.txt"));
    expect(
      evalIn(
        project,
        `{ a = builtins.readFile ./inside.txt; b = import ./sub; c = builtins.readFile ./link.txt;
           d = builtins.pathExists ./missing.txt; e = builtins.pathExists ${project}/inside.txt; }`,
      ),
    ).toEqual({ a: "inside-the-tree", b: { v: "inside-the-tree" }, c: "inside-the-tree", d: false, e: true });
  });

  it("refuses /proc/self/environ (the environment), /sys and /dev", () => {
    const { project } = layout();
    expect(refusal(project, "builtins.readFile /proc/self/environ")).toMatch(
      /^.*vars\.nix:1:\d+: cannot read \/proc\/self\/environ \(it resolves to \/proc\/\d+\/environ\): a cluster file may only read/,
    );
    expect(refusal(project, 'builtins.readFile "/sys/kernel/hostname"')).toContain(confinedTo(project));
    expect(refusal(project, "builtins.pathExists /dev/null")).toContain("cannot look for /dev/null");
  });

  it("refuses `..`, absolute paths and imports that leave the tree", () => {
    const { parent, project } = layout();
    expect(refusal(project, "builtins.readFile ../secret.txt")).toContain(
      `cannot read ${parent}/secret.txt: ${confinedTo(project)}`,
    );
    expect(refusal(project, `builtins.readFile ./sub/../../secret.txt`)).toContain(confinedTo(project));
    expect(refusal(project, 'builtins.readFile "/etc/hostname"')).toContain(confinedTo(project));
    expect(refusal(project, "import ../outside.nix")).toContain(`cannot import ${parent}/outside.nix`);
    expect(refusal(project, "builtins.pathExists ../secret.txt")).toContain(confinedTo(project));
  });

  it("refuses symlinks inside the tree that point out of it (to a file or a directory)", () => {
    const { parent, project } = layout();
    symlinkSync(join(parent, "secret.txt"), join(project, "innocent.txt"));
    symlinkSync(parent, join(project, "up"));
    symlinkSync("/proc/self", join(project, "self"));
    expect(refusal(project, "builtins.readFile ./innocent.txt")).toContain(
      `cannot read ${project}/innocent.txt (it resolves to ${parent}/secret.txt): ${confinedTo(project)}`,
    );
    expect(refusal(project, "builtins.readFile ./up/secret.txt")).toContain(confinedTo(project));
    expect(refusal(project, "import ./up/outside.nix")).toContain(confinedTo(project));
    expect(refusal(project, "builtins.readFile ./self/environ")).toContain(confinedTo(project));
    expect(refusal(project, "builtins.pathExists ./up/nothing-here")).toContain(confinedTo(project));
  });

  it("nixlab check on such a vars.nix: a clear error naming the file and position, exit 2", async () => {
    const { project } = layout();
    cpSync(join(root, "examples/homelab/vars.nix"), join(project, "vars.nix"));
    const text = readFileSync(join(project, "vars.nix"), "utf8");
    writeFileSync(
      join(project, "vars.nix"),
      text.replace(/acmeEmail = "[^"]*";/, "acmeEmail = builtins.readFile /proc/self/environ;"),
    );
    const r = await runCli(["check"], project);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/vars\.nix:\d+:\d+: cannot read \/proc\/self\/environ .* own directory tree/);
    expect(r.stderr).not.toContain("PATH=");
  });
});

describe("private key material is never rendered", () => {
  const available = requireTools();

  it.runIf(available)("vars.nix reading the age key next to it into chart values: check and build refuse", async () => {
    const { project } = layout();
    for (const f of ["vars.nix", "secrets.yaml", "secrets.agents.yaml", "hosts"])
      cpSync(join(root, "examples/homelab", f), join(project, f), { recursive: true });
    ageKeygen(join(project, "keys.txt"));
    const key = /AGE-SECRET-KEY-1\w+/.exec(readFileSync(join(project, "keys.txt"), "utf8"))![0];
    const text = readFileSync(join(project, "vars.nix"), "utf8");
    writeFileSync(
      join(project, "vars.nix"),
      text.replace(/\}\s*$/, "  charts.pihole.values.podAnnotations.note = builtins.readFile ./keys.txt;\n}\n"),
    );
    for (const command of ["check", "build", "plan"]) {
      const r = await runCli([command], project);
      expect(r.code, command).toBe(2);
      expect(r.stderr).toContain("refusing to render private key material into the build output");
      expect(r.stderr).toMatch(/manifests\/pihole\.yaml:\d+: an age secret key \(AGE-SECRET-KEY-1…\)/);
      expect(r.stderr + r.stdout).not.toContain(key);
    }
  });

  it("a YAML cluster file with a PEM key in a manifest, or an age key base64-encoded in a Secret: refused", async () => {
    const { project } = layout();
    for (const f of ["nixlab.yaml", "secrets.yaml", "secrets.agents.yaml", "hosts"])
      cpSync(join(root, "examples/homelab", f), join(project, f), { recursive: true });
    const config = parse(readFileSync(join(root, "examples/homelab/nixlab.yaml"), "utf8"));
    const pem = `-----BEGIN OPENSSH PRIVATE KEY-----\n${"b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW".repeat(2)}\n-----END OPENSSH PRIVATE KEY-----\n`;
    config.services = {
      leak: {
        group: "apps",
        namespace: "leak",
        manifests: [{ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "k" }, data: { key: pem } }],
      },
    };
    writeFileSync(join(project, "nixlab.yaml"), stringify(config));
    const r = await runCli(["check"], project);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/manifests\/leak\.yaml:\d+: a PEM private key/);
    const age = `AGE-SECRET-KEY-1${"QQQQQQQQQQ".repeat(5)}QQQQQQQQ`;
    config.services.leak.manifests = [
      {
        apiVersion: "v1",
        kind: "Secret",
        metadata: { name: "k" },
        data: { "keys.txt": Buffer.from(`# created: 2025-01-01\n# public key: age1x\n${age}\n`).toString("base64") },
      },
    ];
    writeFileSync(join(project, "nixlab.yaml"), stringify(config));
    const b = await runCli(["build"], project);
    expect(b.code).toBe(2);
    expect(b.stderr).toMatch(/manifests\/leak\.yaml:\d+: an age secret key \(AGE-SECRET-KEY-1…\), base64-encoded/);
  });

  it("privateKeyMaterial: finds keys plain, JSON-escaped and base64; not the marker words alone", () => {
    const age = `AGE-SECRET-KEY-1${"q".repeat(58)}`;
    const body = "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7";
    expect(
      privateKeyMaterial([
        { path: "a.json", content: JSON.stringify({ k: `-----BEGIN RSA PRIVATE KEY-----\n${body}` }) },
        { path: "b.yaml", content: `x: 1\nkey: ${age}\n` },
        { path: "c.yaml", content: `data: ${Buffer.from(`x\n${age}\n`.repeat(3)).toString("base64")}\n` },
        {
          path: "d.js",
          content: 'if (s.startsWith("AGE-SECRET-KEY-1")) throw new Error("-----BEGIN PRIVATE KEY-----");',
        },
        { path: "e.yaml", content: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJnqA1UJ alice@laptop\n" },
      ]),
    ).toEqual([
      "a.json:1: a PEM private key (-----BEGIN … PRIVATE KEY-----)",
      "b.yaml:2: an age secret key (AGE-SECRET-KEY-1…)",
      "c.yaml:1: an age secret key (AGE-SECRET-KEY-1…), base64-encoded",
    ]);
  });
});
