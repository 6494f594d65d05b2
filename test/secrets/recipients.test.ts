// `secrets rotate` and `updatekeys` never hand the data key to a recipient nobody
// reviewed: a file's recipient lines are not covered by its MAC, so one added by whoever
// can write the file must be shown and confirmed (--yes), as must any change .sops.yaml
// makes. Real sops and age play the attacker and check the results.
import { execFileSync, spawnSync } from "node:child_process";
import { cpSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeEach, describe, expect, it } from "vitest";
import { parseDocument } from "yaml";
import { compareRecipients, describeDifferences } from "../../src/secrets/index.ts";
import { ageKeygen, repoRoot, removeTempDirs, requireTools, sops, tempDir, tools } from "./helpers.ts";

afterAll(removeTempDirs);
const available = requireTools();
const suite = available ? describe : describe.skip;

interface Project {
  dir: string;
  key: string;
  recipient: string;
  env: Record<string, string>;
}

function newProject(): Project {
  const root = tempDir("nixlab-recipients-");
  const dir = join(root, "project");
  mkdirSync(join(root, "home"), { recursive: true });
  mkdirSync(dir);
  for (const f of ["secrets.yaml", "age-key.txt", ".sops.yaml"])
    cpSync(join(repoRoot, "examples/homelab", f), join(dir, f));
  const key = join(dir, "age-key.txt");
  const recipient = /public key: (age1\w+)/.exec(readFileSync(key, "utf8"))![1]!;
  return { dir, key, recipient, env: { PATH: process.env.PATH ?? "", HOME: join(root, "home"), NO_COLOR: "1" } };
}

