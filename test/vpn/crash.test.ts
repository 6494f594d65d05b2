// Interrupted commands: a process killed between two of its file writes (the real CLI,
// SIGKILL at the rename), and a write that fails (in-process, with the restore failing
// too). Either both files are as before or both are done, and the next run says and
// finishes what is left.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { UserError } from "../../src/errors.ts";
import { parseIdentities } from "../../src/secrets/index.ts";
import { commitWrites, type FileEffects, realFiles } from "../../src/vpn/commit.ts";
import { addUser } from "../../src/vpn/users.ts";
import { requireTools } from "../secrets/helpers.ts";
import { type Project, project } from "./support.ts";

const projects: Project[] = [];
const fresh = () => {
  const p = project();
  projects.push(p);
  return p;
};
afterAll(() => {
  for (const p of projects) p.remove();
});
const suite = requireTools() ? describe : describe.skip;
const crashOn = (file: string) => ({
  NODE_OPTIONS: `--import ${join(import.meta.dirname, "fixtures/crash-on-rename.mjs")}`,
  NIXLAB_TEST_CRASH_ON: file,
});

suite("a command killed between two writes", { timeout: 180_000 }, () => {
  it("add: the keys are written, the cluster file is not; check still passes and add again finishes it", () => {
    const p = fresh();
    const cluster = p.read("nixlab.yaml");
    const killed = p.run(["vpn", "add", "dave"], crashOn("nixlab.yaml"));
    expect(killed.status).toBe(-1); // killed by a signal
    expect(p.read("nixlab.yaml")).toBe(cluster);
    expect(p.sopsGet("secrets.yaml", "dave_wg_public_key")).toMatch(/^[A-Za-z0-9+/]{43}=$/);
    expect(p.run(["check"]).status).toBe(0);
    const again = p.run(["vpn", "add", "dave"]);
    expect(again.status, again.stderr).toBe(0);
    expect(again.stderr).toContain(
      "note: replaced dave_wg_public_key, which no user referenced (left by an interrupted add)",
    );
    expect(p.run(["vpn", "show", "dave"]).stdout).toBe(again.stdout);
  });

  it("remove: the user is gone from the cluster file, its keys stay; remove again removes them", () => {
    const p = fresh();
    const killed = p.run(["vpn", "remove", "bob", "--yes"], crashOn("secrets.yaml"));
    expect(killed.status).toBe(-1);
    expect(p.read("nixlab.yaml")).not.toContain("bob:");
    expect(p.sopsGet("secrets.yaml", "bob_wg_public_key")).not.toBe("");
    const again = p.run(["vpn", "remove", "bob", "--yes"]);
    expect(again.status, again.stderr).toBe(0);
    expect(again.stderr).toContain("secrets.yaml: bob_wg_public_key removed");
    expect(() => p.sopsGet("secrets.yaml", "bob_wg_public_key")).toThrow();
  });
});

suite("a write that fails", { timeout: 180_000 }, () => {
  async function context(p: Project, files: FileEffects) {
    const key = readFileSync(p.env.SOPS_AGE_KEY_FILE!, "utf8");
    return {
      clusterPath: join(p.dir, "nixlab.yaml"),
      secretsPath: join(p.dir, "secrets.yaml"),
      identities: await parseIdentities(key, "age-key.txt"),
      files,
    };
  }
  const failing = (name: string, alsoRestore = false): FileEffects => {
    let failedOnce = false;
    return {
      write(path, content, mode) {
        if (path.endsWith(name) || (alsoRestore && failedOnce)) {
          failedOnce = true;
          throw Object.assign(new Error("simulated"), { code: "EIO" });
        }
        realFiles.write(path, content, mode);
      },
      remove(path) {
        if (alsoRestore && failedOnce) throw Object.assign(new Error("simulated"), { code: "EIO" });
        realFiles.remove(path);
      },
    };
  };

  it("puts back what it wrote: every file as before", async () => {
    const p = fresh();
    const before = p.snapshot();
    const error = await addUser(await context(p, failing("nixlab.yaml")), { name: "dave", keep: true }).catch((e) => e);
    expect(error).toBeInstanceOf(UserError);
    expect(error.message).toBe("could not write nixlab.yaml (EIO); nothing was changed");
    expect(p.snapshot()).toEqual(before);
  });

  it("when putting back fails too, says what to run", async () => {
    const p = fresh();
    const error = await addUser(await context(p, failing("nixlab.yaml", true)), { name: "dave", keep: true }).catch(
      (e) => e,
    );
    expect(error.message).toBe(
      "could not write nixlab.yaml (EIO), and secrets.yaml, vpn-clients.yaml could not be put back; run `nixlab vpn add dave` again (it replaces what this run left behind)",
    );
    const again = p.run(["vpn", "add", "dave"]);
    expect(again.status, again.stderr).toBe(0);
  });
});

describe("a file changed by someone else meanwhile", () => {
  it("is never overwritten, and nothing else is written either", () => {
    const p = fresh();
    const a = join(p.dir, "a.txt");
    const b = join(p.dir, "b.txt");
    realFiles.write(a, "a0", 0o644);
    realFiles.write(b, "b1 (changed by someone else)", 0o644);
    const writes = [
      { path: a, content: "a2", before: "a0", mode: 0o644 },
      { path: b, content: "b2", before: "b0", mode: 0o644 },
    ];
    expect(() => commitWrites(writes, realFiles, "")).toThrow(
      "b.txt changed while nixlab was working on it; nothing was written, run the command again",
    );
    expect(readFileSync(a, "utf8")).toBe("a0");
    expect(readFileSync(b, "utf8")).toBe("b1 (changed by someone else)");
  });
});
