// `secrets edit` and `secrets set` under hostile conditions, with real processes and real
// signals: plaintext never outlives a session (SIGTERM/SIGHUP/SIGINT clean up; what a
// SIGKILL leaves is removed by the next run, which says so), and values are stored
// exactly or refused (non-UTF-8 bytes, YAML aliases, merge keys), never silently changed.
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { chmodSync, cpSync, existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, afterEach, beforeEach, describe, expect, it } from "vitest";
import { openSecrets, parseIdentities } from "../../src/secrets/index.ts";
import { repoRoot, removeTempDirs, requireTools, sops, tempDir } from "./helpers.ts";

afterAll(removeTempDirs);
const available = requireTools();
const suite = available ? describe : describe.skip;

interface Project {
  dir: string;
  /** The private runtime dir the edit sessions put their plaintext in. */
  runtime: string;
  env: Record<string, string>;
}

function newProject(): Project {
  const root = tempDir("nixlab-edit-hostile-");
  const dir = join(root, "project");
  const runtime = join(root, "runtime");
  for (const d of [dir, runtime, join(root, "home")]) spawnSync("mkdir", ["-p", "-m", "700", d]);
  for (const f of ["secrets.yaml", "age-key.txt"]) cpSync(join(repoRoot, "examples/homelab", f), join(dir, f));
  const env = {
    PATH: process.env.PATH ?? "",
    HOME: join(root, "home"),
    NO_COLOR: "1",
    SOPS_AGE_KEY_FILE: join(dir, "age-key.txt"),
    XDG_RUNTIME_DIR: runtime,
  };
  return { dir, runtime, env };
}

const cli = [join(repoRoot, "bin/nixlab.js"), "secrets"];

function runSync(p: Project, args: string[], input?: string | Buffer, extraEnv: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [...cli, ...args, "-f", "secrets.yaml"], {
    cwd: p.dir,
    env: { ...p.env, ...extraEnv },
    input: input ?? "",
  });
  return { status: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr.toString("utf8") };
}

async function decrypted(p: Project): Promise<Record<string, unknown>> {
  const file = await openSecrets(
    join(p.dir, "secrets.yaml"),
    await parseIdentities(readFileSync(join(p.dir, "age-key.txt"), "utf8"), "key"),
  );
  return file.get([]) as Record<string, unknown>;
}

function editorScript(p: Project, name: string, body: string): string {
  const path = join(p.dir, "..", name);
  writeFileSync(path, `#!/bin/sh\n${body}\n`);
  chmodSync(path, 0o755);
  return path;
}