function nixlab(p: Project, args: string[]) {
  const r = spawnSync(
    process.execPath,
    [join(repoRoot, "bin/nixlab.js"), "secrets", ...args, "--age-key-file", p.key],
    { cwd: p.dir, env: p.env, encoding: "utf8" },
  );
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** What someone who can write secrets.yaml (but has no key for it) does: add their own recipient line. */
function addRecipientLine(p: Project, recipient: string): void {
  const path = join(p.dir, "secrets.yaml");
  const doc = parseDocument(readFileSync(path, "utf8"));
  // They cannot know the data key, so the stanza wraps 32 random bytes (real age, armored).
  const enc = execFileSync(tools.age!, ["-r", recipient, "-a"], { input: Buffer.alloc(32, 7) }).toString("utf8");
  (doc.getIn(["sops", "age"]) as { add(v: unknown): void }).add(doc.createNode({ enc, recipient }));
  writeFileSync(path, doc.toString({ indent: 4 }));
}

const canDecrypt = (p: Project, keyFile: string) =>
  sops(["decrypt", join(p.dir, "secrets.yaml")], { ...p.env, SOPS_AGE_KEY_FILE: keyFile }).status === 0;

suite("rotate and updatekeys review the recipients", () => {
  let p: Project;
  let attackerKey: string;
  let attacker: string;
  beforeEach(() => {
    p = newProject();
    attackerKey = join(p.dir, "..", "attacker.txt");
    attacker = ageKeygen(attackerKey);
  });

  it("rotate refuses a file with a recipient line .sops.yaml does not list; the extra key gets nothing", () => {
    addRecipientLine(p, attacker);
    const before = readFileSync(join(p.dir, "secrets.yaml"), "utf8");
    expect(canDecrypt(p, p.key)).toBe(true);
    expect(canDecrypt(p, attackerKey)).toBe(false);
    const r = nixlab(p, ["rotate"]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(
      "secrets.yaml: its recipients differ from .sops.yaml, and rotate encrypts the new data key",
    );
    expect(r.stderr).toContain(`only in secrets.yaml: ${attacker}\n`);
    expect(r.stderr).toContain("`nixlab secrets updatekeys` makes them match .sops.yaml first");
    expect(r.stderr).toContain("run again with --yes");
    expect(readFileSync(join(p.dir, "secrets.yaml"), "utf8")).toBe(before);
    expect(canDecrypt(p, attackerKey)).toBe(false);
    // updatekeys shows the same difference and, confirmed, drops the line.
    const u = nixlab(p, ["updatekeys"]);
    expect(u.status).toBe(1);
    expect(u.stderr).toContain(`only in secrets.yaml: ${attacker}`);
    expect(nixlab(p, ["updatekeys", "--yes"]).status).toBe(0);
    expect(readFileSync(join(p.dir, "secrets.yaml"), "utf8")).not.toContain(attacker);
    const rotated = nixlab(p, ["rotate"]);
    expect(rotated.status, rotated.stderr).toBe(0);
    expect(canDecrypt(p, p.key)).toBe(true);
    expect(canDecrypt(p, attackerKey)).toBe(false);
  });

  it("with --yes, rotate goes ahead for the file's recipients as shown", () => {
    addRecipientLine(p, attacker);
    const r = nixlab(p, ["rotate", "--yes"]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toContain(`only in secrets.yaml: ${attacker}`);
    // What --yes confirmed: the listed key now opens the file.
    expect(canDecrypt(p, attackerKey)).toBe(true);
  });

  it("without a .sops.yaml rule, rotate compares with the caller's own keys", () => {
    writeFileSync(join(p.dir, ".sops.yaml"), "creation_rules:\n  - path_regex: other\\.yaml$\n    age: age1x\n");
    expect(nixlab(p, ["rotate"]).status).toBe(0);
    addRecipientLine(p, attacker);
    const r = nixlab(p, ["rotate"]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("no .sops.yaml rule lists its recipients, and some of them are not your keys");
    expect(r.stderr).toContain(`only in secrets.yaml: ${attacker}`);
  });

  it("updatekeys shows a recipient .sops.yaml adds and needs --yes; a rule without your key is called out", () => {
    const config = join(p.dir, ".sops.yaml");
    const original = readFileSync(config, "utf8");
    writeFileSync(config, original.replace(/age: (age1\w+)/, `age: $1,${attacker}`));
    const before = readFileSync(join(p.dir, "secrets.yaml"), "utf8");
    const r = nixlab(p, ["updatekeys"]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("updatekeys changes who can decrypt it; nothing was changed");
    expect(r.stderr).toContain(`only in .sops.yaml: ${attacker}`);
    expect(readFileSync(join(p.dir, "secrets.yaml"), "utf8")).toBe(before);
    const ok = nixlab(p, ["updatekeys", "--yes"]);
    expect(ok.status, ok.stderr).toBe(0);
    expect(canDecrypt(p, attackerKey)).toBe(true);
    writeFileSync(config, original.replace(/age: (age1\w+)/, `age: ${attacker}`));
    const lose = nixlab(p, ["updatekeys"]);
    expect(lose.status).toBe(1);
    expect(lose.stderr).toContain(`only in secrets.yaml: ${p.recipient} (your key)`);
    expect(lose.stderr).toContain("none of your keys is in .sops.yaml: afterwards you cannot decrypt");
  });

  it("key groups (e.g. one per node) are compared group by group", () => {
    const node = ageKeygen(join(p.dir, "..", "node.txt"));
    const groups = [[p.recipient], [node]];
    const differences = compareRecipients([[p.recipient], [node, attacker]], groups);
    expect(differences).toEqual([{ group: 2, onlyInFile: [attacker], onlyInReference: [] }]);
    expect(describeDifferences(differences, { file: "secrets.yaml", reference: ".sops.yaml" }, [p.recipient])).toEqual([
      `only in secrets.yaml (key group 2): ${attacker}`,
    ]);
    expect(compareRecipients([[node, p.recipient]], [[p.recipient, node]])).toEqual([]);
    expect(compareRecipients([[p.recipient]], groups)).toEqual([{ group: 2, onlyInFile: [], onlyInReference: [node] }]);
    // End to end: a file sops encrypted for two key groups, then a key added to group 2 in .sops.yaml.
    const both = join(p.dir, "..", "both-keys.txt");
    writeFileSync(both, `${readFileSync(p.key, "utf8")}${readFileSync(join(p.dir, "..", "node.txt"), "utf8")}`);
    p.key = both;
    const rule = (second: string) =>
      `creation_rules:\n  - path_regex: secrets\\.yaml$\n    key_groups:\n      - age: [${p.recipient}]\n      - age: [${second}]\n`;
    writeFileSync(join(p.dir, ".sops.yaml"), rule(node));
    const plain = sops(["decrypt", join(p.dir, "secrets.yaml")], { ...p.env, SOPS_AGE_KEY_FILE: p.key });
    writeFileSync(join(p.dir, "secrets.yaml"), plain.stdout);
    const e = sops(
      ["encrypt", "-i", join(p.dir, "secrets.yaml")],
      { ...p.env, SOPS_AGE_KEY_FILE: p.key },
      undefined,
      p.dir,
    );
    expect(e.status, e.stderr).toBe(0);
    expect(nixlab(p, ["updatekeys"]).stderr).toContain("recipients already match");
    writeFileSync(join(p.dir, ".sops.yaml"), rule(`${node}, ${attacker}`));
    const r = nixlab(p, ["updatekeys"]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`only in .sops.yaml (key group 2): ${attacker}`);
  });
});