async function waitFor(check: () => boolean, what: string, ms = 15000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

suite("secrets edit: signals and killed sessions", () => {
  let p: Project;
  let nixlab: ChildProcess | undefined;
  const strays: number[] = [];
  beforeEach(() => {
    p = newProject();
  });
  afterEach(() => {
    nixlab?.kill("SIGKILL");
    for (const pid of strays.splice(0)) if (alive(pid)) process.kill(pid, "SIGKILL");
  });

  /**
   * Starts `nixlab secrets edit` whose editor records its pid and the temp file's path,
   * then waits (until the test creates `go`, or forever). Resolves once the editor runs.
   */
  async function startEdit(
    editorBody = 'while [ ! -e "$GO" ]; do sleep 0.05; done',
    setup = "",
  ): Promise<{
    editorPid: number;
    tempFile: string;
    exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>;
    go: string;
  }> {
    const ready = join(p.dir, "..", "editor-ready");
    const go = join(p.dir, "..", "editor-go");
    const editor = editorScript(
      p,
      "editor.sh",
      `${setup}\necho "$$ $1" > ${JSON.stringify(`${ready}.tmp`)}\nmv ${JSON.stringify(`${ready}.tmp`)} ${JSON.stringify(ready)}\n${editorBody}`,
    );
    nixlab = spawn(process.execPath, [...cli, "edit", "-f", "secrets.yaml"], {
      cwd: p.dir,
      env: { ...p.env, EDITOR: editor, GO: go },
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
    });
    let stderr = "";
    nixlab.stderr!.on("data", (d) => {
      stderr += String(d);
    });
    const child = nixlab;
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>((resolve) =>
      child.once("exit", (code, signal) => resolve({ code, signal, stderr })),
    );
    await waitFor(() => existsSync(ready), "the editor to start");
    const [pid, tempFile] = readFileSync(ready, "utf8").trim().split(" ");
    strays.push(Number(pid));
    return { editorPid: Number(pid), tempFile: tempFile!, exited, go };
  }

  it("a SIGKILLed session's plaintext is removed by the next run, which says so", async () => {
    const before = readFileSync(join(p.dir, "secrets.yaml"), "utf8");
    const { editorPid, tempFile, exited } = await startEdit();
    expect(tempFile.startsWith(`${p.runtime}/nixlab-secrets-`)).toBe(true);
    expect(readFileSync(tempFile, "utf8")).toContain("k3s_token:");
    nixlab!.kill("SIGKILL");
    expect((await exited).signal).toBe("SIGKILL");
    process.kill(editorPid, "SIGKILL");
    await waitFor(() => !alive(editorPid), "the editor to die");
    // SIGKILL cannot be handled: the plaintext is still there until nixlab runs again.
    const dir = join(tempFile, "..");
    expect(existsSync(tempFile)).toBe(true);
    const r = runSync(p, ["list"]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toContain(`removed ${dir}: plaintext left by an interrupted \`nixlab secrets edit\``);
    expect(existsSync(dir)).toBe(false);
    expect(readdirSync(p.runtime)).toEqual([]);
    expect(readFileSync(join(p.dir, "secrets.yaml"), "utf8")).toBe(before);
  });

  for (const signal of ["SIGTERM", "SIGHUP"] as const) {
    it(`${signal} while the editor runs: the editor is stopped, the plaintext removed, nixlab dies of ${signal}`, async () => {
      const before = readFileSync(join(p.dir, "secrets.yaml"), "utf8");
      const { editorPid, tempFile, exited } = await startEdit();
      nixlab!.kill(signal);
      const end = await exited;
      expect(end.signal, end.stderr).toBe(signal);
      expect(alive(editorPid)).toBe(false);
      expect(existsSync(join(tempFile, ".."))).toBe(false);
      expect(readdirSync(p.runtime)).toEqual([]);
      expect(readFileSync(join(p.dir, "secrets.yaml"), "utf8")).toBe(before);
    });
  }

  it("an editor that ignores SIGTERM is killed after a grace period; nothing is left", async () => {
    const { editorPid, tempFile, exited } = await startEdit("while :; do sleep 0.05; done", "trap '' TERM HUP");
    const start = Date.now();
    nixlab!.kill("SIGTERM");
    const end = await exited;
    expect(end.signal).toBe("SIGTERM");
    expect(Date.now() - start).toBeGreaterThanOrEqual(2500);
    await waitFor(() => !alive(editorPid), "the editor to die");
    expect(existsSync(join(tempFile, ".."))).toBe(false);
  });

  it("Ctrl-C (SIGINT to the whole process group) ends the session with the file untouched", async () => {
    const before = readFileSync(join(p.dir, "secrets.yaml"), "utf8");
    const { tempFile, exited } = await startEdit();
    process.kill(-nixlab!.pid!, "SIGINT");
    const end = await exited;
    expect(end.code).toBe(1);
    expect(end.stderr).toContain("failed (killed by SIGINT); nothing was changed");
    expect(existsSync(join(tempFile, ".."))).toBe(false);
    expect(readFileSync(join(p.dir, "secrets.yaml"), "utf8")).toBe(before);
  });

  it("SIGINT to nixlab alone is left to the editor: the session goes on and saves", async () => {
    const { tempFile, exited, go } = await startEdit(
      `while [ ! -e "$GO" ]; do sleep 0.05; done\nsed -i 's/^pihole_password: .*/pihole_password: after-sigint/' "$1"`,
    );
    nixlab!.kill("SIGINT");
    await new Promise((r) => setTimeout(r, 300));
    expect(existsSync(tempFile)).toBe(true);
    writeFileSync(go, "");
    const end = await exited;
    expect(end.code, end.stderr).toBe(0);
    expect((await decrypted(p)).pihole_password).toBe("after-sigint");
    expect(readdirSync(p.runtime)).toEqual([]);
  });
});

suite("values are stored exactly or refused", () => {
  let p: Project;
  beforeEach(() => {
    p = newProject();
  });

  it("set refuses bytes that are not UTF-8, and changes nothing", () => {
    const before = readFileSync(join(p.dir, "secrets.yaml"));
    const r = runSync(p, ["set", "cloudflare_token"], Buffer.from([0x61, 0xff, 0xfe, 0x62]));
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^error: the value on stdin is not UTF-8 text, and nixlab stores values exactly/);
    expect(readFileSync(join(p.dir, "secrets.yaml"))).toEqual(before);
  });

  it("set stores awkward UTF-8 exactly (BOM, NUL, CR, tab, emoji); get and the real sops return the same bytes", () => {
    const value = "\uFEFFa\u0000b\r\nc\td 🔑 e\u0301\n\n";
    const r = runSync(p, ["set", "cloudflare_token"], Buffer.from(value, "utf8"));
    expect(r.status, r.stderr).toBe(0);
    const got = runSync(p, ["get", "cloudflare_token"]);
    expect(got.stdout).toEqual(Buffer.from(value, "utf8"));
    const d = spawnSync(
      join(repoRoot, ".testbed/bin/sops"),
      ["decrypt", "--extract", '["cloudflare_token"]', join(p.dir, "secrets.yaml")],
      { env: { ...p.env } },
    );
    expect(d.status, String(d.stderr)).toBe(0);
    expect(d.stdout).toEqual(Buffer.from(value, "utf8"));
  });

  it("an alias typed in edit is saved as the value it names (as sops reads it), never as null", async () => {
    const editor = editorScript(
      p,
      "alias.sh",
      `sed -i 's/^pihole_password: .*/pihole_password: \\&pw shared-alias-value/; s/^nextcloud_redis_password: .*/nextcloud_redis_password: *pw/' "$1"`,
    );
    const r = runSync(p, ["edit"], undefined, { EDITOR: editor });
    expect(r.status, r.stderr).toBe(0);
    const v = await decrypted(p);
    expect(v.pihole_password).toBe("shared-alias-value");
    expect(v.nextcloud_redis_password).toBe("shared-alias-value");
    const d = sops(["decrypt", join(p.dir, "secrets.yaml")], p.env);
    expect(d.status, d.stderr).toBe(0);
    expect(d.stdout).toContain("nextcloud_redis_password: shared-alias-value\n");
  });

  for (const [what, text, message] of [
    ["a merge key", "base: &b {k: v}\nc:\n  <<: *b\n", "merge keys (<<) are not supported in a secrets file"],
    ["an alias without anchor", "c: *nowhere\n", "the alias *nowhere has no anchor before it"],
    ["an alias inside its own anchor", "c: &loop [1, *loop]\n", "the alias *loop is inside the value it refers to"],
    ["bytes that are not UTF-8", "c: \xff\xfe\n", "the edited file is not UTF-8 text"],
  ] as const) {
    it(`${what} typed in edit is refused (the editor reopens; saved unchanged, nothing changes)`, () => {
      const before = readFileSync(join(p.dir, "secrets.yaml"));
      const content = join(p.dir, "..", "content");
      writeFileSync(content, Buffer.from(text, "latin1"));
      const editor = editorScript(p, "hostile.sh", `cat ${JSON.stringify(content)} > "$1"`);
      const r = runSync(p, ["edit"], undefined, { EDITOR: editor });
      expect(r.status).toBe(1);
      expect(r.stderr).toContain(message);
      expect(r.stderr).toContain("gave up, nothing was changed");
      expect(readFileSync(join(p.dir, "secrets.yaml"))).toEqual(before);
      expect(readdirSync(p.runtime)).toEqual([]);
    });
  }

  it("a file sops wrote with a !!binary value that is not UTF-8 is refused clearly (not as tampering)", () => {
    writeFileSync(join(p.dir, "plain.yaml"), "ok: text\nraw: !!binary /w==\n");
    const recipient = /public key: (age1\w+)/.exec(readFileSync(join(p.dir, "age-key.txt"), "utf8"))![1]!;
    const e = sops(["encrypt", "--age", recipient, join(p.dir, "plain.yaml")], p.env);
    expect(e.status, e.stderr).toBe(0);
    writeFileSync(join(p.dir, "secrets.yaml"), e.stdout);
    const r = runSync(p, ["get", "ok"]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/the value of raw is not UTF-8 text \(sops can store raw bytes, nixlab only text\)/);
  });
});
